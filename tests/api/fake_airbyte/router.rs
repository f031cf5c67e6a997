//! The fake's one responder: routing, the rate limit, the auth check, scripted failures, and
//! answer shapes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{lock, Auth, Failure, State};

const ERRORS: &str = "https://reference.airbyte.com/reference/errors";

/// The one responder: counts, checks the request against the document, applies the rate limit,
/// routes, checks auth, applies scripted failures, then mutates the state. Every answer comes
/// after the rate limit's latency, if one is set.
pub(super) struct Router {
    pub(super) state: Arc<Mutex<State>>,
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        state.count(request);
        let latency = state.rate_limit.as_ref().map_or(Duration::ZERO, |limit| limit.latency);
        let (answer, hang) = state.answer(request);
        let delay = latency + hang;
        if delay.is_zero() {
            answer
        } else {
            answer.set_delay(delay)
        }
    }
}

impl State {
    fn count(&mut self, request: &Request) {
        self.traffic.requests += 1;
        if request.method.as_str() == "GET" && request.url.path().trim_end_matches('/') == "/v1/workspaces" {
            self.traffic.listings += 1;
        }
    }

    /// The answer, and how much longer than the latency it hangs (a scripted `Hang`).
    fn answer(&mut self, request: &Request) -> (ResponseTemplate, Duration) {
        // Checked first, so that an off-spec request fails the test whatever its answer.
        let violation = super::conformance::request_violation(request);
        if let Some(violation) = &violation {
            self.violations.push(violation.clone());
        }
        // Airbyte's load-shed filter answers before the request reaches its controller.
        if let Some(limit) = self.rate_limit.as_mut() {
            if !limit.admit(Instant::now()) {
                self.traffic.rate_limited += 1;
                return (rate_limited(None), Duration::ZERO);
            }
        }
        if let Some(violation) = violation {
            return (problem(400, "bad-request", &violation).into(), Duration::ZERO);
        }
        let path = request
            .url
            .path()
            .strip_prefix("/v1")
            .unwrap_or("")
            .trim_matches('/')
            .to_owned();
        let segments: Vec<&str> = path.split('/').collect();
        let Some(op) = route(request.method.as_str(), &segments) else {
            let detail = format!("no route for {} {}", request.method, request.url.path());
            return (problem(404, "resource-not-found", &detail).into(), Duration::ZERO);
        };
        if op == "token" {
            self.token_requests += 1;
        } else if !self.authorized(request) {
            let refused = problem(401, "invalid-api-key", "Invalid or expired bearer token.");
            return (refused.into(), Duration::ZERO);
        }
        let failure = self.failures.get_mut(op).and_then(VecDeque::pop_front);
        if let Some(answer) = failure.as_ref().and_then(failure_answer) {
            if failure.as_ref().is_some_and(is_rate_limited) {
                self.traffic.rate_limited += 1;
            }
            return (answer, Duration::ZERO);
        }
        let id = segments.get(1).copied().unwrap_or("");
        let answer = self.handle(op, id, request);
        match failure {
            Some(Failure::Hang(delay)) => (answer, delay),
            _ => (answer, Duration::ZERO),
        }
    }
}

fn route(method: &str, segments: &[&str]) -> Option<&'static str> {
    Some(match (method, segments) {
        ("POST", ["applications", "token"]) => "token",
        ("POST", ["workspaces"]) => "create_workspace",
        ("GET", ["workspaces"]) => "list_workspaces",
        ("GET", ["workspaces", _]) => "get_workspace",
        ("PATCH", ["workspaces", _]) => "rename_workspace",
        ("DELETE", ["workspaces", _]) => "delete_workspace",
        ("GET", ["connections"]) => "list_connections",
        ("PATCH", ["connections", _]) => "patch_connection",
        ("GET", ["jobs"]) => "list_jobs",
        ("DELETE", ["jobs", _]) => "cancel_job",
        ("GET", ["destinations"]) => "list_destinations",
        ("POST", ["destinations"]) => "create_destination",
        _ => return None,
    })
}

