//! Signing in with an admin token, and out again.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use maud::html;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::guard::{cleared_cookie, same_origin, session_cookie, Signed};
use super::page::{bare, see_other, ConsoleError};
use super::query::safe_next;
use super::sessions;
use crate::http::AppState;

/// Addresses remembered by the per-address limit before the idle ones are forgotten.
const REMEMBERED_ADDRESSES: usize = 10_000;

/// Sign-in attempts allowed per client address, and in all.
pub struct SignInLimits {
    per_address: RateLimiter<IpAddr, HashMapStateStore<IpAddr>, DefaultClock>,
    overall: RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    clock: DefaultClock,
}

impl SignInLimits {
    pub fn new(per_minute: u32) -> Self {
        let per_address = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let overall = per_address.saturating_mul(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN));
        Self {
            per_address: RateLimiter::hashmap(Quota::per_minute(per_address)),
            overall: RateLimiter::direct(Quota::per_minute(overall)),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(seconds to wait)` when `client` (or everyone together) has tried too often.
    fn admit(&self, client: IpAddr) -> Result<(), u64> {
        if self.per_address.len() > REMEMBERED_ADDRESSES {
            self.per_address.retain_recent();
        }
        let wait = |not_until: governor::NotUntil<_>| not_until.wait_time_from(self.clock.now()).as_secs() + 1;
        self.per_address.check_key(&client).map_err(wait)?;
        self.overall.check().map_err(wait)
    }
}

impl std::fmt::Debug for SignInLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInLimits")
    }
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form.
pub async fn form(state: web::Data<AppState>, query: web::Query<NextQuery>) -> HttpResponse {
    sign_in_page(&state, StatusCode::OK, &safe_next(query.next.as_deref()), None)
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: SecretString,
    next: Option<String>,
}

/// Checks the token (at a bounded rate per address), opens a session and goes on to `next`.
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    same_origin(&req)?;
    let client = crate::http::client_ip(&req, &state).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    state
        .console
        .limits
        .admit(client)
        .map_err(ConsoleError::TooManyAttempts)?;
    let next = safe_next(form.next.as_deref());
    let Some((grant, role)) = state.admin_tokens.grant_of(form.token.expose_secret()) else {
        tracing::warn!(client.ip = %client, "console: sign-in refused (unknown token)");
        let message = if state.admin_tokens.is_empty() {
            "No admin token is configured (admin.tokens, admin.viewer_tokens), so nobody can sign in."
        } else {
            "That token is not one of the configured admin tokens."
        };
        return Ok(sign_in_page(&state, StatusCode::UNAUTHORIZED, &next, Some(message)));
    };
    let ttl = state.console.session_ttl_secs;
    let now = Utc::now().naive_utc();
    let opened = sessions::open(&state.db, grant, role, now, chrono::Duration::seconds(ttl as i64)).await?;
    tracing::info!(client.ip = %client, role = role.as_str(), "console: signed in");
    let mut response = see_other(&next);
    response
        .add_cookie(&session_cookie(&req, opened.cookie, ttl))
        .map_err(|e| ConsoleError::Unexpected(anyhow::anyhow!("cookie: {e}")))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct Csrf {
    csrf: String,
}

/// Ends this session.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    Signed(session): Signed,
    form: web::Form<Csrf>,
) -> Result<HttpResponse, ConsoleError> {
    session.verify_form(&form.csrf)?;
    sessions::close(&state.db, &session).await?;
    signed_out(&req)
}

/// Ends every session opened with this session's token, on every browser.
pub async fn sign_out_everywhere(
    req: HttpRequest,
    state: web::Data<AppState>,
    Signed(session): Signed,
    form: web::Form<Csrf>,
) -> Result<HttpResponse, ConsoleError> {
    session.verify_form(&form.csrf)?;
    let ended = sessions::close_all_of_token(&state.db, &session).await?;
    tracing::info!(sessions = ended, "console: signed out everywhere");
    signed_out(&req)
}

fn signed_out(req: &HttpRequest) -> Result<HttpResponse, ConsoleError> {
    let mut response = see_other("/console/sign-in");
    response
        .add_cookie(&cleared_cookie(req))
        .map_err(|e| ConsoleError::Unexpected(anyhow::anyhow!("cookie: {e}")))?;
    Ok(response)
}

fn sign_in_page(state: &AppState, status: StatusCode, next: &str, error: Option<&str>) -> HttpResponse {
    let development = state.console.development;
    bare(
        status,
        "Sign in",
        html! {
            h1 { "Sign in" }
            p.muted { "Paste an admin token. An operator token reads and acts; a viewer token only reads." }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form.stack method="post" action="/console/sign-in" {
                input type="hidden" name="next" value=(next);
                label for="token" { "Admin token" }
                input #token type="password" name="token" required autocomplete="current-password" autofocus;
                button.primary type="submit" { "Sign in" }
            }
            @if development {
                p.muted { "Development profile: the generated operator token is the file " code { "admin-token" } " in the credentials folder printed at start (" code { "data/credentials/" } " by default)." }
            }
        },
    )
}
