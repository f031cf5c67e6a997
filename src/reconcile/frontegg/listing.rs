//! Every tenant of the environment, from `GET /tenants/resources/tenants/v2` page by page, and
//! one tenant from `GET /tenants/resources/tenants/v2/{id}`.
//!
//! `_offset` is a page index there (0, 1, 2, …; the third party that checked it live, and the
//! users v3 route's own document, say so), but one source reads it as an item count. The list is
//! no snapshot either: tenants created or deleted while it is paged shift the pages. So tenants
//! are deduplicated by id, paging stops at an empty page or at `totalPages`, and a second page
//! that mostly repeats the first (item counting) fails the listing rather than being acted on.
//! A tenant missing from a list proves nothing by itself: the reconciler looks it up.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::{FronteggClient, FronteggError, Tenant};

/// Pages read before giving up on a list that never ends (200 × 10,000 = two million tenants).
const MAX_PAGES: usize = 10_000;

const TENANTS: [&str; 4] = ["tenants", "resources", "tenants", "v2"];

/// Every tenant listed, and what the list said of its size.
#[derive(Debug, Clone, Default)]
pub struct TenantListing {
    /// Each tenant once, in the order listed.
    pub tenants: Vec<Tenant>,
    /// `_metadata.totalItems` of the last page read.
    pub total_items: Option<u64>,
    pub pages: usize,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    items: Vec<Tenant>,
    #[serde(default, rename = "_metadata")]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default, rename = "totalItems")]
    total_items: Option<u64>,
    #[serde(default, rename = "totalPages")]
    total_pages: Option<u64>,
}

impl FronteggClient {
    /// Every tenant, all pages, sorted by tenant id (asked for explicitly: the default order is
    /// not documented).
    pub async fn list_tenants(&self) -> Result<TenantListing, FronteggError> {
        const OP: &str = "list_tenants";
        let mut seen = HashSet::new();
        let mut listing = TenantListing::default();
        let mut first_page: HashSet<String> = HashSet::new();
        for index in 0..MAX_PAGES {
            let query = [
                ("_limit", self.page_size.to_string()),
                ("_offset", index.to_string()),
                ("_sortBy", "tenantId".to_owned()),
                ("_order", "ASC".to_owned()),
            ];
            let body = self
                .get(OP, &TENANTS, &query)
                .await?
                .ok_or_else(|| FronteggError::new(OP, Some(404), "the tenant list is not there (404)"))?;
            let page: Page = serde_json::from_slice(&body)
                .map_err(|e| FronteggError::new(OP, Some(200), format!("the page is not {{items, _metadata}}: {e}")))?;
            listing.pages += 1;
            let total_pages = page.metadata.as_ref().and_then(|m| m.total_pages);
            listing.total_items = page
                .metadata
                .as_ref()
                .and_then(|m| m.total_items)
                .or(listing.total_items);
            if page.items.is_empty() {
                break;
            }
            if index == 0 {
                first_page = page.items.iter().map(|t| t.tenant_id.clone()).collect();
            } else if index == 1 {
                let repeated = page.items.iter().filter(|t| first_page.contains(&t.tenant_id)).count();
                if repeated * 2 > page.items.len() {
                    return Err(FronteggError::new(
                        OP,
                        Some(200),
                        format!(
                            "page 1 repeats {repeated} of its {} tenants from page 0: the API counts _offset in items, not pages; nothing is acted on",
                            page.items.len()
                        ),
                    ));
                }
            }
            for tenant in page.items {
                if tenant.tenant_id.trim().is_empty() {
                    continue;
                }
                if seen.insert(tenant.tenant_id.clone()) {
                    listing.tenants.push(tenant);
                }
            }
            if total_pages.is_some_and(|total| index as u64 + 1 >= total) {
                break;
            }
            if index + 1 == MAX_PAGES {
                return Err(FronteggError::new(
                    OP,
                    Some(200),
                    format!("still more after {MAX_PAGES} pages"),
                ));
            }
        }
        Ok(listing)
    }

    /// One tenant by id, `None` when Frontegg does not have it: a 404, or a 200 with `[]`, an
    /// empty body, `null` or `{}` (the documented answer for a missing tenant is an empty array);
    /// an error when the answer is another tenant.
    pub async fn find_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, FronteggError> {
        const OP: &str = "get_tenant";
        let mut segments = TENANTS.to_vec();
        segments.push(tenant_id);
        let Some(body) = self.get(OP, &segments, &[]).await? else {
            return Ok(None);
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| FronteggError::new(OP, Some(200), format!("the answer is not JSON: {e}")))?;
        let found = match value {
            Value::Array(items) => items.into_iter().next(),
            Value::Object(map) if map.is_empty() => None,
            Value::Null => None,
            other => Some(other),
        };
        let Some(found) = found else {
            return Ok(None);
        };
        let tenant: Tenant = serde_json::from_value(found)
            .map_err(|e| FronteggError::new(OP, Some(200), format!("the answer is not a tenant: {e}")))?;
        if tenant.tenant_id != tenant_id {
            return Err(FronteggError::new(
                OP,
                Some(200),
                format!(
                    "asked for tenant {tenant_id:?}, the answer is tenant {:?}",
                    tenant.tenant_id
                ),
            ));
        }
        Ok(Some(tenant))
    }
}
