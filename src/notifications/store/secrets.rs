//! Subscription secrets as stored, for the start-up pass that encrypts them
//! (`crate::notifications::reseal`): read the rows that need it, and replace one stored value
//! only if it is still the one read, so that instances starting at once never overwrite each
//! other nor a rotation committed in between. Also the rotation of a secret that no key opens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::notification_subscriptions as subscriptions;
use crate::db::{DbConn, StoreError};
use crate::with_conn;

/// One subscription's secrets, as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct StoredSecrets {
    pub id: String,
    pub secret: String,
    pub previous_secret: Option<String>,
}

/// Which of a subscription's two secret columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretColumn {
    Current,
    Previous,
}

/// The subscriptions with a stored secret that does not start with `sealed_prefix` (the form
/// of values sealed with the current key: `enc:v1:`, hex digits and colons, nothing LIKE reads
/// as a wildcard), oldest first.
pub fn not_sealed_with(conn: &mut DbConn, sealed_prefix: &str) -> Result<Vec<StoredSecrets>, StoreError> {
    use subscriptions::dsl as s;
    let pattern = format!("{sealed_prefix}%");
    with_conn!(conn, |c| Ok(s::notification_subscriptions
        .filter(
            s::secret
                .not_like(&pattern)
                .nullable()
                .or(s::previous_secret.not_like(&pattern))
        )
        .order((s::created_at.asc(), s::id.asc()))
        .select(StoredSecrets::as_select())
        .load(c)?))
}

/// Replaces the value of `column` with `replacement` if it still holds `expected`. False when
/// it changed meanwhile (another instance sealed it, or a rotation replaced it).
pub fn replace_if_unchanged(
    conn: &mut DbConn,
    id: &str,
    column: SecretColumn,
    expected: &str,
    replacement: &str,
) -> Result<bool, StoreError> {
    use subscriptions::dsl as s;
    let row = s::notification_subscriptions.find(id);
    let replaced = match column {
        SecretColumn::Current => with_conn!(conn, |c| diesel::update(row.filter(s::secret.eq(expected)))
            .set(s::secret.eq(replacement))
            .execute(c))?,
        SecretColumn::Previous => with_conn!(conn, |c| diesel::update(row.filter(s::previous_secret.eq(expected)))
            .set(s::previous_secret.eq(replacement))
            .execute(c))?,
    };
    Ok(replaced > 0)
}

/// Replaces a current secret that no configured key opens with `sealed`, if it is still
/// `unreadable`, without keeping it as the previous secret: it could not sign during a grace
/// period. False when it changed meanwhile (another rotation).
pub fn replace_unreadable(
    conn: &mut DbConn,
    id: &str,
    unreadable: &str,
    sealed: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    use subscriptions::dsl as s;
    let replaced = with_conn!(conn, |c| diesel::update(
        s::notification_subscriptions.find(id).filter(s::secret.eq(unreadable))
    )
    .set((
        s::secret.eq(sealed),
        s::previous_secret.eq(None::<String>),
        s::previous_secret_expires_at.eq(None::<NaiveDateTime>),
        s::updated_at.eq(now),
    ))
    .execute(c))?;
    Ok(replaced > 0)
}
