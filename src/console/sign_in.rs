//! Signing in with an admin token, and out again.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::guard::{cleared_cookie, same_origin, session_cookie, Signed, COOKIE};
use super::page::{bare, see_other, ConsoleError};
use super::query::safe_next;
use super::query::Params;
use super::sessions::{self, ActionForm};
use crate::http::AppState;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form.
pub async fn form(state: web::Data<AppState>, Params(query): Params<NextQuery>) -> HttpResponse {
    sign_in_page(&state, StatusCode::OK, &safe_next(query.next.as_deref()), None)
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: SecretString,
    next: Option<String>,
}

/// Checks the token (an address that failed too often waits), opens a session and goes on to `next`.
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    same_origin(&req, &state)?;
    let client = crate::http::client_ip(&req, &state).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let started = Instant::now();
    let limits = &state.console.limits;
    limits.admit(client, started).map_err(ConsoleError::TooManyAttempts)?;
    let next = safe_next(form.next.as_deref());
    let Some((grant, role)) = state.admin_tokens.grant_of(form.token.expose_secret()) else {
        limits.failed(client, started);
        tracing::warn!(client.ip = %client, "console: sign-in refused (unknown token)");
        let message = if state.admin_tokens.is_empty() {
            "No admin token is configured (admin.tokens, admin.viewer_tokens), so nobody can sign in."
        } else {
            "That token is not one of the configured admin tokens."
        };
        return Ok(sign_in_page(&state, StatusCode::UNAUTHORIZED, &next, Some(message)));
    };
    // A browser signing in again leaves no session of its old cookie behind.
    if let Some(old) = req.cookie(COOKIE) {
        sessions::close_cookie(&state.db, old.value()).await?;
    }
    let ttl = state.console.session_ttl_secs;
    let now = Utc::now().naive_utc();
    let opened = sessions::open(&state.db, grant, role, now, chrono::Duration::seconds(ttl as i64)).await?;
    tracing::info!(client.ip = %client, role = role.as_str(), "console: signed in");
    let mut response = see_other(&next);
    response
        .add_cookie(&session_cookie(&req, &state, opened.cookie, ttl))
        .map_err(|e| ConsoleError::Unexpected(anyhow::anyhow!("cookie: {e}")))?;
    Ok(response)
}

/// Ends this session.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    Signed(session): Signed,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.verify_form(&form.csrf)?;
    sessions::close(&state.db, &session).await?;
    signed_out(&req, &state)
}

/// Ends every session opened with this session's token, on every browser.
pub async fn sign_out_everywhere(
    req: HttpRequest,
    state: web::Data<AppState>,
    Signed(session): Signed,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.verify_form(&form.csrf)?;
    let ended = sessions::close_all_of_token(&state.db, &session).await?;
    tracing::info!(sessions = ended, "console: signed out everywhere");
    signed_out(&req, &state)
}

fn signed_out(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, ConsoleError> {
    let mut response = see_other("/console/sign-in");
    response
        .add_cookie(&cleared_cookie(req, state))
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
