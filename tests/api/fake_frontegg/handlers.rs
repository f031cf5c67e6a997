//! The fake's one responder: routing, the rate limit, authentication, and each answer's shape.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{lock, Issued, Refusal, State, Tenant};

const TENANTS: &str = "/tenants/resources/tenants/v2";
const LIST_PARAMS: [&str; 6] = ["_limit", "_offset", "_filter", "_sortBy", "_order", "_tenantIds"];

pub(super) struct Router {
    pub(super) state: Arc<Mutex<State>>,
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let answer = state.answer(request).set_delay(state.delay);
        answer.insert_header("frontegg-trace-id", format!("{:032x}", fastrand::u128(..)))
    }
}

fn errors(status: u16, message: &str, code: Option<&str>) -> ResponseTemplate {
    let mut body = json!({ "errors": [message] });
    if let Some(code) = code {
        body["errorCode"] = json!(code);
    }
    ResponseTemplate::new(status).set_body_json(body)
}

impl State {
    fn answer(&mut self, request: &Request) -> ResponseTemplate {
        self.api_calls += 1;
        if let Some((nth, how)) = self.rate_limit {
            if self.api_calls % nth == 0 {
                self.counters.refused_429 += 1;
                return refused(how);
            }
        }
        let path = request.url.path().trim_end_matches('/');
        let method = request.method.as_str();
        if method == "POST" && path == "/auth/vendor" {
            return self.authenticate(request);
        }
        if method != "GET" || !(path == TENANTS || path.starts_with(&format!("{TENANTS}/"))) {
            return errors(404, &format!("Cannot {method} {path}"), None);
        }
        if !self.authorized(request) {
            self.counters.refused_401 += 1;
            return errors(401, "Unauthorized", None);
        }
        if let Some(status) = self.failures.pop_front() {
            return errors(status, "Injected failure", Some("ER-00000"));
        }
        match path.strip_prefix(&format!("{TENANTS}/")) {
            Some(id) => self.lookup(request, id),
            None => self.list(request),
        }
    }

    fn authenticate(&mut self, request: &Request) -> ResponseTemplate {
        self.counters.auth_calls += 1;
        let json = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            self.violations
                .push("POST /auth/vendor without Content-Type: application/json".to_owned());
            return errors(400, "Content-Type must be application/json", None);
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let (Some(client_id), Some(secret)) = (body["clientId"].as_str(), body["secret"].as_str()) else {
            self.violations
                .push(format!("POST /auth/vendor without string clientId and secret: {body}"));
            return errors(400, "clientId and secret must be strings", None);
        };
        if client_id != self.client_id || secret != self.secret {
            return errors(401, "Invalid authentication", None);
        }
        let token = format!("fe-token-{}", self.issued.len() + 1);
        self.issued.push(Issued {
            token: token.clone(),
            expires_at: Instant::now() + Duration::from_secs_f64(self.expires_in),
            revoked: false,
        });
        ResponseTemplate::new(200).set_body_json(json!({ "token": token, "expiresIn": self.expires_in }))
    }

    fn authorized(&self, request: &Request) -> bool {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let token = header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .or_else(|| header("x-access-token"));
        token.is_some_and(|token| {
            self.issued
                .iter()
                .any(|i| i.token == token && !i.revoked && Instant::now() < i.expires_at)
        })
    }

    fn lookup(&mut self, request: &Request, id: &str) -> ResponseTemplate {
        self.counters.lookups += 1;
        if request.url.query().is_some_and(|q| !q.is_empty()) {
            self.violations
                .push(format!("GET {TENANTS}/{{id}} takes no query: {}", request.url));
            return errors(400, "unexpected query", None);
        }
        let id = percent_decode(id);
        match self.tenants.items.iter().find(|t| t.tenant_id == id && !t.deleted) {
            Some(tenant) => ResponseTemplate::new(200).set_body_json(tenant_json(tenant)),
            None if self.missing_404 => errors(404, "Tenant not found", Some("ER-01008")),
            None => ResponseTemplate::new(200).set_body_json(json!([])),
        }
    }

