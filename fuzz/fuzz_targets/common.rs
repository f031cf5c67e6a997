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

/// Fields added to an input after a run: decoded like `T`, but with a minimum size of 0, so that
/// the shorter inputs of earlier runs (the regressions among them) still reach the target;
/// libFuzzer's harness skips an input shorter than the input type's minimum size. Decoding from
/// exhausted data gives zeros: the first variant, `false`, 0.
#[derive(Debug)]
pub struct Later<T>(pub T);

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Later<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        T::arbitrary(u).map(Later)
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (0, None)
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
    /// A genuine JWT with neither `iat` nor `exp`, refused because untimed tokens are not allowed.
    GenuineUntimed,
}

impl Oracle {
    pub fn genuine(self) -> bool {
        matches!(
            self,
            Oracle::GenuineInTime | Oracle::GenuineLate | Oracle::GenuineUntimed
        )
    }
}

/// Whether a verdict says the credential is authentic: accepted, or refused only for its time
/// (out of tolerance, or a JWT with no time claims at all).
pub fn authentic<T>(result: &Result<T, VerifyError>) -> bool {
    matches!(
        result,
        Ok(_) | Err(VerifyError::TimestampOutOfTolerance | VerifyError::UntimedToken)
    )
}

/// The precedence of the verifier's refusals when several schemes fail: a failure about an
/// authentic credential beats a wrong credential, which beats none at all.
pub fn rank(error: VerifyError) -> u8 {
    match error {
        VerifyError::MissingSignature => 0,
        VerifyError::InvalidSignature => 1,
        VerifyError::TimestampOutOfTolerance
        | VerifyError::UntimedToken
        | VerifyError::ClaimMismatch(_)
        | VerifyError::TokenReused => 2,
    }
}

/// The JWT time rules of the verifier's options.
pub fn time_rules(leeway_secs: i64, max_age_secs: i64, allow_untimed: bool) -> jwt::TimeRules {
    jwt::TimeRules {
        leeway_secs,
        max_age_secs,
        allow_untimed,
    }
}

/// The claims of a JWT, decoded leniently; `None` if they are not base64url JSON.
pub fn jwt_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    LENIENT_B64_URL
        .decode(payload)
        .ok()
        .and_then(|c| serde_json::from_slice::<Value>(&c).ok())
}

/// Re-checks a (trimmed, non-blank) JWT by hand: the MAC of `header.payload` under the HS* alg
/// the header names, with some configured non-empty secret; then the claims' times. Returns the
/// claims too when the MAC is genuine.
pub fn jwt_oracle(token: &str, secrets: &[String], now: i64, rules: &jwt::TimeRules) -> (Oracle, Option<Value>) {
    let Some((message, sig)) = token.rsplit_once('.') else {
        return (Oracle::Forged, None);
    };
    let Some((head, _payload)) = message.split_once('.') else {
        return (Oracle::Forged, None);
    };
    let alg = LENIENT_B64_URL
        .decode(head)
        .ok()
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
    let (Some(alg), Ok(sent)) = (alg, LENIENT_B64_URL.decode(sig)) else {
        return (Oracle::Forged, None);
    };
    let genuine = secrets
        .iter()
        .filter(|s| !unusable(s.as_bytes()))
        .any(|s| jwt_mac(&alg, s.as_bytes(), message.as_bytes()).is_some_and(|mac| mac == sent));
    if !genuine {
        return (Oracle::Forged, None);
    }
    let Some(claims) = jwt_claims(message) else {
        return (Oracle::Forged, None);
    };
    let oracle = match jwt::check_times(&claims, now, rules) {
        Ok(_) => Oracle::GenuineInTime,
        Err(VerifyError::TimestampOutOfTolerance) => Oracle::GenuineLate,
        Err(VerifyError::UntimedToken) => Oracle::GenuineUntimed,
        Err(_) => Oracle::Forged,
    };
    (oracle, Some(claims))
}

/// What the verifier must return for an accepted token with these claims, usable until `until`:
/// the SHA-256 of a string `jti` as its id, and the string request claims (camelCase first, then
/// snake_case).
pub fn expected_accepted(claims: &Value, until: i64) -> jwt::AcceptedToken {
    let text = |camel: &str, snake: &str| {
        claims
            .get(camel)
            .and_then(Value::as_str)
            .or_else(|| claims.get(snake).and_then(Value::as_str))
            .map(str::to_owned)
    };
    jwt::AcceptedToken {
        id: claims
            .get("jti")
            .and_then(Value::as_str)
            .map(|jti| Sha256::digest(jti.as_bytes()).into()),
        usable_until: until,
        claims: jwt::RequestClaims {
            event_key: text("eventKey", "event_key"),
            tenant_id: text("tenantId", "tenant_id"),
            body_sha256: text("bodySha256", "body_sha256"),
        },
    }
}

/// The verdict on the times of a token made by `jwt::token` at `at` (`iat` = `at`, `exp` = `at`
/// + the signed lifetime, saturating), worked out in 128-bit arithmetic: refused on time unless
/// `at - leeway <= now <= min(exp, at + max_age) + leeway`, else usable until that bound.
pub fn fresh_token_times(at: i64, now: i64, rules: &jwt::TimeRules) -> Result<i64, VerifyError> {
    let leeway = i128::from(rules.leeway_secs.max(0));
    let max_age = i128::from(rules.max_age_secs.max(0));
    let exp = i128::from(at.saturating_add(jwt::SIGNED_TOKEN_LIFETIME_SECS));
    let (at, now) = (i128::from(at), i128::from(now));
    let until = exp.min(at + max_age) + leeway;
    if now < at - leeway || now > until {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    Ok(clamp_i64(until))
}

pub fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
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
