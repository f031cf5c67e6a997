//! `tenantgate sign FILE`: the signature headers for one payload and a curl command that sends
//! it. Also the signing and URL rules `replay` shares: the first configured secret, the chosen
//! or first configured scheme, and the webhook URL.

use std::path::Path;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::SignArgs;
use crate::config::Settings;
use crate::verify::{self, jwt, Scheme, VerifyOptions};

/// The general webhook route, appended to a base URL.
pub(super) const WEBHOOK_PATH: &str = "/api/webhooks/frontegg";

pub(super) fn run(settings: &Settings, args: &SignArgs) -> anyhow::Result<()> {
    let signer = Signer::new(settings, args.target.scheme)?;
    let url = webhook_url(settings, args.target.url.as_deref())?;
    let body = read_payload(&args.file)?;
    let headers = signer.headers(&body, chrono::Utc::now().timestamp())?;
    for (name, value) in &headers {
        println!("{name}: {value}");
    }
    println!();
    println!("{}", curl_command(&url, &headers, &args.file));
    if let Some(secs) = signer.valid_for_secs() {
        eprintln!("note: {} signatures are accepted for {secs} s from now", signer.scheme);
    }
    Ok(())
}

/// Signs bodies with one scheme and the first configured secret. Never prints the secret.
pub(super) struct Signer {
    pub scheme: Scheme,
    secret: SecretString,
    options: VerifyOptions,
}

impl Signer {
    /// The chosen scheme (any of the three: the receiver decides), else the first configured one.
    pub fn new(settings: &Settings, scheme: Option<Scheme>) -> anyhow::Result<Self> {
        let source = &settings.sources.frontegg;
        let Some(secret) = source.secrets.iter().find(|s| !s.expose_secret().is_empty()) else {
            bail!("no secret to sign with: set sources.frontegg.secrets");
        };
        let Some(scheme) = scheme.or_else(|| source.schemes.first().copied()) else {
            bail!("no scheme to sign with: set sources.frontegg.schemes or pass --scheme");
        };
        Ok(Self {
            scheme,
            secret: secret.clone(),
            options: VerifyOptions::from(source),
        })
    }

    /// The headers to send with `body`, signed at `now_unix`.
    pub fn headers(&self, body: &[u8], now_unix: i64) -> anyhow::Result<Vec<(String, String)>> {
        let secret = self.secret.expose_secret();
        let headers = verify::sign(self.scheme, secret, body, now_unix, &message_id(body), &self.options);
        if headers.is_empty() {
            bail!("signing with {} failed", self.scheme);
        }
        Ok(headers)
    }

    /// How long a signature stays acceptable, for the schemes that expire.
    fn valid_for_secs(&self) -> Option<i64> {
        match self.scheme {
            Scheme::FronteggJwt => Some(jwt::SIGNED_TOKEN_LIFETIME_SECS),
            Scheme::HmacSha256 => None,
            Scheme::StandardWebhooks => Some(self.options.tolerance_secs),
        }
    }
}

/// The Standard Webhooks message id for `body`: derived from its SHA-256, so sending the same
/// file again is recognised as a duplicate rather than stored as a new event.
pub(super) fn message_id(body: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(body));
    format!("msg_{}", &digest[..32])
}

/// `--url` when given (a base URL gets the webhook path), else the configured server's address.
pub(super) fn webhook_url(settings: &Settings, given: Option<&str>) -> anyhow::Result<reqwest::Url> {
    let Some(given) = given else {
        return default_url(settings);
    };
    let mut url = reqwest::Url::parse(given.trim())
        .with_context(|| format!("--url `{given}` is not a URL (e.g. https://abc.ngrok-free.app)"))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        bail!("--url `{given}` must be an http:// or https:// URL");
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(WEBHOOK_PATH);
    }
    Ok(url)
}

/// `http://{server.host}:{server.port}/api/webhooks/frontegg`; a wildcard bind address is
/// reached through loopback.
fn default_url(settings: &Settings) -> anyhow::Result<reqwest::Url> {
    let port = settings.port();
    if port == 0 {
        bail!("server.port is 0 (any free port), so the server's address is unknown: pass --url");
    }
    let host = match settings.server.host.trim() {
        "0.0.0.0" => "127.0.0.1",
        "::" | "[::]" => "::1",
        host => host,
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let text = format!("http://{host}:{port}{WEBHOOK_PATH}");
    reqwest::Url::parse(&text).with_context(|| format!("server.host `{}` gives no valid URL", settings.server.host))
}

/// A payload file's bytes, sent as they are.
pub(super) fn read_payload(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read payload file {}", path.display()))
}

fn curl_command(url: &reqwest::Url, headers: &[(String, String)], file: &Path) -> String {
    let mut command = format!(
        "curl -X POST {} -H 'content-type: application/json'",
        shell_quote(url.as_str())
    );
    for (name, value) in headers {
        command.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
    }
    let path = file.to_string_lossy();
    command.push_str(&format!(" --data-binary @{}", shell_quote(&path)));
    command
}

/// `text` as one shell word: as it is when it holds only safe characters, else single-quoted.
fn shell_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:@=,+%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    #[test]
    fn a_base_url_gets_the_webhook_path_and_a_full_url_is_kept() {
        let s = settings();
        let url = |given: &str| webhook_url(&s, Some(given)).unwrap().to_string();
        assert_eq!(
            url("https://abc.ngrok-free.app"),
            "https://abc.ngrok-free.app/api/webhooks/frontegg"
        );
        assert_eq!(url("http://127.0.0.1:9/"), "http://127.0.0.1:9/api/webhooks/frontegg");
        assert_eq!(
            url("https://h.example/api/webhooks/frontegg/tenant-created"),
            "https://h.example/api/webhooks/frontegg/tenant-created"
        );
        assert!(webhook_url(&s, Some("localhost:8000")).is_err());
        assert!(webhook_url(&s, Some("not a url")).is_err());
    }

    #[test]
    fn the_default_url_is_the_configured_server_reached_through_loopback() {
        let mut s = settings();
        assert_eq!(
            default_url(&s).unwrap().as_str(),
            "http://127.0.0.1:8000/api/webhooks/frontegg"
        );
        s.server.host = "0.0.0.0".into();
        assert_eq!(
            default_url(&s).unwrap().as_str(),
            "http://127.0.0.1:8000/api/webhooks/frontegg"
        );
        s.server.host = "::".into();
        assert_eq!(
            default_url(&s).unwrap().as_str(),
            "http://[::1]:8000/api/webhooks/frontegg"
        );
        s.server.port = 0;
        assert!(default_url(&s).unwrap_err().to_string().contains("--url"));
    }

    #[test]
    fn the_message_id_depends_on_the_body_only() {
        assert_eq!(message_id(b"{}"), message_id(b"{}"));
        assert_ne!(message_id(b"{}"), message_id(b"[]"));
        assert_eq!(message_id(b"{}").len(), 4 + 32);
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("fixtures/a.json"), "fixtures/a.json");
        assert_eq!(shell_quote("my file.json"), "'my file.json'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
