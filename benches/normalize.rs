//! Micro-benchmarks of `tenantgate::events::normalize` (parse + normalize a raw webhook body) on
//! every fixture of `fixtures/frontegg` and `fixtures/flat`, plus the refusal of
//! `fixtures/bad/malformed.json`. One benchmark per fixture, named after its path.
//!
//! Run: `cargo bench --bench normalize` (a short run: `cargo bench --bench normalize -- --quick`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tenantgate::events::normalize;

/// `(name, body)` for `fixtures/<name>.json`, embedded at compile time.
macro_rules! fixture {
    ($name:literal) => {
        ($name, include_bytes!(concat!("../fixtures/", $name, ".json")))
    };
}

/// Bodies that normalize to an event (an ignored one included).
const VALID: &[(&str, &[u8])] = &[
    fixture!("frontegg/sso-configured"),
    fixture!("frontegg/tenant-created"),
    fixture!("frontegg/tenant-deleted"),
    fixture!("frontegg/tenant-updated"),
    fixture!("frontegg/user-activated"),
    fixture!("frontegg/user-authenticated-ignored"),
    fixture!("frontegg/user-created"),
    fixture!("frontegg/user-deleted"),
    fixture!("frontegg/user-invited-to-tenant"),
    fixture!("frontegg/user-joined-tenant-using-invitation-link"),
    fixture!("frontegg/user-removed-from-tenant"),
    fixture!("flat/sso-configured"),
    fixture!("flat/sso-updated"),
    fixture!("flat/tenant-created"),
    fixture!("flat/tenant-deleted"),
    fixture!("flat/tenant-updated"),
    fixture!("flat/user-activated"),
    fixture!("flat/user-deactivated"),
];

const MALFORMED: (&str, &[u8]) = fixture!("bad/malformed");

fn bench_normalize(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalize");
    for &(name, body) in VALID.iter().chain([&MALFORMED]) {
        let expect_ok = name != MALFORMED.0;
        assert_eq!(normalize(body).is_ok(), expect_ok, "{name}: {:?}", normalize(body));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| b.iter(|| normalize(black_box(body))));
    }
    group.finish();
}

criterion_group!(benches, bench_normalize);
criterion_main!(benches);
