//! A stateful fake of Airbyte's public API (`/v1`) on `wiremock`, for the integration tests.
//!
//! It follows the real paths and shapes (reference: `../shared/reference/frontegg-airbyte.md` §2):
//!
//! | op name (for [`FakeAirbyte::fail_next`]) | route |
//! |---|---|
//! | `token` | `POST /applications/token` (`client_id`, `client_secret`, `grant_type`; a `grant-type`, the declared property, read) |
//! | `create_workspace`, `list_workspaces` | `POST`, `GET /workspaces` |
//! | `get_workspace`, `rename_workspace`, `delete_workspace` | `GET`, `PATCH`, `DELETE /workspaces/{id}` |
//! | `list_connections`, `patch_connection` | `GET /connections?workspaceIds=`, `PATCH /connections/{id}` |
//! | `list_jobs`, `cancel_job` | `GET /jobs?workspaceIds=&status=`, `DELETE /jobs/{id}` |
//! | `list_destinations`, `create_destination` | `GET`, `POST /destinations` |
//!
//! **Strict**: every request is first checked against Airbyte's official OpenAPI document (the rules
//! in `src/provisioning/airbyte/tests/conformance.rs`, shared with the client's unit tests): one it
//! refuses (a missing required field, a value outside an enum, a wrong type, a path id that is not
//! a UUID or an int64, an undeclared parameter) answers 400 `bad-request` naming the violation, and
//! fails the test when the fake is dropped, so an off-spec call cannot pass the suite.
//!
//! Lists take `limit` (1–100, default 20), `offset`, `includeDeleted` and `workspaceIds` (an unknown
//! workspace id gets 404), and answer like Airbyte's server: `{"data":[…],"next","previous"}` with
//! `next` the link to `offset+limit` for every non-empty page and `""` for an empty one, `previous`
//! `""` at offset 0. [`FakeAirbyte::shuffle_listings`] orders every list anew on each request, as
//! Airbyte's LIMIT/OFFSET without ORDER BY may. `includeDeleted=true` shows deleted workspaces only
//! when their ids are asked for. Workspace ids are uuids and names are NOT unique: creating the
//! same name twice creates two workspaces. `DELETE /workspaces/{id}` answers 204 and soft-deletes: the workspace is hidden unless
//! `includeDeleted=true`, its connections become `deprecated` and its destinations go. `DELETE /jobs/{id}`
//! answers 200 with the JobResponse, now `cancelled`. Errors are RFC 9457 problems
//! `{status,type,title,detail}` (`application/problem+json`) with the reference's types and titles;
//! unknown or deleted ids get 404 `resource-not-found`.
//!
//! Auth: by default any `Authorization: Bearer …` is accepted (a missing one gets 401). After
//! [`FakeAirbyte::require_client_credentials`] only unexpired tokens issued by the token endpoint
//! (`tok-1`, `tok-2`, …) are; [`FakeAirbyte::expire_tokens`] revokes them all. [`FakeAirbyte::require_token`]
//! accepts exactly one static token.
//!
//! Scripted failures ([`Failure`]) are consumed in order per op name, after the auth check. `Hang(d)`
//! performs the operation and then delays the answer by `d`: with `d` longer than the client's timeout
//! the effect happens (e.g. the workspace IS created) but the client sees a timeout. wiremock cannot
//! drop a connection mid-request, so `Hang` stands in for every outcome-unknown failure; the client's
//! connection-error path is covered by its unit test against a closed port.
//!
//! Rate limit: [`FakeAirbyte::limit_rate`] accepts at most N requests in any sliding second across
//! every endpoint and answers the others like Airbyte's load-shed filter (429
//! `{"message":"You are being rate limited."}`, no `Retry-After`, nothing done); every answer then
//! comes after a set latency. [`FakeAirbyte::traffic`] counts requests, 429s and workspace listings.
//! A request refused by the limit is still checked against the official document.
//!
//! Inspection: [`FakeAirbyte::workspaces`], [`connections`](FakeAirbyte::connections),
//! [`cancelled_jobs`](FakeAirbyte::cancelled_jobs), [`destinations`](FakeAirbyte::destinations),
//! [`token_requests`](FakeAirbyte::token_requests), and the recorded requests through
//! [`calls`](FakeAirbyte::calls), [`request_bodies`](FakeAirbyte::request_bodies) and
//! [`wait_for_calls`](FakeAirbyte::wait_for_calls) (path prefixes as the server sees them, e.g.
//! `"/v1/workspaces"`; `"/workspaces"` means the same).
//!
//! Layout: this file holds the test-facing API and the state; `fake_airbyte/router.rs` routes, checks
//! auth and applies failures; `fake_airbyte/handlers.rs` does each operation and shapes the JSON;
//! `fake_airbyte/limiter.rs` holds the rate limit and the traffic counters; `fake_airbyte/recorded.rs`
//! reads the requests received.
#![allow(dead_code, reason = "each integration test uses a different part of the fake")]

