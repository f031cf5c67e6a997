//! `tenantgate reconcile` as an operator runs it: the real binary on a test's database.

use super::*;
use crate::binary::run_on_database;
use crate::on_both_backends;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

on_both_backends! {
    async fn the_command_prints_the_drift_of_a_dry_run_then_applies_and_lists_its_runs(backend) {
        let w = World::start(backend).await;
        w.frontegg.add_tenant("t-cli", "Cli Co");
        let url = w.app.database_url.clone();
        let with_frontegg = |args: &[&str]| {
            let mut all = vec!["reconcile"];
            all.extend_from_slice(args);
            all.iter().map(|a| a.to_string()).collect::<Vec<_>>()
        };
        let env = [
            ("TENANTGATE__RECONCILE__FRONTEGG__BASE_URL", w.frontegg.base_url()),
            ("TENANTGATE__RECONCILE__FRONTEGG__CLIENT_ID", CLIENT_ID.to_owned()),
            ("TENANTGATE__RECONCILE__FRONTEGG__SECRET", API_KEY.to_owned()),
        ];
        let dry = run_with_env(&url, &with_frontegg(&[]), &env).await;
        let out = text(&dry.stdout);
        assert!(dry.status.success(), "{out}{}", text(&dry.stderr));
        assert!(out.contains("dry run: nothing changed") && out.contains("unprovisioned_tenant") && out.contains("would repair"), "{out}");
        assert!(w.app.events().await.is_empty());

        let applied = run_with_env(&url, &with_frontegg(&["--apply"]), &env).await;
        let out = text(&applied.stdout);
        assert!(applied.status.success(), "{out}{}", text(&applied.stderr));
        assert!(out.contains("queued event"), "{out}");
        let run_id: String = out["reconcile run ".len()..].chars().take_while(char::is_ascii_digit).collect();
        assert_eq!(w.app.events().await.len(), 1);
        assert!(!out.contains(API_KEY) && !text(&applied.stderr).contains(API_KEY));

        let runs = run_on_database(&url, &["reconcile", "runs"]).await;
        let out = text(&runs.stdout);
        assert!(out.contains("apply") && out.contains("dry run") && out.contains("cli"), "{out}");
        let shown = run_on_database(&url, &["reconcile", "show", &run_id, "--json"]).await;
        let json: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(json["drifts"][0]["action"], "queued");
    }

    async fn the_command_without_frontegg_credentials_names_the_keys(backend) {
        let w = World::start(backend).await;
        let out = run_on_database(&w.app.database_url, &["reconcile"]).await;
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("TENANTGATE__RECONCILE__FRONTEGG__SECRET"), "{}", text(&out.stderr));
    }
}

async fn run_with_env(url: &str, args: &[String], env: &[(&str, String)]) -> std::process::Output {
    let (url, args, env) = (
        url.to_owned(),
        args.to_vec(),
        env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>(),
    );
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = crate::binary::tenantgate(dir.path(), &args);
        command
            .env("DATABASE_URL", url)
            .env(
                "TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS",
                crate::helpers::TEST_ENCRYPTION_KEY,
            )
            .envs(env);
        crate::binary::run(command)
    })
    .await
    .unwrap()
}
