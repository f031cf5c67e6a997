//! `tenantgate bench ingest` against a running `tenantgate serve`: every request it reports as
//! answered 2xx is stored, and its report adds up.

use tenantgate::db::Database;
use tenantgate::inbox;

use crate::binary::{run, tenantgate, Server};

#[test]
fn bench_ingest_sends_the_requested_count_and_each_acknowledged_delivery_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = tenantgate(dir.path(), &["serve"]);
    serve.env("TENANTGATE__WORKER__ENABLED", "false");
    let server = Server::start(serve);
    let output = run(tenantgate(
        dir.path(),
        &[
            "bench",
            "ingest",
            "--url",
            &server.address,
            "--scheme",
            "hmac-sha256",
            "--count",
            "300",
            "--concurrency",
            "8",
            "--json",
        ],
    ));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    assert_eq!(
        (report["sent"].as_u64(), report["ok"].as_u64()),
        (Some(300), Some(300)),
        "{report}"
    );
    assert_eq!(
        (report["non_2xx"].as_u64(), report["errors"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(report["p50_ms"].as_f64().unwrap() <= report["p99_ms"].as_f64().unwrap());

    let db = Database::connect(
        &format!("sqlite://{}", dir.path().join("data/tenantgate.db").display()),
        1,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let stored = inbox::all(&mut db.get().unwrap()).unwrap();
    assert_eq!(stored.len(), 300, "every acknowledged delivery is in the inbox");
    drop(server);
}
