//! Wake-ups: a stored event wakes the workers at once — in this process through a tokio
//! `Notify`, across instances through Postgres `LISTEN/NOTIFY`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};
use tokio::sync::Notify;

use super::{DbConn, StoreError};

/// The channel events are announced on (also by the inbox's batch insert, `store::inbox_pg`).
pub const CHANNEL: &str = "tenantgate_events";

/// How often the listening connection's socket is read for notifications. Reading is local
/// (no query is sent), so this can be short.
const LISTEN_CHECK: Duration = Duration::from_millis(10);

/// How long to wait before reconnecting a lost listening connection.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Announces a stored event to other instances (Postgres only; a no-op on SQLite).
pub fn announce(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!("NOTIFY {CHANNEL}")).execute(&mut **c)?;
    }
    Ok(())
}

/// Listens on Postgres for stored events and wakes a worker for each burst. Runs on its own
/// thread until `stop` is set (join it then, so that the process never exits while the thread
/// is inside libpq); reconnects when the connection is lost.
pub fn spawn_listener(
    url: String,
    wake: Arc<Notify>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("tenantgate-listen".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listen(&url, &wake, &stop) {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; workers fall back to polling until it is back");
                    std::thread::sleep(RECONNECT_DELAY);
                }
            }
        }
    })
}

fn listen(url: &str, wake: &Notify, stop: &AtomicBool) -> anyhow::Result<()> {
    let mut conn = PgConnection::establish(url)?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
    tracing::debug!("listening for stored events");
    while !stop.load(Ordering::Relaxed) {
        let mut woke = false;
        for notification in conn.notifications_iter() {
            notification?;
            woke = true;
        }
        if woke {
            wake.notify_one();
        }
        std::thread::sleep(LISTEN_CHECK);
    }
    Ok(())
}
