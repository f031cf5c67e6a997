//! The event filters of the console's URLs (`/console/events?status=dead&tenant=…`), read into
//! the inbox's [`EventFilter`] and written back into links and hidden form fields.

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;

use super::page::ConsoleError;
use super::query;
use crate::inbox::listing::EventFilter;

/// The filter fields as the URL carries them; empty fields (as a form sends them) are unset.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub tenant: Option<String>,
    pub user: Option<String>,
    /// A tenant or user id.
    pub q: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// Longest id or search text taken from a URL.
const MAX_TEXT: usize = 200;

impl EventQuery {
    pub fn filter(&self) -> Result<EventFilter, ConsoleError> {
        let filter = EventFilter {
            status: text(&self.status)?,
            kind: text(&self.kind)?,
            tenant_id: text(&self.tenant)?,
            user_id: text(&self.user)?,
            search: text(&self.q)?,
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
        };
        filter.check().map_err(ConsoleError::BadRequest)?;
        Ok(filter)
    }

    /// The pairs to put in a link or a form, unset ones left out.
    pub fn pairs(&self) -> [(&'static str, Option<&str>); 7] {
        [
            ("status", self.status.as_deref()),
            ("kind", self.kind.as_deref()),
            ("tenant", self.tenant.as_deref()),
            ("user", self.user.as_deref()),
            ("q", self.q.as_deref()),
            ("since", self.since.as_deref()),
            ("until", self.until.as_deref()),
        ]
    }

    pub fn link(&self, path: &str) -> String {
        query::link(path, self.pairs())
    }

    /// The filter as hidden fields of a form.
    pub fn hidden(&self) -> Markup {
        html! {
            @for (name, value) in self.pairs() {
                @if let Some(value) = value.filter(|v| !v.is_empty()) {
                    input type="hidden" name=(name) value=(value);
                }
            }
        }
    }
}

fn text(value: &Option<String>) -> Result<Option<String>, ConsoleError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_TEXT => Err(ConsoleError::BadRequest(format!(
            "a filter value is longer than {MAX_TEXT} characters"
        ))),
        Some(v) => Ok(Some(v.to_owned())),
        None => Ok(None),
    }
}

/// A time as a browser's date-time field sends it (`2026-12-01T09:30`, taken as UTC) or as
/// RFC 3339.
fn time(name: &str, value: &Option<String>) -> Result<Option<NaiveDateTime>, ConsoleError> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc).naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        // Years both databases hold: Postgres' timestamps end long before chrono's.
        .filter(|t| (1970..=9999).contains(&t.year()))
        .map(Some)
        .ok_or_else(|| {
            ConsoleError::BadRequest(format!(
                "{name} must be a time such as 2026-01-31T12:00 (UTC) or 2026-01-31T12:00:00Z, got `{}`",
                v.chars().take(40).collect::<String>()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_unset_and_times_take_both_forms() {
        let query = EventQuery {
            status: Some("dead".into()),
            kind: Some(String::new()),
            tenant: Some("  t-1 ".into()),
            since: Some("2026-12-01T09:30".into()),
            until: Some("2026-12-01T10:00:00Z".into()),
            ..EventQuery::default()
        };
        let filter = query.filter().unwrap();
        assert_eq!(filter.status.as_deref(), Some("dead"));
        assert_eq!(filter.kind, None, "an empty field filters nothing");
        assert_eq!(filter.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(filter.since.unwrap().to_string(), "2026-12-01 09:30:00");
        assert_eq!(filter.until.unwrap().to_string(), "2026-12-01 10:00:00");
    }

    #[test]
    fn unknown_statuses_kinds_and_times_are_refused_with_the_reason() {
        let cases = [
            (
                EventQuery {
                    status: Some("lost".into()),
                    ..Default::default()
                },
                "status `lost`",
            ),
            (
                EventQuery {
                    kind: Some("nope".into()),
                    ..Default::default()
                },
                "nope",
            ),
            (
                EventQuery {
                    since: Some("yesterday".into()),
                    ..Default::default()
                },
                "since must be a time",
            ),
            (
                EventQuery {
                    q: Some("x".repeat(201)),
                    ..Default::default()
                },
                "longer than 200",
            ),
        ];
        for (query, expected) in cases {
            let message = query.filter().unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
    }
}
