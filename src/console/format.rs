//! How values look on console pages: times, ages, statuses, pagers.

use chrono::{NaiveDateTime, Utc};
use maud::{html, Markup};

/// A stored (UTC) time, to the second, with its age as the tooltip.
pub fn time(t: NaiveDateTime) -> Markup {
    html! {
        time datetime=(crate::http::admin::utc(t)) title=(age(t)) { (t.format("%Y-%m-%d %H:%M:%S")) }
    }
}

/// An optional time, or a dash.
pub fn maybe_time(t: Option<NaiveDateTime>) -> Markup {
    match t {
        Some(t) => time(t),
        None => html! { span.muted { "—" } },
    }
}

/// How long ago `t` was, in the largest unit that fits ("3 min ago").
pub fn age(t: NaiveDateTime) -> String {
    let secs = (Utc::now().naive_utc() - t).num_seconds();
    if secs < 0 {
        return format!("in {}", span(-secs));
    }
    format!("{} ago", span(secs))
}

/// A number of seconds in the largest unit that fits.
pub fn span(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Milliseconds as people read them.
pub fn duration_ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A status word with its colour (the class is the status itself).
pub fn badge(status: &str) -> Markup {
    html! { span class=(format!("badge s-{status}")) { (status.replace('_', " ")) } }
}

/// An optional text, or a dash.
pub fn or_dash(value: Option<&str>) -> Markup {
    match value {
        Some(v) if !v.is_empty() => html! { (v) },
        _ => html! { span.muted { "—" } },
    }
}

/// A thousands-separated count.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// "Newer" back to the first page and "Older" to the next, as links.
pub fn pager(first: Option<&str>, next: Option<String>) -> Markup {
    html! {
        nav.pager aria-label="Pages" {
            @if let Some(first) = first { a href=(first) { "← Newest" } }
            @if let Some(next) = next { a href=(next) rel="next" { "Older →" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_spans_and_durations_read_as_people_write_them() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-1_500), "-1,500");
        assert_eq!(span(59), "59 s");
        assert_eq!(span(61), "1 min");
        assert_eq!(span(3_660), "1 h 1 min");
        assert_eq!(span(90_000), "1 d 1 h");
        assert_eq!(duration_ms(250), "250 ms");
        assert_eq!(duration_ms(1_260), "1.3 s");
    }

    #[test]
    fn a_badge_escapes_what_it_shows() {
        let html = badge("<script>").into_string();
        assert!(!html.contains("<script>"), "{html}");
    }
}
