//! The comparison, pure: what Frontegg lists, the mapping rows and the workspaces Airbyte has,
//! in; drift candidates out. A tenant with an unfinished event in the inbox is on its way and
//! not compared; absences are only candidates, confirmed by a look-up before anything is done.

use std::collections::{HashMap, HashSet};

use super::drift::{Action, Drift, DriftKind};
use super::frontegg::Tenant;
use crate::db::status::MappingStatus;
use crate::provisioning::provider::Workspace;
use crate::tenants::Mapping;

/// Everything a run compares.
pub struct Observed<'a> {
    pub tenants: &'a [Tenant],
    pub mappings: &'a [Mapping],
    /// Tenants with an event pending, processing or waiting for a retry.
    pub in_flight: &'a HashSet<String>,
    /// The live workspaces among the active mappings' ones.
    pub live_mapped: &'a HashSet<String>,
    /// Every live workspace in one pass (for orphans).
    pub all_workspaces: &'a [Workspace],
    pub name_template: &'a str,
}

/// Drift candidates; deletions and missing workspaces still need their confirmation.
pub fn compare(seen: &Observed<'_>) -> Vec<Drift> {
    let listed: HashMap<&str, &Tenant> = seen.tenants.iter().map(|t| (t.tenant_id.as_str(), t)).collect();
    let by_tenant: HashMap<&str, &Mapping> = seen.mappings.iter().map(|m| (m.tenant_id.as_str(), m)).collect();
    let settled = |tenant: &str| !seen.in_flight.contains(tenant);
    let mut drifts = Vec::new();
    for tenant in seen.tenants.iter().filter(|t| settled(&t.tenant_id)) {
        match by_tenant.get(tenant.tenant_id.as_str()) {
            Some(m) if m.status == MappingStatus::Active => {
                if let Some(name) = tenant.name.as_deref().filter(|n| m.tenant_name.as_deref() != Some(*n)) {
                    drifts.push(drift(
                        DriftKind::RenamedTenant,
                        tenant,
                        Some(m),
                        format!(
                            "named {:?} in Frontegg, {:?} here",
                            name,
                            m.tenant_name.as_deref().unwrap_or("")
                        ),
                    ));
                }
            }
            Some(m) => drifts.push(drift(
                DriftKind::UnprovisionedTenant,
                tenant,
                Some(m),
                format!("listed by Frontegg; its mapping is {}", m.status),
            )),
            None => drifts.push(drift(
                DriftKind::UnprovisionedTenant,
                tenant,
                None,
                "listed by Frontegg; no mapping".to_owned(),
            )),
        }
    }
    for m in seen
        .mappings
        .iter()
        .filter(|m| m.status == MappingStatus::Active && settled(&m.tenant_id))
    {
        if !listed.contains_key(m.tenant_id.as_str()) {
            drifts.push(mapping_drift(
                DriftKind::DeletedTenant,
                m,
                "mapped and active; not in Frontegg's list",
            ));
        } else if m.workspace_id.as_ref().is_some_and(|id| !seen.live_mapped.contains(id)) {
            drifts.push(mapping_drift(
                DriftKind::MissingWorkspace,
                m,
                "mapped and active; not in Airbyte's list",
            ));
        }
    }
    drifts.extend(orphans(seen));
    drifts
}

/// Workspaces named like ours that no mapping holds (nor is about to: a tenant being
/// provisioned may have a workspace whose id is not written yet).
fn orphans(seen: &Observed<'_>) -> Vec<Drift> {
    let held: HashSet<&str> = seen.mappings.iter().filter_map(|m| m.workspace_id.as_deref()).collect();
    let expected: HashSet<&str> = seen
        .mappings
        .iter()
        .filter(|m| m.status == MappingStatus::Provisioning || seen.in_flight.contains(&m.tenant_id))
        .filter_map(|m| m.workspace_name.as_deref())
        .collect();
    let mut reported = HashSet::new();
    seen.all_workspaces
        .iter()
        .filter(|w| !held.contains(w.id.as_str()) && !expected.contains(w.name.as_str()))
        .filter(|w| matches_template(seen.name_template, &w.name))
        .filter(|w| reported.insert(w.id.clone()))
        .map(|w| Drift {
            kind: DriftKind::OrphanWorkspace,
            tenant_id: None,
            workspace_id: Some(w.id.clone()),
            detail: format!("workspace {:?} is named like ours; no mapping holds it", w.name),
            action: Action::Reported,
            tenant_name: None,
            observed: String::new(),
        })
        .collect()
}

fn drift(kind: DriftKind, tenant: &Tenant, mapping: Option<&Mapping>, detail: String) -> Drift {
    Drift {
        kind,
        tenant_id: Some(tenant.tenant_id.clone()),
        workspace_id: mapping.and_then(|m| m.workspace_id.clone()),
        detail,
        action: Action::WouldRepair,
        tenant_name: tenant.name.clone(),
        observed: observation(mapping),
    }
}

fn mapping_drift(kind: DriftKind, m: &Mapping, detail: &str) -> Drift {
    Drift {
        kind,
        tenant_id: Some(m.tenant_id.clone()),
        workspace_id: m.workspace_id.clone(),
        detail: detail.to_owned(),
        action: Action::WouldRepair,
        tenant_name: m.tenant_name.clone(),
        observed: observation(Some(m)),
    }
}

/// The mapping as observed, for the repair's key: the same mapping, the same key.
/// The observation of a tenant with no mapping at all.
pub const NO_MAPPING: &str = "none";

fn observation(mapping: Option<&Mapping>) -> String {
    match mapping {
        None => NO_MAPPING.to_owned(),
        Some(m) => format!(
            "{}|{}|{}|{}",
            m.status,
            m.workspace_id.as_deref().unwrap_or("-"),
            m.last_event_id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
            m.tenant_name.as_deref().unwrap_or("-"),
        ),
    }
}

/// Whether `name` could have been made by `template` (`{tenant_name}` and `{tenant_id}` stand
/// for any non-empty text; the rest must match in order).
pub fn matches_template(template: &str, name: &str) -> bool {
    let literals: Vec<&str> = template
        .split(['{', '}'])
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, s)| s)
        .collect();
    let [first, middle @ .., last] = literals.as_slice() else {
        return name == template;
    };
    if literals.len() == 1 || !name.starts_with(first) || name.len() < first.len() + last.len() {
        return name == template;
    }
    let mut rest = &name[first.len()..];
    if !rest.ends_with(last) {
        return false;
    }
    rest = &rest[..rest.len() - last.len()];
    for literal in middle {
        // Each placeholder stands for at least one character.
        match rest.get(1..).and_then(|tail| tail.find(literal)) {
            Some(at) => rest = &rest[1 + at + literal.len()..],
            None => return false,
        }
    }
    !rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_matches_the_template_when_its_fixed_parts_are_in_place() {
        let t = "{tenant_name} [{tenant_id}]";
        let cases = [
            ("Acme [t1]", true),
            ("Acme Corp [t-42]", true),
            ("Acme [t1", false),
            ("Acme", false),
            (" []", false),
            ("Staging workspace", false),
        ];
        for (name, expected) in cases {
            assert_eq!(matches_template(t, name), expected, "{name}");
        }
        assert!(matches_template("tenant-{tenant_id}", "tenant-acme"));
        assert!(!matches_template("tenant-{tenant_id}", "tenant-"));
        assert!(!matches_template("tenant-{tenant_id}", "other-acme"));
    }
}
