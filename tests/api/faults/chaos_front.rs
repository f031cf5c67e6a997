//! A chaos front for the fake Airbyte: an HTTP proxy that passes most calls through and answers a
//! seeded share of them badly, the way a real provider and network do:
//!
//! | fate | what the client sees | did the call take effect? |
//! |---|---|---|
//! | `ServerError` | 500 with Airbyte's problem body | no |
//! | `RateLimited` | 429 `{"message":"You are being rate limited."}` with `Retry-After: 1` | no |
//! | `Hang` | its answer only after `hang` (longer than the client's timeout) | yes |
//! | `DropBefore` | the connection closed, no answer | no |
//! | `DropAfter` | the connection closed, no answer | yes |
//!
//! wiremock cannot drop a connection, hence a front: a hyper server whose service fails (hyper
//! then closes the connection without answering), forwarding to the fake with reqwest.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Airbyte's RFC 9457 problem for an unexpected server error.
const SERVER_ERROR: &str = concat!(
    r#"{"status":500,"type":"https://reference.airbyte.com/reference/errors#unexpected-problem","#,
    r#""title":"unexpected-problem","detail":"chaos: an unexpected problem"}"#
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fate {
    Pass,
    ServerError,
    RateLimited,
    Hang,
    DropBefore,
    DropAfter,
}

const FAULTS: [Fate; 5] = [
    Fate::ServerError,
    Fate::RateLimited,
    Fate::Hang,
    Fate::DropBefore,
    Fate::DropAfter,
];

/// One call the front received.
#[derive(Debug, Clone)]
pub struct Call {
    /// `METHOD /path` without the query.
    pub route: String,
    pub fate: Fate,
}

pub struct ChaosFront {
    port: u16,
    state: Arc<State>,
}

struct State {
    upstream: String,
    rate: f64,
    hang: Duration,
    rng: Mutex<fastrand::Rng>,
    calls: Mutex<Vec<Call>>,
    http: reqwest::Client,
}

/// The service failed on purpose: hyper closes the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

impl ChaosFront {
    /// Listens on a free port in front of `upstream` (the fake's root URI); `rate` of the calls
    /// get a fault, chosen evenly among the five.
    pub async fn start(upstream: &str, rate: f64, hang: Duration, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            rate,
            hang,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            calls: Mutex::new(Vec::new()),
            http: reqwest::Client::new(),
        });
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    // A dropped connection ends here with an error, as intended.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { port, state }
    }

    /// The front's `/v1` base, like `https://api.airbyte.com/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Calls to `route` (`METHOD /path`) that got one of `fates`.
    pub fn count(&self, route: &str, fates: &[Fate]) -> usize {
        let calls = self.calls();
        calls
            .iter()
            .filter(|c| c.route == route && fates.contains(&c.fate))
            .count()
    }

    /// Calls that got a fault.
    pub fn faults(&self) -> usize {
        self.calls().iter().filter(|call| call.fate != Fate::Pass).count()
    }

    /// `fate:count` for every fate, e.g. `pass:180,server_error:12,…`.
    pub fn tally(&self) -> String {
        let calls = self.calls();
        let count = |fate: Fate| calls.iter().filter(|call| call.fate == fate).count();
        [
            ("pass", Fate::Pass),
            ("500", Fate::ServerError),
            ("429", Fate::RateLimited),
            ("hang", Fate::Hang),
            ("drop_before", Fate::DropBefore),
            ("drop_after", Fate::DropAfter),
        ]
        .map(|(name, fate)| format!("{name}:{}", count(fate)))
        .join(",")
    }
}

impl State {
    fn decide(&self) -> Fate {
        let mut rng = self.rng.lock().unwrap();
        if rng.f64() < self.rate {
            FAULTS[rng.usize(..FAULTS.len())]
        } else {
            Fate::Pass
        }
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let fate = state.decide();
    let route = format!("{} {}", request.method(), request.uri().path());
    state.calls.lock().unwrap().push(Call { route, fate });
    match fate {
        Fate::ServerError => Ok(answer(500, "application/problem+json", SERVER_ERROR, None)),
        Fate::RateLimited => Ok(answer(
            429,
            "application/json",
            r#"{"message":"You are being rate limited."}"#,
            Some("1"),
        )),
        Fate::DropBefore => Err(Dropped),
        Fate::Pass | Fate::Hang | Fate::DropAfter => {
            let forwarded = forward(&state, request).await?;
            match fate {
                Fate::DropAfter => Err(Dropped),
                Fate::Hang => {
                    tokio::time::sleep(state.hang).await;
                    Ok(forwarded)
                }
                _ => Ok(forwarded),
            }
        }
    }
}

/// Sends the request on to the fake and returns its answer.
async fn forward(state: &State, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = state
        .http
        .request(parts.method, format!("{}{path}", state.upstream))
        .body(body);
    for name in ["authorization", "content-type", "accept"] {
        if let Some(value) = parts.headers.get(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let upstream = outgoing.send().await.map_err(|_| Dropped)?;
    let status = upstream.status().as_u16();
    let content_type = upstream
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let body = upstream.bytes().await.map_err(|_| Dropped)?;
    let mut response = Response::builder().status(status);
    if !body.is_empty() {
        response = response.header("content-type", content_type);
    }
    Ok(response.body(Full::new(body)).unwrap())
}

fn answer(status: u16, content_type: &str, body: &'static str, retry_after: Option<&str>) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status).header("content-type", content_type);
    if let Some(seconds) = retry_after {
        response = response.header("retry-after", seconds);
    }
    response.body(Full::new(Bytes::from_static(body.as_bytes()))).unwrap()
}
