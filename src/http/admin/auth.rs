//! Bearer tokens for the admin API, each with a role, checked in constant time.
//!
//! A handler names the role it needs by taking [`Viewer`] (any valid token: reads) or
//! [`Operator`] (operator tokens only: actions) among its arguments.

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpRequest};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Role;
use crate::http::error::ApiError;
use crate::http::AppState;

/// The configured tokens, hashed once at start, each with its role.
#[derive(Clone, Default)]
pub struct AdminTokens(Vec<([u8; 32], Role)>);

impl AdminTokens {
    pub fn new(grants: Vec<(SecretString, Role)>) -> Self {
        Self(
            grants
                .into_iter()
                .map(|(token, role)| (hash(token.expose_secret()), role))
                .collect(),
        )
    }

    /// The role of `presented`, comparing it with every token in constant time (a token listed
    /// twice gets its highest role). `None` when it matches none.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        // Hashing first gives equal lengths, so the comparison time says nothing about the token.
        let presented = hash(presented);
        let mut found = None;
        for (token, role) in &self.0 {
            if bool::from(token.ct_eq(&presented)) {
                found = found.max(Some(*role));
            }
        }
        found
    }

    /// What a console session opened with `presented` keeps of it: the token's role and a
    /// grant id, a digest of its hash that opens nothing by itself. `None` when it matches none.
    pub fn grant_of(&self, presented: &str) -> Option<(String, Role)> {
        let role = self.role_of(presented)?;
        Some((grant_id(&hash(presented)), role))
    }

    /// The role of the token a session's `grant` id was made from, while that token is still
    /// configured; compared with every token in constant time.
    pub fn role_of_grant(&self, grant: &str) -> Option<Role> {
        let mut found = None;
        for (token, role) in &self.0 {
            if bool::from(grant_id(token).as_bytes().ct_eq(grant.as_bytes())) {
                found = found.max(Some(*role));
            }
        }
        found
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Shows how many tokens there are, never their hashes.
impl std::fmt::Debug for AdminTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminTokens({})", self.0.len())
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

fn grant_id(token_hash: &[u8; 32]) -> String {
    let mut digest = Sha256::new();
    digest.update(b"tenantgate console grant\0");
    digest.update(token_hash);
    hex::encode(digest.finalize())
}

/// Present in a handler's arguments: the request carried a valid admin token (any role), whose
/// role it holds for what a viewer is shown less of.
#[derive(Debug, Clone, Copy)]
pub struct Viewer(pub Role);

/// Present in a handler's arguments: the request carried an operator token.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequest for Viewer {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(role(req).map(Viewer))
    }
}

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(role(req).and_then(|role| match role {
            Role::Operator => Ok(Operator),
            Role::Viewer => Err(ApiError::Forbidden(
                "this action needs an operator token; the token sent is a viewer's (read-only)".into(),
            )),
        }))
    }
}

fn role(req: &HttpRequest) -> Result<Role, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("no state")))?;
    if state.admin_tokens.is_empty() {
        return Err(ApiError::AdminUnauthorized(
            "the admin API is closed: no admin.tokens are configured".into(),
        ));
    }
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .filter(|token| !token.trim().is_empty())
        .ok_or_else(|| ApiError::AdminUnauthorized("missing bearer token (Authorization: Bearer <token>)".into()))?;
    state
        .admin_tokens
        .role_of(presented)
        .ok_or_else(|| ApiError::AdminUnauthorized("the bearer token is not valid".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AdminTokens {
        AdminTokens::new(vec![
            (SecretString::from("operator-token".to_owned()), Role::Operator),
            (SecretString::from("viewer-token".to_owned()), Role::Viewer),
            (SecretString::from("both".to_owned()), Role::Viewer),
            (SecretString::from("both".to_owned()), Role::Operator),
        ])
    }

    #[test]
    fn each_token_has_its_role_and_others_have_none() {
        let tokens = tokens();
        assert_eq!(tokens.role_of("operator-token"), Some(Role::Operator));
        assert_eq!(tokens.role_of("viewer-token"), Some(Role::Viewer));
        assert_eq!(tokens.role_of("both"), Some(Role::Operator));
        assert_eq!(tokens.role_of("viewer-token-x"), None);
        assert_eq!(tokens.role_of(""), None);
    }

    #[test]
    fn a_grant_names_its_token_and_role_while_the_token_is_configured() {
        let tokens = tokens();
        let (grant, role) = tokens.grant_of("viewer-token").unwrap();
        assert_eq!(role, Role::Viewer);
        assert_eq!(tokens.role_of_grant(&grant), Some(Role::Viewer));
        assert!(tokens.grant_of("unknown-token").is_none());
        assert_ne!(
            grant,
            hex::encode(hash("viewer-token")),
            "the grant is not the token's hash"
        );
        let without = AdminTokens::new(vec![(SecretString::from("operator-token".to_owned()), Role::Operator)]);
        assert_eq!(
            without.role_of_grant(&grant),
            None,
            "a token taken out of the configuration ends its grants"
        );
    }

    #[test]
    fn debug_output_shows_no_hash() {
        assert_eq!(format!("{:?}", tokens()), "AdminTokens(4)");
    }
}
