//! Fuzzes the `frontegg-jwt` scheme: `tenantgate::verify::jwt::{verify, check_times, token}` with
//! raw strings, tokens from the signing helper and hand-built tokens (any `alg`, header fields,
//! claims of any JSON type, the right or a wrong key, or a garbage signature).
//!
//! Invariants (besides "never panics"):
//! - `MissingSignature` exactly when the header is absent or blank;
//! - `Ok` or `TimestampOutOfTolerance` only when an independent check (the `hmac` crate) finds an
//!   HS256/384/512 MAC, under the alg the header names, with a configured non-empty secret; and
//!   then the verdict on time agrees with `check_times` on the claims;
//! - a well-formed HS* token signed with a configured secret gets exactly `check_times`' verdict;
//! - `token(secret, at)` verifies with that secret until `at + 300 + leeway`, and never with an
//!   empty key;
//! - flipping any bit of an authentic token makes it not authentic;
//! - whitespace around the header value changes nothing;
//! - `check_times`: a negative leeway acts as 0, more leeway never turns Ok into a refusal, no
//!   `exp`/`nbf` means Ok, and with only `exp` (only `nbf`) an earlier (later) clock stays Ok.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::{Map, Value};
use tenantgate::verify::{jwt, VerifyError};

use common::{
    flip, hmac256_block, jwt_mac, jwt_oracle, present, unusable, Json, Oracle, SecretPick, SecsPick, SignSecret,
    TimePick,
};

#[derive(Debug, Arbitrary)]
enum AlgPick {
    Hs256,
    Hs384,
    Hs512,
    Other(u8),
    Custom(String),
}

const OTHER_ALGS: [&str; 9] = [
    "none", "None", "RS256", "ES256", "PS256", "EdDSA", "hs256", "HS256 ", "",
];

