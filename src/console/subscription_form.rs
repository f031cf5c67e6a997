//! The subscription form: read from a posted body (the event types are checkboxes, so that field
//! repeats), turned into the domain's `NewSubscription` or `SubscriptionChange`, and drawn again
//! with the message of what the operator got wrong.

use maud::{html, Markup};
use url::form_urlencoded;

use super::page::ConsoleError;
use crate::notifications::catalog::CATALOG;
use crate::notifications::limits::MAX_ATTEMPTS;
use crate::notifications::store::Subscription;
use crate::notifications::subscriptions::{NewSubscription, SubscriptionChange, SubscriptionError};

/// The fields of the form, as typed.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub csrf: String,
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub tenant_id: String,
    pub description: String,
    pub request_timeout_ms: String,
    pub max_attempts: String,
}

impl Fields {
    /// The fields of a posted form (`application/x-www-form-urlencoded`).
    pub fn parse(body: &[u8]) -> Self {
        let mut fields = Self::default();
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match key.as_ref() {
                "csrf" => fields.csrf = value,
                "name" => fields.name = value,
                "url" => fields.url = value,
                "event_types" if !value.is_empty() => fields.event_types.push(value),
                "tenant_id" => fields.tenant_id = value,
                "description" => fields.description = value,
                "request_timeout_ms" => fields.request_timeout_ms = value,
                "max_attempts" => fields.max_attempts = value,
                _ => {}
            }
        }
        fields
    }

    /// A subscription's settings, to edit them.
    pub fn of(s: &Subscription) -> Self {
        Self {
            csrf: String::new(),
            name: s.name.clone().unwrap_or_default(),
            url: s.url.clone(),
            event_types: s.types(),
            tenant_id: s.tenant_id.clone().unwrap_or_default(),
            description: s.description.clone().unwrap_or_default(),
            request_timeout_ms: s.request_timeout_ms.map(|ms| ms.to_string()).unwrap_or_default(),
            max_attempts: s.max_attempts.map(|n| n.to_string()).unwrap_or_default(),
        }
    }

    pub fn new_subscription(&self) -> Result<NewSubscription, String> {
        Ok(NewSubscription {
            url: self.url.trim().to_owned(),
            event_types: self.event_types.clone(),
            tenant_id: given(&self.tenant_id),
            name: given(&self.name),
            description: given(&self.description),
            request_timeout_ms: number("request_timeout_ms", &self.request_timeout_ms)?,
            max_attempts: number("max_attempts", &self.max_attempts)?,
        })
    }

    /// Every field of the form, as the change: an empty field removes the value (the tenant
    /// filter, the name, the description) or puts back the default (timeout, attempts).
    pub fn change(&self) -> Result<SubscriptionChange, String> {
        Ok(SubscriptionChange {
            url: Some(self.url.trim().to_owned()),
            event_types: Some(self.event_types.clone()),
            tenant_id: Some(given(&self.tenant_id)),
            name: Some(given(&self.name)),
            description: Some(self.description.clone()),
            request_timeout_ms: Some(number("request_timeout_ms", &self.request_timeout_ms)?),
            max_attempts: Some(number("max_attempts", &self.max_attempts)?),
            active: None,
        })
    }
}

fn given(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

fn number(field: &str, value: &str) -> Result<Option<i64>, String> {
    match value.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| {
            format!(
                "{field} must be a whole number, got `{}`",
                v.chars().take(40).collect::<String>()
            )
        }),
    }
}

/// The message of an error the operator can fix in the form; any other error is the page's.
pub fn fixable(e: SubscriptionError) -> Result<String, ConsoleError> {
    match e {
        SubscriptionError::Destination(_)
        | SubscriptionError::UnknownType(_)
        | SubscriptionError::NoTypes
        | SubscriptionError::Empty(_)
        | SubscriptionError::OutOfRange(_) => Ok(e.to_string()),
        other => Err(other.into()),
    }
}

impl From<SubscriptionError> for ConsoleError {
    fn from(e: SubscriptionError) -> Self {
        match e {
            SubscriptionError::NotFound(id) => ConsoleError::NotFound(format!(
                "there is no subscription {}",
                id.chars().take(60).collect::<String>()
            )),
            SubscriptionError::Store(e) => ConsoleError::Store(e),
            SubscriptionError::Unexpected(e) => ConsoleError::Unexpected(e),
            other => ConsoleError::BadRequest(other.to_string()),
        }
    }
}

/// The form, posting to `action`; `error` says what to fix.
pub fn form(action: &str, csrf: &str, f: &Fields, submit: &str, error: Option<&str>, timeout_cap_ms: u128) -> Markup {
    let checked = |t: &str| f.event_types.iter().any(|x| x == t);
    html! {
        form.stack method="post" action=(action) {
            @if let Some(error) = error { p.error role="alert" { (error) } }
            input type="hidden" name="csrf" value=(csrf);
            label { "Name " span.muted { "(a short label, optional)" } br; input name="name" value=(f.name) maxlength="100" size="30"; }
            label { "URL " span.muted { "(where notifications are POSTed)" } br; input type="url" name="url" value=(f.url) required size="60"; }
            fieldset {
                legend { "Event types" }
                label { input type="checkbox" name="event_types" value="*" checked[checked("*")]; " all types (" code { "*" } ")" }
                @for t in CATALOG {
                    br;
                    label { input type="checkbox" name="event_types" value=(t.name) checked[checked(t.name)]; " " code { (t.name) } " " span.muted { (t.description) } }
                }
            }
            label { "Tenant " span.muted { "(only this tenant's notifications; empty for every tenant)" } br; input name="tenant_id" value=(f.tenant_id) size="30"; }
            label { "Description" br; textarea name="description" { (f.description) } }
            label { "Request timeout, ms " span.muted { "(empty: the default, " (timeout_cap_ms) " ms, which is also the most)" } br;
                input type="number" name="request_timeout_ms" min="1" max=(timeout_cap_ms) value=(f.request_timeout_ms); }
            label { "Attempts before a delivery is dead " span.muted { "(empty: the retry schedule's)" } br;
                input type="number" name="max_attempts" min="1" max=(MAX_ATTEMPTS) value=(f.max_attempts); }
            div.actions { button.primary type="submit" { (submit) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_event_types_are_all_kept_and_empty_numbers_mean_the_default() {
        let f = Fields::parse(b"csrf=c&url=https%3A%2F%2Fx.example%2Fh&event_types=user.activated&event_types=sso.changed&request_timeout_ms=&max_attempts=3");
        assert_eq!(f.event_types, ["user.activated", "sso.changed"]);
        let change = f.change().unwrap();
        assert_eq!(change.request_timeout_ms, Some(None));
        assert_eq!(change.max_attempts, Some(Some(3)));
        assert_eq!(change.tenant_id, Some(None), "an empty tenant removes the filter");
        let bad = Fields::parse(b"max_attempts=many").new_subscription().unwrap_err();
        assert_eq!(bad, "max_attempts must be a whole number, got `many`");
    }
}
