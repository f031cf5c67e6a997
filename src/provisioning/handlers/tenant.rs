//! Tenant lifecycle: one workspace per tenant, created once, renamed, archived or deleted.

use serde_json::json;

use super::{workspace_name, Context, HandlerError, Job, Outcome};
use crate::config::DeletionPolicy;
use crate::notifications;
use crate::provisioning::provider::{Workspace, WorkspaceSpec};
use crate::provisioning::repairs::replaced_workspace;
use crate::tenants::{self, Effect, Mapping, MappingStatus};

/// Ensures the tenant has exactly one workspace.
pub async fn created(ctx: &Context, job: &Job<'_>) -> Result<Outcome, HandlerError> {
    let name = workspace_name(&ctx.name_template, &job.tenant_id, job.event.tenant_name.as_deref());
    let mut mapping = match job.tenant.mapping.clone() {
        Some(m) if m.status.is_gone() && job.is_known_newer_than(m.last_event_at) => {
            // A create that says it happened after the tenant's deletion: the tenant came back.
            let fresh = Mapping {
                workspace_id: None,
                status: MappingStatus::Provisioning,
                ..provisioning_row(job, &name)
            };
            save(ctx, fresh.clone()).await?;
            fresh
        }
        Some(m) if m.status.is_gone() => {
            return Ok(Outcome::Skipped {
                reason: format!(
                    "stale: the tenant was {} by an event at {} (event {}); this create is not newer",
                    m.status,
                    fmt_at(m.last_event_at),
                    m.last_event_id.map_or_else(|| "-".into(), |id| id.to_string())
                ),
                effects: vec![],
            })
        }
        Some(m) if m.status == MappingStatus::Active && replaces(job, &m) => {
            // The reconciler saw this workspace gone; look again before making another.
            let gone = match &m.workspace_id {
                Some(id) => !ctx.provider.workspace_exists(id).await?,
                None => false,
            };
            if gone {
                let fresh = Mapping {
                    workspace_id: None,
                    status: MappingStatus::Provisioning,
                    workspace_name: Some(name.clone()),
                    tenant_name: job.event.tenant_name.clone().or(m.tenant_name.clone()),
                    updated_at: job.now,
                    ..m
                };
                save(ctx, fresh.clone()).await?;
                tracing::info!(tenant.id = %job.tenant_id, "the mapped workspace is gone: creating another");
                let workspace = create(ctx, job, &fresh, true).await?;
                return finish_provisioning(ctx, job, fresh, workspace).await;
            }
            let audit = job.audit("workspace.already_provisioned", json!({"workspace_id": m.workspace_id}));
            return Ok(Outcome::Done { effects: vec![audit] });
        }
        Some(m) if m.status == MappingStatus::Active => {
            let audit = job.audit("workspace.already_provisioned", json!({"workspace_id": m.workspace_id}));
            return Ok(Outcome::Done { effects: vec![audit] });
        }
        Some(m) => m,
        None => {
            let row = provisioning_row(job, &name);
            let inserted = {
                let row = row.clone();
                ctx.db.run(move |c| tenants::insert_mapping_if_absent(c, &row)).await?
            };
            if !inserted {
                // Another worker claimed the tenant first; its outcome decides. Retry later.
                return Err(HandlerError::Provider(
                    crate::provisioning::provider::ProviderError::retryable(
                        None,
                        "another worker is provisioning this tenant",
                    ),
                ));
            }
            // Freshly claimed: no earlier attempt can have created anything.
            let workspace = create(ctx, job, &row, true).await?;
            return finish_provisioning(ctx, job, row, workspace).await;
        }
    };
    // `provisioning` left by an earlier attempt: its create may have happened without us
    // learning the id (timeout, crash). Look for the deterministic name before creating again.
    let workspace = match &mapping.workspace_id {
        Some(id) => Workspace {
            id: id.clone(),
            name: mapping.workspace_name.clone().unwrap_or_else(|| name.clone()),
        },
        None => {
            let wanted = mapping.workspace_name.clone().unwrap_or_else(|| name.clone());
            match ctx.provider.find_workspace_by_name(&wanted).await? {
                Some(found) => {
                    tracing::info!(tenant.id = %job.tenant_id, workspace.id = %found.id, "adopted the workspace an earlier attempt created");
                    mapping.workspace_id = Some(found.id.clone());
                    save(ctx, mapping.clone()).await?;
                    found
                }
                None => create(ctx, job, &mapping, false).await?,
            }
        }
    };
    finish_provisioning(ctx, job, mapping, workspace).await
}

