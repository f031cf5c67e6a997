//! `tenantgate replay PATH…`: sign payload files and POST them, one line per file, then a
//! summary; fails when any delivery failed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use super::output::one_line;
use super::sign::{read_payload, webhook_url, Signer};
use super::ReplayArgs;
use crate::config::Settings;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn run(settings: &Settings, args: &ReplayArgs) -> anyhow::Result<()> {
    let signer = Signer::new(settings, args.target.scheme)?;
    let url = webhook_url(settings, args.target.url.as_deref())?;
    let files = payload_files(&args.paths)?;
    let payloads = files
        .iter()
        .map(|file| read_payload(file))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("cannot set up the HTTP client")?;
    eprintln!(
        "sending {} file(s) to {url}, signed with {}",
        files.len(),
        signer.scheme
    );
    let width = files.iter().map(|f| f.display().to_string().len()).max().unwrap_or(0);
    let mut tally = Tally::default();
    for (file, body) in files.iter().zip(payloads) {
        let outcome = send(&client, &url, &signer, body).await;
        println!("{:<width$}  {outcome}", file.display().to_string());
        tally.count(&outcome);
    }
    println!("{tally}");
    if tally.failed > 0 {
        bail!("{} of {} deliveries failed", tally.failed, tally.sent);
    }
    Ok(())
}

/// The files to send, in order: each file as named, each folder's `.json` files sorted by name.
fn payload_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if !metadata.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut in_folder = Vec::new();
        let entries = std::fs::read_dir(path).with_context(|| format!("cannot list the folder {}", path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list the folder {}", path.display()))?;
            let file = entry.path();
            if file.is_file() && is_json(&file) {
                in_folder.push(file);
            }
        }
        if in_folder.is_empty() {
            bail!("the folder {} holds no .json files", path.display());
        }
        in_folder.sort();
        files.extend(in_folder);
    }
    Ok(files)
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
}

/// What the receiver made of one delivery.
enum Outcome {
    /// 2xx with a receipt: `accepted`, `duplicate` or `ignored`.
    Stored { http: u16, status: String, event_id: i64 },
    /// Any other answer: the error code and message, or the start of the body.
    Refused { http: u16, reason: String },
    /// No answer at all.
    Unreachable(String),
}

#[derive(Deserialize)]
struct Receipt {
    status: String,
    event_id: i64,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
}

async fn send(client: &reqwest::Client, url: &reqwest::Url, signer: &Signer, body: Vec<u8>) -> Outcome {
    let headers = match signer.headers(&body, chrono::Utc::now().timestamp()) {
        Ok(headers) => headers,
        Err(e) => return Outcome::Unreachable(format!("{e:#}")),
    };
    let mut request = client
        .post(url.clone())
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Outcome::Unreachable(format!("{:#}", anyhow::Error::from(e))),
    };
    let http = response.status().as_u16();
    let success = response.status().is_success();
    let text = match response.text().await {
        Ok(text) => text,
        Err(e) => return Outcome::Unreachable(format!("{:#}", anyhow::Error::from(e))),
    };
    if success {
        if let Ok(receipt) = serde_json::from_str::<Receipt>(&text) {
            if ["accepted", "duplicate", "ignored"].contains(&receipt.status.as_str()) {
                return Outcome::Stored {
                    http,
                    status: receipt.status,
                    event_id: receipt.event_id,
                };
            }
        }
        let reason = format!(
            "unexpected answer (is this a tenantgate webhook URL?): {}",
            one_line(&text, 120)
        );
        return Outcome::Refused { http, reason };
    }
    let reason = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(error) => format!("{}: {}", error.error, error.message),
        Err(_) if text.trim().is_empty() => "(no body)".to_owned(),
        Err(_) => one_line(&text, 120),
    };
    Outcome::Refused { http, reason }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stored { http, status, event_id } => write!(f, "{http} {status:<9} event {event_id}"),
            Self::Refused { http, reason } => write!(f, "{http} {reason}"),
            Self::Unreachable(error) => write!(f, "no answer: {error}"),
        }
    }
}

#[derive(Default)]
struct Tally {
    sent: usize,
    accepted: usize,
    duplicate: usize,
    ignored: usize,
    failed: usize,
}

impl Tally {
    fn count(&mut self, outcome: &Outcome) {
        self.sent += 1;
        let counter = match outcome {
            Outcome::Stored { status, .. } if status == "accepted" => &mut self.accepted,
            Outcome::Stored { status, .. } if status == "duplicate" => &mut self.duplicate,
            Outcome::Stored { .. } => &mut self.ignored,
            Outcome::Refused { .. } | Outcome::Unreachable(_) => &mut self.failed,
        };
        *counter += 1;
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sent: {} accepted, {} duplicate, {} ignored, {} failed",
            self.sent, self.accepted, self.duplicate, self.ignored, self.failed
        )
    }
}