impl State {
    fn authorized(&self, request: &Request) -> bool {
        let header = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let Some(token) = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|token| !token.is_empty())
        else {
            return false;
        };
        match &self.auth {
            Auth::AnyBearer => true,
            Auth::Token(expected) => token == expected,
            Auth::ClientCredentials { .. } => self
                .issued
                .iter()
                .any(|issued| issued.token == token && !issued.revoked && Instant::now() < issued.expires_at),
        }
    }
}

/// A 2xx answer.
pub(super) enum Reply {
    Json(Value),
    NoContent,
}

impl From<Reply> for ResponseTemplate {
    fn from(reply: Reply) -> Self {
        match reply {
            Reply::Json(body) => ResponseTemplate::new(200).set_body_json(body),
            Reply::NoContent => ResponseTemplate::new(204),
        }
    }
}

/// An RFC 9457 problem answer.
pub(super) struct Problem {
    status: u16,
    title: String,
    detail: String,
}

impl From<Problem> for ResponseTemplate {
    /// The reference's `type` for the title (§2.6), as `application/problem+json`.
    fn from(Problem { status, title, detail }: Problem) -> Self {
        let kind = match title.as_str() {
            "request-timeout-exceeded" | "failed-precondition" => format!("error:{title}"),
            "not-implemented-in-oss" => "error:implementation/not-implemented-in-oss".to_owned(),
            "state-conflict" => format!("{ERRORS}#409-state-conflict"),
            _ => format!("{ERRORS}#{title}"),
        };
        let body = json!({ "status": status, "type": kind, "title": title, "detail": detail });
        ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/problem+json")
    }
}

pub(super) fn ok(body: Value) -> Reply {
    Reply::Json(body)
}

pub(super) fn problem(status: u16, title: &str, detail: &str) -> Problem {
    Problem {
        status,
        title: title.to_owned(),
        detail: detail.to_owned(),
    }
}

pub(super) fn not_found(what: &str, id: &str) -> Problem {
    problem(
        404,
        "resource-not-found",
        &format!("Could not find a {what} with id {id}."),
    )
}

/// The answer a scripted failure gives instead of the operation; `None` for a hang, which does the
/// operation and delays its answer.
fn failure_answer(failure: &Failure) -> Option<ResponseTemplate> {
    Some(match failure {
        Failure::Status(status) => {
            let title = match status {
                400 => "bad-request",
                401 => "invalid-api-key",
                403 => "forbidden",
                404 => "resource-not-found",
                408 => "request-timeout-exceeded",
                409 => "state-conflict",
                412 => "failed-precondition",
                422 => "unprocessable-entity",
                501 => "not-implemented-in-oss",
                503 => "service-unavailable",
                _ => "unexpected-problem",
            };
            problem(*status, title, &format!("scripted failure {status}")).into()
        }
        Failure::TryAgainLater => problem(409, "try-again-later", "The server is busy; try again later.").into(),
        Failure::RateLimited { retry_after } => rate_limited(*retry_after),
        Failure::Problem { status, title, detail } => problem(*status, title, detail).into(),
        Failure::Hang(_) => return None,
    })
}

/// Airbyte's load-shed answer (`PublicApiLoadShedFilter`), with a `Retry-After` only if given:
/// Airbyte itself sends none.
fn rate_limited(retry_after: Option<u64>) -> ResponseTemplate {
    let answer = ResponseTemplate::new(429).set_body_json(json!({ "message": "You are being rate limited." }));
    match retry_after {
        Some(seconds) => answer.insert_header("retry-after", seconds.to_string().as_str()),
        None => answer,
    }
}

fn is_rate_limited(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::RateLimited { .. } | Failure::Status(429) | Failure::Problem { status: 429, .. }
    )
}
