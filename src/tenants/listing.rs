//! The tenants operators list.

use diesel::prelude::*;

use super::Mapping;
use crate::db::schema::tenant_airbyte_workspaces as mappings;
use crate::db::{DbConn, StoreError};
use crate::with_conn;

/// Mappings, by tenant id, after the cursor `after`.
pub fn list_tenants(
    conn: &mut DbConn,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Mapping>, StoreError> {
    search_tenants(conn, status, None, after, limit)
}

/// Mappings whose tenant id starts with `prefix` (any when `None`), by tenant id, after the
/// cursor `after`. The prefix is a range of the primary key (`prefix ≤ id < the next prefix`),
/// so a search reads only the ids it shows; `LIKE` then keeps exactly those that start with it.
pub fn search_tenants(
    conn: &mut DbConn,
    status: Option<&str>,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Mapping>, StoreError> {
    use mappings::dsl as m;
    with_conn!(conn, |c| {
        let mut query = m::tenant_airbyte_workspaces.select(Mapping::as_select()).into_boxed();
        if let Some(status) = status {
            query = query.filter(m::status.eq(status.to_owned()));
        }
        if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
            query = query
                .filter(m::tenant_id.ge(prefix.to_owned()))
                .filter(m::tenant_id.like(format!("{}%", like_escaped(prefix))).escape('\\'));
            if let Some(end) = next_prefix(prefix) {
                query = query.filter(m::tenant_id.lt(end));
            }
        }
        if let Some(after) = after {
            query = query.filter(m::tenant_id.gt(after.to_owned()));
        }
        Ok(query.order(m::tenant_id.asc()).limit(limit).load(c)?)
    })
}

/// `text` with `LIKE`'s wildcards and its escape character escaped.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The smallest text after every text starting with `prefix`: its last character raised by one
/// (dropped when it cannot be); `None` when no bound exists.
fn next_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut code = u32::from(last) + 1;
        // Skip the surrogate range, which holds no character.
        if (0xD800..=0xDFFF).contains(&code) {
            code = 0xE000;
        }
        if let Some(next) = char::from_u32(code) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_bounds_its_range_and_escapes_its_wildcards() {
        assert_eq!(next_prefix("t-1").as_deref(), Some("t-2"));
        assert_eq!(next_prefix("az").as_deref(), Some("a{"));
        assert_eq!(next_prefix("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(next_prefix("\u{10FFFF}"), None);
        assert_eq!(like_escaped("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
