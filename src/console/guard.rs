//! Who may see a console page: the [`Signed`] extractor, and the same-origin check every
//! state-changing request passes (with the form's CSRF token, checked by `Session::act`).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;

use super::page::ConsoleError;
use super::sessions::{self, Session};
use crate::http::AppState;

/// The session cookie (scoped to `/console`).
pub const COOKIE: &str = "tenantgate_session";

/// In a handler's arguments: the request comes from a signed-in browser (any role). Without a
/// live session a page answers with the way to the sign-in page.
#[derive(Debug, Clone)]
pub struct Signed(pub Session);

impl FromRequest for Signed {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ConsoleError::Unexpected(anyhow::anyhow!("no state")))?;
            let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD);
            if changes_state {
                same_origin(&req, state)?;
            }
            let next = if changes_state {
                "/console".to_owned()
            } else {
                req.uri().path_and_query().map_or("/console", |p| p.as_str()).to_owned()
            };
            let Some(cookie) = req.cookie(COOKIE) else {
                return Err(ConsoleError::SignIn { next });
            };
            let now = Utc::now().naive_utc();
            let tokens = &state.admin_tokens;
            sessions::find(&state.db, cookie.value(), now, |grant| tokens.role_of_grant(grant))
                .await?
                .map(Signed)
                .ok_or(ConsoleError::SignIn { next })
        })
    }
}

/// Refuses a state-changing request another site made a browser send: its `Sec-Fetch-Site` or
/// `Origin` says so. A request with neither (not from a browser that tells) still needs the
/// session's CSRF token in its form.
pub fn same_origin(req: &HttpRequest, state: &AppState) -> Result<(), ConsoleError> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Err(ConsoleError::CrossSite(format!(
                "refused: this request came from another site (Sec-Fetch-Site: {site}); the console only takes forms of its own pages"
            )));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        // The host alone: a proxy ending TLS may not say so, and the scheme adds nothing here.
        let host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, host)| host);
        if host != Some(browser_view(req, state).1.as_str()) {
            return Err(ConsoleError::CrossSite(
                "refused: this request came from another origin; the console only takes forms of its own pages".into(),
            ));
        }
    }
    Ok(())
}

/// The scheme and host the browser used: as a trusted proxy forwarded them (`trusted_proxies`),
/// else as the request came (the server itself speaks plain HTTP). Forwarding headers from
/// anyone else are not believed.
fn browser_view(req: &HttpRequest, state: &AppState) -> (String, String) {
    let proxied = req
        .peer_addr()
        .is_some_and(|peer| state.frontegg.is_trusted_proxy(peer.ip()));
    if proxied {
        let info = req.connection_info();
        return (info.scheme().to_owned(), info.host().to_owned());
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    ("http".to_owned(), host.to_owned())
}

/// The session cookie for `value`: HttpOnly, SameSite=Strict, for `/console` only, Secure when the
/// browser came over https, lasting as long as the session.
pub fn session_cookie(req: &HttpRequest, state: &AppState, value: String, max_age_secs: u64) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(browser_view(req, state).0 == "https")
        .max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// A cookie that makes the browser forget the session.
pub fn cleared_cookie(req: &HttpRequest, state: &AppState) -> Cookie<'static> {
    let mut cookie = session_cookie(req, state, String::new(), 0);
    cookie.make_removal();
    cookie
}
