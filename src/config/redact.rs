//! The effective settings as `check-config` shows them: every secret redacted, the database URL
//! without its credentials, rendered as TOML-like sections.

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

use super::DatabaseUrl;

const REDACTED: &str = "[redacted]";

/// One secret: empty when unset (useful to see), redacted otherwise.
pub(super) fn one<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.expose_secret().is_empty() {
        ""
    } else {
        REDACTED
    })
}

pub(super) fn all<S: Serializer>(secrets: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(secrets.iter().map(|_| REDACTED))
}

/// Keeps the scheme and host of a database URL (useful to see), hides credentials.
pub(super) fn database_url<S: Serializer>(url: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&DatabaseUrl::describe(url.expose_secret()))
}

/// Renders a JSON object as TOML-ish sections for `check-config`.
pub(super) fn toml_like(value: &serde_json::Value, prefix: &str) -> String {
    let serde_json::Value::Object(map) = value else {
        return String::new();
    };
    let mut scalars = String::new();
    let mut tables = String::new();
    for (key, v) in map {
        if v.is_object() {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let inner = toml_like(v, &name);
            if inner.starts_with('\n') {
                tables.push_str(&inner);
            } else {
                tables.push_str(&format!("\n[{name}]\n{inner}"));
            }
        } else {
            scalars.push_str(&format!("{key} = {v}\n"));
        }
    }
    scalars + &tables
}
