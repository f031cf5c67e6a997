//! The runner against an in-memory queue whose items block until told to finish.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::{mpsc, Notify};

use super::{Runner, RunnerSettings};
use crate::db::StoreError;
use crate::jobs::{Lease, Queue};
use crate::metrics::Metrics;

#[derive(Default)]
struct State {
    due: VecDeque<i64>,
    /// Renewals answer this (false: another claim holds the item).
    held: bool,
    released: Vec<Lease>,
}

struct TestQueue {
    state: Arc<Mutex<State>>,
    /// Each item reports its start here, then waits for `finish`.
    started: mpsc::UnboundedSender<i64>,
    finish: Arc<Notify>,
    /// Each item that ran to its end reports here.
    finished: mpsc::UnboundedSender<i64>,
}

impl Queue for TestQueue {
    type Item = i64;
    const NAME: &'static str = "test";

    fn lease_of(item: &i64) -> Lease {
        Lease { id: *item, attempt: 1 }
    }

    async fn claim(&self, _: NaiveDateTime, _: NaiveDateTime, limit: usize) -> Result<Vec<i64>, StoreError> {
        let mut state = self.state.lock().unwrap();
        let n = limit.min(state.due.len());
        Ok(state.due.drain(..n).collect())
    }

    async fn next_due(&self, _: NaiveDateTime) -> Option<NaiveDateTime> {
        None
    }

    async fn run(&self, item: i64) {
        // Listening before it says it started, so that no `finish` is missed.
        let finish = self.finish.notified();
        tokio::pin!(finish);
        finish.as_mut().enable();
        self.started.send(item).unwrap();
        finish.await;
        self.finished.send(item).unwrap();
    }

    async fn extend(&self, _: Lease, _: NaiveDateTime) -> Result<bool, StoreError> {
        Ok(self.state.lock().unwrap().held)
    }

    async fn release(&self, lease: Lease, _: NaiveDateTime) -> Result<bool, StoreError> {
        self.state.lock().unwrap().released.push(lease);
        Ok(true)
    }
}

struct Harness {
    runner: Runner<TestQueue>,
    state: Arc<Mutex<State>>,
    started: mpsc::UnboundedReceiver<i64>,
    finished: mpsc::UnboundedReceiver<i64>,
    finish: Arc<Notify>,
    metrics: Arc<Metrics>,
}

fn start(items: &[i64], held: bool, lease: Duration, concurrency: usize) -> Harness {
    let state = Arc::new(Mutex::new(State {
        due: items.iter().copied().collect(),
        held,
        released: vec![],
    }));
    let (started_tx, started) = mpsc::unbounded_channel();
    let (finished_tx, finished) = mpsc::unbounded_channel();
    let finish = Arc::new(Notify::new());
    let metrics = Arc::new(Metrics::new().unwrap());
    let queue = TestQueue {
        state: state.clone(),
        started: started_tx,
        finish: finish.clone(),
        finished: finished_tx,
    };
    let settings = RunnerSettings {
        concurrency,
        poll: Duration::from_millis(10),
        lease,
        grace: Duration::from_millis(50),
        release_delay: Duration::ZERO,
    };
    let runner = Runner::spawn(queue, settings, Arc::new(Notify::new()), metrics.clone());
    Harness {
        runner,
        state,
        started,
        finished,
        finish,
        metrics,
    }
}

#[tokio::test]
async fn items_run_at_most_concurrency_at_a_time_and_each_to_its_end() {
    let mut h = start(&[1, 2, 3], true, Duration::from_secs(60), 2);
    let first_two = [h.started.recv().await.unwrap(), h.started.recv().await.unwrap()];
    assert_eq!(first_two, [1, 2]);
    assert!(h.started.try_recv().is_err(), "a third item started with two slots");
    h.finish.notify_waiters();
    assert_eq!(h.started.recv().await.unwrap(), 3, "a freed slot takes the next item");
    h.finish.notify_waiters();
    let mut ended = vec![];
    for _ in 0..3 {
        ended.push(h.finished.recv().await.unwrap());
    }
    ended.sort_unstable();
    assert_eq!(ended, [1, 2, 3]);
    h.runner.shutdown().await;
    assert!(h.state.lock().unwrap().released.is_empty());
}

#[tokio::test]
async fn an_item_whose_lease_is_taken_is_abandoned_and_not_released() {
    let mut h = start(&[7], false, Duration::from_millis(90), 1);
    assert_eq!(h.started.recv().await.unwrap(), 7);
    // The first renewal (after a third of the lease) is refused: the item's work is dropped.
    let lost = r#"tenantgate_job_leases_total{event="lost",queue="test"} 1"#;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !h.metrics.render().unwrap().contains(lost) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the lost lease was never counted");
    h.finish.notify_waiters();
    h.runner.shutdown().await;
    assert!(h.finished.try_recv().is_err(), "the abandoned item ran to its end");
    assert!(
        h.state.lock().unwrap().released.is_empty(),
        "a lost claim is not the runner's to give back"
    );
}

#[tokio::test]
async fn shutdown_gives_back_the_claims_still_running_after_the_grace_period() {
    let mut h = start(&[4, 5], true, Duration::from_secs(60), 2);
    h.started.recv().await.unwrap();
    h.started.recv().await.unwrap();
    h.runner.shutdown().await;
    let mut released: Vec<i64> = h.state.lock().unwrap().released.iter().map(|l| l.id).collect();
    released.sort_unstable();
    assert_eq!(released, [4, 5]);
    assert!(h.finished.try_recv().is_err());
}
