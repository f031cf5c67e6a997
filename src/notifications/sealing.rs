//! Subscription signing secrets at rest: sealed with ChaCha20-Poly1305 under the keys of
//! `notifications.encryption_keys` before they are written, opened only to sign.
//!
//! A sealed secret is stored as `enc:v1:<key id>:<base64(nonce || ciphertext)>`. The key id
//! (the first 8 hex digits of the key's SHA-256) picks the key that opens it, so that keys can
//! be rotated: the first configured key seals, every configured key opens. The nonce is 96
//! random bits from the operating system, fresh for every seal. The subscription id is the
//! associated data: a sealed secret copied into another subscription's row does not open,
//! while the copy `store::notifications::rotate_secret` makes within one row (current to
//! previous) does.
//!
//! Nothing here logs, and no error carries a stored value or a secret.

use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::config::notifications::decode_encryption_key;

/// What every sealed value starts with; a value without it was written in plain text by a
/// version before encryption at rest.
const SEALED_PREFIX: &str = "enc:";
/// The current stored form.
const FORM_V1: &str = "enc:v1:";
/// Bytes of nonce before the ciphertext (ChaCha20-Poly1305's 96 bits).
const NONCE_BYTES: usize = 12;
/// Bytes of the key's SHA-256 that name it: 8 hex digits, enough to tell a handful of keys
/// apart while saying nothing useful about the key.
const KEY_ID_BYTES: usize = 4;

/// Why a secret could not be sealed or opened. The messages name the problem and the key id,
/// never the stored value nor the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "the signing secret is stored in plain text, as versions before encryption at rest wrote it: start \
         `tenantgate serve` or `tenantgate worker` once to encrypt it"
    )]
    Plain,
    #[error("the stored signing secret is not in the form enc:v1:<key id>:<base64>")]
    Malformed,
    #[error(
        "the signing secret was encrypted with key {key_id}, which is not among notifications.encryption_keys \
         (configured: {configured}): list that key again, after the first, and restart"
    )]
    UnknownKey { key_id: String, configured: String },
    #[error(
        "the signing secret does not decrypt with key {key_id}: it was altered, or belongs to another subscription"
    )]
    DoesNotOpen { key_id: String },
    #[error("the signing secret cannot be encrypted: {0}")]
    Seal(String),
}

/// One configured key and the id that stored values name it by.
struct SealingKey {
    id: String,
    cipher: ChaCha20Poly1305,
}

/// Seals and opens subscription secrets with the configured keys. Built once at start; cheap
/// to clone.
#[derive(Clone)]
pub struct Sealer {
    /// The first seals; all open.
    keys: Arc<[SealingKey]>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("key_ids", &self.key_ids()).finish()
    }
}

/// What the start-up pass should do with one stored value (see [`Sealer::reseal`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Reseal {
    /// Sealed with the first key already.
    Current,
    /// Plain text from an earlier version: store this sealed value instead.
    Sealed(String),
    /// Sealed with an older key that is still configured: store this value, sealed with the
    /// first key, instead.
    Resealed(String),
    /// Cannot be opened with the configured keys; left as it is.
    Unreadable(SealError),
}

impl Sealer {
    /// The keys as configured (base64 of 32 bytes each), the first one sealing.
    pub fn new(keys: &[SecretString]) -> anyhow::Result<Self> {
        if keys.is_empty() {
            anyhow::bail!(
                "notifications.encryption_keys is empty: subscription secrets are stored encrypted, set a key"
            );
        }
        let mut sealing_keys: Vec<SealingKey> = Vec::with_capacity(keys.len());
        for (n, key) in keys.iter().enumerate() {
            let bytes = decode_encryption_key(key.expose_secret())
                .map_err(|e| anyhow::anyhow!("notifications.encryption_keys[{n}] {e}"))?;
            let id = key_id(&bytes);
            if let Some(same) = sealing_keys.iter().position(|k| k.id == id) {
                anyhow::bail!(
                    "notifications.encryption_keys[{n}] has the same key id ({id}) as [{same}]: list each key once"
                );
            }
            sealing_keys.push(SealingKey {
                id,
                cipher: ChaCha20Poly1305::new(&Key::from(bytes)),
            });
        }
        Ok(Self {
            keys: sealing_keys.into(),
        })
    }

