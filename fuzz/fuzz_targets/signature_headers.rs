//! Fuzzes `tenantgate::verify::Verifier::verify` (all three schemes) with arbitrary header lists,
//! bodies, secrets, header-name options, tolerances and clocks, mixed with requests signed by
//! `tenantgate::verify::sign` that may be tampered with.
//!
//! Invariants (besides "never panics"):
//! - `MissingSignature` exactly when no configured scheme found its (non-blank) headers;
//! - the verdict is the first scheme's `Ok`, else the first of the highest-ranked refusals of
//!   the schemes verified one by one (refused on time or as untimed, then `InvalidSignature`,
//!   then `MissingSignature`); never `ClaimMismatch` or `TokenReused`;
//! - `Ok(scheme)` only when an independent re-computation (the `hmac` crate, own header parsing)
//!   finds a genuine signature for that scheme with a configured non-empty key, within the time
//!   limits; `TimestampOutOfTolerance` only when some scheme's signature is genuine, and
//!   `UntimedToken` only when a genuine JWT has neither `iat` nor `exp`;
//! - what `Ok` carries: the trimmed `webhook-id` for Standard Webhooks, the accepted token (its
//!   `usable_until` from `check_times`, its `jti` digest, its request claims) for the JWT,
//!   nothing for HMAC;
//! - what `sign` produces with a configured secret verifies under that scheme (or is refused
//!   only for its time, exactly at the documented bounds, the JWT's maximum age included);
//! - a flipped MAC bit, a flipped bit of the signature text, id, timestamp or body never verifies
//!   (the JWT scheme does not cover the body, so there a body flip changes nothing in the
//!   verdict, but the token's `bodySha256` no longer matches the body);
//! - a request signed with an empty key never verifies; one signed with an unconfigured secret
//!   only verifies if its key is HMAC-equivalent to a configured one;
//! - a `HashMap` header source gives the same verdict as a `Vec` one;
//! - `hmac_hex::mac` equals `Hmac::new_from_slice`, and `Scheme::from_str` accepts exactly the
//!   three names (ignoring ASCII case and surrounding spaces).
#![no_main]

mod common;

use std::collections::HashMap;

use arbitrary::Arbitrary;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tenantgate::verify::{hmac_hex, jwt, sign, standard, Scheme, Verified, Verifier, VerifyError, VerifyOptions};

use common::{
    authentic, expected_accepted, flip, fresh_token_times, hmac256, hmac256_block, jwt_claims, jwt_oracle, present,
    rank, time_rules, unusable, Later, Oracle, SecretPick, SecsPick, SignSecret, TimePick, LENIENT_B64,
};

const PRESET_HEADERS: [&str; 7] = [
    "x-hub-signature-256",
    "X-Webhook-Signature",
    " x-webhook-secret ",
    "webhook-signature",
    "webhook-id",
    "",
    "authorization",
];

#[derive(Debug, Clone, Copy, Arbitrary)]
enum SchemePick {
    Jwt,
    Hmac,
    Standard,
}

