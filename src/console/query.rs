//! Query strings of console links: filters kept in the URL so that every view is bookmarkable.

use url::form_urlencoded;

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
/// scheme, a backslash) — anything else goes to the overview.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
                && !n.contains(['\\', '\r', '\n'])
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
            (Some("/consolex"), "/console"),
            (Some("/api/admin/events"), "/console"),
            (None, "/console"),
        ];
        for (next, expected) in cases {
            assert_eq!(safe_next(next), expected, "{next:?}");
        }
    }
}
