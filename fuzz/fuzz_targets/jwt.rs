//! Fuzzes the `frontegg-jwt` scheme: `tenantgate::verify::jwt::{verify, check_times, token}` with
//! raw strings, tokens from the signing helper and hand-built tokens (any `alg`, header fields,
//! claims of any JSON type, the right or a wrong key, or a garbage signature).
//!
//! Invariants (besides "never panics"):
//! - `MissingSignature` exactly when the header is absent or blank; never `ClaimMismatch` or
//!   `TokenReused` (the receiver's checks, not the verifier's);
//! - `Ok`, `TimestampOutOfTolerance` or `UntimedToken` only when an independent check (the `hmac`
//!   crate) finds an HS256/384/512 MAC, under the alg the header names, with a configured
//!   non-empty secret; and then the verdict on time agrees with `check_times` on the claims, and an
//!   accepted token carries `check_times`' `usable_until`, the SHA-256 of a string `jti` as its id
//!   and the string request claims;
//! - a well-formed HS* token signed with a configured secret gets exactly `check_times`' verdict;
//! - `token(secret, at, body)` carries exactly `iat`, `exp = at + 300`, a random 32-hex-digit `jti`
//!   and the body's `bodySha256`; it verifies with that secret exactly while
//!   `at - leeway <= now <= min(at + 300, at + max_age) + leeway`, and never with an empty key;
//! - flipping any bit of an authentic token (accepted, or refused on time or as untimed) makes it
//!   not authentic;
//! - whitespace around the header value changes nothing;
//! - `check_times` equals a model in 128-bit arithmetic; a negative leeway or maximum age acts as
//!   0; more leeway, a greater maximum age or allowing untimed tokens never turns Ok into a
//!   refusal nor shortens `usable_until`; an Ok token is usable now, and never beyond
//!   `iat + max_age + leeway`, `exp + leeway` or `now + max_age + 2 * leeway`; an `iat` older than
//!   `max_age + leeway` or ahead by more than the leeway, or (without `iat`) an `exp` more than
//!   `max_age + leeway` ahead, is never Ok; with neither `iat` nor `exp` nor `nbf` the verdict is
//!   `UntimedToken`, or when allowed Ok until `now + max_age + leeway`, and `UntimedToken` comes
//!   only then; with only `iat` (only `exp`) Ok exactly in its window; with only `nbf` and untimed
//!   tokens allowed, a later clock stays Ok; `InvalidSignature` only for a non-numeric time claim.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tenantgate::verify::jwt::{self, AcceptedToken, TimeRules};
use tenantgate::verify::VerifyError;

