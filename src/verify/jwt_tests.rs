//! `frontegg-jwt` tokens: algorithms, time rules, claims about the request, hostile input.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

const SECRET: &str = "frontegg shared secret";
const NOW: i64 = 1_700_000_000;

fn secrets(list: &[&str]) -> Vec<SecretString> {
    list.iter().map(|s| SecretString::from(s.to_string())).collect()
}

fn check(token: &str) -> Result<(), VerifyError> {
    verify(Some(token), &secrets(&[SECRET]), NOW, &TimeRules::default()).map(|_| ())
}

fn rules(leeway_secs: i64) -> TimeRules {
    TimeRules {
        leeway_secs,
        ..TimeRules::default()
    }
}

fn encode(alg: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

/// A token built by hand, so it can claim any alg with any signature.
fn hand_built(header: &Value, claims: &Value, signature: &[u8]) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(header),
        part(claims),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[test]
fn a_token_from_the_signing_helper_verifies() {
    assert_eq!(check(&token(SECRET, NOW, b"{}").unwrap()), Ok(()));
}

#[test]
fn hs384_and_hs512_tokens_are_accepted() {
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        assert_eq!(
            check(&encode(alg, &json!({"sub": "tenant", "iat": NOW}))),
            Ok(()),
            "{alg:?}"
        );
    }
}

#[test]
fn a_token_without_iat_or_exp_is_refused_unless_allowed() {
    // Found attacking the release binary: `{}` claims made a token valid forever.
    let untimed = encode(Algorithm::HS256, &json!({}));
    assert_eq!(check(&untimed), Err(VerifyError::UntimedToken));
    let with_nbf_only = encode(Algorithm::HS256, &json!({"nbf": NOW - 10}));
    assert_eq!(check(&with_nbf_only), Err(VerifyError::UntimedToken));
    let allowed = TimeRules {
        allow_untimed: true,
        ..TimeRules::default()
    };
    let token = verify(Some(&untimed), &secrets(&[SECRET]), NOW, &allowed).unwrap();
    assert_eq!(token.usable_until, NOW + DEFAULT_MAX_AGE_SECS + JWT_LEEWAY_SECS);
    assert!(VerifyError::UntimedToken
        .to_string()
        .contains("sources.frontegg.jwt_allow_untimed_tokens"));
}

#[test]
fn a_token_issued_long_ago_is_out_of_tolerance_whatever_its_exp() {
    // Found attacking the release binary: a token issued ten years ago still passed.
    let ten_years = 10 * 365 * 86_400;
    for claims in [
        json!({"iat": NOW - ten_years}),
        json!({"iat": NOW - ten_years, "exp": 253_402_300_799_i64}),
        json!({"iat": NOW - DEFAULT_MAX_AGE_SECS - JWT_LEEWAY_SECS - 1}),
    ] {
        assert_eq!(
            check(&encode(Algorithm::HS256, &claims)),
            Err(VerifyError::TimestampOutOfTolerance),
            "{claims}"
        );
    }
    let oldest = json!({"iat": NOW - DEFAULT_MAX_AGE_SECS - JWT_LEEWAY_SECS});
    assert_eq!(check(&encode(Algorithm::HS256, &oldest)), Ok(()));
}

#[test]
fn a_token_issued_in_the_future_is_out_of_tolerance_beyond_the_leeway() {
    let future = encode(Algorithm::HS256, &json!({"iat": NOW + JWT_LEEWAY_SECS + 1}));
    assert_eq!(check(&future), Err(VerifyError::TimestampOutOfTolerance));
    let skewed = encode(Algorithm::HS256, &json!({"iat": NOW + JWT_LEEWAY_SECS}));
    assert_eq!(check(&skewed), Ok(()));
}

