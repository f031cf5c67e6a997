//! The secrets that sign notifications: a new one when a subscription is made or its secret
//! rotated, and the stored ones, opened, for each delivery and test send.

use base64::Engine as _;
use chrono::NaiveDateTime;
use secrecy::SecretString;

use super::sealing::{SealError, Sealer};
use crate::notifications::store::Subscription;

/// Bytes of randomness in a generated secret (Standard Webhooks allows 24 to 64).
const SECRET_BYTES: usize = 32;

/// The secrets that sign a notification to `row` at `now` (the previous one too during a
/// rotation's grace period), opened. Any that does not open fails the whole: nothing is sent
/// with fewer signatures than the subscriber may expect.
pub fn signing_secrets(
    sealer: &Sealer,
    row: &Subscription,
    now: NaiveDateTime,
) -> Result<Vec<SecretString>, SealError> {
    row.sealed_signing_secrets(now)
        .into_iter()
        .map(|stored| sealer.open(&row.id, stored))
        .collect()
}

/// A fresh `whsec_` secret: base64 of random bytes from the operating system.
pub fn generate_secret() -> anyhow::Result<SecretString> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the operating system gave no random bytes: {e}"))?;
    Ok(SecretString::from(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn both_secrets_sign_during_the_grace_period_and_one_that_does_not_open_fails_the_whole() {
        let sealer = Sealer::new(&[SecretString::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")]).unwrap();
        let at = |secs: i64| {
            chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
                .unwrap()
                .naive_utc()
        };
        let row = Subscription {
            id: "sub_1".into(),
            url: "https://example.com/hook".into(),
            event_types: r#"["*"]"#.into(),
            tenant_id: None,
            description: None,
            sealed_secret: sealer.seal("sub_1", "whsec_new").unwrap(),
            sealed_previous_secret: Some(sealer.seal("sub_1", "whsec_old").unwrap()),
            previous_secret_expires_at: Some(at(60)),
            active: true,
            disabled_reason: None,
            failing_since: None,
            created_at: at(0),
            updated_at: at(0),
            name: None,
            request_timeout_ms: None,
            max_attempts: None,
        };
        let opened = |now| -> Vec<String> {
            let secrets = signing_secrets(&sealer, &row, now).unwrap();
            secrets.iter().map(|s| s.expose_secret().to_owned()).collect()
        };
        assert_eq!(opened(at(59)), ["whsec_new", "whsec_old"]);
        assert_eq!(opened(at(60)), ["whsec_new"], "the grace period is over");

        let copied = Subscription {
            sealed_previous_secret: Some(sealer.seal("sub_2", "whsec_other").unwrap()),
            ..row.clone()
        };
        assert!(matches!(
            signing_secrets(&sealer, &copied, at(0)),
            Err(SealError::DoesNotOpen { .. })
        ));
        let plain = Subscription {
            sealed_secret: "whsec_new".into(),
            ..row
        };
        assert_eq!(signing_secrets(&sealer, &plain, at(0)).unwrap_err(), SealError::Plain);
    }

    #[test]
    fn generated_secrets_are_standard_webhooks_secrets_and_differ() {
        let (a, b) = (generate_secret().unwrap(), generate_secret().unwrap());
        let (a, b) = (a.expose_secret(), b.expose_secret());
        assert_ne!(a, b);
        let key = crate::verify::standard::key_from_secret(a);
        assert_eq!(key.len(), SECRET_BYTES);
        assert!(a.starts_with("whsec_"));
    }
}