use common::{
    authentic, clamp_i64, expected_accepted, flip, fresh_token_times, hmac256_block, jwt_claims, jwt_mac, jwt_oracle,
    present, time_rules, unusable, Json, Later, Oracle, SecretPick, SecsPick, SignSecret, TimePick,
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

/// Claims the verifier reads besides the time claims.
#[derive(Debug, Arbitrary)]
enum NamedClaim {
    Jti(Json),
    JtiText(String),
    EventKey(Json),
    EventKeySnake(Json),
    TenantId(Json),
    TenantIdSnake(Json),
    BodySha256(Json),
    BodySha256Snake(Json),
}

impl NamedClaim {
    fn pair(&self) -> (&'static str, Value) {
        match self {
            NamedClaim::Jti(Json(v)) => ("jti", v.clone()),
            NamedClaim::JtiText(s) => ("jti", Value::String(s.clone())),
            NamedClaim::EventKey(Json(v)) => ("eventKey", v.clone()),
            NamedClaim::EventKeySnake(Json(v)) => ("event_key", v.clone()),
            NamedClaim::TenantId(Json(v)) => ("tenantId", v.clone()),
            NamedClaim::TenantIdSnake(Json(v)) => ("tenant_id", v.clone()),
            NamedClaim::BodySha256(Json(v)) => ("bodySha256", v.clone()),
            NamedClaim::BodySha256Snake(Json(v)) => ("body_sha256", v.clone()),
        }
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
    /// Added to the claims object (last, so older inputs keep their meaning).
    named: Vec<NamedClaim>,
}

impl Built {
    fn claims(&self) -> Value {
        let mut claims = self.claims.value();
        if let Value::Object(map) = &mut claims {
            for named in self.named.iter().take(4) {
                let (name, value) = named.pair();
                map.insert(name.into(), value);
            }
        }
        claims
    }
}

#[derive(Debug, Arbitrary)]
enum TokenPick {
    Raw(String),
    Helper {
        secret: SignSecret,
        at: TimePick,
        body: Vec<u8>,
    },
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
    /// Last, so that the inputs of earlier runs keep their meaning above.
    later: Later<Added>,
}

/// What came with the maximum age and untimed tokens.
#[derive(Debug, Arbitrary)]
struct Added {
    max_age: SecsPick,
    allow_untimed: bool,
    extra_age: u32,
}

fuzz_target!(|input: Input| run(input));

fn verify(token: Option<&str>, secrets: &[String], now: i64, rules: &TimeRules) -> Result<AcceptedToken, VerifyError> {
    let secrets: Vec<SecretString> = secrets.iter().map(|s| SecretString::from(s.clone())).collect();
    jwt::verify(token, &secrets, now, rules)
}

fn run(input: Input) {
    let secrets: Vec<String> = input.secrets.iter().take(3).map(SecretPick::text).collect();
    let now = input.now.resolve();
    let rules = time_rules(
        input.leeway.resolve(jwt::JWT_LEEWAY_SECS),
        input.later.0.max_age.resolve(jwt::DEFAULT_MAX_AGE_SECS),
        input.later.0.allow_untimed,
    );

    let token = match &input.token {
        TokenPick::Raw(s) => s.clone(),
        TokenPick::Helper { secret, at, body } => helper_token(secret, at.resolve(), body, &secrets, now, &rules),
        TokenPick::Built(built) => built_token(built, &secrets, now, &rules),
    };

    let result = verify(Some(&token), &secrets, now, &rules);
    assert_eq!(
        result == Err(VerifyError::MissingSignature),
        token.trim().is_empty(),
        "MissingSignature exactly for a blank header"
    );
    assert!(
        !matches!(result, Err(VerifyError::ClaimMismatch(_) | VerifyError::TokenReused)),
        "the verifier itself never compares claims nor remembers tokens: {result:?}"
    );
    if let Some(trimmed) = present(Some(&token)) {
        let (oracle, claims) = jwt_oracle(trimmed, &secrets, now, &rules);
        match &result {
            Ok(accepted) => {
                assert_eq!(oracle, Oracle::GenuineInTime, "accepted {trimmed:?}");
                let claims = claims.expect("a genuine token has claims");
                let until = jwt::check_times(&claims, now, &rules).expect("in time");
                assert_eq!(
                    *accepted,
                    expected_accepted(&claims, until),
                    "what an accepted token carries, claims {claims}"
                );
            }
            Err(VerifyError::TimestampOutOfTolerance) => {
                assert_eq!(oracle, Oracle::GenuineLate, "refused on time only {trimmed:?}")
            }
            Err(VerifyError::UntimedToken) => {
                assert_eq!(oracle, Oracle::GenuineUntimed, "refused as untimed {trimmed:?}")
            }
            Err(_) => {}
        }
    }

    // Whitespace around the header value is not part of the token.
    let pads = ["", " ", "\t", "\r\n", "  \u{a0}", " \n\t "];
    let pad = pads[usize::from(input.padding) % pads.len()];
    let padded = format!("{pad}{token}{pad}");
    assert_eq!(verify(Some(&padded), &secrets, now, &rules), result, "padding {pad:?}");

    // No bit of an authentic token may change without it losing its authenticity.
    if let (true, Some((pos, bit))) = (authentic(&result), input.tamper) {
        if let Some(tampered) = flip(token.trim(), pos, bit) {
            let after = verify(Some(&tampered), &secrets, now, &rules);
            assert!(
                !authentic(&after),
                "flipped token {tampered:?} still authentic: {after:?}"
            );
        }
    }

    if let TokenPick::Built(built) = &input.token {
        check_times_properties(&built.claims(), now, &rules, &input);
    }
}

/// A token from `jwt::token` and what verifying it must give.
fn helper_token(secret: &SignSecret, at: i64, body: &[u8], secrets: &[String], now: i64, rules: &TimeRules) -> String {
    let (secret, configured) = secret.resolve(secrets);
    let token = jwt::token(&secret, at, body).expect("HMAC signing does not fail");

    // The claims are exactly iat/exp, a random jti and the body's digest.
    let claims = jwt_claims(&token).expect("base64url JSON claims");
    let exp = at.saturating_add(jwt::SIGNED_TOKEN_LIFETIME_SECS);
    let jti = claims.get("jti").and_then(Value::as_str).unwrap_or_default().to_owned();
    assert!(
        jti.len() == 32 && jti.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "jti {jti:?}"
    );
    let digest = hex::encode(Sha256::digest(body));
    assert_eq!(
        claims,
        serde_json::json!({"iat": at, "exp": exp, "jti": jti, "bodySha256": digest})
    );
    let again = jwt::token(&secret, at, body).expect("HMAC signing does not fail");
    assert_ne!(
        jwt_claims(&again).and_then(|c| c.get("jti").cloned()),
        Some(Value::String(jti.clone())),
        "two tokens share a jti"
    );

    let result = verify(Some(&token), secrets, now, rules);
    if unusable(secret.as_bytes()) {
        assert!(
            !authentic(&result),
            "a token signed with an empty key: {result:?}, secrets {secrets:?}"
        );
    } else if configured {
        let expected = fresh_token_times(at, now, rules).map(|until| expected_accepted(&claims, until));
        assert_eq!(result, expected, "helper token signed at {at}, now {now}, {rules:?}");
        if let Ok(accepted) = &result {
            assert_eq!(accepted.claims.body_sha256.as_deref(), Some(digest.as_str()));
            assert_eq!(accepted.id, Some(Sha256::digest(jti.as_bytes()).into()));
        }
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
fn built_token(built: &Built, secrets: &[String], now: i64, rules: &TimeRules) -> String {
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
    let claims = built.claims();
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
    let result = verify(Some(&token), secrets, now, rules);

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
            result.map(|accepted| accepted.usable_until),
            jwt::check_times(&claims, now, rules),
            "well-formed {alg} token, claims {claims}, now {now}, {rules:?}"
        );
    }
    token
}

/// A time claim as `check_times` reads it: `None` if absent, `Some(None)` if not a number, else
/// whole seconds, floored and clamped to the `i64` range.
fn claim_secs(claims: &Value, name: &str) -> Option<Option<i64>> {
    let value = claims.get(name)?;
    let Value::Number(n) = value else {
        return Some(None);
    };
    Some(Some(if let Some(i) = n.as_i64() {
        i
    } else if n.as_u64().is_some() {
        i64::MAX
    } else {
        clamp_i64(n.as_f64().map_or(0, |f| f.floor() as i128))
    }))
}

/// `check_times` restated in 128-bit arithmetic, so no sum can overflow.
fn model_times(claims: &Value, now: i64, rules: &TimeRules) -> Result<i64, VerifyError> {
    let leeway = i128::from(rules.leeway_secs.max(0));
    let max_age = i128::from(rules.max_age_secs.max(0));
    let now = i128::from(now);
    let read = |name| match claim_secs(claims, name) {
        None => Ok(None),
        Some(None) => Err(VerifyError::InvalidSignature),
        Some(Some(secs)) => Ok(Some(i128::from(secs))),
    };
    let (exp, nbf, iat) = (read("exp")?, read("nbf")?, read("iat")?);
    let late = |limit: i128| now > limit + leeway;
    let early = |start: i128| start - leeway > now;
    if exp.is_some_and(late) || nbf.is_some_and(early) {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    let horizon = match (iat, exp) {
        (Some(iat), _) if early(iat) || late(iat + max_age) => return Err(VerifyError::TimestampOutOfTolerance),
        (Some(iat), _) => iat + max_age,
        (None, Some(exp)) if exp - leeway > now + max_age => return Err(VerifyError::TimestampOutOfTolerance),
        (None, Some(exp)) => exp,
        (None, None) if rules.allow_untimed => now + max_age,
        (None, None) => return Err(VerifyError::UntimedToken),
    };
    Ok(clamp_i64(exp.unwrap_or(horizon).min(horizon) + leeway))
}

fn check_times_properties(claims: &Value, now: i64, rules: &TimeRules, input: &Input) {
    let check = |now: i64, rules: &TimeRules| jwt::check_times(claims, now, rules);
    let verdict = check(now, rules);
    assert_eq!(
        verdict,
        model_times(claims, now, rules),
        "check_times and its 128-bit model disagree: claims {claims}, now {now}, {rules:?}"
    );

    // Negative leeway and maximum age act as 0.
    if rules.leeway_secs < 0 {
        let zero = TimeRules {
            leeway_secs: 0,
            ..*rules
        };
        assert_eq!(verdict, check(now, &zero), "negative leeway acts as 0");
    }
    if rules.max_age_secs < 0 {
        let zero = TimeRules {
            max_age_secs: 0,
            ..*rules
        };
        assert_eq!(verdict, check(now, &zero), "negative maximum age acts as 0");
    }

    let (exp, nbf, iat) = (
        claim_secs(claims, "exp"),
        claim_secs(claims, "nbf"),
        claim_secs(claims, "iat"),
    );
    let leeway = i128::from(rules.leeway_secs.max(0));
    let max_age = i128::from(rules.max_age_secs.max(0));
    let wide = i128::from(now);
    let secs = |claim: Option<Option<i64>>| claim.flatten().map(i128::from);

    if let Ok(until) = verdict {
        // Looser rules never refuse what stricter ones accepted, nor shorten the token's use.
        let looser = [
            TimeRules {
                leeway_secs: rules.leeway_secs.max(0).saturating_add(i64::from(input.extra_leeway)),
                ..*rules
            },
            TimeRules {
                max_age_secs: rules
                    .max_age_secs
                    .max(0)
                    .saturating_add(i64::from(input.later.0.extra_age)),
                ..*rules
            },
            TimeRules {
                allow_untimed: true,
                ..*rules
            },
        ];
        for looser in &looser {
            let after = check(now, looser);
            assert!(
                matches!(after, Ok(later) if later >= until),
                "{looser:?} gives {after:?} where {rules:?} gave Ok({until}): claims {claims}"
            );
        }
        // Usable now, and no longer than its iat, its exp, or a fresh token allow.
        let until = i128::from(until);
        assert!(until >= wide, "usable until {until}, before now {now}");
        assert!(
            until <= wide + max_age + 2 * leeway,
            "usable until {until}, beyond now + max age + 2 * leeway"
        );
        if let Some(iat) = secs(iat) {
            assert!(
                until <= iat + max_age + leeway,
                "usable until {until}, beyond iat + max age + leeway"
            );
        }
        if let Some(exp) = secs(exp) {
            assert!(until <= exp + leeway, "usable until {until}, beyond exp + leeway");
        }
    }

    // Too old, from the future, or (without iat) expiring too far ahead: never Ok.
    if let Some(iat) = secs(iat) {
        if iat + max_age + leeway < wide {
            assert!(
                verdict.is_err(),
                "iat {iat} older than max age + leeway yet {verdict:?}"
            );
        }
        if iat - leeway > wide {
            assert!(verdict.is_err(), "iat {iat} in the future yet {verdict:?}");
        }
    } else if let Some(exp) = secs(exp) {
        if exp - leeway > wide + max_age {
            assert!(
                verdict.is_err(),
                "no iat and exp {exp} beyond max age + leeway yet {verdict:?}"
            );
        }
    }

    // Untimed tokens.
    if iat.is_none() && exp.is_none() && nbf.is_none() {
        let expected = if rules.allow_untimed {
            Ok(clamp_i64(wide + max_age + leeway))
        } else {
            Err(VerifyError::UntimedToken)
        };
        assert_eq!(verdict, expected, "no iat, exp or nbf: claims {claims}");
    }
    if verdict == Err(VerifyError::UntimedToken) {
        assert!(
            iat.is_none() && exp.is_none() && !rules.allow_untimed,
            "UntimedToken needs neither iat nor exp, and untimed tokens refused"
        );
    }

    // A single time claim: its window.
    match (iat, exp, nbf) {
        (Some(Some(iat)), None, None) => {
            let iat = i128::from(iat);
            let inside = iat - leeway <= wide && wide <= iat + max_age + leeway;
            assert_eq!(verdict.is_ok(), inside, "only iat {iat}: {verdict:?}");
        }
        (None, Some(Some(exp)), None) => {
            let exp = i128::from(exp);
            let inside = exp - max_age - leeway <= wide && wide <= exp + leeway;
            assert_eq!(verdict.is_ok(), inside, "only exp {exp}: {verdict:?}");
        }
        (None, None, Some(Some(_))) if rules.allow_untimed && verdict.is_ok() => {
            let later = now.saturating_add(i64::from(input.shift));
            assert!(check(later, rules).is_ok(), "only nbf: a later clock");
        }
        _ => {}
    }

    if verdict == Err(VerifyError::InvalidSignature) {
        assert!(
            [exp, nbf, iat].contains(&Some(None)),
            "InvalidSignature from check_times needs a non-numeric exp, nbf or iat"
        );
    }
    assert!(
        !matches!(
            verdict,
            Err(VerifyError::MissingSignature | VerifyError::ClaimMismatch(_) | VerifyError::TokenReused)
        ),
        "check_times gave {verdict:?}"
    );
}