impl AlgPick {
    fn name(&self) -> String {
        match self {
            AlgPick::Hs256 => "HS256".into(),
            AlgPick::Hs384 => "HS384".into(),
            AlgPick::Hs512 => "HS512".into(),
            AlgPick::Other(i) => OTHER_ALGS[usize::from(*i) % OTHER_ALGS.len()].into(),
            AlgPick::Custom(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum MacAlg {
    Same,
    Hs256,
    Hs384,
    Hs512,
}

#[derive(Debug, Arbitrary)]
enum SigPick {
    Mac,
    Garbage(Vec<u8>),
    Empty,
}

#[derive(Debug, Arbitrary)]
enum Slot {
    Absent,
    Near(i32),
    Value(Json),
}

#[derive(Debug, Arbitrary)]
struct Claims {
    exp: Slot,
    nbf: Slot,
    iat: Slot,
    sub: Slot,
    others: Vec<(String, Json)>,
    /// Replaces the whole claims object.
    not_an_object: Option<Json>,
}

impl Claims {
    fn value(&self) -> Value {
        if let Some(Json(v)) = &self.not_an_object {
            return v.clone();
        }
        let mut map = Map::new();
        for (k, Json(v)) in self.others.iter().take(4) {
            map.insert(k.clone(), v.clone());
        }
        for (name, slot) in [
            ("exp", &self.exp),
            ("nbf", &self.nbf),
            ("iat", &self.iat),
            ("sub", &self.sub),
        ] {
            match slot {
                Slot::Absent => {}
                Slot::Near(d) => {
                    map.insert(name.into(), Value::from(common::NOW + i64::from(*d)));
                }
                Slot::Value(Json(v)) => {
                    map.insert(name.into(), v.clone());
                }
            }
        }
        Value::Object(map)
    }
}

#[derive(Debug, Arbitrary)]
struct Built {
    alg: AlgPick,
    mac_alg: MacAlg,
    typ: Option<Json>,
    kid: Option<String>,
    header_extra: Vec<(String, Json)>,
    claims: Claims,
    key: SignSecret,
    sig: SigPick,
}

#[derive(Debug, Arbitrary)]
enum TokenPick {
    Raw(String),
    Helper { secret: SignSecret, at: TimePick },
    Built(Built),
}

#[derive(Debug, Arbitrary)]
struct Input {
    secrets: Vec<SecretPick>,
    now: TimePick,
    leeway: SecsPick,
    token: TokenPick,
    padding: u8,
    tamper: Option<(u16, u8)>,
    extra_leeway: u32,
    shift: u32,
}

fuzz_target!(|input: Input| run(input));

fn verify(token: Option<&str>, secrets: &[String], now: i64, leeway: i64) -> Result<(), VerifyError> {
    let secrets: Vec<SecretString> = secrets.iter().map(|s| SecretString::from(s.clone())).collect();
    jwt::verify(token, &secrets, now, leeway)
}

fn authentic(result: &Result<(), VerifyError>) -> bool {
    matches!(result, Ok(()) | Err(VerifyError::TimestampOutOfTolerance))
}

fn run(input: Input) {
    let secrets: Vec<String> = input.secrets.iter().take(3).map(SecretPick::text).collect();
    let now = input.now.resolve();
    let leeway = input.leeway.resolve(jwt::JWT_LEEWAY_SECS);

    let token = match &input.token {
        TokenPick::Raw(s) => s.clone(),
        TokenPick::Helper { secret, at } => helper_token(secret, at.resolve(), &secrets, now, leeway),
        TokenPick::Built(built) => built_token(built, &secrets, now, leeway),
    };

    let result = verify(Some(&token), &secrets, now, leeway);
    assert_eq!(
        result == Err(VerifyError::MissingSignature),
        token.trim().is_empty(),
        "MissingSignature exactly for a blank header"
    );
    if let Some(trimmed) = present(Some(&token)) {
        let oracle = jwt_oracle(trimmed, &secrets, now, leeway);
        match result {
            Ok(()) => assert_eq!(oracle, Oracle::GenuineInTime, "accepted {trimmed:?}"),
            Err(VerifyError::TimestampOutOfTolerance) => {
                assert_eq!(oracle, Oracle::GenuineLate, "refused on time only {trimmed:?}")
            }
            Err(_) => {}
        }
    }

    // Whitespace around the header value is not part of the token.
    let pads = ["", " ", "\t", "\r\n", "  \u{a0}", " \n\t "];
    let pad = pads[usize::from(input.padding) % pads.len()];
    let padded = format!("{pad}{token}{pad}");
    assert_eq!(verify(Some(&padded), &secrets, now, leeway), result, "padding {pad:?}");

    // No bit of an authentic token may change without it losing its authenticity.
    if let (true, Some((pos, bit))) = (authentic(&result), input.tamper) {
        if let Some(tampered) = flip(token.trim(), pos, bit) {
            let after = verify(Some(&tampered), &secrets, now, leeway);
            assert!(
                !authentic(&after),
                "flipped token {tampered:?} still authentic: {after:?}"
            );
        }
    }

    if let TokenPick::Built(built) = &input.token {
        check_times_properties(&built.claims.value(), now, leeway, &input);
    }
}

/// A token from `jwt::token` and what verifying it must give.
fn helper_token(secret: &SignSecret, at: i64, secrets: &[String], now: i64, leeway: i64) -> String {
    let (secret, configured) = secret.resolve(secrets);
    let token = jwt::token(&secret, at).expect("HMAC signing does not fail");

    // The claims are exactly iat/exp.
    let payload = token.split('.').nth(1).expect("three parts");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON");
    let exp = at.saturating_add(jwt::SIGNED_TOKEN_LIFETIME_SECS);
    assert_eq!(claims, serde_json::json!({"iat": at, "exp": exp}));

    let result = verify(Some(&token), secrets, now, leeway);
    if unusable(secret.as_bytes()) {
        assert!(
            !authentic(&result),
            "a token signed with an empty key: {result:?}, secrets {secrets:?}"
        );
    } else if configured {
        let expected = if now > exp.saturating_add(leeway.max(0)) {
            Err(VerifyError::TimestampOutOfTolerance)
        } else {
            Ok(())
        };
        assert_eq!(result, expected, "helper token signed at {at}");
    } else if authentic(&result) {
        let block = hmac256_block(secret.as_bytes());
        assert!(
            secrets
                .iter()
                .any(|s| !unusable(s.as_bytes()) && hmac256_block(s.as_bytes()) == block),
            "token signed with unconfigured {secret:?} accepted by {secrets:?}"
        );
    }
    token
}

fn b64url_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("a Value serializes"))
}

/// A hand-built token; checks the exact verdict when it is a well-formed token signed right.
fn built_token(built: &Built, secrets: &[String], now: i64, leeway: i64) -> String {
    let alg = built.alg.name();
    let mut header = Map::new();
    for (k, Json(v)) in built.header_extra.iter().take(3) {
        header.insert(k.clone(), v.clone());
    }
    header.insert("alg".into(), Value::String(alg.clone()));
    if let Some(Json(typ)) = &built.typ {
        header.insert("typ".into(), typ.clone());
    }
    if let Some(kid) = &built.kid {
        header.insert("kid".into(), Value::String(kid.clone()));
    }
    let claims = built.claims.value();
    let message = format!(
        "{}.{}",
        b64url_json(&Value::Object(header.clone())),
        b64url_json(&claims)
    );
    let (secret, configured) = built.key.resolve(secrets);
    let mac_alg = match built.mac_alg {
        MacAlg::Same => alg.as_str(),
        MacAlg::Hs256 => "HS256",
        MacAlg::Hs384 => "HS384",
        MacAlg::Hs512 => "HS512",
    };
    let sig = match &built.sig {
        SigPick::Mac => jwt_mac(mac_alg, secret.as_bytes(), message.as_bytes()).unwrap_or_default(),
        SigPick::Garbage(bytes) => bytes.clone(),
        SigPick::Empty => Vec::new(),
    };
    let token = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&sig));
    let result = verify(Some(&token), secrets, now, leeway);

