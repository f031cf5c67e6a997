//! Receiving a delivery, free of HTTP: check the sender, verify the raw bytes, normalize, and
//! store it exactly once. The HTTP handler only adapts requests and answers.

pub mod client_ip;
mod recorder;
mod tokens;

pub use recorder::InboxRecorder;
pub use tokens::TokenLedger;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::config::SourceSettings;
use crate::db::StoreError;
use crate::events::{self, EventKind, LifecycleEvent, NormalizeError};
use crate::inbox::{EventStatus, InsertOutcome, NewEvent};
use crate::telemetry::Sampled;
use crate::verify::{HeaderSource, Verified, Verifier, VerifyError, VerifyOptions};

/// Longest idempotency key taken from a signed message id; longer ids fall back to the body hash.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// At most one line per source and interval for refused deliveries (see [`Sampled`]).
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// One configured webhook sender, ready to check requests. Built once at start-up.
#[derive(Debug)]
pub struct Source {
    pub name: &'static str,
    pub settings: SourceSettings,
    verifier: Verifier,
    allowed: Vec<IpNet>,
    trusted_proxies: Vec<IpNet>,
    refusals: Sampled,
    tokens: TokenLedger,
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("address not allowed")]
    AddressNotAllowed,
    #[error(transparent)]
    Verify(VerifyError),
    #[error(transparent)]
    Normalize(NormalizeError),
    #[error("event `{sent}` posted to the {route} route")]
    EventMismatch { route: &'static str, sent: String },
    #[error("idempotency key reused with a different body (event {event_id})")]
    Conflict { event_id: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to an accepted delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    Accepted,
    Duplicate,
    /// Stored, but the event type has no effect.
    Ignored,
}

/// The answer to an accepted delivery.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub status: ReceiptStatus,
    pub event_id: i64,
    /// For metrics and logs; not part of the answer.
    #[serde(skip)]
    pub kind: Option<EventKind>,
}

/// A request as the ingest path sees it.
pub struct Delivery<'a> {
    pub body: &'a [u8],
    pub headers: &'a dyn HeaderSource,
    pub peer: Option<IpAddr>,
    /// Every `X-Forwarded-For` line, joined in order with commas.
    pub forwarded_for: Option<String>,
    /// The per-event alias route used, if any.
    pub route_kind: Option<EventKind>,
    pub now: DateTime<Utc>,
}

impl Source {
    pub fn new(name: &'static str, settings: SourceSettings) -> Self {
        let verifier = Verifier::new(
            settings.schemes.clone(),
            settings.secrets.clone(),
            VerifyOptions::from(&settings),
        );
        let allowed = settings.allowed_networks();
        let trusted_proxies = settings.trusted_proxy_networks();
        Self {
            name,
            settings,
            verifier,
            allowed,
            trusted_proxies,
            refusals: Sampled::new(REFUSAL_LOG_INTERVAL),
            tokens: TokenLedger::default(),
        }
    }

    /// Whether a refused delivery may be logged now: `Some(n)` with the number of refusals not
    /// logged since the previous line (they are all counted in the metrics).
    pub fn log_refusal(&self) -> Option<u64> {
        self.refusals.admit(Instant::now())
    }

    /// The client's address: the peer, or what a trusted proxy forwarded.
    pub fn client_address(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        client_ip::client_address(peer, forwarded_for, &self.trusted_proxies)
    }

    /// Whether `peer` is one of `trusted_proxies`, whose forwarding headers are believed.
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&peer))
    }

    /// Refuses senders outside the allow-list.
    pub fn check_address(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Result<(), IngestError> {
        let client = self.client_address(peer, forwarded_for);
        if client_ip::is_allowed(client, &self.allowed) {
            Ok(())
        } else {
            if let Some(unlogged) = self.log_refusal() {
                tracing::warn!(
                    source = self.name,
                    client.ip = ?client,
                    refusals.unlogged = unlogged,
                    "delivery refused: address not allowed"
                );
            }
            Err(IngestError::AddressNotAllowed)
        }
    }

    /// Verifies the raw bytes with the configured schemes, unless verification is switched off
    /// (then `None`: nothing is known about the sender).
    pub fn verify(&self, delivery: &Delivery<'_>) -> Result<Option<Verified>, IngestError> {
        if self.settings.insecure_skip_verification {
            tracing::warn!(
                source = self.name,
                "signature NOT verified: insecure_skip_verification is on"
            );
            return Ok(None);
        }
        match self
            .verifier
            .verify(delivery.body, delivery.headers, delivery.now.timestamp())
        {
            Ok(verified) => {
                tracing::debug!(source = self.name, scheme = %verified.scheme, "signature verified");
                Ok(Some(verified))
            }
            Err(e) => Err(self.refused(e)),
        }
    }

    /// Logs a refused signature (at a bounded rate) and turns it into the refusal.
    fn refused(&self, e: VerifyError) -> IngestError {
        if let Some(unlogged) = self.log_refusal() {
            tracing::warn!(
                source = self.name,
                reason = e.code(),
                refusals.unlogged = unlogged,
                "delivery refused: signature check failed"
            );
        }
        IngestError::Verify(e)
    }

    /// What a `frontegg-jwt` token says about the request must be true of it, and a single-use
    /// token (one with a `jti`) carries one body only: captured, it cannot carry another.
    fn check_token(
        &self,
        verified: Option<&Verified>,
        event: &LifecycleEvent,
        body: &BodyDigest,
        now_unix: i64,
    ) -> Result<(), IngestError> {
        let Some(token) = verified.and_then(|v| v.token.as_ref()) else {
            return Ok(());
        };
        token
            .claims
            .check(&event.event_type, event.tenant_id.as_deref(), &body.hex)
            .map_err(|e| self.refused(e))?;
        self.tokens
            .bind(token, body.bytes, now_unix)
            .map_err(|_| self.refused(VerifyError::TokenReused))
    }
}

