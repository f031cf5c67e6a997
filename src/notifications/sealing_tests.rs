//! Sealing and opening subscription secrets: round trips, rotation, tampering, what errors show.

use super::*;

const OLD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn sealer(keys: &[&str]) -> Sealer {
    let keys: Vec<SecretString> = keys.iter().map(|k| SecretString::from(*k)).collect();
    Sealer::new(&keys).unwrap()
}

fn id_of(key: &str) -> String {
    key_id(&decode_encryption_key(key).unwrap())
}

#[test]
fn a_sealed_secret_opens_to_itself_and_never_shows_it() {
    let sealer = sealer(&[OLD]);
    let stored = sealer.seal("sub_1", SECRET).unwrap();
    assert!(stored.starts_with(&format!("enc:v1:{}:", id_of(OLD))), "{stored}");
    assert!(
        !stored.contains(SECRET) && !stored.contains("MfKQ9r8GKYqrTwjUPD8I"),
        "{stored}"
    );
    assert_eq!(sealer.open("sub_1", &stored).unwrap().expose_secret(), SECRET);
    let again = sealer.seal("sub_1", SECRET).unwrap();
    assert_ne!(stored, again, "a fresh nonce for every seal");
    assert_eq!(sealer.open("sub_1", &again).unwrap().expose_secret(), SECRET);
}

#[test]
fn a_secret_sealed_for_another_subscription_does_not_open() {
    let sealer = sealer(&[OLD]);
    let stored = sealer.seal("sub_1", SECRET).unwrap();
    assert_eq!(
        sealer.open("sub_2", &stored).unwrap_err(),
        SealError::DoesNotOpen { key_id: id_of(OLD) }
    );
}

#[test]
fn a_secret_sealed_with_a_key_no_longer_configured_names_that_key() {
    let stored = sealer(&[OLD]).seal("sub_1", SECRET).unwrap();
    let error = sealer(&[NEW]).open("sub_1", &stored).unwrap_err();
    assert_eq!(
        error,
        SealError::UnknownKey {
            key_id: id_of(OLD),
            configured: id_of(NEW)
        }
    );
    let message = error.to_string();
    assert!(
        message.contains(&id_of(OLD)) && message.contains("notifications.encryption_keys"),
        "{message}"
    );
}

#[test]
fn a_value_that_names_a_key_but_was_sealed_with_another_does_not_open() {
    let stored = sealer(&[OLD]).seal("sub_1", SECRET).unwrap();
    let forged = stored.replacen(&id_of(OLD), &id_of(NEW), 1);
    assert_eq!(
        sealer(&[NEW]).open("sub_1", &forged).unwrap_err(),
        SealError::DoesNotOpen { key_id: id_of(NEW) }
    );
}

#[test]
fn a_tampered_value_does_not_open() {
    let sealer = sealer(&[OLD]);
    let stored = sealer.seal("sub_1", SECRET).unwrap();
    let (head, data) = stored.rsplit_once(':').unwrap();
    let mut bytes = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
    for position in [0, NONCE_BYTES, bytes.len() - 1] {
        bytes[position] ^= 1;
        let tampered = format!("{head}:{}", base64::engine::general_purpose::STANDARD.encode(&bytes));
        assert!(
            matches!(sealer.open("sub_1", &tampered), Err(SealError::DoesNotOpen { .. })),
            "a bit flipped at {position}"
        );
        bytes[position] ^= 1;
    }
    let cut = format!(
        "{head}:{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes[..20])
    );
    assert!(matches!(sealer.open("sub_1", &cut), Err(SealError::DoesNotOpen { .. })));
    for malformed in [
        "enc:v1:",
        "enc:v2:abcd:AAAA",
        &format!("{head}:not base64!"),
        &format!("{head}:AAAA"),
    ] {
        assert_eq!(
            sealer.open("sub_1", malformed).unwrap_err(),
            SealError::Malformed,
            "{malformed}"
        );
    }
}

#[test]
fn plain_text_is_refused_with_what_to_do() {
    let error = sealer(&[OLD]).open("sub_1", SECRET).unwrap_err();
    assert_eq!(error, SealError::Plain);
    assert!(error.to_string().contains("start `tenantgate serve`"), "{error}");
    assert!(!error.to_string().contains("MfKQ9r8GKYqrTwjUPD8I"));
}

#[test]
fn the_first_key_seals_and_every_key_opens() {
    let old = sealer(&[OLD]).seal("sub_1", SECRET).unwrap();
    let rotated = sealer(&[NEW, OLD]);
    assert_eq!(rotated.key_ids(), [id_of(NEW), id_of(OLD)]);
    assert_eq!(rotated.open("sub_1", &old).unwrap().expose_secret(), SECRET);
    let new = rotated.seal("sub_1", SECRET).unwrap();
    assert!(new.starts_with(&rotated.current_prefix()), "{new}");
    assert!(rotated.current_prefix().contains(&id_of(NEW)));
    assert_eq!(sealer(&[NEW]).open("sub_1", &new).unwrap().expose_secret(), SECRET);
}

#[test]
fn reseal_seals_plain_text_reseals_older_keys_and_leaves_the_rest() {
    let rotated = sealer(&[NEW, OLD]);
    let opens = |stored: &str| rotated.open("sub_1", stored).unwrap().expose_secret().to_owned();
    match rotated.reseal("sub_1", SECRET).unwrap() {
        Reseal::Sealed(stored) => assert_eq!(opens(&stored), SECRET),
        other => panic!("plain text is sealed, got {other:?}"),
    }
    let old = sealer(&[OLD]).seal("sub_1", SECRET).unwrap();
    match rotated.reseal("sub_1", &old).unwrap() {
        Reseal::Resealed(stored) => {
            assert!(stored.starts_with(&rotated.current_prefix()));
            assert_eq!(opens(&stored), SECRET);
        }
        other => panic!("an older key's value is resealed, got {other:?}"),
    }
    let current = rotated.seal("sub_1", SECRET).unwrap();
    assert_eq!(rotated.reseal("sub_1", &current).unwrap(), Reseal::Current);
    assert!(matches!(
        sealer(&[NEW]).reseal("sub_1", &old).unwrap(),
        Reseal::Unreadable(SealError::UnknownKey { .. })
    ));
    assert!(matches!(
        rotated.reseal("sub_2", &old).unwrap(),
        Reseal::Unreadable(SealError::DoesNotOpen { .. })
    ));
}

#[test]
fn keys_are_checked_and_never_shown() {
    assert!(Sealer::new(&[]).is_err());
    let error = Sealer::new(&[SecretString::from(OLD), SecretString::from("c2hvcnQ=")]).unwrap_err();
    assert!(
        error.to_string().contains("notifications.encryption_keys[1]"),
        "{error}"
    );
    let error = Sealer::new(&[SecretString::from(OLD), SecretString::from(OLD)]).unwrap_err();
    assert!(error.to_string().contains("same key id"), "{error}");
    let shown = format!("{:?}", sealer(&[NEW, OLD]));
    assert!(
        shown.contains(&id_of(NEW)) && !shown.contains(OLD) && !shown.contains(NEW),
        "{shown}"
    );
}
