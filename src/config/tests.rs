//! The shipped configuration, and what `validate` and `load` refuse, naming the key.

use std::path::Path;

use secrecy::SecretString;

use super::*;

const TEST_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The shipped files with the credentials a deployment would set.
fn load_defaults() -> Settings {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::read(&dir).expect("the shipped configuration reads");
    settings.sources.frontegg.secrets = vec![SecretString::from("a-test-secret".to_owned())];
    settings.notifications.encryption_keys = vec![SecretString::from(TEST_KEY.to_owned())];
    settings
        .validate()
        .expect("the shipped configuration with credentials is valid");
    settings
}

#[test]
fn the_shipped_configuration_is_valid() {
    let settings = load_defaults();
    assert_eq!(settings.server.port, 8000);
}

#[test]
fn an_out_of_range_port_is_refused_naming_the_key() {
    let mut settings = load_defaults();
    settings.server.port = 70000;
    let err = settings.validate().unwrap_err().to_string();
    assert!(err.contains("server.port"), "{err}");
}

#[test]
fn a_source_without_secrets_is_refused_unless_verification_is_skipped() {
    let mut settings = load_defaults();
    settings.sources.frontegg.secrets.clear();
    let err = settings.validate().unwrap_err().to_string();
    assert!(err.contains("sources.frontegg.secrets"), "{err}");
    settings.sources.frontegg.insecure_skip_verification = true;
    settings.validate().unwrap();
}

#[test]
fn a_secret_anyone_could_sign_with_is_refused_naming_it() {
    for weak in ["\0", "\0\0\0", "whsec_AA==", "whsec_AAAAAAAA", "   "] {
        let mut settings = load_defaults();
        settings.sources.frontegg.secrets = vec!["a-real-secret".to_owned().into(), weak.to_owned().into()];
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("sources.frontegg.secrets[1]"), "{weak:?}: {err}");
    }
}

#[test]
fn a_bad_allow_list_entry_is_refused_naming_the_key() {
    let mut settings = load_defaults();
    settings.sources.frontegg.allowed_ips = vec!["10.0.0.0/99".into()];
    let err = settings.validate().unwrap_err().to_string();
    assert!(err.contains("sources.frontegg.allowed_ips"), "{err}");
}

#[test]
fn an_unknown_log_format_or_scheme_is_refused_naming_the_key_and_the_choices() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let load = |extra: &str| {
        let tmp = tempfile::tempdir().unwrap();
        for file in ["default.toml", "development.toml"] {
            std::fs::copy(dir.join(file), tmp.path().join(file)).unwrap();
        }
        let database = format!(
            "[database]\nurl = \"sqlite://{}/tenantgate.db\"\n",
            tmp.path().display()
        );
        std::fs::write(tmp.path().join("local.toml"), database + extra).unwrap();
        format!("{:#}", Settings::load(tmp.path()).unwrap_err())
    };
    let err = load("[log]\nformat = \"xml\"\n");
    assert!(err.contains("log.format") && err.contains("\"json\""), "{err}");
    let err = load("[sources.frontegg]\nschemes = [\"rot13\"]\n");
    assert!(
        err.contains("sources.frontegg.schemes") && err.contains("hmac-sha256"),
        "{err}"
    );
}

#[test]
fn redacted_output_never_contains_a_secret() {
    let mut settings = load_defaults();
    settings.sources.frontegg.secrets = vec![SecretString::from("s3cr3t-value".to_owned())];
    settings.database.url = SecretString::from("postgres://user:pw-value@db/x".to_owned());
    let out = settings.redacted_toml().unwrap();
    assert!(!out.contains("s3cr3t-value") && !out.contains("pw-value"), "{out}");
    assert!(out.contains("[sources.frontegg]"), "{out}");
}