#[path = "../../src/provisioning/airbyte/tests/conformance.rs"]
mod conformance;
mod handlers;
mod limiter;
mod recorded;
mod router;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

use limiter::RateLimit;
pub use limiter::Traffic;
use router::Router;

/// The op names [`FakeAirbyte::fail_next`] accepts (the client uses the same names for its observer).
pub const OPERATIONS: [&str; 12] = [
    "token",
    "create_workspace",
    "list_workspaces",
    "get_workspace",
    "rename_workspace",
    "delete_workspace",
    "list_connections",
    "patch_connection",
    "list_jobs",
    "cancel_job",
    "list_destinations",
    "create_destination",
];

/// A scripted answer for the next call of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// That status with the reference's problem `type`/`title` for it; no effect.
    Status(u16),
    /// 409 `try-again-later`; no effect.
    TryAgainLater,
    /// 429 `{"message":"You are being rate limited."}`, with `Retry-After` when given; no effect.
    RateLimited { retry_after: Option<u64> },
    /// Any problem; `type` is `…/errors#{title}`; no effect.
    Problem { status: u16, title: String, detail: String },
    /// The effect happens, then the normal answer is delayed this long.
    Hang(Duration),
}

/// The fake server and its state. Cheap to query from tests at any time.
pub struct FakeAirbyte {
    /// The underlying mock server (e.g. for `received_requests`).
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
enum Auth {
    #[default]
    AnyBearer,
    Token(String),
    ClientCredentials {
        client_id: String,
        client_secret: String,
        expires_in: u64,
    },
}

struct Issued {
    token: String,
    expires_at: Instant,
    revoked: bool,
}

struct Workspace {
    id: String,
    name: String,
    deleted: bool,
    organization_id: Option<String>,
}

struct Connection {
    id: String,
    workspace_id: String,
    source_id: String,
    destination_id: String,
    status: String,
    created_at: i64,
}

struct Job {
    id: i64,
    workspace_id: String,
    connection_id: String,
    status: String,
    start_time: String,
}

struct Destination {
    id: String,
    workspace_id: String,
    name: String,
    configuration: Value,
    definition_id: Option<String>,
    deleted: bool,
}

#[derive(Default)]
struct State {
    auth: Auth,
    issued: Vec<Issued>,
    token_requests: usize,
    failures: HashMap<&'static str, VecDeque<Failure>>,
    workspaces: Vec<Workspace>,
    connections: Vec<Connection>,
    jobs: Vec<Job>,
    destinations: Vec<Destination>,
    base_url: String,
    /// Requests the official document refuses, each with its reason.
    violations: Vec<String>,
    /// Order every list anew on each request.
    shuffled: Option<fastrand::Rng>,
    rate_limit: Option<RateLimit>,
    traffic: Traffic,
}

impl FakeAirbyte {
    /// Starts the server; point the client at [`base_url`](Self::base_url).
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            base_url: format!("{}/v1", server.uri()),
            ..State::default()
        }));
        Mock::given(any())
            .respond_with(Router {
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// `{server}/v1`, like `https://api.airbyte.com/v1`.
    pub fn base_url(&self) -> String {
        self.lock().base_url.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// From now on only tokens issued for these credentials, valid for `expires_in` seconds, are accepted.
    pub fn require_client_credentials(&self, client_id: &str, client_secret: &str, expires_in: u64) {
        self.lock().auth = Auth::ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            expires_in,
        };
    }

    /// From now on only this static bearer token is accepted.
    pub fn require_token(&self, token: &str) {
        self.lock().auth = Auth::Token(token.into());
    }

    /// Every token issued so far becomes invalid: the next API call with one gets 401.
    pub fn expire_tokens(&self) {
        self.lock().issued.iter_mut().for_each(|issued| issued.revoked = true);
    }

    /// From now on every list answer orders its items anew, as Airbyte's paging without ORDER BY
    /// may: pages of one walk can overlap and skip.
    pub fn shuffle_listings(&self, seed: u64) {
        self.lock().shuffled = Some(fastrand::Rng::with_seed(seed));
    }

    /// The requests the official document refuses that came so far, now forgotten (for a test
    /// that sends such requests on purpose).
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().violations)
    }

    /// Requests that reached the token endpoint (failed ones included).
    pub fn token_requests(&self) -> usize {
        self.lock().token_requests
    }

    /// Answers the next call of `op` (one of [`OPERATIONS`]) with `failure`; queued in order.
    pub fn fail_next(&self, op: &str, failure: Failure) {
        let Some(op) = OPERATIONS.iter().find(|known| **known == op) else {
            panic!("unknown fake Airbyte operation {op:?}; known: {OPERATIONS:?}");
        };
        self.lock().failures.entry(op).or_default().push_back(failure);
    }

    /// Deletes a workspace out of band, as someone would in Airbyte's UI: tombstoned, its
    /// connections deprecated, without any request from tenantgate.
    pub fn delete_by_hand(&self, workspace_id: &str) {
        let mut state = self.lock();
        state
            .workspaces
            .iter_mut()
            .filter(|w| w.id == workspace_id)
            .for_each(|w| w.deleted = true);
        let connections = state.connections.iter_mut().filter(|c| c.workspace_id == workspace_id);
        connections.for_each(|c| c.status = "deprecated".to_owned());
    }

    /// Seeds a workspace; returns its id.
    pub fn add_workspace(&self, name: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let workspace = Workspace {
            id: id.clone(),
            name: name.into(),
            deleted: false,
            organization_id: None,
        };
        self.lock().workspaces.push(workspace);
        id
    }

    /// Seeds a connection (`status`: `active`, `inactive`, `deprecated` or `locked`); returns its id.
    pub fn add_connection(&self, workspace_id: &str, status: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let created_at = chrono::Utc::now().timestamp();
        let connection = Connection {
            id: id.clone(),
            workspace_id: workspace_id.into(),
            source_id: uuid::Uuid::new_v4().to_string(),
            destination_id: uuid::Uuid::new_v4().to_string(),
            status: status.into(),
            created_at,
        };
        self.lock().connections.push(connection);
        id
    }

    /// Seeds a running sync job (on the workspace's first connection, if any); returns its id.
    pub fn add_running_job(&self, workspace_id: &str) -> i64 {
        let mut state = self.lock();
        let id = 1_000 + i64::try_from(state.jobs.len()).unwrap_or(0);
        let connection_id = state
            .connections
            .iter()
            .find(|connection| connection.workspace_id == workspace_id)
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), |connection| connection.id.clone());
        let start_time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let job = Job {
            id,
            workspace_id: workspace_id.into(),
            connection_id,
            status: "running".parse().unwrap(),
            start_time,
        };
        state.jobs.push(job);
        id
    }

    /// Every workspace ever created or seeded, in creation order: (id, name, deleted).
    pub fn workspaces(&self) -> Vec<(String, String, bool)> {
        self.lock()
            .workspaces
            .iter()
            .map(|w| (w.id.clone(), w.name.clone(), w.deleted))
            .collect()
    }

    /// The `organizationId` a workspace was created with.
    pub fn organization_of(&self, workspace_id: &str) -> Option<String> {
        self.lock()
            .workspaces
            .iter()
            .find(|w| w.id == workspace_id)
            .and_then(|w| w.organization_id.clone())
    }

    /// Every connection: (id, workspace id, status). A deleted workspace's connections are `deprecated`.
    pub fn connections(&self) -> Vec<(String, String, String)> {
        let state = self.lock();
        state
            .connections
            .iter()
            .map(|c| (c.id.clone(), c.workspace_id.clone(), c.status.clone()))
            .collect()
    }

    /// Ids of the jobs cancelled through `DELETE /jobs/{id}`.
    pub fn cancelled_jobs(&self) -> Vec<i64> {
        self.lock()
            .jobs
            .iter()
            .filter(|job| job.status == "cancelled")
            .map(|job| job.id)
            .collect()
    }

    /// Destinations not deleted: (workspace id, name).
    pub fn destinations(&self) -> Vec<(String, String)> {
        let state = self.lock();
        state
            .destinations
            .iter()
            .filter(|d| !d.deleted)
            .map(|d| (d.workspace_id.clone(), d.name.clone()))
            .collect()
    }
}

/// An off-spec request fails the test that made it, once the fake goes.
impl Drop for FakeAirbyte {
    fn drop(&mut self) {
        let violations = self.take_violations();
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "requests Airbyte's official API document refuses reached the fake:\n{}",
                violations.join("\n")
            );
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking test must not turn every later answer into a second panic.
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
