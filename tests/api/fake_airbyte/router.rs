//! The fake's one responder: routing, the auth check, scripted failures, and answer shapes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{lock, Auth, Failure, State};

const ERRORS: &str = "https://reference.airbyte.com/reference/errors";

/// The one responder: routes, checks auth, applies scripted failures, then mutates the state.
pub(super) struct Router {
    pub(super) state: Arc<Mutex<State>>,
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        if let Some(violation) = super::conformance::request_violation(request) {
            state.violations.push(violation.clone());
            return problem(400, "bad-request", &violation).into();
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
            return problem(404, "resource-not-found", &detail).into();
        };
        if op == "token" {
            state.token_requests += 1;
        } else if !state.authorized(request) {
            return problem(401, "invalid-api-key", "Invalid or expired bearer token.").into();
        }
        let failure = state.failures.get_mut(op).and_then(VecDeque::pop_front);
        if let Some(answer) = failure.as_ref().and_then(failure_answer) {
            return answer;
        }
        let id = segments.get(1).copied().unwrap_or("");
        let answer = state.handle(op, id, request);
        match failure {
            Some(Failure::Hang(delay)) => answer.set_delay(delay),
            _ => answer,
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
        Failure::RateLimited { retry_after } => {
            let answer = ResponseTemplate::new(429).set_body_json(json!({ "message": "You are being rate limited." }));
            match retry_after {
                Some(seconds) => answer.insert_header("retry-after", seconds.to_string().as_str()),
                None => answer,
            }
        }
        Failure::Problem { status, title, detail } => problem(*status, title, detail).into(),
        Failure::Hang(_) => return None,
    })
}
