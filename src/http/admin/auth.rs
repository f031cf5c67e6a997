//! Bearer-token check for the admin API, constant-time.

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpRequest};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::http::error::ApiError;
use crate::http::AppState;

/// Present in a handler's arguments: the request carried a valid admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(check(req))
    }
}

fn check(req: &HttpRequest) -> Result<Admin, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("no state")))?;
    if state.admin_tokens.is_empty() {
        return Err(ApiError::AdminUnauthorized(
            "the admin API is disabled: set admin.tokens".into(),
        ));
    }
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| ApiError::AdminUnauthorized("missing bearer token (Authorization: Bearer <token>)".into()))?;
    // Hashing first gives equal lengths, so the comparison time says nothing about the token.
    let presented = Sha256::digest(presented.trim().as_bytes());
    let matched = state.admin_tokens.iter().fold(subtle::Choice::from(0), |acc, token| {
        acc | Sha256::digest(token.expose_secret().as_bytes()).ct_eq(&presented)
    });
    if bool::from(matched) {
        Ok(Admin)
    } else {
        Err(ApiError::AdminUnauthorized("the bearer token is not valid".into()))
    }
}