/// Whether the event is the reconciler's repair of this mapping's missing workspace.
fn replaces(job: &Job<'_>, mapping: &Mapping) -> bool {
    replaced_workspace(job.row).is_some_and(|id| mapping.workspace_id.as_deref() == Some(id.as_str()))
}

/// Creates the workspace and commits its id at once, so no later attempt creates another.
/// `fresh`: this attempt claimed the tenant, so no earlier attempt can have created anything.
async fn create(ctx: &Context, job: &Job<'_>, mapping: &Mapping, fresh: bool) -> Result<Workspace, HandlerError> {
    let spec = WorkspaceSpec {
        tenant_id: job.tenant_id.clone(),
        name: mapping.workspace_name.clone().unwrap_or_else(|| job.tenant_id.clone()),
        after_unknown_outcome: !fresh,
    };
    let workspace = match ctx.provider.create_workspace(&spec).await {
        Ok(workspace) => workspace,
        Err(error) if error.refused && fresh => {
            // The answer proves nothing was made, and no earlier attempt made anything (this one
            // claimed the tenant): free it, so that the next attempt creates at once instead of
            // looking for what an unknown outcome may have made.
            let tenant = job.tenant_id.clone();
            if let Err(e) = ctx.db.run(move |c| tenants::forget_provisioning(c, &tenant)).await {
                tracing::warn!(error = %e, "the refused create's claim on the tenant stays; the next attempt looks first");
            }
            return Err(error.into());
        }
        Err(error) => return Err(error.into()),
    };
    let saved = Mapping {
        workspace_id: Some(workspace.id.clone()),
        updated_at: job.now,
        ..mapping.clone()
    };
    save(ctx, saved).await?;
    Ok(workspace)
}

async fn finish_provisioning(
    ctx: &Context,
    job: &Job<'_>,
    mapping: Mapping,
    workspace: Workspace,
) -> Result<Outcome, HandlerError> {
    let tenant_name = job.event.tenant_name.as_deref();
    for template in &ctx.destinations {
        let name = workspace_name(&template.name, &job.tenant_id, tenant_name);
        ctx.provider.ensure_destination(&workspace.id, &name, template).await?;
    }
    let active = Mapping {
        workspace_id: Some(workspace.id.clone()),
        status: MappingStatus::Active,
        last_event_at: Some(job.at()),
        last_event_id: Some(job.row.id),
        updated_at: job.now,
        ..mapping
    };
    let audit = job.audit(
        "workspace.provisioned",
        json!({"workspace_id": workspace.id, "workspace_name": workspace.name}),
    );
    let notice = job.notify(
        notifications::WORKSPACE_PROVISIONED,
        json!({"workspace_id": workspace.id, "workspace_name": workspace.name, "tenant_name": job.event.tenant_name}),
    );
    Ok(Outcome::Done {
        effects: vec![Effect::Mapping(active), audit, notice],
    })
}

/// Renames the workspace when the tenant's name changed.
pub async fn updated(ctx: &Context, job: &Job<'_>) -> Result<Outcome, HandlerError> {
    let Some(tenant_name) = job.event.tenant_name.as_deref() else {
        return Ok(skipped("the payload has no tenant name"));
    };
    let mapping = match job.tenant.mapping.clone() {
        Some(m) if job.is_older_than(m.last_event_at) => return Ok(skipped(&stale(&m))),
        Some(m) if m.status == MappingStatus::Active && m.workspace_id.is_some() => m,
        Some(m) => return Ok(skipped(&format!("the tenant's workspace is {}", m.status))),
        None => return Ok(skipped("the tenant has no workspace")),
    };
    let name = workspace_name(&ctx.name_template, &job.tenant_id, Some(tenant_name));
    let workspace_id = mapping.workspace_id.clone().unwrap_or_default();
    if mapping.workspace_name.as_deref() != Some(name.as_str()) {
        ctx.provider.rename_workspace(&workspace_id, &name).await?;
    }
    let audit = job.audit(
        "workspace.renamed",
        json!({"workspace_id": workspace_id, "workspace_name": name}),
    );
    let renamed = Mapping {
        tenant_name: Some(tenant_name.to_owned()),
        workspace_name: Some(name),
        last_event_at: Some(job.at()),
        last_event_id: Some(job.row.id),
        updated_at: job.now,
        ..mapping
    };
    Ok(Outcome::Done {
        effects: vec![Effect::Mapping(renamed), audit],
    })
}

