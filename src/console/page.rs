//! The frame of every console page, its security headers, and the pages that say why not.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use maud::{html, Markup, DOCTYPE};

use super::sessions::{Refusal, Session};
use crate::db::StoreError;

/// Scripts and styles only from our origin; nothing framed, nothing posted elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where a page sits in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Events,
    Tenants,
    Subscriptions,
    Refusals,
    Reconcile,
}

const SECTIONS: [(Section, &str, &str); 6] = [
    (Section::Overview, "/console", "Overview"),
    (Section::Events, "/console/events", "Events"),
    (Section::Tenants, "/console/tenants", "Tenants"),
    (Section::Subscriptions, "/console/subscriptions", "Subscriptions"),
    (Section::Refusals, "/console/refusals", "Refused requests"),
    (Section::Reconcile, "/console/reconcile", "Reconcile"),
];

/// A whole page for a signed-in browser: navigation, the session's role and sign-out.
pub fn page(title: &str, section: Section, session: &Session, body: Markup) -> HttpResponse {
    let frame = html! {
        header.top {
            a.brand href="/console" { "tenantgate" }
            nav aria-label="Sections" {
                @for (s, href, label) in SECTIONS {
                    a href=(href) aria-current=[(s == section).then_some("page")] { (label) }
                }
            }
            div.who {
                span.role title="The role of the admin token this session was opened with" { (session.role.as_str()) }
                form method="post" action="/console/sign-out" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button.link type="submit" { "Sign out" }
                }
                form method="post" action="/console/sign-out-everywhere" data-confirm="End every session opened with this token, on every browser?" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button.link.muted type="submit" title="End every session opened with this token" { "everywhere" }
                }
            }
        }
        main id="main" { (body) }
    };
    respond(StatusCode::OK, &document(title, frame))
}

/// A page without navigation (sign-in, errors before sign-in).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let frame = html! {
        header.top { a.brand href="/console" { "tenantgate" } }
        main id="main" .narrow { (body) }
    };
    respond(status, &document(title, frame))
}

fn document(title: &str, frame: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " · tenantgate" }
                link rel="stylesheet" href=(super::assets::STYLESHEET);
                link rel="icon" href=(super::assets::ICON);
                script src=(super::assets::SCRIPT) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (frame)
            }
        }
    }
}

/// An HTML answer with the console's headers: the policy above, never cached, never sniffed.
pub fn respond(status: StatusCode, markup: &Markup) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    secure_headers(&mut response);
    response.content_type("text/html; charset=utf-8").body(markup.0.clone())
}

pub fn secure_headers(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
}

/// A redirect after an action or to the sign-in page (303: the browser follows with a GET).
pub fn see_other(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    secure_headers(&mut response);
    response.insert_header((header::LOCATION, location)).finish()
}

/// Why a console request is not answered with its page; each is a page saying so.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: go and sign in, then come back to `next`.
    #[error("sign in to continue")]
    SignIn { next: String },
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("{0}")]
    CrossSite(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("too many sign-in attempts from this address: try again in {0} seconds")]
    TooManyAttempts(u64),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Refused(_) | ConsoleError::CrossSite(_) => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Store(_) | ConsoleError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            ConsoleError::SignIn { next } => {
                return see_other(&format!("/console/sign-in?next={}", super::query::encode(next)));
            }
            ConsoleError::Store(_) | ConsoleError::Unexpected(_) => {
                tracing::error!(error = %self, "console: request failed");
            }
            _ => {}
        }
        // A 500 says nothing of its cause; the log has it.
        let message = if status.is_server_error() {
            match status {
                StatusCode::SERVICE_UNAVAILABLE => "The database is unavailable. Try again in a moment.".to_owned(),
                _ => "Something went wrong on our side; the server's log has the details.".to_owned(),
            }
        } else {
            self.to_string()
        };
        let mut response = bare(
            status,
            status.canonical_reason().unwrap_or("Error"),
            html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p.error role="alert" { (message) }
                p { a href="/console" { "Back to the overview" } }
            },
        );
        if let ConsoleError::TooManyAttempts(secs) = self {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// 405 for a console path, naming the methods it has (`allow`).
pub async fn method_not_allowed(req: actix_web::HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response = bare(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        html! {
            h1 { "405 Method Not Allowed" }
            p.error role="alert" { (req.method().as_str()) " is not served here; this address takes " (allow) "." }
        },
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}