#[test]
fn a_token_with_only_an_exp_far_ahead_is_out_of_tolerance() {
    // Found attacking the release binary: a token expiring in 9999 passed.
    let forever = encode(Algorithm::HS256, &json!({"exp": 253_402_300_799_i64}));
    assert_eq!(check(&forever), Err(VerifyError::TimestampOutOfTolerance));
    let soon = json!({"exp": NOW + DEFAULT_MAX_AGE_SECS});
    let token = verify(
        Some(&encode(Algorithm::HS256, &soon)),
        &secrets(&[SECRET]),
        NOW,
        &TimeRules::default(),
    )
    .unwrap();
    assert_eq!(token.usable_until, NOW + DEFAULT_MAX_AGE_SECS + JWT_LEEWAY_SECS);
}

#[test]
fn a_token_is_usable_until_the_earlier_of_its_exp_and_its_maximum_age() {
    let verified = |claims: Value| {
        verify(
            Some(&encode(Algorithm::HS256, &claims)),
            &secrets(&[SECRET]),
            NOW,
            &TimeRules::default(),
        )
        .unwrap()
    };
    assert_eq!(
        verified(json!({"iat": NOW, "exp": NOW + 60})).usable_until,
        NOW + 60 + JWT_LEEWAY_SECS
    );
    assert_eq!(
        verified(json!({"iat": NOW, "exp": NOW + 86_400})).usable_until,
        NOW + DEFAULT_MAX_AGE_SECS + JWT_LEEWAY_SECS
    );
    assert_eq!(verified(json!({"iat": NOW})).id, None, "no jti, no id");
    let a = verified(json!({"iat": NOW, "jti": "one"}));
    let b = verified(json!({"iat": NOW, "jti": "other"}));
    assert!(a.id.is_some() && a.id != b.id);
}

#[test]
fn the_signing_helper_makes_single_use_tokens_bound_to_their_body() {
    let body = br#"{"eventKey":"frontegg.tenant.created"}"#;
    let accepted = |t: &str| verify(Some(t), &secrets(&[SECRET]), NOW, &TimeRules::default()).unwrap();
    let (a, b) = (
        accepted(&token(SECRET, NOW, body).unwrap()),
        accepted(&token(SECRET, NOW, body).unwrap()),
    );
    assert!(a.id.is_some() && a.id != b.id, "two tokens of one second differ");
    let digest = hex::encode(Sha256::digest(body));
    assert_eq!(a.claims.body_sha256.as_deref(), Some(digest.as_str()));
}

#[test]
fn claims_describing_the_request_are_returned_and_checked() {
    let digest = "ab".repeat(32);
    let token = verify(
        Some(&encode(
            Algorithm::HS256,
            &json!({"iat": NOW, "eventKey": "frontegg.tenant.created", "tenantId": "t1", "bodySha256": digest}),
        )),
        &secrets(&[SECRET]),
        NOW,
        &TimeRules::default(),
    )
    .unwrap();
    let claims = &token.claims;
    assert_eq!(claims.check("frontegg.tenant.created", Some("t1"), &digest), Ok(()));
    assert_eq!(
        claims.check("frontegg.tenant.deleted", Some("t1"), &digest),
        Err(VerifyError::ClaimMismatch("eventKey"))
    );
    assert_eq!(
        claims.check("frontegg.tenant.created", Some("t2"), &digest),
        Err(VerifyError::ClaimMismatch("tenantId"))
    );
    assert_eq!(
        claims.check("frontegg.tenant.created", Some("t1"), &"cd".repeat(32)),
        Err(VerifyError::ClaimMismatch("bodySha256"))
    );
    assert_eq!(RequestClaims::default().check("anything", None, "x"), Ok(()));
}

#[test]
fn an_alg_none_token_is_an_invalid_signature() {
    let claims = json!({"iat": NOW, "exp": NOW + 300});
    let unsigned = hand_built(&json!({"alg": "none", "typ": "JWT"}), &claims, b"");
    assert!(unsigned.ends_with('.'));
    assert_eq!(check(&unsigned), Err(VerifyError::InvalidSignature));
}

#[test]
fn asymmetric_algs_are_invalid_signatures() {
    let claims = json!({"iat": NOW});
    for alg in ["RS256", "RS512", "ES256", "PS256", "EdDSA"] {
        let forged = hand_built(&json!({"alg": alg, "typ": "JWT"}), &claims, &[7_u8; 256]);
        assert_eq!(check(&forged), Err(VerifyError::InvalidSignature), "{alg}");
    }
}