/// Archives or deletes the tenant's workspace; with none yet, leaves a tombstone so that an
/// older create arriving later is skipped.
pub async fn deleted(ctx: &Context, job: &Job<'_>) -> Result<Outcome, HandlerError> {
    let soft_delete = Effect::SoftDeleteTenantRows {
        tenant_id: job.tenant_id.clone(),
        at: job.at(),
    };
    let Some(mapping) = job.tenant.mapping.clone() else {
        let tombstone = Mapping {
            workspace_name: None,
            status: MappingStatus::Tombstone,
            ..provisioning_row(job, "")
        };
        let audit = job.audit(
            "tenant.tombstoned",
            json!({"reason": "deleted before any workspace existed"}),
        );
        return Ok(Outcome::Done {
            effects: vec![Effect::Mapping(tombstone), soft_delete, audit],
        });
    };
    if job.is_older_than(mapping.last_event_at) {
        return Ok(skipped(&stale(&mapping)));
    }
    if mapping.status.is_gone() {
        let audit = job.audit("tenant.already_deleted", json!({"status": mapping.status}));
        return Ok(Outcome::Done {
            effects: vec![soft_delete, audit],
        });
    }
    let workspace_id = match &mapping.workspace_id {
        Some(id) => Some(id.clone()),
        None => match &mapping.workspace_name {
            Some(name) => ctx.provider.find_workspace_by_name(name).await?.map(|w| w.id),
            None => None,
        },
    };
    let mut detail = json!({"policy": policy_name(ctx.deletion_policy), "workspace_id": workspace_id});
    let status = match &workspace_id {
        None => MappingStatus::Tombstone,
        Some(id) => {
            detail["jobs_cancelled"] = ctx.provider.cancel_running_jobs(id).await?.into();
            match ctx.deletion_policy {
                DeletionPolicy::Archive => {
                    detail["connections_paused"] = ctx.provider.pause_connections(id).await?.into();
                    MappingStatus::Archived
                }
                DeletionPolicy::Delete => {
                    ctx.provider.delete_workspace(id).await?;
                    MappingStatus::Deleted
                }
            }
        }
    };
    let gone = Mapping {
        workspace_id,
        status,
        last_event_at: Some(job.at()),
        last_event_id: Some(job.row.id),
        updated_at: job.now,
        ..mapping
    };
    let notice = match status {
        MappingStatus::Archived => Some(notifications::WORKSPACE_ARCHIVED),
        MappingStatus::Deleted => Some(notifications::WORKSPACE_DELETED),
        _ => None,
    }
    .map(|kind| {
        job.notify(
            kind,
            json!({"workspace_id": gone.workspace_id, "policy": detail["policy"]}),
        )
    });
    let audit = job.audit(&format!("workspace.{status}"), detail);
    let mut effects = vec![Effect::Mapping(gone), soft_delete, audit];
    effects.extend(notice);
    Ok(Outcome::Done { effects })
}

async fn save(ctx: &Context, row: Mapping) -> Result<(), HandlerError> {
    Ok(ctx.db.run(move |c| tenants::save_mapping(c, &row)).await?)
}

/// A new mapping row claiming the tenant for this event.
fn provisioning_row(job: &Job<'_>, name: &str) -> Mapping {
    Mapping {
        tenant_id: job.tenant_id.clone(),
        tenant_name: job.event.tenant_name.clone(),
        workspace_id: None,
        workspace_name: Some(name.to_owned()),
        status: MappingStatus::Provisioning,
        last_event_at: Some(job.at()),
        last_event_id: Some(job.row.id),
        created_at: job.now,
        updated_at: job.now,
    }
}

fn skipped(reason: &str) -> Outcome {
    Outcome::Skipped {
        reason: reason.to_owned(),
        effects: vec![],
    }
}

fn stale(mapping: &Mapping) -> String {
    format!(
        "stale: a newer event (at {}) was already applied to this tenant",
        fmt_at(mapping.last_event_at)
    )
}

fn fmt_at(at: Option<chrono::NaiveDateTime>) -> String {
    at.map_or_else(|| "-".into(), |a| a.and_utc().to_rfc3339())
}

fn policy_name(policy: DeletionPolicy) -> &'static str {
    match policy {
        DeletionPolicy::Archive => "archive",
        DeletionPolicy::Delete => "delete",
    }
}
