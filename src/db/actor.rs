//! Who performed an operator action, as its audit entry names them (`by`). Kept by `db` (next
//! to the audit trail) so that the domain modules writing audited actions (`notifications`) and
//! `operations` can both name it without importing each other; `operations::Actor` re-exports it.

use std::fmt;

use serde::Serialize;

/// The person or door behind an action: `admin-api`, `cli:` and a login name, or `console:` and
/// a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Actor(String);

impl Actor {
    /// The admin API. Its tokens carry a role, not a name.
    pub fn admin_api() -> Self {
        Self("admin-api".to_owned())
    }

    /// The command line run by `login` (`cli` alone when the login name is unknown).
    pub fn cli(login: Option<&str>) -> Self {
        match login.map(str::trim).filter(|l| !l.is_empty()) {
            Some(login) => Self(format!("cli:{login}")),
            None => Self("cli".to_owned()),
        }
    }

    /// A console session, named by the start of its id (the digest of its cookie): enough to
    /// tell one operator's actions from another's in the audit trail, nothing that opens it.
    pub fn console(session: &str) -> Self {
        Self(format!("console:{session}"))
    }

    /// A periodic job (the reconciler's runs).
    pub fn periodic() -> Self {
        Self("periodic".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Actor;

    #[test]
    fn the_command_line_is_named_with_the_login_when_there_is_one() {
        assert_eq!(Actor::cli(Some("ada")).as_str(), "cli:ada");
        assert_eq!(Actor::cli(Some("  ")).as_str(), "cli", "a blank login names no one");
        assert_eq!(Actor::cli(None).as_str(), "cli");
        assert_eq!(Actor::admin_api().to_string(), "admin-api");
    }

    #[test]
    fn an_actor_is_written_to_the_audit_detail_as_a_plain_string() {
        let detail = serde_json::json!({"by": Actor::cli(Some("ada"))});
        assert_eq!(detail.to_string(), r#"{"by":"cli:ada"}"#);
    }
}
