//! `/console/tenants`: mappings by status or id prefix, a page at a time (one tenant: `tenant`).

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::filters::text;
use super::format::{badge, maybe_time, or_dash, pager, time};
use super::guard::Signed;
use super::page::{page, ConsoleError, Section};
use super::query;
use super::query::Params;
use crate::http::AppState;
use crate::operations::tenants as operation;
use crate::tenants::MappingStatus;

/// Tenants per page.
pub const PAGE: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    /// A tenant id or the start of one.
    q: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn pairs(&self) -> [(&'static str, Option<&str>); 2] {
        [("status", self.status.as_deref()), ("q", self.q.as_deref())]
    }
}

/// `GET /console/tenants`.
pub async fn list(
    Signed(session): Signed,
    state: web::Data<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let status = text(&query.status)?;
    if let Some(s) = status.as_deref().filter(|s| !MappingStatus::TEXTS.contains(s)) {
        return Err(ConsoleError::BadRequest(format!(
            "status `{}` is not one of {}",
            s.chars().take(40).collect::<String>(),
            MappingStatus::TEXTS.join(", ")
        )));
    }
    let prefix = text(&query.q)?;
    let cursor = text(&query.cursor)?;
    let first_page = cursor.is_none();
    let tenants = operation::search(&state.db, status, prefix.clone(), cursor, PAGE).await?;
    let next = tenants.next.as_deref().map(|next| {
        let mut pairs = query.pairs().to_vec();
        pairs.push(("cursor", Some(next)));
        query::link("/console/tenants", pairs)
    });
    let exact = prefix
        .as_deref()
        .filter(|p| first_page && !tenants.items.iter().any(|m| m.tenant_id == *p));
    let body = html! {
        div.toolbar { h1 { "Tenants" } }
        (filter_form(&query))
        div.table-wrap {
            table {
                thead { tr { th { "Tenant" } th.opt { "Name" } th { "Status" } th { "Workspace" } th.opt { "Last event" } th.opt { "Updated" } } }
                tbody {
                    @for m in &tenants.items {
                        tr {
                            td.wrap { a href=(tenant_href(&m.tenant_id)) { (m.tenant_id) } }
                            td.wrap.opt { (or_dash(m.tenant_name.as_deref())) }
                            td { (badge(m.status.as_str())) }
                            td.wrap { @if let Some(w) = &m.workspace_id { code { (w) } } @else { span.muted { "none" } } }
                            td.opt { (maybe_time(m.last_event_at)) }
                            td.opt { (time(m.updated_at)) }
                        }
                    }
                }
            }
        }
        @if tenants.items.is_empty() {
            p.muted { "No tenant mapping matches these filters." }
        }
        @if let Some(id) = exact {
            // A tenant with events but no mapping yet is not in this list: its page says why.
            p { "No mapping is named exactly " code { (id) } "; " a href=(tenant_href(id)) { "see what is known of it" } "." }
        }
        (pager((!first_page).then(|| query::link("/console/tenants", query.pairs())).as_deref(), next))
    };
    Ok(page("Tenants", Section::Tenants, &session, body))
}

fn filter_form(q: &ListQuery) -> Markup {
    html! {
        form.filters method="get" action="/console/tenants" role="search" {
            label { "Tenant id" input type="search" name="q" value=[q.q.as_deref()] placeholder="id or its start"; }
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in MappingStatus::TEXTS { option value=(s) selected[q.status.as_deref() == Some(*s)] { (s) } }
                }
            }
            button.primary type="submit" { "Apply" }
            a href="/console/tenants" { "Clear" }
        }
    }
}

/// The console path of a tenant: its id as one path segment, every byte but the unreserved
/// ones percent-encoded (a `/`, `%`, `+` or space in an id stays part of it).
pub fn tenant_href(tenant_id: &str) -> String {
    let mut out = String::from("/console/tenants/");
    for byte in tenant_id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_id_is_one_path_segment() {
        assert_eq!(tenant_href("t-1_a.b~"), "/console/tenants/t-1_a.b~");
        assert_eq!(tenant_href("a/b%c d+<"), "/console/tenants/a%2Fb%25c%20d%2B%3C");
        assert_eq!(tenant_href("é"), "/console/tenants/%C3%A9");
    }
}
