//! Console sessions: opened by signing in with an admin token, kept as one row each.
//!
//! The browser holds a random value in a cookie; the row is keyed by its SHA-256, so the table
//! never holds what opens a session. A session is bound to the admin token it was opened with
//! through a grant id (see `AdminTokens::grant_of`): its role is read from the configuration on
//! every request, so a token taken out of the configuration ends its sessions at once. A session
//! ends at sign-out (its row is deleted), when it expires, or with every other session of its
//! token ("sign out everywhere").

use base64::Engine as _;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Role;
use crate::db::schema::console_sessions as table;
use crate::db::{Database, StoreError};
use crate::operations::Actor;
use crate::with_conn;

/// A signed-in browser, as a request sees it.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of the cookie value, hex.
    id: String,
    grant: String,
    /// The role of the session's token now.
    pub role: Role,
    /// Proves a form came from a page of this session (see [`Session::act`]).
    pub csrf: String,
}

/// Why an action of a signed-in browser is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this action needs an operator token; this session was opened with a viewer's (read-only)")]
    Viewer,
    #[error("the form is not from this session (it may be from another site, or from before you signed in again): reload the page and try again")]
    Forgery,
}

impl Session {
    pub fn can_act(&self) -> bool {
        self.role == Role::Operator
    }

    /// The actor of an action, once the session may act and the form carries this session's
    /// CSRF token: every action handler passes here before it calls an operation.
    pub fn act(&self, csrf: &str) -> Result<Actor, Refusal> {
        if !self.can_act() {
            return Err(Refusal::Viewer);
        }
        self.verify_form(csrf)?;
        Ok(Actor::console(&self.id[..12]))
    }

    /// Whether a form carries this session's CSRF token (what signing out needs, in any role).
    pub fn verify_form(&self, csrf: &str) -> Result<(), Refusal> {
        if bool::from(self.csrf.as_bytes().ct_eq(csrf.as_bytes())) {
            Ok(())
        } else {
            Err(Refusal::Forgery)
        }
    }
}

/// The form of an action with no field of its own: the session's CSRF token alone.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    pub csrf: String,
}

/// A newly opened session: the cookie value to hand to the browser once.
#[derive(Debug)]
pub struct Opened {
    pub cookie: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = table)]
struct Row {
    id: String,
    grant_id: String,
    role: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// Opens a session for the token with `grant` id and `role`, lasting `ttl`; expired rows are
/// deleted on the way.
pub async fn open(
    db: &Database,
    grant: String,
    role: Role,
    now: NaiveDateTime,
    ttl: Duration,
) -> Result<Opened, StoreError> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| StoreError::Unexpected(anyhow::anyhow!("no randomness: {e}")))?;
    let cookie = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
    let row = Row {
        id: digest("session", &cookie),
        grant_id: grant,
        role: role.as_str().to_owned(),
        created_at: now,
        expires_at: now + ttl,
    };
    db.run(move |c| {
        with_conn!(c, |c| {
            diesel::delete(table::table.filter(table::expires_at.le(now))).execute(c)?;
            diesel::insert_into(table::table).values(&row).execute(c)?;
            Ok(())
        })
    })
    .await?;
    Ok(Opened { cookie })
}

/// The live session `cookie` opens; `role_of_grant` says what its token may do now (`None`: the
/// token is no longer configured, and the session is over).
pub async fn find(
    db: &Database,
    cookie: &str,
    now: NaiveDateTime,
    role_of_grant: impl FnOnce(&str) -> Option<Role>,
) -> Result<Option<Session>, StoreError> {
    let id = digest("session", cookie);
    let key = id.clone();
    let row: Option<(String, NaiveDateTime)> = db
        .run(move |c| {
            with_conn!(c, |c| Ok(table::table
                .find(key)
                .select((table::grant_id, table::expires_at))
                .first(c)
                .optional()?))
        })
        .await?;
    let Some((grant, _)) = row.filter(|(_, expires_at)| *expires_at > now) else {
        return Ok(None);
    };
    Ok(role_of_grant(&grant).map(|role| Session {
        csrf: digest("csrf", cookie),
        id,
        grant,
        role,
    }))
}

/// Ends `session` (sign out).
pub async fn close(db: &Database, session: &Session) -> Result<(), StoreError> {
    let id = session.id.clone();
    db.run(move |c| {
        with_conn!(c, |c| Ok(diesel::delete(table::table.find(id))
            .execute(c)
            .map(|_| ())?))
    })
    .await
}

