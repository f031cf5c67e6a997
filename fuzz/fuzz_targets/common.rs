//! Helpers shared by the fuzz targets: input pickers and an independent JWT check.
#![allow(dead_code)]

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use hmac::{Hmac, Mac};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use tenantgate::verify::{jwt, VerifyError};

/// A plausible "now" (2023-11-14), around which most times are picked.
pub const NOW: i64 = 1_700_000_000;

/// Secrets worth reaching without luck: real-looking ones, a `whsec_` key, degenerate ones.
pub const PRESET_SECRETS: [&str; 10] = [
    "s3cret",
    "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "old-secret-before-rotation",
    "whsec_",
    "whsec_not base64!",
    " ",
    "\0",
    "whsec_AA==",
    "",
    "a-secret-longer-than-the-sha-256-block-size-of-sixty-four-bytes-xyz",
];

#[derive(Debug, Arbitrary)]
pub enum SecretPick {
    Preset(u8),
    Text(String),
    /// `whsec_` followed by the standard base64 of these bytes.
    Whsec(Vec<u8>),
}

impl SecretPick {
    pub fn text(&self) -> String {
        match self {
            SecretPick::Preset(i) => PRESET_SECRETS[usize::from(*i) % PRESET_SECRETS.len()].to_string(),
            SecretPick::Text(s) => s.clone(),
            SecretPick::Whsec(bytes) => format!("whsec_{}", STANDARD.encode(bytes)),
        }
    }
}

/// Which secret a request is signed with.
#[derive(Debug, Arbitrary)]
pub enum SignSecret {
    /// The n-th configured secret (modulo their number).
    Configured(u8),
    /// A secret that may or may not be configured.
    Foreign(SecretPick),
}

impl SignSecret {
    /// The secret's text and whether it is one of `configured`.
    pub fn resolve(&self, configured: &[String]) -> (String, bool) {
        match self {
            SignSecret::Configured(i) if !configured.is_empty() => {
                (configured[usize::from(*i) % configured.len()].clone(), true)
            }
            SignSecret::Configured(_) => (String::new(), false),
            SignSecret::Foreign(pick) => {
                let s = pick.text();
                let is_configured = configured.contains(&s);
                (s, is_configured)
            }
        }
    }
}

/// A number of seconds: the default, a small value or any value.
#[derive(Debug, Arbitrary)]
pub enum SecsPick {
    Default,
    Small(i16),
    Any(i64),
}

impl SecsPick {
    pub fn resolve(&self, default: i64) -> i64 {
        match self {
            SecsPick::Default => default,
            SecsPick::Small(v) => i64::from(*v),
            SecsPick::Any(v) => *v,
        }
    }
}

/// A Unix time: near [`NOW`], any, or an edge of the `i64` range.
#[derive(Debug, Arbitrary)]
pub enum TimePick {
    Near(i32),
    Any(i64),
    Edge(u8),
}

impl TimePick {
    pub fn resolve(&self) -> i64 {
        const EDGES: [i64; 6] = [i64::MIN, i64::MAX, 0, -1, i64::MIN + 1, i64::MAX - 300];
        match self {
            TimePick::Near(d) => NOW + i64::from(*d),
            TimePick::Any(v) => *v,
            TimePick::Edge(i) => EDGES[usize::from(*i) % EDGES.len()],
        }
    }
}

/// An arbitrary JSON value of bounded depth.
#[derive(Debug, Clone)]
pub struct Json(pub Value);

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        json_value(u, 0).map(Json)
    }
}

pub fn json_value(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Value> {
    let top = if depth >= 3 { 6 } else { 8 };
    Ok(match u.int_in_range(0..=top)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.arbitrary::<u64>()?),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 => Value::from(NOW + i64::from(u.arbitrary::<i32>()?)),
        7 => {
            let len = u.int_in_range(0..=3)?;
            Value::Array((0..len).map(|_| json_value(u, depth + 1)).collect::<Result<_, _>>()?)
        }
        _ => {
            let len = u.int_in_range(0..=3)?;
            let mut map = Map::new();
            for _ in 0..len {
                map.insert(u.arbitrary()?, json_value(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

/// `trim`, and blank counts as absent: how the verifier reads a header.
pub fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

pub fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The HS* MAC of `message`, for an alg name as a JWT header spells it.
pub fn jwt_mac(alg: &str, key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    Some(match alg {
        "HS256" => hmac256(key, &[message]),
        "HS384" => Hmac::<Sha384>::new_from_slice(key)
            .expect("HMAC takes any key")
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
        "HS512" => Hmac::<Sha512>::new_from_slice(key)
            .expect("HMAC takes any key")
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
        _ => return None,
    })
}

/// HMAC-SHA256 keys are equivalent when their padded (or, if longer than a block, hashed) forms
/// are equal: RFC 2104 §2.
pub fn hmac256_block(key: &[u8]) -> Vec<u8> {
    let mut block = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    block.resize(64, 0);
    block
}

/// Base64 decoders more lenient than anything the verifier uses (padding optional, trailing bits
/// allowed), so the oracles below accept a superset of what the verifier may accept.
pub const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

pub const LENIENT_B64_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// What an independent re-computation says about a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oracle {
    Missing,
    Forged,
    GenuineInTime,
    GenuineLate,
}

impl Oracle {
    pub fn genuine(self) -> bool {
        matches!(self, Oracle::GenuineInTime | Oracle::GenuineLate)
    }
}

/// Re-checks a (trimmed, non-blank) JWT by hand: the MAC of `header.payload` under the HS* alg
/// the header names, with some configured non-empty secret; then the claims' times.
pub fn jwt_oracle(token: &str, secrets: &[String], now: i64, leeway: i64) -> Oracle {
    let Some((message, sig)) = token.rsplit_once('.') else {
        return Oracle::Forged;
    };
    let Some((head, payload)) = message.split_once('.') else {
        return Oracle::Forged;
    };
    let alg = LENIENT_B64_URL
        .decode(head)
        .ok()
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
    let (Some(alg), Ok(sent)) = (alg, LENIENT_B64_URL.decode(sig)) else {
        return Oracle::Forged;
    };
    let genuine = secrets
        .iter()
        .filter(|s| !unusable(s.as_bytes()))
        .any(|s| jwt_mac(&alg, s.as_bytes(), message.as_bytes()).is_some_and(|mac| mac == sent));
    if !genuine {
        return Oracle::Forged;
    }
    let claims = LENIENT_B64_URL
        .decode(payload)
        .ok()
        .and_then(|c| serde_json::from_slice::<Value>(&c).ok());
    match claims.map(|c| jwt::check_times(&c, now, leeway)) {
        Some(Ok(())) => Oracle::GenuineInTime,
        Some(Err(VerifyError::TimestampOutOfTolerance)) => Oracle::GenuineLate,
        _ => Oracle::Forged,
    }
}

/// Whether a key matches nothing: the verifier refuses keys that HMAC treats as the empty key
/// (empty, or zero bytes only, since RFC 2104 pads keys with zeros), because anyone can sign
/// with them.
pub fn unusable(key: &[u8]) -> bool {
    tenantgate::verify::signs_for_anyone(key)
}

/// Flips one bit of `text`; `None` if it is empty or the result is not UTF-8.
pub fn flip(text: &str, pos: u16, bit: u8) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    let mut bytes = text.as_bytes().to_vec();
    let at = usize::from(pos) % bytes.len();
    bytes[at] ^= 1 << (bit % 8);
    String::from_utf8(bytes).ok()
}
