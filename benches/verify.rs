//! Micro-benchmarks of `Verifier::verify`, one per scheme, on a ~1 KiB Frontegg body
//! (`fixtures/frontegg/user-activated.json`) signed with `tenantgate::verify::sign`.
//!
//! Each verifier has one scheme and two secrets, and the request is signed with the second one:
//! the worst case while a secret is being rotated. `hmac-sha256/invalid-signature` is signed with
//! a third secret, so every secret is tried and the request is refused.
//!
//! Run: `cargo bench --bench verify` (a short run: `cargo bench --bench verify -- --quick`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secrecy::SecretString;
use tenantgate::verify::{sign, Scheme, Verifier, VerifyError, VerifyOptions};

const BODY: &[u8] = include_bytes!("../fixtures/frontegg/user-activated.json");
const NOW: i64 = 1_700_000_000;
const NEW_SECRET: &str = "new-secret-after-rotation";
const OLD_SECRET: &str = "old-secret-before-rotation";

fn verifier(scheme: Scheme) -> Verifier {
    let secrets = [NEW_SECRET, OLD_SECRET].map(|s| SecretString::from(s.to_string()));
    Verifier::new(vec![scheme], secrets.to_vec(), VerifyOptions::default())
}

fn headers(scheme: Scheme, secret: &str) -> Vec<(String, String)> {
    sign(scheme, secret, BODY, NOW, "msg_bench", &VerifyOptions::default())
}

fn bench_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Bytes(BODY.len() as u64));
    for scheme in Scheme::ALL {
        let (verifier, headers) = (verifier(scheme), headers(scheme, OLD_SECRET));
        assert_eq!(verifier.verify(BODY, &headers, NOW).map(|v| v.scheme), Ok(scheme));
        group.bench_function(scheme.as_str(), |b| {
            b.iter(|| verifier.verify(black_box(BODY), black_box(&headers), black_box(NOW)))
        });
    }
    let verifier = verifier(Scheme::HmacSha256);
    let forged = headers(Scheme::HmacSha256, "not-a-configured-secret");
    assert_eq!(verifier.verify(BODY, &forged, NOW), Err(VerifyError::InvalidSignature));
    group.bench_function("hmac-sha256/invalid-signature", |b| {
        b.iter(|| verifier.verify(black_box(BODY), black_box(&forged), black_box(NOW)))
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
