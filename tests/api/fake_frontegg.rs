//! A stateful fake of Frontegg's management API on `wiremock`, as strict as the reference
//! (`../shared/reference/reconcile-apis.md` §A and §D.1):
//!
//! - `POST /auth/vendor` (and `/auth/vendor/`) takes `{clientId, secret}`: a mismatch answers 401
//!   `{"errors":[…]}`, success `{token, expiresIn}` (seconds, set per fake). Tokens expire on the
//!   server at `issued + expiresIn`; [`FakeFrontegg::revoke_all`] ends them at once. A token is
//!   accepted in `Authorization: Bearer` and in `x-access-token`.
//! - `GET /tenants/resources/tenants/v2` takes `_limit` (default 50, maximum 200: above it clamped,
//!   or refused with [`FakeFrontegg::refuse_limits_over_200`]), `_offset` (a page index, or an item
//!   count after [`FakeFrontegg::count_offsets_in_items`]), `_filter`, `_sortBy`
//!   (`createdAt|name|tenantId`), `_order` (`ASC|DESC`) and `_tenantIds` (repeated, or comma
//!   separated), and answers `{items, _metadata{totalItems,totalPages}, _links{next,prev,first,last}}`,
//!   totals counted anew at each request, deleted tenants excluded, `metadata` a JSON string,
//!   times `YYYY-MM-DDTHH:MM:SS.mmmZ`. [`FakeFrontegg::after_page`] changes the tenants after a
//!   page is served, so the next page shifts.
//! - `GET /tenants/resources/tenants/v2/{tenantId}`: the object, or `[]` when missing (404 after
//!   [`FakeFrontegg::answer_missing_with_404`]).
//! - 429 ([`FakeFrontegg::rate_limit`]): every Nth API call refused with `X-Rate-Limit-Reset` (an
//!   RFC 3339 time), or with no rate-limit header, or with `Retry-After`.
//! - [`FakeFrontegg::fail_next`] answers the next read with an injected status (e.g. a 502).
//! - Every answer carries `Frontegg-Trace-Id`; errors are `{"errors":[…],"errorCode"?}`. A request
//!   off the reference (an unknown parameter, a bad value) answers 400 and fails the test when the
//!   fake is dropped.
//!
//! Not faked (the reconciler does not call them): tenants v1, users v3, create and delete.
#![allow(dead_code, reason = "each integration test uses a different part of the fake")]

mod handlers;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

use handlers::Router;

/// How a refused (429) call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `X-Rate-Limit-Reset` this far in the future, no `Retry-After` (what the gateway sends).
    ResetIn(Duration),
    /// No rate-limit header at all (a 429 proxied from a service behind the gateway).
    NoHeaders,
    /// `Retry-After: <seconds>` only.
    RetryAfter(u64),
}

/// A change to the tenants made between two pages.
pub type PageHook = Box<dyn FnOnce(&mut Tenants) + Send>;

pub struct FakeFrontegg {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

/// The environment's tenants, in creation order.
#[derive(Default)]
pub struct Tenants {
    items: Vec<Tenant>,
    created: u64,
}

struct Tenant {
    id: String,
    tenant_id: String,
    name: String,
    created_at: u64,
    deleted: bool,
}

impl Tenants {
    pub fn add(&mut self, tenant_id: &str, name: &str) {
        self.created += 1;
        match self.items.iter_mut().find(|t| t.tenant_id == tenant_id) {
            // Creating a removed tenant's id again reactivates it.
            Some(t) => {
                t.deleted = false;
                t.name = name.to_owned();
            }
            None => self.items.push(Tenant {
                id: uuid::Uuid::new_v4().to_string(),
                tenant_id: tenant_id.to_owned(),
                name: name.to_owned(),
                created_at: self.created,
                deleted: false,
            }),
        }
    }

    pub fn delete(&mut self, tenant_id: &str) {
        self.items
            .iter_mut()
            .filter(|t| t.tenant_id == tenant_id)
            .for_each(|t| t.deleted = true);
    }

    pub fn rename(&mut self, tenant_id: &str, name: &str) {
        self.items
            .iter_mut()
            .filter(|t| t.tenant_id == tenant_id)
            .for_each(|t| t.name = name.to_owned());
    }
}

struct Issued {
    token: String,
    expires_at: Instant,
    revoked: bool,
}

#[derive(Default)]
struct State {
    client_id: String,
    secret: String,
    expires_in: f64,
    issued: Vec<Issued>,
    tenants: Tenants,
    page_hooks: Vec<(usize, PageHook)>,
    item_offsets: bool,
    refuse_over_200: bool,
    missing_404: bool,
    hide_from_list: bool,
    rate_limit: Option<(u64, Refusal)>,
    delay: Duration,
    /// Statuses the next API reads answer with, in order (e.g. 502).
    failures: std::collections::VecDeque<u16>,
    api_calls: u64,
    counters: Counters,
    violations: Vec<String>,
}

/// What reached the fake.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub auth_calls: u64,
    pub list_pages: u64,
    pub lookups: u64,
    pub refused_429: u64,
    pub refused_401: u64,
}

impl FakeFrontegg {
    /// Starts the fake for one environment's credentials, its tokens living `expires_in` seconds.
    pub async fn start(client_id: &str, secret: &str, expires_in: f64) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            client_id: client_id.into(),
            secret: secret.into(),
            expires_in,
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

    /// Like `https://api.frontegg.com`.
    pub fn base_url(&self) -> String {
        self.server.uri()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn add_tenant(&self, tenant_id: &str, name: &str) {
        self.lock().tenants.add(tenant_id, name);
    }

    pub fn delete_tenant(&self, tenant_id: &str) {
        self.lock().tenants.delete(tenant_id);
    }

    pub fn rename_tenant(&self, tenant_id: &str, name: &str) {
        self.lock().tenants.rename(tenant_id, name);
    }

    /// After page `index` (0-based) of a listing is served, `change` runs once.
    pub fn after_page(&self, index: usize, change: impl FnOnce(&mut Tenants) + Send + 'static) {
        self.lock().page_hooks.push((index, Box::new(change)));
    }

    /// Every token issued so far is refused from now on.
    pub fn revoke_all(&self) {
        self.lock().issued.iter_mut().for_each(|i| i.revoked = true);
    }

    pub fn count_offsets_in_items(&self) {
        self.lock().item_offsets = true;
    }

    pub fn refuse_limits_over_200(&self) {
        self.lock().refuse_over_200 = true;
    }

    pub fn answer_missing_with_404(&self) {
        self.lock().missing_404 = true;
    }

    /// The list answers no tenant while every tenant still exists (a broken or truncated list).
    pub fn list_nothing(&self) {
        self.lock().hide_from_list = true;
    }

    /// Every `nth` API call (authentication included) is refused with a 429 answered as `how`.
    pub fn rate_limit(&self, nth: u64, how: Refusal) {
        self.lock().rate_limit = Some((nth, how));
    }

    /// The next API read (after authentication) answers `status` with an error body; queued in order.
    pub fn fail_next(&self, status: u16) {
        self.lock().failures.push_back(status);
    }

    /// Every answer from now on comes this much later.
    pub fn delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    pub fn counters(&self) -> Counters {
        self.lock().counters
    }

    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().violations)
    }
}

impl Drop for FakeFrontegg {
    fn drop(&mut self) {
        let violations = self.take_violations();
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "requests off Frontegg's reference reached the fake:\n{}",
                violations.join("\n")
            );
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
