//! What an action did, shown on the page it leads back to. The link names the outcome with a
//! fixed word, never a text to show, so nobody can make the console say what they like.

use maud::{html, Markup};
use serde::Deserialize;

use super::format::count;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// One event requeued.
    Replayed,
    /// `n` events requeued by filter.
    ReplayedMany,
    /// A replay of an event that is not finished.
    NotFinished,
    Paused,
    Resumed,
    Updated,
    Redelivered,
    /// A redelivery of a delivery that is not finished.
    NotRedelivered,
    Deleted,
}

pub fn notice(done: Option<Done>, n: Option<i64>) -> Markup {
    let Some(done) = done else {
        return html! {};
    };
    let (good, text) = match done {
        Done::Replayed => (true, "Requeued: the event will be processed again shortly.".to_owned()),
        Done::ReplayedMany => (true, format!("Requeued {} events.", count(n.unwrap_or(0)))),
        Done::NotFinished => (
            false,
            "Not requeued: the event is still waiting or being processed.".to_owned(),
        ),
        Done::Paused => (
            true,
            "Paused: no notification is sent to it until it is resumed.".to_owned(),
        ),
        Done::Resumed => (true, "Resumed.".to_owned()),
        Done::Updated => (true, "Saved.".to_owned()),
        Done::Redelivered => (true, "Queued again for delivery.".to_owned()),
        Done::NotRedelivered => (
            false,
            "Not queued: the delivery is still waiting for an attempt or being sent.".to_owned(),
        ),
        Done::Deleted => (true, "Deleted.".to_owned()),
    };
    html! { p.notice.bad[!good] role="status" { (text) } }
}
