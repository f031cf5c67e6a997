//! What each operation does to the fake's state, and the JSON shapes of Airbyte's answers.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::{Request, ResponseTemplate};

use super::router::{not_found, ok, problem, Problem, Reply};
use super::{Auth, Connection, Destination, Issued, Job, State, Workspace};

/// Query parameters of a list call, validated like Airbyte does.
struct ListQuery {
    limit: usize,
    offset: usize,
    include_deleted: bool,
    workspace_ids: Vec<String>,
    status: Option<String>,
}

impl ListQuery {
    fn parse(request: &Request) -> Result<Self, Problem> {
        let mut query = Self {
            limit: 20,
            offset: 0,
            include_deleted: false,
            workspace_ids: Vec::new(),
            status: None,
        };
        for (key, value) in request.url.query_pairs() {
            let bad = |what: &str| problem(400, "bad-request", &format!("{key}={value}: {what}"));
            match key.as_ref() {
                "limit" => match value.parse::<usize>() {
                    Ok(limit @ 1..=100) => query.limit = limit,
                    _ => return Err(bad("limit must be between 1 and 100")),
                },
                "offset" => query.offset = value.parse().map_err(|_| bad("offset must be 0 or more"))?,
                "includeDeleted" => query.include_deleted = value.parse().map_err(|_| bad("not a boolean"))?,
                "workspaceIds" => query.workspace_ids.extend(value.split(',').map(str::to_owned)),
                "status" => query.status = Some(value.into_owned()),
                _ => {}
            }
        }
        Ok(query)
    }

    fn wants(&self, workspace_id: &str) -> bool {
        self.workspace_ids.is_empty() || self.workspace_ids.iter().any(|id| id == workspace_id)
    }

    /// One page of `items` with `next`/`previous` links like Airbyte's server writes them
    /// (`PaginationMapper`): `next` for every non-empty page, even a short one, and `""` for an
    /// empty page; `previous` `""` at offset 0.
    fn page(&self, base_url: &str, collection: &str, items: Vec<Value>) -> Reply {
        let data: Vec<Value> = items.into_iter().skip(self.offset).take(self.limit).collect();
        let link = |offset: usize| format!("{base_url}/{collection}?limit={}&offset={offset}", self.limit);
        let next = if data.is_empty() {
            String::new()
        } else {
            link(self.offset.saturating_add(self.limit))
        };
        let previous = if self.offset == 0 {
            String::new()
        } else {
            link(self.offset.saturating_sub(self.limit))
        };
        Reply::Json(json!({ "data": data, "next": next, "previous": previous }))
    }
}

impl State {
    pub(super) fn handle(&mut self, op: &str, id: &str, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let result = match op {
            "token" => self.issue_token(&body),
            "create_workspace" => self.create_workspace(&body),
            "rename_workspace" => self.rename_workspace(id, &body),
            "get_workspace" => self.get_workspace(id),
            "delete_workspace" => self.delete_workspace(id),
            "patch_connection" => self.patch_connection(id, &body),
            "cancel_job" => self.cancel_job(id),
            "create_destination" => self.create_destination(&body),
            _ => ListQuery::parse(request).and_then(|query| self.list(op, &query)),
        };
        match result {
            Ok(reply) => reply.into(),
            Err(problem) => problem.into(),
        }
    }

    fn issue_token(&mut self, body: &Value) -> Result<Reply, Problem> {
        let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or("");
        if field("grant-type") != "client_credentials" {
            return Err(problem(400, "bad-request", "grant-type must be client_credentials"));
        }
        let expires_in = match &self.auth {
            Auth::ClientCredentials {
                client_id,
                client_secret,
                expires_in,
            } => {
                if field("client_id") != client_id || field("client_secret") != client_secret {
                    return Err(problem(401, "invalid-api-key", "Unknown client_id or client_secret."));
                }
                *expires_in
            }
            _ => 180,
        };
        let token = format!("tok-{}", self.issued.len() + 1);
        let expires_at = Instant::now() + Duration::from_secs(expires_in);
        self.issued.push(Issued {
            token: token.clone(),
            expires_at,
            revoked: false,
        });
        Ok(ok(
            json!({ "access_token": token, "token_type": "Bearer", "expires_in": expires_in }),
        ))
    }