/// Ends the session `cookie` opens, if any (a browser signing in again).
pub async fn close_cookie(db: &Database, cookie: &str) -> Result<(), StoreError> {
    let id = digest("session", cookie);
    db.run(move |c| {
        with_conn!(c, |c| Ok(diesel::delete(table::table.find(id))
            .execute(c)
            .map(|_| ())?))
    })
    .await
}

/// Ends every session opened with the same token as `session`, this one too; returns how many.
pub async fn close_all_of_token(db: &Database, session: &Session) -> Result<usize, StoreError> {
    let grant = session.grant.clone();
    db.run(move |c| {
        with_conn!(c, |c| Ok(diesel::delete(
            table::table.filter(table::grant_id.eq(grant))
        )
        .execute(c)?))
    })
    .await
}

/// How long after an action the page with its new secret may be opened.
pub const REVEAL_FOR: Duration = Duration::minutes(5);

/// Lets `session` be shown, once and for [`REVEAL_FOR`], the secret an action of its own just
/// made for `subscription_id`, kept `sealed` meanwhile (a later secret of the session takes the
/// place of an earlier one not yet shown).
pub async fn allow_reveal(
    db: &Database,
    session: &Session,
    subscription_id: &str,
    sealed: String,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let (id, subscription) = (session.id.clone(), subscription_id.to_owned());
    db.run(move |c| {
        with_conn!(c, |c| Ok(diesel::update(table::table.find(id))
            .set((
                table::reveal_subscription_id.eq(Some(subscription)),
                table::reveal_sealed_secret.eq(Some(sealed)),
                table::reveal_until.eq(Some(now + REVEAL_FOR)),
            ))
            .execute(c)
            .map(|_| ())?))
    })
    .await
}

/// Takes what [`allow_reveal`] kept: the sealed secret, once, when it was kept for
/// `subscription_id` and is not past; none every other time (two requests at once: one of them).
pub async fn take_reveal(
    db: &Database,
    session: &Session,
    subscription_id: &str,
    now: NaiveDateTime,
) -> Result<Option<String>, StoreError> {
    let (id, subscription) = (session.id.clone(), subscription_id.to_owned());
    db.run(move |c| {
        with_conn!(c, |c| {
            let kept = table::table
                .find(&id)
                .filter(table::reveal_subscription_id.eq(&subscription))
                .filter(table::reveal_until.gt(now))
                .select(table::reveal_sealed_secret)
                .first::<Option<String>>(c)
                .optional()?
                .flatten();
            let Some(sealed) = kept else {
                return Ok(None);
            };
            // Taken only by the request whose update clears this very value.
            let taken = diesel::update(
                table::table
                    .find(&id)
                    .filter(table::reveal_subscription_id.eq(&subscription))
                    .filter(table::reveal_sealed_secret.eq(&sealed)),
            )
            .set((
                table::reveal_subscription_id.eq(None::<String>),
                table::reveal_sealed_secret.eq(None::<String>),
                table::reveal_until.eq(None::<NaiveDateTime>),
            ))
            .execute(c)?;
            Ok((taken == 1).then_some(sealed))
        })
    })
    .await
}

/// A keyed digest of the cookie value, hex: the session's row id, or its CSRF token.
fn digest(purpose: &str, cookie: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update(b"\0");
    hasher.update(cookie.as_bytes());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(role: Role) -> Session {
        Session {
            id: digest("session", "cookie"),
            grant: "grant".into(),
            role,
            csrf: digest("csrf", "cookie"),
        }
    }

    #[test]
    fn an_operator_acts_only_with_the_sessions_csrf_token() {
        let operator = session(Role::Operator);
        let actor = operator.act(&digest("csrf", "cookie")).unwrap();
        assert!(actor.as_str().starts_with("console:"), "{actor}");
        assert_eq!(operator.act("").unwrap_err(), Refusal::Forgery);
        assert_eq!(
            operator.act(&digest("csrf", "another cookie")).unwrap_err(),
            Refusal::Forgery
        );
    }

    #[test]
    fn a_viewer_never_acts() {
        assert_eq!(
            session(Role::Viewer).act(&digest("csrf", "cookie")).unwrap_err(),
            Refusal::Viewer
        );
    }

    #[test]
    fn the_row_id_and_the_csrf_token_differ_and_neither_is_the_cookie() {
        let s = session(Role::Viewer);
        assert_ne!(s.id, s.csrf);
        assert!(!s.id.contains("cookie") && !s.csrf.contains("cookie"));
    }
}
