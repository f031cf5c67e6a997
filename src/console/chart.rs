//! Bar charts drawn by the server as inline SVG: no script, nothing fetched.

use chrono::Duration;
use maud::{html, Markup};

use crate::inbox::activity::Activity;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 150.0;
const AXIS: f64 = 18.0;

/// Received, succeeded and failed per bucket, side by side; each bucket's figures in its tooltip.
pub fn activity(activity: &Activity, label: &str, tick_every: usize, tick_format: &str) -> Markup {
    let buckets = activity.received.len().max(1);
    let highest = activity
        .received
        .iter()
        .chain(&activity.succeeded)
        .chain(&activity.failed)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / buckets as f64;
    let bar = (slot / 3.5).max(1.0);
    let plot = HEIGHT - AXIS;
    let height = |n: i64| (n as f64 / highest as f64) * (plot - 12.0);
    let series = [
        ("received", &activity.received),
        ("succeeded", &activity.succeeded),
        ("failed", &activity.failed),
    ];
    html! {
        svg.chart viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(label) {
            title { (label) }
            line.axis x1="0" y1=(plot) x2=(WIDTH) y2=(plot) stroke-width="1" {}
            text x="2" y="10" { "max " (highest) }
            @for i in 0..buckets {
                @let start = activity.start + Duration::seconds(activity.bucket_secs * i as i64);
                g {
                    title {
                        (start.format("%H:%M")) " UTC: "
                        (activity.received[i]) " received, "
                        (activity.succeeded[i]) " succeeded, "
                        (activity.failed[i]) " failed"
                    }
                    @for (j, (class, values)) in series.iter().enumerate() {
                        @let h = height(values[i]);
                        rect class=(class) x=(format!("{:.1}", i as f64 * slot + j as f64 * bar + 1.0))
                            y=(format!("{:.1}", plot - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {}
                    }
                    // An invisible full-height target, so the tooltip shows over empty buckets too.
                    rect x=(format!("{:.1}", i as f64 * slot)) y="0" width=(format!("{slot:.1}")) height=(plot) fill="transparent" {}
                }
                @if i % tick_every == 0 {
                    text x=(format!("{:.1}", i as f64 * slot)) y=(HEIGHT - 4.0) { (start.format(tick_format)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bucket_has_its_figures_in_a_tooltip_and_bars_scale_to_the_highest() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let chart = activity(
            &Activity {
                bucket_secs: 60,
                start,
                received: vec![4, 0],
                succeeded: vec![2, 0],
                failed: vec![1, 3],
            },
            "Last hour",
            1,
            "%H:%M",
        )
        .into_string();
        assert!(
            chart.contains("10:00 UTC: 4 received, 2 succeeded, 1 failed"),
            "{chart}"
        );
        assert!(
            chart.contains("10:01 UTC: 0 received, 0 succeeded, 3 failed"),
            "{chart}"
        );
        assert!(chart.contains("max 4"));
        assert!(!chart.contains("style="), "no inline style: the policy forbids it");
    }
}
