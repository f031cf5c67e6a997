//! Signing in and out: the session cookie, its ends, the limits on attempts, and the refusals of
//! requests from other sites.

use diesel::prelude::*;
use tenantgate::db::schema::console_sessions;
use tenantgate::with_conn;

use super::*;
use crate::on_both_backends;

on_both_backends! {
    async fn the_root_leads_to_the_console_and_the_console_to_sign_in(backend) {
        let app = spawn_console_app(backend).await;
        let root = page_of(no_redirects().get(format!("{}/", app.address)).send().await.unwrap()).await;
        assert_eq!((root.status, root.location.as_deref()), (303, Some("/console")));
        let events = page_of(no_redirects().get(format!("{}/console/events?status=dead", app.address)).send().await.unwrap()).await;
        assert_eq!(events.status, 303);
        assert_eq!(
            events.location.as_deref(),
            Some("/console/sign-in?next=%2Fconsole%2Fevents%3Fstatus%3Ddead"),
            "the sign-in page brings the operator back to the page asked for"
        );
        let form = page_of(no_redirects().get(format!("{}/console/sign-in", app.address)).send().await.unwrap()).await;
        assert_eq!(form.status, 200);
        form.shows(r#"type="password" name="token""#);
    }

    async fn a_valid_token_opens_a_strict_http_only_session_and_a_wrong_one_is_told_so(backend) {
        let app = spawn_console_app(backend).await;
        let wrong = page_of(post_sign_in(&app, "not-a-token", "/console").await).await;
        assert_eq!(wrong.status, 401);
        wrong.shows("not one of the configured admin tokens");

        let response = post_sign_in(&app, OPERATOR_TOKEN, "/console/events?status=dead").await;
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(response.headers()["location"], "/console/events?status=dead");
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"] {
            assert!(cookie.contains(flag), "{flag} missing: {cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain http: a Secure cookie would never come back");
        assert!(!cookie.contains(OPERATOR_TOKEN), "the cookie is not the token");

        let forwarded = |app: &TestApp| {
            no_redirects()
                .post(format!("{}/console/sign-in", app.address))
                .header("x-forwarded-proto", "https")
                .form(&[("token", OPERATOR_TOKEN)])
                .send()
        };
        let https = forwarded(&app).await.unwrap();
        let cookie = https.headers()["set-cookie"].to_str().unwrap();
        assert!(!cookie.contains("Secure"), "anyone may send X-Forwarded-Proto: only a trusted proxy is believed: {cookie}");
        let proxied = spawn_console_app_with(backend, |s| s.sources.frontegg.trusted_proxies = vec!["127.0.0.1".into()]).await;
        let https = forwarded(&proxied).await.unwrap();
        let cookie = https.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("Secure"), "behind an https proxy the cookie is Secure: {cookie}");
    }

    async fn sign_in_goes_on_only_to_console_pages(backend) {
        let app = spawn_console_app(backend).await;
        for next in ["//evil.example/console", "https://evil.example/", "/console/../api/admin/events//x", "/api/admin/events", "/console/\x01x", "/console/\t/evil.example"] {
            let response = post_sign_in(&app, OPERATOR_TOKEN, next).await;
            assert_eq!(response.headers()["location"], "/console", "{next}");
        }
    }

    async fn failed_sign_ins_are_limited_per_address_and_never_lock_out_another(backend) {
        let app = spawn_console_app_with(backend, |s| {
            s.console.sign_in_attempts_per_minute = 2;
            // Clients told apart by the address the (trusted) proxy forwards.
            s.sources.frontegg.trusted_proxies = vec!["127.0.0.1".into()];
        })
        .await;
        let attempt = |token: &'static str, from: &'static str| {
            no_redirects()
                .post(format!("{}/console/sign-in", app.address))
                .header("x-forwarded-for", from)
                .form(&[("token", token)])
                .send()
        };
        for _ in 0..2 {
            assert_eq!(attempt("wrong", "203.0.113.1").await.unwrap().status().as_u16(), 401);
        }
        let response = attempt(OPERATOR_TOKEN, "203.0.113.1").await.unwrap();
        assert_eq!(response.status().as_u16(), 429, "the failing address is refused, even with the right token");
        let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=61).contains(&wait), "until its minute ends: {wait}");
        page_of(response).await.shows("too many sign-in attempts");
        for _ in 0..3 {
            assert_eq!(attempt(OPERATOR_TOKEN, "203.0.113.2").await.unwrap().status().as_u16(), 303, "successes are not counted");
        }
        assert_eq!(attempt(OPERATOR_TOKEN, "203.0.113.2").await.unwrap().status().as_u16(), 303, "another address signs in");
    }

    async fn signing_out_ends_this_session_only_and_everywhere_ends_every_session_of_the_token(backend) {
        let app = spawn_console_app(backend).await;
        let first = sign_in(&app, OPERATOR_TOKEN).await;
        let second = sign_in(&app, OPERATOR_TOKEN).await;
        let viewer = sign_in(&app, VIEWER_TOKEN).await;

        // Signing in again from a browser ends the session its old cookie held.
        let again = no_redirects()
            .post(format!("{}/console/sign-in", app.address))
            .header("cookie", &second.cookie)
            .form(&[("token", OPERATOR_TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status().as_u16(), 303);
        assert_eq!(second.get("/console").await.status, 303, "the old cookie opens nothing");
        let second = sign_in(&app, OPERATOR_TOKEN).await;

        let out = first.post("/console/sign-out", &[]).await;
        assert_eq!((out.status, out.location.as_deref()), (303, Some("/console/sign-in")));
        assert_eq!(first.get("/console").await.status, 303, "signed out");
        assert_eq!(second.get("/console").await.status, 200, "another session goes on");

        let third = sign_in(&app, OPERATOR_TOKEN).await;
        assert_eq!(third.post("/console/sign-out-everywhere", &[]).await.status, 303);
        assert_eq!(second.get("/console").await.status, 303, "every session of the token ended");
        assert_eq!(third.get("/console").await.status, 303);
        assert_eq!(viewer.get("/console").await.status, 200, "another token's sessions go on");
    }

    async fn a_session_ends_when_it_expires_or_its_token_leaves_the_configuration(backend) {
        let app = spawn_console_app(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;

        // The same database served by an instance that no longer has the operator token.
        let rotated = spawn_instance(&app, |s| {
            s.admin.tokens = vec!["a-new-operator-token-0123456789abcdef".to_owned().into()];
        })
        .await;
        let elsewhere = Browser { address: rotated.address.clone(), client: no_redirects(), cookie: browser.cookie.clone(), csrf: browser.csrf.clone() };
        assert_eq!(elsewhere.get("/console").await.status, 303, "the token is gone: so is its session");
        assert_eq!(browser.get("/console").await.status, 200);

        let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
        app.db
            .run(move |c| {
                with_conn!(c, |c| diesel::update(console_sessions::table)
                    .set(console_sessions::expires_at.eq(past))
                    .execute(c))?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(browser.get("/console").await.status, 303, "expired");
    }

    async fn the_cookie_value_is_stored_only_as_a_digest(backend) {
        let app = spawn_console_app(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let value = browser.cookie.split_once('=').unwrap().1.to_owned();
        let ids: Vec<String> = app
            .db
            .run(|c| with_conn!(c, |c| Ok(console_sessions::table.select(console_sessions::id).load(c)?)))
            .await
            .unwrap();
        assert_eq!(ids.len(), 1);
        assert_ne!(ids[0], value);
        assert!(!ids[0].contains(&value));
    }

    async fn actions_from_another_site_or_without_the_sessions_token_are_refused(backend) {
        let app = spawn_console_app(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let csrf = browser.csrf.clone();
        type Fields<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Fields, Fields, &str); 4] = [
            (&[("csrf", "forged")], &[], "not from this session"),
            (&[("csrf", &csrf)], &[("origin", "https://evil.example")], "another origin"),
            (&[("csrf", &csrf)], &[("sec-fetch-site", "cross-site")], "another site"),
            (&[("csrf", &csrf)], &[("origin", "null")], "another origin"),
        ];
        for (form, headers, why) in cases {
            let answer = browser.post_exactly("/console/sign-out-everywhere", form, headers).await;
            assert_eq!(answer.status, 403, "{why}: {}", answer.body);
            answer.shows(why);
        }
        assert_eq!(browser.get("/console").await.status, 200, "nothing was done");
        let same_site = browser
            .post_exactly("/console/sign-out", &[("csrf", &csrf)], &[("origin", &app.address), ("sec-fetch-site", "same-origin")])
            .await;
        assert_eq!(same_site.status, 303, "our own form goes through");

        let cross_sign_in = no_redirects()
            .post(format!("{}/console/sign-in", app.address))
            .header("origin", "https://evil.example")
            .form(&[("token", OPERATOR_TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(cross_sign_in.status().as_u16(), 403, "no sign-in made by another site");

        // Forwarding headers are believed from a trusted proxy only: anyone else cannot make
        // another origin look like ours.
        let claimed = browser
            .post_exactly("/console/sign-out", &[("csrf", &csrf)], &[("origin", "https://evil.example"), ("x-forwarded-host", "evil.example")])
            .await;
        assert_eq!(claimed.status, 403);
    }

    async fn every_page_carries_a_strict_policy_and_no_inline_script(backend) {
        let app = spawn_console_app(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        for path in ["/console", "/console/events", "/console/sign-in"] {
            let response = no_redirects()
                .get(format!("{}{path}", app.address))
                .header("cookie", &browser.cookie)
                .send()
                .await
                .unwrap();
            let headers = response.headers().clone();
            assert_eq!(headers["content-security-policy"], tenantgate::console::CONTENT_SECURITY_POLICY, "{path}");
            assert_eq!(headers["x-frame-options"], "DENY");
            assert_eq!(headers["cache-control"], "no-store");
            let body = response.text().await.unwrap();
            assert!(!body.contains("<script>") && !body.contains("style="), "{path}: inline script or style");
            assert!(!body.contains("http://") && !body.contains("https://"), "{path}: a third-party address");
        }
        let policy = tenantgate::console::CONTENT_SECURITY_POLICY;
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline") && policy.contains("frame-ancestors 'none'"));
        for (asset, kind) in [("console.css", "text/css"), ("console.js", "text/javascript"), ("icon.svg", "image/svg+xml")] {
            let response = reqwest::get(format!("{}/console/assets/{asset}", app.address)).await.unwrap();
            assert_eq!(response.status(), 200);
            assert!(response.headers()["content-type"].to_str().unwrap().starts_with(kind));
        }
        assert_eq!(reqwest::get(format!("{}/console/assets/../Cargo.toml", app.address)).await.unwrap().status(), 404);
    }

    async fn a_form_that_cannot_be_read_is_answered_with_a_400_page(backend) {
        let app = spawn_console_app(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let missing = browser.post_exactly("/console/sign-out", &[], &[]).await;
        assert_eq!(missing.status, 400);
        missing.shows("the form could not be read").shows("<html");
        let plain = no_redirects()
            .post(format!("{}/console/sign-in", app.address))
            .header("content-type", "text/plain")
            .body("token=x")
            .send()
            .await
            .unwrap();
        assert_eq!(plain.status().as_u16(), 400);
        assert_eq!(plain.headers()["content-security-policy"], tenantgate::console::CONTENT_SECURITY_POLICY);
    }

    async fn a_wrong_method_is_answered_405_with_the_methods_there_are(backend) {
        let app = spawn_console_app(backend).await;
        let response = no_redirects().delete(format!("{}/console/events", app.address)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 405);
        assert_eq!(response.headers()["allow"], "GET");
        let response = no_redirects().get(format!("{}/console/sign-out", app.address)).send().await.unwrap();
        assert_eq!(response.headers()["allow"], "POST");
    }
}
