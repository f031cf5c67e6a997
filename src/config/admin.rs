//! `[admin]`: the bearer tokens of the admin API, each with a role.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// Shortest accepted admin token: a token is a password that is never typed, so it can be long.
pub const MIN_TOKEN_CHARS: usize = 32;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything: events, tenants, subscriptions, delivery logs, statistics.
    Viewer,
    /// Also acts: replays, purges, subscription changes, test sends, redeliveries.
    Operator,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }
}

/// One entry of `admin.tokens`: a plain string (an operator token, as before roles existed) or a
/// table `{ token = "…", role = "viewer" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TokenEntry {
    Plain(SecretString),
    WithRole { token: SecretString, role: Role },
}

impl TokenEntry {
    pub fn token(&self) -> &SecretString {
        match self {
            TokenEntry::Plain(token) | TokenEntry::WithRole { token, .. } => token,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            TokenEntry::Plain(_) => Role::Operator,
            TokenEntry::WithRole { role, .. } => *role,
        }
    }
}

/// A plain token: an operator's.
impl From<String> for TokenEntry {
    fn from(token: String) -> Self {
        TokenEntry::Plain(SecretString::from(token))
    }
}

/// Shows the role, never the token.
impl Serialize for TokenEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{} [redacted]", self.role().as_str()))
    }
}

/// The admin API (`/api/admin`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AdminSettings {
    /// Tokens allowed to call it, operators unless a table says otherwise; with
    /// `viewer_tokens` both empty, the admin API is closed (every call answers 401).
    pub tokens: Vec<TokenEntry>,
    /// Read-only tokens (`TENANTGATE__ADMIN__VIEWER_TOKENS`, for deployments configured by
    /// environment variables only).
    #[serde(serialize_with = "super::redact::all")]
    pub viewer_tokens: Vec<SecretString>,
}

impl AdminSettings {
    /// Every token with its role.
    pub fn grants(&self) -> Vec<(SecretString, Role)> {
        self.tokens
            .iter()
            .map(|entry| (entry.token().clone(), entry.role()))
            .chain(self.viewer_tokens.iter().map(|token| (token.clone(), Role::Viewer)))
            .collect()
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let named = self
            .tokens
            .iter()
            .enumerate()
            .map(|(n, entry)| (format!("admin.tokens[{n}]"), entry.token()))
            .chain(
                self.viewer_tokens
                    .iter()
                    .enumerate()
                    .map(|(n, token)| (format!("admin.viewer_tokens[{n}]"), token)),
            );
        for (key, token) in named {
            let token = token.expose_secret();
            if token.trim().is_empty() {
                bail!("{key} is blank: an admin token must be a random value of at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)");
            }
            if token.trim() != token {
                bail!("{key} begins or ends with white space: remove it");
            }
            if token.chars().count() < MIN_TOKEN_CHARS {
                bail!("{key} is shorter than {MIN_TOKEN_CHARS} characters: use a random value such as `openssl rand -hex 32` gives");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> AdminSettings {
        config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .unwrap()
    }

    #[test]
    fn a_plain_string_is_an_operator_and_a_table_names_its_role() {
        let admin = parse(
            r#"
            tokens = ["0123456789abcdef0123456789abcdef-op", { token = "0123456789abcdef0123456789abcdef-view", role = "viewer" }]
            viewer_tokens = ["0123456789abcdef0123456789abcdef-env"]
            "#,
        );
        let roles: Vec<Role> = admin.grants().into_iter().map(|(_, role)| role).collect();
        assert_eq!(roles, [Role::Operator, Role::Viewer, Role::Viewer]);
        admin.validate().unwrap();
    }

    #[test]
    fn blank_short_or_padded_tokens_are_refused_naming_the_key() {
        for (toml, key) in [
            (
                r#"tokens = [""]
                viewer_tokens = []"#,
                "admin.tokens[0]",
            ),
            (
                r#"tokens = ["0123456789abcdef0123456789abcdef", "   "]
                viewer_tokens = []"#,
                "admin.tokens[1]",
            ),
            (
                r#"tokens = []
                viewer_tokens = ["short"]"#,
                "admin.viewer_tokens[0]",
            ),
            (
                r#"tokens = [" 0123456789abcdef0123456789abcdef"]
                viewer_tokens = []"#,
                "admin.tokens[0]",
            ),
        ] {
            let err = parse(toml).validate().unwrap_err().to_string();
            assert!(err.starts_with(key), "{toml}: {err}");
        }
    }

    #[test]
    fn the_effective_configuration_shows_roles_never_tokens() {
        let admin = parse(
            r#"
            tokens = ["0123456789abcdef0123456789abcdef-op"]
            viewer_tokens = ["0123456789abcdef0123456789abcdef-env"]
            "#,
        );
        let shown = serde_json::to_string(&admin).unwrap();
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("operator [redacted]"), "{shown}");
    }
}