#[test]
fn an_expired_token_is_out_of_tolerance() {
    let expired = encode(
        Algorithm::HS256,
        &json!({"iat": NOW - 60, "exp": NOW - JWT_LEEWAY_SECS - 1}),
    );
    assert_eq!(check(&expired), Err(VerifyError::TimestampOutOfTolerance));
}

#[test]
fn a_token_expired_within_the_leeway_is_accepted() {
    assert_eq!(
        check(&encode(
            Algorithm::HS256,
            &json!({"iat": NOW - 60, "exp": NOW - JWT_LEEWAY_SECS})
        )),
        Ok(())
    );
}

#[test]
fn a_future_nbf_is_out_of_tolerance_beyond_the_leeway() {
    let early = encode(Algorithm::HS256, &json!({"iat": NOW, "nbf": NOW + JWT_LEEWAY_SECS + 1}));
    assert_eq!(check(&early), Err(VerifyError::TimestampOutOfTolerance));
    assert_eq!(
        check(&encode(
            Algorithm::HS256,
            &json!({"iat": NOW, "nbf": NOW + JWT_LEEWAY_SECS})
        )),
        Ok(())
    );
}

#[test]
fn an_expired_token_with_a_wrong_secret_is_an_invalid_signature() {
    let expired = encode(Algorithm::HS256, &json!({"exp": 1}));
    assert_eq!(
        verify(Some(&expired), &secrets(&["other"]), NOW, &rules(30)).map(|_| ()),
        Err(VerifyError::InvalidSignature)
    );
}

#[test]
fn any_configured_secret_may_match_during_rotation() {
    let old = token("old", NOW, b"{}").unwrap();
    assert!(verify(Some(&old), &secrets(&["new", "old"]), NOW, &rules(30)).is_ok());
    assert_eq!(
        verify(Some(&old), &secrets(&["new"]), NOW, &rules(30)).map(|_| ()),
        Err(VerifyError::InvalidSignature)
    );
}

#[test]
fn tampered_claims_are_an_invalid_signature() {
    let genuine = encode(Algorithm::HS256, &json!({"sub": "a", "iat": NOW}));
    let mut parts: Vec<String> = genuine.split('.').map(String::from).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(json!({"sub": "b", "iat": NOW}).to_string());
    assert_eq!(check(&parts.join(".")), Err(VerifyError::InvalidSignature));
}

#[test]
fn odd_claim_values_never_panic() {
    for exp in [
        json!(1e300),
        json!(-1e300),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5e9),
    ] {
        for claims in [
            json!({"exp": exp, "nbf": exp}),
            json!({"iat": exp}),
            json!({"iat": NOW, "exp": exp}),
        ] {
            let result = check(&encode(Algorithm::HS256, &claims));
            assert!(
                result.is_ok() || result == Err(VerifyError::TimestampOutOfTolerance),
                "{claims}"
            );
        }
    }
    for malformed in [json!({"exp": "tomorrow"}), json!({"iat": "now"})] {
        assert_eq!(
            check(&encode(Algorithm::HS256, &malformed)),
            Err(VerifyError::InvalidSignature)
        );
    }
}

#[test]
fn garbled_tokens_are_invalid_signatures_and_missing_ones_are_missing() {
    let long = "a.".repeat(50_000);
    for value in ["not-a-jwt", "a.b.c", "..", "é.é.é", "e30.e30.", &long] {
        assert_eq!(check(value), Err(VerifyError::InvalidSignature), "{value}");
    }
    assert_eq!(
        verify(None, &secrets(&[SECRET]), NOW, &rules(30)).map(|_| ()),
        Err(VerifyError::MissingSignature)
    );
    assert_eq!(
        verify(Some(" "), &secrets(&[SECRET]), NOW, &rules(30)).map(|_| ()),
        Err(VerifyError::MissingSignature)
    );
}