impl SchemePick {
    fn scheme(self) -> Scheme {
        match self {
            SchemePick::Jwt => Scheme::FronteggJwt,
            SchemePick::Hmac => Scheme::HmacSha256,
            SchemePick::Standard => Scheme::StandardWebhooks,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum HeaderNamePick {
    Default,
    Preset(u8),
    Custom(String),
}

impl HeaderNamePick {
    fn resolve(&self, default: &str) -> String {
        match self {
            HeaderNamePick::Default => default.to_string(),
            HeaderNamePick::Preset(i) => PRESET_HEADERS[usize::from(*i) % PRESET_HEADERS.len()].to_string(),
            HeaderNamePick::Custom(s) => s.clone(),
        }
    }
}

/// A header on the wire: one of the names a scheme reads (possibly re-cased) or any name.
#[derive(Debug, Arbitrary)]
struct WireHeader {
    name: WireName,
    upper_mask: u32,
    value: String,
}

#[derive(Debug, Arbitrary)]
enum WireName {
    Known(u8),
    Custom(String),
}

#[derive(Debug, Arbitrary)]
enum Tamper {
    /// Flip one bit of the decoded MAC and re-encode it as the scheme does.
    MacBit(u16),
    /// Flip one bit of the credential header's text (HMAC value, `webhook-signature`, JWT).
    TextBit(u16, u8),
    BodyBit(u16, u8),
    IdBit(u16, u8),
    TimestampBit(u16, u8),
}

#[derive(Debug, Arbitrary)]
struct Signing {
    scheme: SchemePick,
    secret: SignSecret,
    /// Signed at `now - offset`.
    offset: SecsPick,
    msg_id: String,
    first: bool,
    tamper: Option<Tamper>,
}

#[derive(Debug, Arbitrary)]
struct Input {
    schemes: Vec<SchemePick>,
    secrets: Vec<SecretPick>,
    jwt_header: HeaderNamePick,
    hmac_header: HeaderNamePick,
    tolerance: SecsPick,
    leeway: SecsPick,
    now: TimePick,
    headers: Vec<WireHeader>,
    signing: Option<Signing>,
    scheme_name: String,
    probe_key: Vec<u8>,
    body: Vec<u8>,
    /// Last, so that the inputs of earlier runs (the regressions among them) keep their meaning.
    later: Later<Added>,
}

/// What came with the JWT's maximum age and untimed tokens.
#[derive(Debug, Arbitrary)]
struct Added {
    max_age: SecsPick,
    allow_untimed: bool,
}

fuzz_target!(|input: Input| run(input));

fn run(input: Input) {
    side_checks(&input);

    let secrets: Vec<String> = input.secrets.iter().take(4).map(SecretPick::text).collect();
    let options = VerifyOptions {
        jwt_header: input.jwt_header.resolve(jwt::DEFAULT_HEADER),
        hmac_header: input.hmac_header.resolve(hmac_hex::DEFAULT_HEADER),
        tolerance_secs: input.tolerance.resolve(standard::DEFAULT_TOLERANCE_SECS),
        jwt_leeway_secs: input.leeway.resolve(jwt::JWT_LEEWAY_SECS),
        jwt_max_age_secs: input.later.0.max_age.resolve(jwt::DEFAULT_MAX_AGE_SECS),
        jwt_allow_untimed: input.later.0.allow_untimed,
    };
    let schemes: Vec<Scheme> = input.schemes.iter().take(6).map(|s| s.scheme()).collect();
    let verifier = make_verifier(schemes.clone(), &secrets, &options);
    let mut expected_order: Vec<Scheme> = Vec::new();
    for s in schemes {
        if !expected_order.contains(&s) {
            expected_order.push(s);
        }
    }
    assert_eq!(verifier.schemes(), expected_order.as_slice());

    let ctx = Ctx {
        secrets: &secrets,
        jwt_header: options.jwt_header.trim().to_ascii_lowercase(),
        hmac_header: options.hmac_header.trim().to_ascii_lowercase(),
        tolerance: options.tolerance_secs,
        rules: time_rules(
            options.jwt_leeway_secs,
            options.jwt_max_age_secs,
            options.jwt_allow_untimed,
        ),
        now: input.now.resolve(),
    };

    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .take(8)
        .map(|h| (wire_name(&h.name, h.upper_mask, &ctx), h.value.clone()))
        .collect();

    let mut body = input.body.clone();
    if let Some(signing) = &input.signing {
        let signed = signed_checks(signing, &ctx, &options, &mut body);
        if signing.first {
            headers.splice(0..0, signed);
        } else {
            headers.extend(signed);
        }
    }

    let verdict = verifier.verify(&body, &headers, ctx.now);
    check_against_oracle(&verdict, &verifier, &ctx, &headers, &body);

    // The verdict combines those of the schemes alone: the first Ok, else the first refusal of
    // the highest rank.
    let solo: Vec<Result<Verified, VerifyError>> = verifier
        .schemes()
        .iter()
        .map(|&s| make_verifier(vec![s], &secrets, &options).verify(&body, &headers, ctx.now))
        .collect();
    let combined = solo.iter().find(|r| r.is_ok()).cloned().unwrap_or_else(|| {
        Err(solo
            .iter()
            .filter_map(|r| r.as_ref().err().copied())
            .fold(VerifyError::MissingSignature, |kept, e| {
                if rank(e) > rank(kept) {
                    e
                } else {
                    kept
                }
            }))
    });
    assert_eq!(verdict, combined, "precedence of the schemes' verdicts {solo:?}");

    // A HashMap source must agree with the Vec source when no two names clash (in any case).
    let mut names: Vec<String> = headers.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    if names.len() == headers.len() {
        let map: HashMap<String, String> = headers.iter().cloned().collect();
        assert_eq!(
            verifier.verify(&body, &map, ctx.now),
            verdict,
            "HashMap and Vec sources disagree"
        );
    }
}

struct Ctx<'a> {
    secrets: &'a [String],
    jwt_header: String,
    hmac_header: String,
    tolerance: i64,
    rules: jwt::TimeRules,
    now: i64,
}

fn make_verifier(schemes: Vec<Scheme>, secrets: &[String], options: &VerifyOptions) -> Verifier {
    let secrets = secrets.iter().map(|s| SecretString::from(s.clone())).collect();
    Verifier::new(schemes, secrets, options.clone())
}

fn wire_name(name: &WireName, upper_mask: u32, ctx: &Ctx<'_>) -> String {
    let base = match name {
        WireName::Known(i) => match i % 5 {
            0 => ctx.jwt_header.clone(),
            1 => ctx.hmac_header.clone(),
            2 => standard::HEADER_ID.to_string(),
            3 => standard::HEADER_TIMESTAMP.to_string(),
            _ => standard::HEADER_SIGNATURE.to_string(),
        },
        WireName::Custom(s) => s.clone(),
    };
    // Re-case some ASCII letters: header names are case-insensitive.
    base.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < 32 && upper_mask & (1 << i) != 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn side_checks(input: &Input) {
    // Scheme names: exactly the three, ignoring ASCII case and surrounding whitespace.
    let name = &input.scheme_name;
    let expected = Scheme::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(name.trim()));
    assert_eq!(name.parse::<Scheme>().ok(), expected, "Scheme::from_str({name:?})");

    // The infallible MAC constructor must match the hmac crate for any key.
    let ours = hmac_hex::mac(&input.probe_key)
        .chain_update(&input.body)
        .finalize()
        .into_bytes();
    let theirs = <Hmac<Sha256> as Mac>::new_from_slice(&input.probe_key)
        .map(|m| m.chain_update(&input.body).finalize().into_bytes());
    assert_eq!(
        Ok(ours),
        theirs.map_err(|_| ()),
        "hmac_hex::mac differs from Hmac::new_from_slice"
    );
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every key a Standard Webhooks secret could stand for (raw bytes, or the base64 after `whsec_`).
fn standard_keys(secret: &str) -> Vec<Vec<u8>> {
    let mut keys = vec![secret.as_bytes().to_vec()];
    if let Some(decoded) = secret
        .strip_prefix("whsec_")
        .and_then(|rest| LENIENT_B64.decode(rest).ok())
    {
        keys.push(decoded);
    }
    keys
}

fn oracle(scheme: Scheme, ctx: &Ctx<'_>, headers: &[(String, String)], body: &[u8]) -> Oracle {
    match scheme {
        Scheme::HmacSha256 => {
            let Some(value) = present(header(headers, &ctx.hmac_header)) else {
                return Oracle::Missing;
            };
            let hex_part = match value.as_bytes().get(..7) {
                Some(head) if head.eq_ignore_ascii_case(b"sha256=") => &value[7..],
                _ => value,
            };
            let Ok(sent) = hex::decode(hex_part) else {
                return Oracle::Forged;
            };
            let genuine = ctx
                .secrets
                .iter()
                .any(|s| !unusable(s.as_bytes()) && hmac256(s.as_bytes(), &[body]) == sent);
            if genuine {
                Oracle::GenuineInTime
            } else {
                Oracle::Forged
            }
        }
        Scheme::StandardWebhooks => {
            let (Some(id), Some(ts), Some(sig)) = (
                present(header(headers, standard::HEADER_ID)),
                present(header(headers, standard::HEADER_TIMESTAMP)),
                present(header(headers, standard::HEADER_SIGNATURE)),
            ) else {
                return Oracle::Missing;
            };
            let Ok(signed_at) = ts.parse::<i64>() else {
                return Oracle::Forged;
            };
            let sent: Vec<Vec<u8>> = sig
                .split_ascii_whitespace()
                .filter_map(|entry| entry.strip_prefix("v1,"))
                .filter_map(|b64| LENIENT_B64.decode(b64).ok())
                .collect();
            let genuine = ctx.secrets.iter().flat_map(|s| standard_keys(s)).any(|key| {
                let expected = hmac256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
                !unusable(&key) && sent.contains(&expected)
            });
            let allowed = u64::try_from(ctx.tolerance).unwrap_or(0);
            match (genuine, ctx.now.abs_diff(signed_at) <= allowed) {
                (false, _) => Oracle::Forged,
                (true, true) => Oracle::GenuineInTime,
                (true, false) => Oracle::GenuineLate,
            }
        }
        Scheme::FronteggJwt => {
            let Some(token) = present(header(headers, &ctx.jwt_header)) else {
                return Oracle::Missing;
            };
            jwt_oracle(token, ctx.secrets, ctx.now, &ctx.rules).0
        }
    }
}

fn check_against_oracle(
    verdict: &Result<Verified, VerifyError>,
    verifier: &Verifier,
    ctx: &Ctx<'_>,
    headers: &[(String, String)],
    body: &[u8],
) {
    let seen: Vec<(Scheme, Oracle)> = verifier
        .schemes()
        .iter()
        .map(|&s| (s, oracle(s, ctx, headers, body)))
        .collect();
    let all_missing = seen.iter().all(|(_, o)| *o == Oracle::Missing);
    assert_eq!(
        *verdict == Err(VerifyError::MissingSignature),
        all_missing,
        "MissingSignature must mean no scheme found its headers: {verdict:?} {seen:?}"
    );
    match verdict {
        Ok(verified) => {
            let scheme = verified.scheme;
            let found = seen.iter().find(|(s, _)| *s == scheme);
            assert_eq!(
                found.map(|(_, o)| *o),
                Some(Oracle::GenuineInTime),
                "accepted by {scheme} without a genuine, timely signature: {seen:?}"
            );
            let expected = match scheme {
                Scheme::HmacSha256 => Verified {
                    scheme,
                    message_id: None,
                    token: None,
                },
                Scheme::StandardWebhooks => Verified {
                    scheme,
                    message_id: present(header(headers, standard::HEADER_ID)).map(str::to_owned),
                    token: None,
                },
                Scheme::FronteggJwt => {
                    let token = present(header(headers, &ctx.jwt_header)).expect("a JWT was sent");
                    let claims = jwt_claims(token).expect("a genuine token has claims");
                    let until = jwt::check_times(&claims, ctx.now, &ctx.rules).expect("in time");
                    Verified {
                        scheme,
                        message_id: None,
                        token: Some(expected_accepted(&claims, until)),
                    }
                }
            };
            assert_eq!(*verified, expected, "what an accepted request carries");
        }
        Err(VerifyError::TimestampOutOfTolerance) => {
            assert!(
                seen.iter().any(|(_, o)| *o == Oracle::GenuineLate),
                "timestamp refusal without a genuine signature: {seen:?}"
            );
        }
        Err(VerifyError::UntimedToken) => {
            assert!(
                seen.contains(&(Scheme::FronteggJwt, Oracle::GenuineUntimed)),
                "untimed-token refusal without a genuine untimed JWT: {seen:?}"
            );
        }
        Err(VerifyError::ClaimMismatch(_) | VerifyError::TokenReused) => {
            panic!("the verifier itself never compares claims nor remembers tokens: {verdict:?}")
        }
        Err(VerifyError::MissingSignature | VerifyError::InvalidSignature) => {}
    }
}

/// The key the scheme derives from a secret, as `sign` uses it.
fn signing_key(scheme: Scheme, secret: &str) -> Vec<u8> {
    match scheme {
        Scheme::StandardWebhooks => standard::key_from_secret(secret),
        Scheme::FronteggJwt | Scheme::HmacSha256 => secret.as_bytes().to_vec(),
    }
}

/// Index of the header carrying the scheme's credential in `sign`'s output.
fn credential_index(scheme: Scheme) -> usize {
    match scheme {
        Scheme::StandardWebhooks => 2,
        Scheme::FronteggJwt | Scheme::HmacSha256 => 0,
    }
}

fn flip_mac(scheme: Scheme, value: &str, bit: u16) -> Option<String> {
    let flip_bytes = |mut raw: Vec<u8>| {
        let at = usize::from(bit) % (raw.len() * 8);
        raw[at / 8] ^= 1 << (at % 8);
        raw
    };
    match scheme {
        Scheme::HmacSha256 => {
            let raw = hex::decode(value.strip_prefix(hmac_hex::PREFIX)?).ok()?;
            Some(format!("{}{}", hmac_hex::PREFIX, hex::encode(flip_bytes(raw))))
        }
        Scheme::StandardWebhooks => {
            let raw = STANDARD.decode(value.strip_prefix("v1,")?).ok()?;
            Some(format!("v1,{}", STANDARD.encode(flip_bytes(raw))))
        }
        Scheme::FronteggJwt => {
            let (message, sig) = value.rsplit_once('.')?;
            let raw = URL_SAFE_NO_PAD.decode(sig).ok()?;
            Some(format!("{message}.{}", URL_SAFE_NO_PAD.encode(flip_bytes(raw))))
        }
    }
}

/// The HMAC header value in the form every spelling of it verifies as.
fn canonical_hmac(value: &str) -> String {
    let value = value.trim();
    let digest = match value.as_bytes().get(..7) {
        Some(head) if head.eq_ignore_ascii_case(b"sha256=") => &value[7..],
        _ => value,
    };
    digest.to_ascii_lowercase()
}

/// Signs a request as `sign` would and checks what a single-scheme verifier makes of it, before
/// and after tampering. Returns the headers to add to the request; may flip a bit of `body`.
fn signed_checks(
    signing: &Signing,
    ctx: &Ctx<'_>,
    options: &VerifyOptions,
    body: &mut Vec<u8>,
) -> Vec<(String, String)> {
    let scheme = signing.scheme.scheme();
    let signed_at = ctx.now.saturating_sub(signing.offset.resolve(0));
    let (secret, configured) = signing.secret.resolve(ctx.secrets);
    let msg_id = signing.msg_id.as_str();
    let headers = sign(scheme, &secret, body, signed_at, msg_id, options);
    let solo = make_verifier(vec![scheme], ctx.secrets, options);
    let clean = solo.verify(body, &headers, ctx.now);

    let key = signing_key(scheme, &secret);
    // Header values are trimmed on receipt (as HTTP does), so only a trimmed id can verify.
    let id_ok = scheme != Scheme::StandardWebhooks || (!msg_id.trim().is_empty() && msg_id.trim() == msg_id);
    if unusable(&key) {
        assert!(
            !authentic(&clean),
            "signed with an empty key yet authentic ({clean:?}) for {scheme}: secret {secret:?}, configured {:?}",
            ctx.secrets
        );
    } else if configured && id_ok {
        let expected = match scheme {
            Scheme::HmacSha256 => Ok(Verified {
                scheme,
                message_id: None,
                token: None,
            }),
            Scheme::StandardWebhooks => {
                let allowed = u64::try_from(ctx.tolerance).unwrap_or(0);
                if ctx.now.abs_diff(signed_at) <= allowed {
                    Ok(Verified {
                        scheme,
                        message_id: Some(msg_id.to_owned()),
                        token: None,
                    })
                } else {
                    Err(VerifyError::TimestampOutOfTolerance)
                }
            }
            Scheme::FronteggJwt => {
                // `iat` = the signing time, `exp` five minutes later, a random `jti` and the body's
                // digest: an `AcceptedToken` with the `jti`'s digest as id, bound to the body.
                let claims = jwt_claims(&headers[0].1).expect("`sign` makes a JWT");
                let jti = claims.get("jti").and_then(|j| j.as_str()).expect("a string jti");
                fresh_token_times(signed_at, ctx.now, &ctx.rules).map(|until| {
                    let token = jwt::AcceptedToken {
                        id: Some(Sha256::digest(jti.as_bytes()).into()),
                        usable_until: until,
                        claims: jwt::RequestClaims {
                            body_sha256: Some(hex::encode(Sha256::digest(&*body))),
                            ..Default::default()
                        },
                    };
                    assert_eq!(token, expected_accepted(&claims, until));
                    Verified {
                        scheme,
                        message_id: None,
                        token: Some(token),
                    }
                })
            }
        };
        assert_eq!(clean, expected, "a request signed by `sign` with a configured secret");
    } else if !configured && authentic(&clean) {
        let block = hmac256_block(&key);
        assert!(
            ctx.secrets
                .iter()
                .any(|s| !unusable(&signing_key(scheme, s)) && hmac256_block(&signing_key(scheme, s)) == block),
            "signed with an unconfigured secret {secret:?} yet {clean:?}; configured {:?}",
            ctx.secrets
        );
    }

    let authentic = authentic(&clean);
    let Some(tamper) = &signing.tamper else {
        return headers;
    };
    let mut tampered = headers.clone();
    let cred = credential_index(scheme);
    let not_accepted = |result: &Result<Verified, VerifyError>, what: &str| {
        assert!(!common::authentic(result), "{what} still authentic: {result:?}");
    };
    match tamper {
        Tamper::MacBit(bit) => {
            if let Some(value) = flip_mac(scheme, &headers[cred].1, *bit) {
                tampered[cred].1 = value;
                if authentic {
                    not_accepted(&solo.verify(body, &tampered, ctx.now), "a flipped MAC bit");
                }
            }
        }
        Tamper::TextBit(pos, bit) => {
            if let Some(value) = flip(&headers[cred].1, *pos, *bit) {
                tampered[cred].1 = value;
                let result = solo.verify(body, &tampered, ctx.now);
                match scheme {
                    Scheme::HmacSha256 => {
                        let same = canonical_hmac(&tampered[cred].1) == canonical_hmac(&headers[cred].1);
                        if authentic {
                            assert_eq!(result.is_ok(), same, "HMAC text flip: {:?}", tampered[cred].1);
                        }
                    }
                    Scheme::StandardWebhooks => {
                        // Flips inside the base64 digest (not its `=` padding) must never pass.
                        let at = usize::from(*pos) % headers[cred].1.len();
                        if authentic && (3..3 + 43).contains(&at) {
                            not_accepted(&result, "a flipped webhook-signature character");
                        }
                    }
                    Scheme::FronteggJwt => {
                        if authentic {
                            not_accepted(&result, "a flipped JWT bit");
                        }
                    }
                }
            }
        }
        Tamper::BodyBit(pos, bit) => {
            if !body.is_empty() {
                let at = usize::from(*pos) % body.len();
                body[at] ^= 1 << (bit % 8);
                let result = solo.verify(body, &tampered, ctx.now);
                if scheme == Scheme::FronteggJwt {
                    assert_eq!(result, clean, "the JWT scheme does not cover the body");
                    // But the token `sign` makes names the body's digest, which the receiver
                    // checks: it matches the signed body, not the flipped one.
                    if let Ok(Verified { token: Some(token), .. }) = &clean {
                        let digest = hex::encode(Sha256::digest(&*body));
                        assert_eq!(
                            token.claims.check("", None, &digest),
                            Err(VerifyError::ClaimMismatch("bodySha256")),
                            "a token bound to another body"
                        );
                        body[at] ^= 1 << (bit % 8);
                        let digest = hex::encode(Sha256::digest(&*body));
                        assert_eq!(token.claims.check("", None, &digest), Ok(()), "the signed body");
                        body[at] ^= 1 << (bit % 8);
                    }
                } else if authentic {
                    not_accepted(&result, "a flipped body bit");
                }
            }
        }
        Tamper::IdBit(pos, bit) | Tamper::TimestampBit(pos, bit) => {
            let index = if matches!(tamper, Tamper::IdBit(..)) { 0 } else { 1 };
            if scheme == Scheme::StandardWebhooks {
                if let Some(value) = flip(&headers[index].1, *pos, *bit) {
                    tampered[index].1 = value;
                    if authentic {
                        not_accepted(&solo.verify(body, &tampered, ctx.now), "a flipped id/timestamp bit");
                    }
                }
            }
        }
    }
    tampered
}
