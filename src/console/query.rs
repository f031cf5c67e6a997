//! Query strings of console links: filters kept in the URL so that every view is bookmarkable.

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use url::form_urlencoded;

use super::page::ConsoleError;

/// A console page's query string, read into `T`; one that cannot be read is a 400 page naming
/// why (the JSON API's extractor answers in JSON).
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Params<T> {
    type Error = ConsoleError;
    type Future = Ready<Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            web::Query::<T>::from_query(req.query_string())
                .map(|q| Params(q.into_inner()))
                .map_err(|e| ConsoleError::BadRequest(format!("the address's query could not be read: {e}"))),
        )
    }
}

/// `value` encoded for a query string.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `path?k=v&…` from the pairs whose value is set (a path alone when none is).
pub fn link<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (key, value) in pairs {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            query.append_pair(key, value);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", query.finish())
    } else {
        path.to_owned()
    }
}

/// Where to go after signing in: a console path of ours, never another site (`//host`, a
/// scheme, a backslash) and only visible ASCII (a control character would make an invalid
/// `Location`, and browsers drop tabs) — anything else goes to the overview.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
                && n.bytes().all(|b| (0x21..=0x7e).contains(&b))
                && !n.contains('\\')
                && !n.contains("//") =>
        {
            n.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_only_the_filters_that_are_set() {
        assert_eq!(
            link(
                "/console/events",
                [("status", Some("dead")), ("kind", None), ("tenant", Some(""))]
            ),
            "/console/events?status=dead"
        );
        assert_eq!(
            link("/console/events", [("tenant", Some("a b&c"))]),
            "/console/events?tenant=a+b%26c"
        );
        assert_eq!(link("/console/events", []), "/console/events");
    }

    #[test]
    fn after_sign_in_only_console_paths_are_followed() {
        let cases = [
            (Some("/console/events?status=dead"), "/console/events?status=dead"),
            (Some("/console"), "/console"),
            (Some("https://evil.example/console"), "/console"),
            (Some("//evil.example/console"), "/console"),
            (Some("/console//evil.example"), "/console"),
            (Some("/console/\\evil"), "/console"),
            (Some("/console/\x01x"), "/console"),
            (Some("/console/\t/evil.example"), "/console"),
            (Some("/console/\x7f"), "/console"),
            (Some("/console/é"), "/console"),
            (Some("/consolex"), "/console"),
            (Some("/api/admin/events"), "/console"),
            (None, "/console"),
        ];
        for (next, expected) in cases {
            assert_eq!(safe_next(next), expected, "{next:?}");
        }
    }
}