    /// The ids of the configured keys, the sealing one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// `secret` sealed for the subscription `subscription_id` with the first key, in its stored
    /// form.
    pub fn seal(&self, subscription_id: &str, secret: &str) -> Result<String, SealError> {
        let key = self.first();
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|e| SealError::Seal(format!("the operating system gave no random bytes: {e}")))?;
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: subscription_id.as_bytes(),
        };
        let ciphertext = key
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| SealError::Seal("the cipher refused the secret".into()))?;
        let mut data = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&ciphertext);
        Ok(format!(
            "{FORM_V1}{}:{}",
            key.id,
            base64::engine::general_purpose::STANDARD.encode(data)
        ))
    }

    /// The secret sealed in `stored` for the subscription `subscription_id`. Plain text is
    /// refused: every start encrypts what earlier versions wrote, before anything signs.
    pub fn open(&self, subscription_id: &str, stored: &str) -> Result<SecretString, SealError> {
        let (key, data) = self.parse(stored)?;
        self.open_with(key, subscription_id, data)
    }

    /// What to store instead of `stored` so that it is sealed with the first key. An error only
    /// when sealing itself fails (no random bytes); a value that does not open is
    /// [`Reseal::Unreadable`].
    pub fn reseal(&self, subscription_id: &str, stored: &str) -> Result<Reseal, SealError> {
        if !stored.starts_with(SEALED_PREFIX) {
            return Ok(Reseal::Sealed(self.seal(subscription_id, stored)?));
        }
        let (key, data) = match self.parse(stored) {
            Ok(found) => found,
            Err(e) => return Ok(Reseal::Unreadable(e)),
        };
        if key.id == self.first().id {
            return Ok(Reseal::Current);
        }
        match self.open_with(key, subscription_id, data) {
            Ok(secret) => Ok(Reseal::Resealed(self.seal(subscription_id, secret.expose_secret())?)),
            Err(e) => Ok(Reseal::Unreadable(e)),
        }
    }

    /// The stored form's prefix for values sealed with the first key.
    pub fn current_prefix(&self) -> String {
        format!("{FORM_V1}{}:", self.first().id)
    }

    /// The key that seals. `new` refuses an empty list, so there is one.
    fn first(&self) -> &SealingKey {
        &self.keys[0]
    }

    /// The key a stored value names, and its sealed data.
    fn parse<'a>(&self, stored: &'a str) -> Result<(&SealingKey, &'a str), SealError> {
        if !stored.starts_with(SEALED_PREFIX) {
            return Err(SealError::Plain);
        }
        let (key_id, data) = stored
            .strip_prefix(FORM_V1)
            .and_then(|rest| rest.split_once(':'))
            .ok_or(SealError::Malformed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey {
                // An id is 8 hex digits; anything else is shown cut short, not in full.
                key_id: key_id.chars().take(KEY_ID_BYTES * 2).collect(),
                configured: self.key_ids().join(", "),
            })?;
        Ok((key, data))
    }

    fn open_with(&self, key: &SealingKey, subscription_id: &str, data: &str) -> Result<SecretString, SealError> {
        let does_not_open = || SealError::DoesNotOpen { key_id: key.id.clone() };
        let data = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| SealError::Malformed)?;
        if data.len() < NONCE_BYTES {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = data.split_at(NONCE_BYTES);
        let nonce = <[u8; NONCE_BYTES]>::try_from(nonce).map_err(|_| SealError::Malformed)?;
        let payload = Payload {
            msg: ciphertext,
            aad: subscription_id.as_bytes(),
        };
        let plaintext = key
            .cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| does_not_open())?;
        let secret = String::from_utf8(plaintext).map_err(|_| does_not_open())?;
        Ok(SecretString::from(secret))
    }
}

/// The id stored values name a key by: the first 8 hex digits of its SHA-256.
fn key_id(key: &[u8]) -> String {
    hex::encode(&Sha256::digest(key)[..KEY_ID_BYTES])
}

#[cfg(test)]
#[path = "sealing_tests.rs"]
mod tests;
