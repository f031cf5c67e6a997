//! Abuse: oversized bodies, slow bodies and heads, and a flood of bad signatures for 10 s. The
//! server answers each with a clear 4xx, ends slow clients within its timeouts, and meanwhile
//! serves valid traffic with a p99 under 100 ms in bounded memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tenantgate::verify::Scheme;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::load::{self, ms, quantile, Delivery};
use super::{cpu_time, exclusive, panics, rss_mib, summary, Config, Inbox};
use crate::helpers::*;

const FLOOD: Duration = Duration::from_secs(10);
const FLOODERS: usize = 8;
/// Badly signed requests per second, 40 times the valid traffic. Unpaced, the flood would mostly
/// measure how the test's own client and the server share two cores.
const FLOOD_RATE: u32 = 2_000;
const VALID_EVERY: Duration = Duration::from_millis(20);
const SLOW_CLIENTS: usize = 50;
const TIMEOUT_MS: u64 = 1_000;
const P99_LIMIT: Duration = Duration::from_millis(100);
const RSS_LIMIT_MIB: f64 = 150.0;

/// What a raw exchange got: the answer's status (0 for none) and text, when the answer was
/// complete and when the server closed the connection, both counted from the end of the request.
struct Raw {
    status: u16,
    text: String,
    answered: Option<Duration>,
    closed: Option<Duration>,
}

/// Writes `request` on a new connection and reads the answer; with `until_closed`, reads on
/// until the server closes the connection. Gives up after 10 s.
async fn raw_exchange(address: &str, request: &[u8], until_closed: bool) -> Raw {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    stream.write_all(request).await.unwrap();
    let started = Instant::now();
    let (mut buffer, mut answered, mut closed) = (Vec::new(), None, None);
    let reading = async {
        let mut chunk = [0_u8; 16 * 1024];
        loop {
            // A reset counts as a close; what was read before it is kept.
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                closed = Some(started.elapsed());
                return;
            }
            buffer.extend_from_slice(&chunk[..n]);
            if answered.is_none() && is_complete(&buffer) {
                answered = Some(started.elapsed());
                if !until_closed {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), reading).await;
    let text = String::from_utf8_lossy(&buffer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Raw {
        status,
        text,
        answered,
        closed,
    }
}

/// Whether `buffer` holds a whole answer: its head and `content-length` bytes of body.
fn is_complete(buffer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buffer);
    let Some(head_end) = text.find("\r\n\r\n") else {
        return false;
    };
    let length = text[..head_end]
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    buffer.len() >= head_end + 4 + length
}

fn head(address: &str, extra: &str) -> String {
    let host = address.trim_start_matches("http://");
    format!("POST /api/webhooks/frontegg HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n{extra}\r\n")
}

/// A delivery signed with a secret tenantgate does not know, or not signed at all; every eighth
/// one close to the body limit.
fn bad_delivery(n: usize) -> (Vec<u8>, Vec<(String, String)>) {
    let padding = if n % 8 == 0 {
        "x".repeat(200 * 1024)
    } else {
        String::new()
    };
    let body = json!({"eventType": "tenant.created", "tenantId": format!("flood-{n}"), "padding": padding});
    let body = body.to_string().into_bytes();
    let scheme = Scheme::ALL[n % 3];
    let headers = match n % 4 {
        3 => vec![],
        _ => sign(scheme, "not-the-secret", &body, now(), &unique_id()),
    };
    (body, headers)
}

/// Sends a valid delivery every [`VALID_EVERY`] for `duration`; returns the latencies of those
/// answered 200 and the other answers.
async fn send_valid_for(address: &str, duration: Duration) -> (Vec<Duration>, Vec<load::Answer>) {
    let client = load::client();
    let started = Instant::now();
    let (mut latencies, mut refused) = (Vec::new(), Vec::new());
    let mut tick = tokio::time::interval(VALID_EVERY);
    while started.elapsed() < duration {
        tick.tick().await;
        let tenant = format!("abuse-{}", latencies.len() + refused.len());
        let delivery = Delivery::standard(&format!("msg_{tenant}"), &tenant, &load::tenant_created(&tenant, 0));
        let answer = load::post(&client, address, &delivery).await;
        match answer.status {
            Some(200) => latencies.push(answer.latency),
            _ => refused.push(answer),
        }
    }
    (latencies, refused)
}

/// Samples the resident memory of `pid` every 100 ms until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    samples: tokio::task::JoinHandle<Vec<f64>>,
}

