//! `[sources.frontegg]`: how one webhook sender is authenticated and limited.

use anyhow::bail;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::Scheme;

/// A Standard Webhooks secret may be written `whsec_<base64>`: it stands for the decoded bytes.
const STANDARD_SECRET_PREFIX: &str = "whsec_";

/// Decodes base64 whether or not the `=` padding was kept.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `[sources]`: every webhook sender, by name.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SourcesSettings {
    pub frontegg: SourceSettings,
}

/// One webhook sender: how its requests are authenticated and limited.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SourceSettings {
    #[serde(deserialize_with = "schemes_by_name")]
    pub schemes: Vec<Scheme>,
    #[serde(serialize_with = "super::redact::all")]
    pub secrets: Vec<SecretString>,
    pub jwt_header: String,
    pub hmac_header: String,
    pub timestamp_tolerance_secs: i64,
    /// A `frontegg-jwt` token is refused once its `iat` is older than this (and one carrying only
    /// `exp` when that lies further ahead than this).
    pub jwt_max_age_secs: i64,
    /// Accept `frontegg-jwt` tokens that carry neither `iat` nor `exp` (valid forever otherwise).
    pub jwt_allow_untimed_tokens: bool,
    /// An event time further ahead of the receive time than this is refused (422).
    pub max_future_skew_secs: i64,
    pub body_limit_bytes: usize,
    pub allowed_ips: Vec<String>,
    pub trusted_proxies: Vec<String>,
    pub insecure_skip_verification: bool,
}

impl SourceSettings {
    /// The allow-list as networks; validated at load, so parsing cannot fail later.
    pub fn allowed_networks(&self) -> Vec<IpNet> {
        parse_networks(&self.allowed_ips)
    }

    pub fn trusted_proxy_networks(&self) -> Vec<IpNet> {
        parse_networks(&self.trusted_proxies)
    }

    pub(super) fn validate(&self, key: &str) -> anyhow::Result<()> {
        if !self.insecure_skip_verification {
            if self.schemes.is_empty() {
                bail!(
                    "{key}.schemes is empty: list one or more of {} (or set {key}.insecure_skip_verification = true for local experiments)",
                    Scheme::ALL.map(|s| s.as_str()).join(", ")
                );
            }
            if self.secrets.iter().all(|s| s.expose_secret().is_empty()) {
                bail!("{key}.secrets is empty: set at least one shared secret (e.g. TENANTGATE__SOURCES__FRONTEGG__SECRETS)");
            }
            for (n, secret) in self.secrets.iter().enumerate() {
                let secret = secret.expose_secret();
                if !secret.is_empty() && secret.trim().is_empty() {
                    bail!("{key}.secrets[{n}] is blank: use the secret the sender signs with");
                }
                if !secret.is_empty() && gives_a_key_anyone_can_sign_with(secret) {
                    bail!("{key}.secrets[{n}] gives a key of zero bytes only, which anyone can sign with: use a real secret");
                }
            }
        }
        if self.body_limit_bytes == 0 {
            bail!("{key}.body_limit_bytes must be at least 1");
        }
        for (name, value) in [
            ("timestamp_tolerance_secs", self.timestamp_tolerance_secs),
            ("jwt_max_age_secs", self.jwt_max_age_secs),
            ("max_future_skew_secs", self.max_future_skew_secs),
        ] {
            if value <= 0 {
                bail!("{key}.{name} must be a positive number of seconds, got {value}");
            }
        }
        for (name, header) in [("jwt_header", &self.jwt_header), ("hmac_header", &self.hmac_header)] {
            if actix_web::http::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
                bail!("{key}.{name} `{header}` is not a valid HTTP header name");
            }
        }
        for (name, list) in [
            ("allowed_ips", &self.allowed_ips),
            ("trusted_proxies", &self.trusted_proxies),
        ] {
            for item in list {
                parse_network(item).map_err(|e| anyhow::anyhow!("{key}.{name}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Whether the body of an accepted request may be unauthenticated: a `frontegg-jwt` token
    /// proves its sender, not its body, so without an allow-list anyone holding a captured token
    /// can send another body with it while the token is fresh.
    pub fn body_unauthenticated(&self) -> bool {
        !self.insecure_skip_verification && self.schemes.contains(&Scheme::FronteggJwt) && self.allowed_ips.is_empty()
    }
}

/// Whether a configured secret stands for an HMAC key of zero bytes only, read as its UTF-8
/// bytes or, written `whsec_<base64>`, as the bytes the base64 decodes to. HMAC pads a short key
/// with zero bytes, so such a key is the empty key, and anyone can sign with it. The verifier
/// reads a secret the same two ways (`verify::standard::key_from_secret`) and matches nothing
/// with such a key; a test in `verify` holds the two readings together.
pub fn gives_a_key_anyone_can_sign_with(secret: &str) -> bool {
    let zero_bytes_only = |key: &[u8]| key.iter().all(|b| *b == 0);
    let decoded = secret
        .strip_prefix(STANDARD_SECRET_PREFIX)
        .and_then(|rest| LENIENT_B64.decode(rest).ok());
    zero_bytes_only(secret.as_bytes()) || decoded.is_some_and(|key| zero_bytes_only(&key))
}

pub(super) fn parse_networks(items: &[String]) -> Vec<IpNet> {
    items.iter().filter_map(|s| parse_network(s).ok()).collect()
}

/// A CIDR network, or a single address taken as a /32 or /128.
pub(super) fn parse_network(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not an IP address or CIDR network"))
}

/// Parses scheme names with a message that lists the allowed ones.
fn schemes_by_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Scheme>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    names
        .iter()
        .map(|n| n.parse::<Scheme>().map_err(serde::de::Error::custom))
        .collect()
}
