//! `hmac-sha256`: a hex HMAC-SHA256 of the raw body in one header.
//!
//! This is the shape GitHub uses for `X-Hub-Signature-256`
//! (`sha256=<lower-case hex>`); the `sha256=` prefix is optional and the hex
//! may be upper or lower case. The scheme carries no timestamp, so it cannot
//! refuse replays on its own.

use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{present, VerifyError};

/// Header read by default when none is configured.
pub const DEFAULT_HEADER: &str = "x-webhook-signature";

/// Optional prefix in front of the hex digest, as GitHub sends it.
pub const PREFIX: &str = "sha256=";

/// Length of a hex-encoded SHA-256 digest.
const HEX_LEN: usize = 64;

/// HMAC-SHA256 keyed with `key`, built without a fallible constructor.
///
/// HMAC accepts keys of any length (RFC 2104 §2): a key longer than the hash
/// block is hashed first, and the result (or a shorter key) is zero-padded to
/// the block. Doing that preparation here gives a constructor that cannot
/// fail, so no caller needs an `unwrap` on `new_from_slice`.
pub fn mac(key: &[u8]) -> Hmac<Sha256> {
    let mut block = Key::<Hmac<Sha256>>::default();
    let hashed;
    let material: &[u8] = if key.len() > block.len() {
        hashed = Sha256::digest(key);
        &hashed
    } else {
        key
    };
    // `zip` stops at the shorter side, so this cannot index out of bounds.
    for (dst, src) in block.iter_mut().zip(material) {
        *dst = *src;
    }
    <Hmac<Sha256> as KeyInit>::new(&block)
}

/// Lower-case hex HMAC-SHA256 of `body` keyed with `secret` (no prefix).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    hex::encode(mac(secret).chain_update(body).finalize().into_bytes())
}

/// The header value to send: `sha256=<lower-case hex>`.
pub fn header_value(secret: &[u8], body: &[u8]) -> String {
    format!("{PREFIX}{}", signature(secret, body))
}

/// Checks a header value against every secret.
///
/// `value` is the header as received (`None` or blank means it was not sent).
/// Passes when any secret produces the same digest; the comparison is constant
/// time via [`Mac::verify_slice`].
pub fn verify(value: Option<&str>, body: &[u8], secrets: &[SecretString]) -> Result<(), VerifyError> {
    let value = present(value).ok_or(VerifyError::MissingSignature)?;
    // `get` returns None instead of panicking when the cut is not on a char boundary.
    let digest_hex = match value.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => value.get(PREFIX.len()..).unwrap_or_default(),
        _ => value,
    };
    // Refuse wrong lengths before decoding so a huge header costs nothing.
    if digest_hex.len() != HEX_LEN {
        return Err(VerifyError::InvalidSignature);
    }
    let expected = hex::decode(digest_hex).map_err(|_| VerifyError::InvalidSignature)?;
    let matches = secrets.iter().any(|secret| {
        let key = secret.expose_secret().as_bytes();
        !super::signs_for_anyone(key) && mac(key).chain_update(body).verify_slice(&expected).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(VerifyError::InvalidSignature)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const GITHUB_SECRET: &str = "It's a Secret to Everybody";
    const GITHUB_BODY: &[u8] = b"Hello, World!";
    const GITHUB_SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter().map(|s| SecretString::from(s.to_string())).collect()
    }

    #[test]
    fn githubs_documented_example_verifies() {
        let result = verify(Some(GITHUB_SIGNATURE), GITHUB_BODY, &secrets(&[GITHUB_SECRET]));
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn header_value_reproduces_githubs_documented_example() {
        assert_eq!(header_value(GITHUB_SECRET.as_bytes(), GITHUB_BODY), GITHUB_SIGNATURE);
    }

    #[test]
    fn upper_case_hex_and_a_missing_prefix_are_accepted() {
        let bare = GITHUB_SIGNATURE.trim_start_matches(PREFIX);
        let keys = secrets(&[GITHUB_SECRET]);
        assert_eq!(verify(Some(bare), GITHUB_BODY, &keys), Ok(()));
        assert_eq!(verify(Some(&bare.to_uppercase()), GITHUB_BODY, &keys), Ok(()));
        assert_eq!(
            verify(Some(&GITHUB_SIGNATURE.to_uppercase()), GITHUB_BODY, &keys),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_is_an_invalid_signature() {
        let result = verify(Some(GITHUB_SIGNATURE), b"Hello, World?", &secrets(&[GITHUB_SECRET]));
        assert_eq!(result, Err(VerifyError::InvalidSignature));
    }

    #[test]
    fn a_wrong_secret_is_an_invalid_signature() {
        let result = verify(Some(GITHUB_SIGNATURE), GITHUB_BODY, &secrets(&["another secret"]));
        assert_eq!(result, Err(VerifyError::InvalidSignature));
    }

    #[test]
    fn any_configured_secret_may_match_during_rotation() {
        let value = header_value(b"old", GITHUB_BODY);
        assert_eq!(verify(Some(&value), GITHUB_BODY, &secrets(&["new", "old"])), Ok(()));
    }

    #[test]
    fn an_absent_or_blank_header_is_a_missing_signature() {
        let keys = secrets(&[GITHUB_SECRET]);
        assert_eq!(verify(None, GITHUB_BODY, &keys), Err(VerifyError::MissingSignature));
        assert_eq!(verify(Some(""), GITHUB_BODY, &keys), Err(VerifyError::MissingSignature));
        assert_eq!(
            verify(Some("  "), GITHUB_BODY, &keys),
            Err(VerifyError::MissingSignature)
        );
    }

    #[test]
    fn garbled_values_are_invalid_signatures_and_never_panic() {
        let keys = secrets(&[GITHUB_SECRET]);
        let long = "a".repeat(1 << 16);
        let garbled = [
            "sha256=",
            "zz",
            "sha256=xyz",
            "é",
            "sha2é",
            "sha256",
            &long,
            &"zz".repeat(32),
            &"é".repeat(32),
        ];
        for value in garbled {
            assert_eq!(
                verify(Some(value), GITHUB_BODY, &keys),
                Err(VerifyError::InvalidSignature),
                "{value}"
            );
        }
    }

    #[test]
    fn an_empty_secret_matches_nothing() {
        let value = header_value(b"", GITHUB_BODY);
        let result = verify(Some(&value), GITHUB_BODY, &secrets(&[""]));
        assert_eq!(result, Err(VerifyError::InvalidSignature));
    }

    #[test]
    fn the_infallible_mac_matches_the_hmac_crate_for_every_key_length() {
        for len in [0, 1, 32, 63, 64, 65, 200] {
            let key = vec![0x5a_u8; len];
            let ours = mac(&key).chain_update(b"body").finalize().into_bytes();
            let theirs = <Hmac<Sha256> as Mac>::new_from_slice(&key)
                .unwrap()
                .chain_update(b"body")
                .finalize()
                .into_bytes();
            assert_eq!(ours, theirs, "key length {len}");
        }
    }
}