    let hs = matches!(alg.as_str(), "HS256" | "HS384" | "HS512");
    let signed_right = matches!(built.sig, SigPick::Mac) && mac_alg == alg && hs;
    if signed_right && unusable(secret.as_bytes()) {
        assert!(
            !authentic(&result),
            "a token signed with an empty key: {result:?}, secrets {secrets:?}"
        );
    }
    if !hs {
        assert_eq!(
            result,
            Err(VerifyError::InvalidSignature),
            "alg {alg:?} must never pass"
        );
    }
    // `sub`, `exp` and `nbf` of an array or object type make the token malformed for the JWT
    // library, which is a legitimate refusal; every other shape must reach `check_times`.
    let odd_registered = ["sub", "exp", "nbf"]
        .iter()
        .any(|name| claims.get(name).is_some_and(|v| v.is_array() || v.is_object()));
    let plain_header = header.len() == 1 + usize::from(built.kid.is_some()) + usize::from(built.typ.is_some())
        && built.typ.as_ref().is_none_or(|Json(t)| t.is_string());
    if signed_right
        && configured
        && !unusable(secret.as_bytes())
        && claims.is_object()
        && !odd_registered
        && plain_header
    {
        assert_eq!(
            result,
            jwt::check_times(&claims, now, leeway),
            "well-formed {alg} token, claims {claims}, now {now}, leeway {leeway}"
        );
    }
    token
}

fn check_times_properties(claims: &Value, now: i64, leeway: i64, input: &Input) {
    let verdict = jwt::check_times(claims, now, leeway);
    if leeway < 0 {
        assert_eq!(verdict, jwt::check_times(claims, now, 0), "negative leeway acts as 0");
    }
    let more = leeway.max(0).saturating_add(i64::from(input.extra_leeway));
    if verdict.is_ok() {
        assert_eq!(jwt::check_times(claims, now, more), Ok(()), "more leeway refused");
    }
    let (has_exp, has_nbf) = (claims.get("exp").is_some(), claims.get("nbf").is_some());
    if !has_exp && !has_nbf {
        assert_eq!(verdict, Ok(()), "no exp/nbf must pass");
    }
    if verdict.is_ok() && has_exp && !has_nbf {
        let earlier = now.saturating_sub(i64::from(input.shift));
        assert_eq!(
            jwt::check_times(claims, earlier, leeway),
            Ok(()),
            "only exp: an earlier clock"
        );
    }
    if verdict.is_ok() && has_nbf && !has_exp {
        let later = now.saturating_add(i64::from(input.shift));
        assert_eq!(
            jwt::check_times(claims, later, leeway),
            Ok(()),
            "only nbf: a later clock"
        );
    }
    if verdict == Err(VerifyError::InvalidSignature) {
        assert!(
            has_exp || has_nbf,
            "InvalidSignature from check_times needs a malformed exp/nbf"
        );
    }
}
