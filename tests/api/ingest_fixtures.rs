//! Every shipped fixture is accepted when signed with each scheme and lands in the inbox with
//! the expected kind, tenant id and user id.

use serde::Deserialize;
use tenantgate::verify::Scheme;

use crate::helpers::*;
use crate::on_both_backends;

#[derive(Debug, Deserialize)]
struct Expected {
    file: String,
    kind: String,
    tenant_id: Option<String>,
    user_id: Option<String>,
}

fn expected() -> Vec<Expected> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

on_both_backends! {
    async fn every_fixture_is_accepted_with_every_scheme_and_stored_as_expected(backend) {
        let fixtures = expected();
        assert!(fixtures.len() >= 15, "expected.json lists {} fixtures", fixtures.len());
        for scheme in Scheme::ALL {
            let app = spawn_app_with(backend, |s| s.sources.frontegg.schemes = vec![scheme]).await;
            for fixture in &fixtures {
                let path = format!("{}/fixtures/{}", env!("CARGO_MANIFEST_DIR"), fixture.file);
                let body = std::fs::read(&path).unwrap();
                let response = app.post_signed(scheme, &body).await;
                let status = response.status();
                let receipt: serde_json::Value = response.json().await.unwrap();
                assert_eq!(status, 200, "{scheme} {}: {receipt}", fixture.file);
                let id = receipt["event_id"].as_i64().unwrap();
                let row = app.events().await.into_iter().find(|e| e.id == id).unwrap();
                let got = (row.kind.as_str(), row.tenant_id.as_deref(), row.user_id.as_deref());
                let want = (fixture.kind.as_str(), fixture.tenant_id.as_deref(), fixture.user_id.as_deref());
                assert_eq!(got, want, "{scheme} {}", fixture.file);
            }
        }
    }
}
