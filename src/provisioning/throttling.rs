//! How often the provider refused an attempt's calls for its rate and the attempt waited at the
//! gate instead of failing: counted while the attempt runs, logged with the attempt.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static WAITED_OUT: Cell<u32>;
}

/// One refusal for the rate waited out by the running attempt (nothing outside an attempt).
pub fn waited_out() {
    let _ = WAITED_OUT.try_with(|count| count.set(count.get().saturating_add(1)));
}

/// Runs `attempt`, counting the refusals it waited out.
pub async fn counting<F: Future>(attempt: F) -> (F::Output, u32) {
    WAITED_OUT
        .scope(Cell::new(0), async {
            let output = attempt.await;
            (output, WAITED_OUT.with(Cell::get))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refusals_are_counted_for_the_attempt_they_happen_in_only() {
        waited_out(); // outside any attempt: not counted anywhere
        let ((), count) = counting(async {
            waited_out();
            tokio::task::yield_now().await;
            waited_out();
        })
        .await;
        assert_eq!(count, 2);
        let ((), none) = counting(async {}).await;
        assert_eq!(none, 0);
    }
}