    fn list(&mut self, request: &Request) -> ResponseTemplate {
        self.counters.list_pages += 1;
        let query = match ListQuery::parse(request, self.refuse_over_200) {
            Ok(query) => query,
            Err(violation) => {
                self.violations.push(violation.clone());
                return errors(400, &violation, None);
            }
        };
        let mut shown: Vec<&Tenant> = self
            .tenants
            .items
            .iter()
            .filter(|t| !t.deleted && !self.hide_from_list)
            .filter(|t| {
                query
                    .filter
                    .as_ref()
                    .is_none_or(|f| t.name.contains(f.as_str()) || t.tenant_id.contains(f.as_str()))
            })
            .filter(|t| query.tenant_ids.is_empty() || query.tenant_ids.contains(&t.tenant_id))
            .collect();
        match query.sort_by.as_str() {
            "name" => shown.sort_by(|a, b| a.name.cmp(&b.name)),
            "tenantId" => shown.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id)),
            _ => shown.sort_by_key(|t| t.created_at),
        }
        if query.descending {
            shown.reverse();
        }
        let total = shown.len();
        let pages = total.div_ceil(query.limit);
        let start = if self.item_offsets {
            query.offset
        } else {
            query.offset.saturating_mul(query.limit)
        };
        let items: Vec<Value> = shown
            .iter()
            .skip(start)
            .take(query.limit)
            .map(|t| tenant_json(t))
            .collect();
        let link = |offset: usize| format!("{TENANTS}?_limit={}&_offset={offset}", query.limit);
        let body = json!({
            "items": items,
            "_metadata": { "totalItems": total, "totalPages": pages },
            "_links": {
                "next": link(query.offset + 1),
                "prev": link(query.offset.saturating_sub(1)),
                "first": link(0),
                "last": link(pages.saturating_sub(1)),
            },
        });
        // The list is no snapshot: what happens between two pages shows on the next one.
        let due: Vec<usize> = (0..self.page_hooks.len())
            .filter(|&i| self.page_hooks[i].0 == query.offset)
            .collect();
        for i in due.into_iter().rev() {
            let (_, hook) = self.page_hooks.remove(i);
            hook(&mut self.tenants);
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

struct ListQuery {
    limit: usize,
    offset: usize,
    filter: Option<String>,
    sort_by: String,
    descending: bool,
    tenant_ids: Vec<String>,
}

impl ListQuery {
    fn parse(request: &Request, refuse_over_200: bool) -> Result<Self, String> {
        let mut query = Self {
            limit: 50,
            offset: 0,
            filter: None,
            sort_by: "createdAt".into(),
            descending: false,
            tenant_ids: Vec::new(),
        };
        for (key, value) in request.url.query_pairs() {
            let number = || {
                value
                    .parse::<usize>()
                    .map_err(|_| format!("{key} must be a number, got {value:?}"))
            };
            match key.as_ref() {
                "_limit" => query.limit = number()?,
                "_offset" => query.offset = number()?,
                "_filter" => query.filter = Some(value.to_string()),
                "_sortBy" if ["createdAt", "name", "tenantId"].contains(&value.as_ref()) => {
                    query.sort_by = value.to_string()
                }
                "_order" if value == "ASC" || value == "DESC" => query.descending = value == "DESC",
                "_tenantIds" => query.tenant_ids.extend(value.split(',').map(str::to_owned)),
                key if LIST_PARAMS.contains(&key) => return Err(format!("{key}={value:?} is not an accepted value")),
                key => return Err(format!("GET {TENANTS} has no parameter {key:?}")),
            }
        }
        if query.limit == 0 {
            return Err("_limit must be at least 1".into());
        }
        if query.limit > 200 {
            if refuse_over_200 {
                return Err(format!("_limit must not be greater than 200, got {}", query.limit));
            }
            query.limit = 200;
        }
        Ok(query)
    }
}

fn refused(how: Refusal) -> ResponseTemplate {
    let answer = errors(429, "Too many requests", None);
    match how {
        Refusal::ResetIn(after) => {
            let reset: DateTime<Utc> = Utc::now() + after;
            answer.insert_header("x-rate-limit-reset", reset.to_rfc3339_opts(SecondsFormat::Millis, true))
        }
        Refusal::NoHeaders => answer,
        Refusal::RetryAfter(seconds) => answer.insert_header("retry-after", seconds.to_string()),
    }
}

fn tenant_json(t: &Tenant) -> Value {
    let at = DateTime::<Utc>::from_timestamp(1_767_225_600 + i64::try_from(t.created_at).unwrap_or(0), 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    json!({
        "id": t.id, "tenantId": t.tenant_id, "vendorId": "vendor-1", "name": t.name,
        "metadata": "{}", "isReseller": false, "creatorName": null, "creatorEmail": null,
        "createdAt": at, "updatedAt": at, "deletedAt": null,
    })
}

fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