impl Sampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let samples = tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                samples.extend(rss_mib(pid));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            samples
        });
        Self { stop, samples }
    }

    /// The largest sample.
    async fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.samples.await.unwrap().into_iter().fold(0.0, f64::max)
    }
}

/// Oversized bodies are 413 with the JSON error: refused from the declared length before any of
/// the body is read, and without a declared length once the chunks pass the limit.
async fn oversized_bodies_are_refused(address: &str) {
    let declared = raw_exchange(address, head(address, "content-length: 10485760\r\n").as_bytes(), false).await;
    let mut chunked = head(address, "transfer-encoding: chunked\r\n").into_bytes();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n{}\r\n", 16 * 1024, "x".repeat(16 * 1024)).as_bytes());
    }
    let chunked = raw_exchange(address, &chunked, false).await;
    for answer in [declared, chunked] {
        assert_eq!(answer.status, 413, "{}", answer.text);
        assert!(
            answer.text.contains(r#""error":"payload_too_large""#),
            "{}",
            answer.text
        );
    }
}

/// Clients whose head or body stalls are answered 408 at the timeout and disconnected, while a
/// valid delivery goes through; returns the slowest answer and the slowest disconnection.
async fn slow_clients_are_ended(address: &str) -> (Duration, Duration) {
    let stalled_body = format!("{}{{\"eventType\":", head(address, "content-length: 262144\r\n"));
    let stalled_head = "POST /api/webhooks/frontegg HTTP/1.1\r\nhost: x\r\ncontent-".to_owned();
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|i| {
            let request = if i % 5 == 0 {
                stalled_head.clone()
            } else {
                stalled_body.clone()
            };
            let address = address.to_owned();
            tokio::spawn(async move { raw_exchange(&address, request.as_bytes(), true).await })
        })
        .collect();
    let tenant = "abuse-among-slow-clients";
    let valid = Delivery::standard("msg_abuse_slow", tenant, &load::tenant_created(tenant, 0));
    let during = load::post(&load::client(), address, &valid).await;
    assert_eq!(
        during.status,
        Some(200),
        "valid delivery among slow clients: {during:?}"
    );
    assert!(
        during.latency < P99_LIMIT,
        "valid delivery among slow clients: {:?}",
        during.latency
    );
    let (mut slowest_answer, mut slowest_close) = (Duration::ZERO, Duration::ZERO);
    for (i, outcome) in futures_util::future::join_all(slow).await.into_iter().enumerate() {
        let raw = outcome.unwrap();
        if i % 5 == 0 {
            // A stalled head is ended by actix itself: a bare 408, or just the close.
            assert!(raw.status == 408 || raw.status == 0, "slow head {i}: {}", raw.text);
        } else {
            assert_eq!(raw.status, 408, "slow body {i}: {}", raw.text);
            assert!(raw.text.contains(r#""error":"request_timeout""#), "{}", raw.text);
        }
        let closed = raw
            .closed
            .unwrap_or_else(|| panic!("slow client {i} was never disconnected"));
        slowest_answer = slowest_answer.max(raw.answered.unwrap_or(closed));
        slowest_close = slowest_close.max(closed);
    }
    (slowest_answer, slowest_close)
}

/// What the flood got, and what the valid sender next to it got.
struct Flood {
    statuses: Vec<u16>,
    latencies: Vec<Duration>,
    refused: Vec<load::Answer>,
}

/// Bad signatures at [`FLOOD_RATE`] from [`FLOODERS`] clients for [`FLOOD`], and a valid
/// delivery every [`VALID_EVERY`].
async fn flood(address: &str) -> Flood {
    let stop = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..FLOODERS)
        .map(|f| {
            let (stop, address) = (stop.clone(), address.to_owned());
            tokio::spawn(async move {
                let client = load::client();
                let (mut statuses, mut n) = (Vec::new(), f);
                // Each flooder sends at most one request per period, however fast answers come.
                let period = Duration::from_secs(1) * FLOODERS as u32 / FLOOD_RATE;
                let mut sent_at = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(period.saturating_sub(sent_at.elapsed())).await;
                    sent_at = Instant::now();
                    let (body, headers) = bad_delivery(n);
                    n += FLOODERS;
                    let mut request = client
                        .post(format!("{address}/api/webhooks/frontegg"))
                        .header("content-type", "application/json")
                        .body(body);
                    for (name, value) in headers {
                        request = request.header(name, value);
                    }
                    statuses.push(request.send().await.map_or(0, |r| r.status().as_u16()));
                }
                statuses
            })
        })
        .collect();
    // The valid sender has a thread and runtime of its own, so that its latencies are the
    // server's and not its wait for a turn among the flooding tasks.
    let valid = {
        let address = address.to_owned();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(send_valid_for(&address, FLOOD))
        })
    };
    let (latencies, refused) = tokio::task::spawn_blocking(move || valid.join().unwrap())
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for flooder in flooders {
        statuses.extend(flooder.await.unwrap());
    }
    Flood {
        statuses,
        latencies,
        refused,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_slow_and_badly_signed_requests_leave_valid_traffic_fast_and_memory_bounded() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let _one_at_a_time = exclusive().await;
    let database = TestDatabase::create(Backend::Postgres);
    let mut config = Config::new(&database.url);
    config
        .set("TENANTGATE__SERVER__BODY_READ_TIMEOUT_MS", &TIMEOUT_MS.to_string())
        .set("TENANTGATE__SERVER__CLIENT_REQUEST_TIMEOUT_MS", &TIMEOUT_MS.to_string())
        // Acknowledgement is what is measured: no workers competing for the disk's flushes.
        .set("TENANTGATE__WORKER__ENABLED", "false");
    let mut server = config.start();
    let address = server.address.clone();
    let rss_at_start = rss_mib(server.pid()).unwrap_or_default();
    let sampler = Sampler::start(server.pid());

    oversized_bodies_are_refused(&address).await;
    let (slowest_answer, slowest_close) = slow_clients_are_ended(&address).await;
    let (cpu_before, flood_started) = (cpu_time(server.pid()).unwrap_or_default(), Instant::now());
    let Flood {
        statuses,
        latencies,
        refused,
    } = flood(&address).await;
    let server_cpu = cpu_time(server.pid()).unwrap_or_default().saturating_sub(cpu_before);
    let server_cpu_pct = 100.0 * server_cpu.as_secs_f64() / flood_started.elapsed().as_secs_f64();

    let rss_max = sampler.stop().await;
    let rss_end = rss_mib(server.pid()).unwrap_or_default();
    let still_running = server.is_running();
    let valid_stored = Inbox::open(&database.url).events().await.len();
    let lines = server.stop();
    let p99 = quantile(&latencies, 0.99);
    let not_401 = statuses.iter().filter(|s| **s != 401).count();
    summary(
        "abuse",
        Backend::Postgres,
        &[
            ("oversized", "413".into()),
            ("slow_clients", SLOW_CLIENTS.to_string()),
            ("slowest_408_ms", slowest_answer.as_millis().to_string()),
            ("slowest_close_ms", slowest_close.as_millis().to_string()),
            ("flood_s", FLOOD.as_secs().to_string()),
            ("flood_requests", statuses.len().to_string()),
            (
                "flood_rps",
                format!("{:.0}", statuses.len() as f64 / FLOOD.as_secs_f64()),
            ),
            ("flood_not_401", not_401.to_string()),
            ("server_cpu_pct_during_flood", format!("{server_cpu_pct:.0}")),
            ("valid", latencies.len().to_string()),
            ("valid_refused", refused.len().to_string()),
            ("p50_ms", ms(quantile(&latencies, 0.5))),
            ("p99_ms", ms(p99)),
            ("max_ms", ms(quantile(&latencies, 1.0))),
            ("rss_start_mib", format!("{rss_at_start:.1}")),
            ("rss_max_mib", format!("{rss_max:.1}")),
            ("rss_end_mib", format!("{rss_end:.1}")),
        ],
    );
    // Answered at the timeout; disconnected at most a second later (actix's disconnect timeout).
    assert!(
        slowest_answer < Duration::from_millis(TIMEOUT_MS + 500),
        "a slow client answered after {slowest_answer:?}"
    );
    assert!(
        slowest_close < Duration::from_millis(TIMEOUT_MS + 1_500),
        "a slow client held on for {slowest_close:?}"
    );
    assert!(
        refused.is_empty(),
        "valid deliveries refused: {:?}",
        &refused[..refused.len().min(3)]
    );
    assert_eq!(not_401, 0, "every badly signed request is 401");
    assert!(p99 < P99_LIMIT, "valid traffic p99 {p99:?} under the flood");
    assert!(
        rss_max < RSS_LIMIT_MIB && rss_end < RSS_LIMIT_MIB,
        "RSS max {rss_max:.1} MiB, end {rss_end:.1} MiB"
    );
    // Every valid delivery is stored (the one among the slow clients too), and nothing else.
    assert_eq!(valid_stored, latencies.len() + 1);
    assert!(still_running && panics(&lines).is_empty(), "{:?}", panics(&lines));
}