/// The SHA-256 of a body, as bytes and as hex.
struct BodyDigest {
    bytes: [u8; 32],
    hex: String,
}

impl BodyDigest {
    fn of(body: &[u8]) -> Self {
        let bytes: [u8; 32] = Sha256::digest(body).into();
        Self {
            bytes,
            hex: hex::encode(bytes),
        }
    }
}

/// The idempotency key, only ever from what the signature covers: Standard Webhooks signs its
/// `webhook-id`, which is the delivery's own key; the other schemes sign no header, so their key
/// is the body's hash. An unsigned header never chooses the key: a captured delivery re-sent
/// with a new `webhook-id` is a duplicate, and cannot take a real delivery's key first.
fn idempotency_key(verified: Option<&Verified>, body_sha256: &str) -> String {
    verified
        .and_then(|v| v.message_id.as_deref())
        .filter(|id| id.len() <= MAX_IDEMPOTENCY_KEY_LEN)
        .map_or_else(|| format!("sha256:{body_sha256}"), |id| format!("header:{id}"))
}

/// Checks, verifies, normalizes and stores one delivery. Returns only after the row is committed.
pub async fn receive(
    recorder: &InboxRecorder,
    source: &Source,
    delivery: Delivery<'_>,
) -> Result<Receipt, IngestError> {
    source.check_address(delivery.peer, delivery.forwarded_for.as_deref())?;
    let verified = source.verify(&delivery)?;
    let latest = delivery.now + chrono::TimeDelta::seconds(source.settings.max_future_skew_secs);
    let event = events::normalize_received(delivery.body, latest).map_err(IngestError::Normalize)?;
    check_route(delivery.route_kind, &event)?;
    let body = BodyDigest::of(delivery.body);
    source.check_token(verified.as_ref(), &event, &body, delivery.now.timestamp())?;
    let new = new_event(source, &delivery, &event, verified.as_ref(), body.hex);
    let ignored = event.kind == EventKind::Ignored;
    let outcome = recorder.record(new).await?;
    let receipt = match outcome {
        InsertOutcome::Inserted { id } if ignored => Receipt {
            status: ReceiptStatus::Ignored,
            event_id: id,
            kind: Some(event.kind),
        },
        InsertOutcome::Inserted { id } => Receipt {
            status: ReceiptStatus::Accepted,
            event_id: id,
            kind: Some(event.kind),
        },
        InsertOutcome::Duplicate { id } => Receipt {
            status: ReceiptStatus::Duplicate,
            event_id: id,
            kind: Some(event.kind),
        },
        InsertOutcome::Conflict { id } => {
            tracing::warn!(
                event.id = id,
                "delivery refused: idempotency key reused with another body"
            );
            return Err(IngestError::Conflict { event_id: id });
        }
    };
    tracing::info!(
        event.id = receipt.event_id,
        event.kind = %event.kind,
        tenant.id = event.tenant_id.as_deref().unwrap_or("-"),
        outcome = ?receipt.status,
        "delivery stored"
    );
    Ok(receipt)
}

/// On an alias route the body's event must be of the route's kind.
fn check_route(route_kind: Option<EventKind>, event: &LifecycleEvent) -> Result<(), IngestError> {
    match route_kind {
        Some(kind) if kind != event.kind => Err(IngestError::EventMismatch {
            route: kind.alias().unwrap_or("this"),
            sent: event.event_type.clone(),
        }),
        _ => Ok(()),
    }
}

fn new_event(
    source: &Source,
    delivery: &Delivery<'_>,
    event: &LifecycleEvent,
    verified: Option<&Verified>,
    body_sha256: String,
) -> NewEvent {
    let received_at = delivery.now.naive_utc();
    let occurred_at = event.occurred_at.map(|t| t.naive_utc());
    NewEvent {
        source: source.name.to_owned(),
        idempotency_key: idempotency_key(verified, &body_sha256),
        body_sha256,
        event_type: event.event_type.clone(),
        kind: event.kind.as_str().to_owned(),
        tenant_id: event.tenant_id.clone(),
        user_id: event.user_id.clone(),
        occurred_at,
        received_at,
        order_at: occurred_at.unwrap_or(received_at),
        // The body was parsed as JSON, so it is UTF-8.
        payload: String::from_utf8_lossy(delivery.body).into_owned(),
        status: if event.kind == EventKind::Ignored {
            EventStatus::Ignored
        } else {
            EventStatus::Pending
        }
        .to_owned(),
        next_attempt_at: received_at,
    }
}