    fn create_workspace(&mut self, body: &Value) -> Result<Reply, Problem> {
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|name| !name.trim().is_empty());
        let name = name.ok_or_else(|| problem(400, "bad-request", "name is required"))?;
        let organization_id = body.get("organizationId").and_then(Value::as_str).map(str::to_owned);
        let id = uuid::Uuid::new_v4().to_string();
        let workspace = Workspace {
            id,
            name: name.to_owned(),
            deleted: false,
            organization_id,
        };
        let answer = ok(workspace_json(&workspace));
        self.workspaces.push(workspace);
        Ok(answer)
    }

    /// 200 when live; 404 when deleted; 403 `forbidden` for an id that never existed (a caller
    /// that is not an instance admin cannot be given a role on an unknown workspace).
    fn get_workspace(&self, id: &str) -> Result<Reply, Problem> {
        match self.workspaces.iter().find(|w| w.id == id) {
            Some(w) if !w.deleted => Ok(ok(workspace_json(w))),
            Some(_) => Err(not_found("workspace", id)),
            None => Err(problem(403, "forbidden", "The caller has no access to this workspace.")),
        }
    }

    fn live_workspace(&self, id: &str) -> Result<&Workspace, Problem> {
        self.workspaces
            .iter()
            .find(|w| w.id == id && !w.deleted)
            .ok_or_else(|| not_found("workspace", id))
    }

    fn rename_workspace(&mut self, id: &str, body: &Value) -> Result<Reply, Problem> {
        let workspace = self.workspaces.iter_mut().find(|w| w.id == id && !w.deleted);
        let workspace = workspace.ok_or_else(|| not_found("workspace", id))?;
        if let Some(name) = body.get("name").and_then(Value::as_str) {
            workspace.name = name.to_owned();
        }
        Ok(ok(workspace_json(workspace)))
    }

    fn delete_workspace(&mut self, id: &str) -> Result<Reply, Problem> {
        self.live_workspace(id)?;
        // Like WorkspacesHandler.deleteWorkspace: connections, destinations, then the tombstone.
        self.connections
            .iter_mut()
            .filter(|c| c.workspace_id == id)
            .for_each(|c| c.status = "deprecated".into());
        self.destinations
            .iter_mut()
            .filter(|d| d.workspace_id == id)
            .for_each(|d| d.deleted = true);
        self.workspaces
            .iter_mut()
            .filter(|w| w.id == id)
            .for_each(|w| w.deleted = true);
        Ok(Reply::NoContent)
    }

    fn patch_connection(&mut self, id: &str, body: &Value) -> Result<Reply, Problem> {
        let connection = self
            .connections
            .iter_mut()
            .find(|c| c.id == id && c.status != "deprecated")
            .ok_or_else(|| not_found("connection", id))?;
        match body.get("status").and_then(Value::as_str) {
            Some(status @ ("active" | "inactive")) => connection.status = status.to_owned(),
            Some(other) => return Err(problem(400, "bad-request", &format!("status {other:?} cannot be set"))),
            None => {}
        }
        Ok(ok(connection_json(connection)))
    }

    fn cancel_job(&mut self, id: &str) -> Result<Reply, Problem> {
        let job = id
            .parse::<i64>()
            .ok()
            .and_then(|id| self.jobs.iter_mut().find(|job| job.id == id));
        let job = job.ok_or_else(|| not_found("job", id))?;
        // Cancelling a job that is already over answers it as it is.
        if job.status == "running" {
            job.status = "cancelled".into();
        }
        Ok(ok(job_json(job)))
    }

    fn create_destination(&mut self, body: &Value) -> Result<Reply, Problem> {
        let text = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
        let (name, workspace_id) = (text("name"), text("workspaceId"));
        let configuration = body.get("configuration").filter(|c| c.is_object()).cloned();
        let Some(configuration) = configuration.filter(|_| !name.is_empty()) else {
            return Err(problem(
                400,
                "bad-request",
                "name, workspaceId and configuration are required",
            ));
        };
        self.live_workspace(&workspace_id)?;
        let definition_id = body.get("definitionId").and_then(Value::as_str).map(str::to_owned);
        let id = uuid::Uuid::new_v4().to_string();
        let destination = Destination {
            id,
            workspace_id,
            name,
            configuration,
            definition_id,
            deleted: false,
        };
        let answer = ok(destination_json(&destination));
        self.destinations.push(destination);
        Ok(answer)
    }

    fn list(&mut self, op: &str, query: &ListQuery) -> Result<Reply, Problem> {
        if op != "list_workspaces" {
            for id in &query.workspace_ids {
                if !self.workspaces.iter().any(|w| &w.id == id) {
                    return Err(not_found("workspace", id));
                }
            }
        }
        let (collection, items): (&str, Vec<Value>) = match op {
            // Deleted workspaces only when asked for by id (`WorkspaceService.listWorkspaces`).
            "list_workspaces" => ("workspaces", {
                let asked = !query.workspace_ids.is_empty();
                let shown = self
                    .workspaces
                    .iter()
                    .filter(|w| !w.deleted || (query.include_deleted && asked));
                shown.filter(|w| query.wants(&w.id)).map(workspace_json).collect()
            }),
            "list_connections" => ("connections", {
                let shown = self
                    .connections
                    .iter()
                    .filter(|c| query.include_deleted || c.status != "deprecated");
                shown
                    .filter(|c| query.wants(&c.workspace_id))
                    .map(connection_json)
                    .collect()
            }),
            "list_jobs" => ("jobs", {
                let shown = self
                    .jobs
                    .iter()
                    .filter(|j| query.status.as_ref().is_none_or(|s| &j.status == s));
                shown.filter(|j| query.wants(&j.workspace_id)).map(job_json).collect()
            }),
            _ => ("destinations", {
                let shown = self.destinations.iter().filter(|d| !d.deleted);
                shown
                    .filter(|d| query.wants(&d.workspace_id))
                    .map(destination_json)
                    .collect()
            }),
        };
        let mut items = items;
        if let Some(rng) = self.shuffled.as_mut() {
            rng.shuffle(&mut items);
        }
        Ok(query.page(&self.base_url, collection, items))
    }
}

fn workspace_json(workspace: &Workspace) -> Value {
    json!({ "workspaceId": workspace.id, "name": workspace.name, "dataResidency": "auto", "notifications": {} })
}

fn connection_json(connection: &Connection) -> Value {
    json!({
        "connectionId": connection.id,
        "name": format!("connection-{}", connection.id),
        "sourceId": connection.source_id,
        "destinationId": connection.destination_id,
        "workspaceId": connection.workspace_id,
        "status": connection.status,
        "schedule": { "scheduleType": "manual" },
        "configurations": {},
        "createdAt": connection.created_at,
        "tags": [],
    })
}

fn job_json(job: &Job) -> Value {
    json!({
        "jobId": job.id, "status": job.status, "jobType": "sync",
        "startTime": job.start_time, "connectionId": job.connection_id,
    })
}

fn destination_json(destination: &Destination) -> Value {
    let destination_type = destination
        .configuration
        .get("destinationType")
        .cloned()
        .unwrap_or(json!("unknown"));
    json!({
        "destinationId": destination.id, "name": destination.name, "destinationType": destination_type,
        "workspaceId": destination.workspace_id, "configuration": destination.configuration,
        "definitionId": destination.definition_id,
    })
}
