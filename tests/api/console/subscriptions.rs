//! The subscriptions pages: the list with health, create (the secret shown once), edit, pause and
//! resume, rotate, test send, delete, the delivery log with its attempts and redeliver; roles and
//! forged forms.

use diesel::prelude::*;
use serde_json::{json, Value};
use tenantgate::db::schema::notification_subscriptions as subs;
use tenantgate::with_conn;
use wiremock::ResponseTemplate;

use super::*;
use crate::notifications::{delivering_fast, tenant_created, verified, Receiver, WAIT};
use crate::on_both_backends;

/// The console's application with the workers and the dispatcher on, short retries, and
/// receivers on this machine allowed.
async fn spawn_notifying_console(backend: Backend) -> TestApp {
    spawn_console_app_with(backend, delivering_fast).await
}

/// The text of `<code id="secret">` on a page.
fn secret_on(page: &Page) -> String {
    let at = page.body.find(r#"id="secret""#).expect("the secret is on the page");
    let rest = &page.body[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..].split('<').next().unwrap().to_owned()
}

/// The first subscription id linked from a page, or the one its `Location` names.
fn subscription_on(page: &Page) -> String {
    let text = page.location.as_deref().unwrap_or(&page.body);
    let at = text.find("/console/subscriptions/sub_").expect("a subscription link") + "/console/subscriptions/".len();
    text[at..].split(['"', '?', '/', '#']).next().unwrap().to_owned()
}

/// The audit trail's actions about subscriptions, in order.
async fn audit_actions(app: &TestApp) -> Vec<String> {
    use tenantgate::db::schema::audit_log;
    let all = app
        .db
        .run(|conn| {
            Ok(with_conn!(conn, |c| audit_log::table
                .order(audit_log::id)
                .select(audit_log::action)
                .load::<String>(c))?)
        })
        .await
        .unwrap();
    all.into_iter().filter(|a| a.starts_with("subscription")).collect()
}

async fn subscription(app: &TestApp, id: &str) -> Value {
    let (status, body) = app
        .admin_get(&format!("/api/admin/notifications/subscriptions/{id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Every action a subscription's page offers, with what it posts.
fn actions(id: &str, delivery: i64) -> Vec<(String, Vec<(&'static str, String)>)> {
    let base = format!("/console/subscriptions/{id}");
    let edit = vec![
        ("url", "http://127.0.0.1:9/other".to_owned()),
        ("event_types", "*".to_owned()),
    ];
    vec![
        ("/console/subscriptions".to_owned(), edit.clone()),
        (base.clone(), edit),
        (format!("{base}/pause"), vec![]),
        (format!("{base}/resume"), vec![]),
        (format!("{base}/rotate"), vec![]),
        (format!("{base}/test"), vec![]),
        (format!("{base}/delete"), vec![]),
        (format!("/console/deliveries/{delivery}/redeliver"), vec![]),
    ]
}

on_both_backends! {
    async fn the_list_shows_each_subscription_with_its_health(backend) {
        let app = spawn_notifying_console(backend).await;
        let (active, paused, gone) = (
            app.subscribe("http://127.0.0.1:9/a", &["*"], None).await,
            app.subscribe("http://127.0.0.1:9/b", &["user.activated"], Some("t-only")).await,
            app.subscribe("http://127.0.0.1:9/c", &["*"], None).await,
        );
        let path = format!("/api/admin/notifications/subscriptions/{}", paused.id);
        app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"active": false, "name": "CRM sync"}))).await;
        let since = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap().and_hms_opt(8, 0, 0).unwrap();
        let (a, g) = (active.id.clone(), gone.id.clone());
        app.db
            .run(move |conn| {
                with_conn!(conn, |c| {
                    diesel::update(subs::table.find(a)).set(subs::failing_since.eq(Some(since))).execute(c)?;
                    diesel::update(subs::table.find(g))
                        .set((subs::active.eq(false), subs::disabled_reason.eq(Some("the endpoint answered 410 Gone"))))
                        .execute(c)
                })?;
                Ok(())
            })
            .await
            .unwrap();

        let operator = sign_in(&app, OPERATOR_TOKEN).await;
        let page = operator.get("/console/subscriptions").await;
        assert_eq!(page.status, 200);
        page.shows(&format!(r#"href="/console/subscriptions/{}""#, active.id))
            .shows("2026-11-30 08:00:00")
            .shows(r#"<span class="error">failing</span>"#)
            .shows("CRM sync")
            .shows("user.activated")
            .shows("t-only")
            .shows("badge s-paused")
            .shows("paused by an operator")
            .shows("badge s-disabled")
            .shows("the endpoint answered 410 Gone")
            .shows(r#"href="/console/subscriptions/new""#);
        let viewer = sign_in(&app, VIEWER_TOKEN).await;
        let page = viewer.get("/console/subscriptions").await;
        assert_eq!(page.status, 200);
        page.shows("CRM sync").lacks("New subscription");
    }

    async fn creating_a_subscription_shows_its_secret_once_and_deliveries_verify_with_it(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_console(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let form = browser.get("/console/subscriptions/new").await;
        assert_eq!(form.status, 200);
        form.shows(r#"action="/console/subscriptions""#).shows(r#"value="workspace.provisioned""#);

        let fields = [
            ("csrf", browser.csrf.as_str()), ("name", "CRM sync"), ("url", &receiver.url()),
            ("event_types", "workspace.provisioned"), ("event_types", "user.activated"),
            ("tenant_id", ""), ("description", "the CRM"), ("request_timeout_ms", "2000"), ("max_attempts", "3"),
        ];
        let response = browser
            .client
            .post(format!("{}/console/subscriptions", app.address))
            .header(reqwest::header::COOKIE, &browser.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap();
        let answer = page_of(response).await;
        let id = subscription_on(&answer);
        let shown_at = format!("/console/subscriptions/{id}/secret?made=created");
        assert_eq!(answer.location.as_deref(), Some(shown_at.as_str()), "to a page of its own: a reload repeats nothing");
        let response = browser.client.get(format!("{}{shown_at}", app.address)).header(reqwest::header::COOKIE, &browser.cookie).send().await.unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store");
        let created = page_of(response).await;
        assert_eq!(created.status, 200, "{}", created.body);
        created.shows("Subscription created").shows(r#"data-copy="secret""#).shows("it will not be shown again");
        let secret = secret_on(&created);
        assert!(secret.starts_with("whsec_"), "{secret}");
        let reloaded = browser.get(&shown_at).await;
        assert_eq!(reloaded.status, 410, "{}", reloaded.body);
        reloaded.shows("Secret no longer shown").shows("rotate it").lacks(&secret).lacks(r#"id="secret""#);
        let viewer = sign_in(&app, VIEWER_TOKEN).await;
        viewer.get(&shown_at).await.lacks(&secret).shows("Secret no longer shown");
        assert_eq!(browser.get("/console/subscriptions/sub_nope/secret?made=created").await.status, 404);
        assert_eq!(browser.get(&format!("/console/subscriptions/{id}/secret?made=lost")).await.status, 400);
        assert_eq!(crate::cli_events::audit_entries(&app.db, "subscription.created").await.len(), 1, "one subscription, made once");

        let stored = subscription(&app, &id).await;
        assert_eq!(
            (&stored["name"], &stored["url"], &stored["event_types"], &stored["tenant_id"], &stored["description"], &stored["request_timeout_ms"], &stored["max_attempts"]),
            (&json!("CRM sync"), &json!(receiver.url()), &json!(["user.activated", "workspace.provisioned"]), &Value::Null, &json!("the CRM"), &json!(2000), &json!(3))
        );
        let detail = browser.get(&format!("/console/subscriptions/{id}")).await;
        assert_eq!(detail.status, 200);
        detail.shows("CRM sync").shows("the CRM").lacks(&secret).lacks(r#"id="secret""#);
        assert!(!browser.get("/console/subscriptions").await.body.contains(&secret));

        app.deliver(&tenant_created("t-console")).await;
        let request = &receiver.wait_for(1).await[0];
        let envelope = verified(&secret, request).expect("a delivery verifies with the secret shown");
        assert_eq!(envelope["type"], "workspace.provisioned");
        assert_eq!(audit_actions(&app).await.iter().filter(|a| *a == "subscription.created").count(), 1);
    }

    async fn mistakes_in_the_form_are_shown_on_it_and_nothing_is_created(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_console_app_with(backend, |s| s.notifications.allowed_private_networks = vec![]).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let cases = [
            ("not a url", "*", "", "is not a valid URL", "an unparseable URL"),
            ("https://8.8.8.8/hook", "workspace.exploded", "", "unknown notification type `workspace.exploded`", "an unknown type"),
            ("https://8.8.8.8/hook", "", "", "event_types must name at least one type", "no type"),
            ("https://8.8.8.8/hook", "*", "many", "max_attempts must be a whole number", "a word for a number"),
            ("https://8.8.8.8/hook", "*", "99", "max_attempts must be between 1 and 50", "too many attempts"),
            (&receiver.url(), "*", "", "a loopback, private or link-local address", "a private address the destination rules refuse"),
        ];
        for (url, types, attempts, message, why) in cases {
            let page = browser
                .post("/console/subscriptions", &[("url", url), ("event_types", types), ("max_attempts", attempts), ("name", "kept")])
                .await;
            assert_eq!(page.status, 422, "{why}: {}", page.body);
            page.shows(message).shows(r#"role="alert""#).shows(r#"value="kept""#).lacks(r#"id="secret""#);
        }
        let (_, listed) = app.admin_get("/api/admin/notifications/subscriptions").await;
        assert_eq!(listed["subscriptions"], json!([]), "nothing was created");
        assert!(receiver.requests().await.is_empty());
    }

    async fn editing_pausing_and_resuming_change_the_subscription(backend) {
        let app = spawn_notifying_console(backend).await;
        let sub = app.subscribe("http://127.0.0.1:9/a", &["*"], Some("t-1")).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let path = format!("/console/subscriptions/{}", sub.id);
        let detail = browser.get(&path).await;
        detail.shows(r#"value="t-1""#).shows(&format!(r#"action="{path}/pause""#)).shows("Edit");

        let page = browser
            .post(&path, &[("name", "Billing"), ("url", "http://127.0.0.1:9/b"), ("event_types", "sso.changed"),
                           ("event_types", "user.activated"), ("tenant_id", ""), ("description", "bills"),
                           ("request_timeout_ms", "1500"), ("max_attempts", "")])
            .await;
        assert_eq!((page.status, page.location.as_deref()), (303, Some(format!("{path}?done=updated").as_str())), "{}", page.body);
        let stored = subscription(&app, &sub.id).await;
        assert_eq!(
            (&stored["name"], &stored["url"], &stored["event_types"], &stored["tenant_id"], &stored["description"], &stored["request_timeout_ms"], &stored["max_attempts"]),
            (&json!("Billing"), &json!("http://127.0.0.1:9/b"), &json!(["sso.changed", "user.activated"]), &Value::Null, &json!("bills"), &json!(1500), &Value::Null)
        );
        browser.get(&format!("{path}?done=updated")).await.shows("Saved.").shows("Billing");

        let refused = browser.post(&path, &[("url", "http://127.0.0.1:9/b"), ("event_types", "nope")]).await;
        assert_eq!(refused.status, 422);
        refused.shows("unknown notification type `nope`");
        assert_eq!(subscription(&app, &sub.id).await["event_types"], json!(["sso.changed", "user.activated"]));

        let paused = browser.post(&format!("{path}/pause"), &[]).await;
        assert_eq!((paused.status, paused.location.as_deref()), (303, Some(format!("{path}?done=paused").as_str())));
        let stored = subscription(&app, &sub.id).await;
        assert_eq!((&stored["active"], &stored["disabled_reason"]), (&json!(false), &json!("paused by an operator")));
        browser.get(&format!("{path}?done=paused")).await.shows("Paused: no notification").shows("badge s-paused").shows(&format!(r#"action="{path}/resume""#));

        let resumed = browser.post(&format!("{path}/resume"), &[]).await;
        assert_eq!((resumed.status, resumed.location.as_deref()), (303, Some(format!("{path}?done=resumed").as_str())));
        let stored = subscription(&app, &sub.id).await;
        assert_eq!((&stored["active"], &stored["disabled_reason"]), (&json!(true), &Value::Null));
        assert_eq!(audit_actions(&app).await.iter().filter(|a| *a == "subscription.updated").count(), 3, "edit, pause, resume");
    }

    async fn a_secret_page_shows_what_this_sessions_action_made_and_a_later_action_takes_its_place(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_console(backend).await;
        let a = app.subscribe(&receiver.url(), &["*"], None).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let rotate = |id: &str| format!("/console/subscriptions/{id}/rotate");

        // Rotated in the console, then through the API before the page is opened: the page shows
        // the secret the console made, which keeps signing, as the previous one, for the grace.
        let answer = browser.post(&rotate(&a.id), &[]).await;
        let (status, by_api) = app.admin_post(&format!("/api/admin/notifications/subscriptions/{}/rotate-secret", a.id), json!({})).await;
        assert_eq!(status, 200, "{by_api}");
        let shown = secret_on(&browser.follow(&answer).await);
        assert!(shown.starts_with("whsec_") && shown != by_api["secret"] && shown != a.secret, "{shown}");
        assert_eq!(browser.post(&format!("/console/subscriptions/{}/test", a.id), &[]).await.status, 200);
        let request = &receiver.requests().await[0];
        verified(&shown, request).expect("the secret shown signs the test send");
        verified(by_api["secret"].as_str().unwrap(), request).expect("and so does the API's");

        // Two actions before either page is opened: the later one's page shows its secret.
        let b = app.subscribe("http://127.0.0.1:9/b", &["*"], None).await;
        let first = browser.post(&rotate(&a.id), &[]).await;
        let second = browser.post(&rotate(&b.id), &[]).await;
        assert_eq!(browser.follow(&first).await.status, 410);
        let page = browser.follow(&second).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(secret_on(&page).starts_with("whsec_"));
        // Another session of the same token is shown nothing.
        let other = sign_in(&app, OPERATOR_TOKEN).await;
        let answer = browser.post(&rotate(&b.id), &[]).await;
        assert_eq!(other.follow(&answer).await.status, 410);
        assert_eq!(browser.follow(&answer).await.status, 200);
    }

    async fn rotating_shows_the_new_secret_once_and_a_test_send_shows_the_answer_signed_with_it(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_console(backend).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let path = format!("/console/subscriptions/{}", sub.id);
        browser.get(&path).await.shows(">Rotate secret<").shows(&format!(r#"action="{path}/rotate""#));

        let rotated = browser.follow(&browser.post(&format!("{path}/rotate"), &[]).await).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        rotated.shows("Secret rotated").shows("it will not be shown again").shows("keeps signing too");
        let secret = secret_on(&rotated);
        assert!(secret.starts_with("whsec_") && secret != sub.secret, "{secret}");
        let detail = browser.get(&path).await;
        detail.lacks(&secret).lacks(r#"id="secret""#).shows("signs too until");

        let tested = browser.post(&format!("{path}/test"), &[]).await;
        assert_eq!(tested.status, 200, "{}", tested.body);
        tested.shows("HTTP 200").shows("The endpoint accepted").shows("thanks").lacks(&secret);
        let request = &receiver.requests().await[0];
        let envelope = verified(&secret, request).expect("the test send verifies with the new secret");
        assert_eq!(envelope["type"], "subscription.test");
        verified(&sub.secret, request).expect("and with the previous one, during the grace period");
        let actions = audit_actions(&app).await;
        assert!(actions.contains(&"subscription.secret_rotated".to_owned()) && actions.contains(&"subscription.tested".to_owned()), "{actions:?}");
    }

    async fn a_failed_test_send_shows_the_status_and_the_error(backend) {
        let receiver = Receiver::answering(500).await;
        let app = spawn_notifying_console(backend).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let tested = browser.post(&format!("/console/subscriptions/{}/test", sub.id), &[]).await;
        assert_eq!(tested.status, 200);
        tested.shows("HTTP 500").shows("did not accept").shows(r#"class="error""#).shows(" ms");
        assert_eq!(receiver.requests().await.len(), 1, "sent once, never retried");
    }

    async fn the_detail_page_shows_the_delivery_log_with_attempts_and_statistics_and_redeliver_queues_again(backend) {
        let receiver = Receiver::failing_first(1, ResponseTemplate::new(500)).await;
        let app = spawn_notifying_console(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let created = browser
            .post("/console/subscriptions", &[("url", &receiver.url()), ("event_types", "*"), ("max_attempts", "1")])
            .await;
        assert_eq!(created.status, 303, "{}", created.body);
        let id = subscription_on(&created);
        app.deliver(&tenant_created("t-log")).await;
        let dead = app.finished_deliveries(&id, 1).await.remove(0);
        assert_eq!(dead["status"], "dead", "{dead}");
        let delivery = dead["id"].as_i64().unwrap();

        let path = format!("/console/subscriptions/{id}");
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200);
        page.shows("Delivery log").shows("workspace.provisioned").shows("t-log").shows("badge s-dead")
            .shows("Attempt 1").shows("HTTP 500").shows("Last 24 hours").shows("Success rate").shows("0.0 %")
            .shows(&format!(r#"action="/console/deliveries/{delivery}/redeliver""#));
        let older = browser.get(&format!("{path}?cursor={delivery}")).await;
        older.shows("No older delivery.").shows("← Newest").lacks("Attempt 1");
        older.lacks("Success rate").shows("the first page</a> of the delivery log");
        assert_eq!(browser.get(&format!("{path}?cursor=abc")).await.status, 400);

        let redelivered = browser.post(&format!("/console/deliveries/{delivery}/redeliver"), &[]).await;
        assert_eq!(
            (redelivered.status, redelivered.location.as_deref()),
            (303, Some(format!("{path}?done=redelivered#deliveries").as_str()))
        );
        let again = eventually(WAIT, || async {
            let d = app.deliveries(&id).await.remove(0);
            (d["status"] == "succeeded" && d["attempt_log"].as_array().unwrap().len() == 2).then_some(d)
        })
        .await
        .expect("the redelivery is sent and succeeds");
        assert_eq!(again["attempts"], 2);
        let page = browser.get(&format!("{path}?done=redelivered")).await;
        page.shows("Queued again for delivery.").shows("Attempt 2").shows("HTTP 200").shows("100.0 %");
        assert_eq!(browser.post("/console/deliveries/999999/redeliver", &[]).await.status, 404);
    }

    async fn deleting_a_subscription_removes_it(backend) {
        let app = spawn_notifying_console(backend).await;
        let sub = app.subscribe("http://127.0.0.1:9/a", &["*"], None).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let path = format!("/console/subscriptions/{}", sub.id);
        browser.get(&path).await.shows(&format!(r#"action="{path}/delete""#)).shows("data-confirm");
        let deleted = browser.post(&format!("{path}/delete"), &[]).await;
        assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some("/console/subscriptions?done=deleted")));
        let (status, _) = app.admin_get(&format!("/api/admin/notifications/subscriptions/{}", sub.id)).await;
        assert_eq!(status, 404);
        browser.get("/console/subscriptions?done=deleted").await.shows("Deleted.").lacks(&sub.id);
        assert_eq!(browser.get(&path).await.status, 404);
        assert_eq!(browser.post(&format!("{path}/delete"), &[]).await.status, 404);
        assert!(audit_actions(&app).await.contains(&"subscription.deleted".to_owned()));
    }

    async fn a_viewer_sees_every_page_and_no_action_and_each_action_answers_403(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_console(backend).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;
        app.deliver(&tenant_created("t-viewer")).await;
        let delivery = app.finished_deliveries(&sub.id, 1).await[0]["id"].as_i64().unwrap();
        let viewer = sign_in(&app, VIEWER_TOKEN).await;
        let path = format!("/console/subscriptions/{}", sub.id);
        let detail = viewer.get(&path).await;
        assert_eq!(detail.status, 200);
        detail.shows("Delivery log").shows("Settings").shows("Last 24 hours")
            .lacks("Rotate secret").lacks(">Pause<").lacks("Redeliver").lacks(r#"action="/console/subscriptions"#).lacks(r#"action="/console/deliveries"#);
        let new = viewer.get("/console/subscriptions/new").await;
        assert_eq!(new.status, 200);
        new.shows("needs an operator token").lacks(r#"action="/console/subscriptions""#);
        for page in [&detail, &new, &viewer.get("/console/subscriptions").await] {
            page.lacks(" style=").lacks("<style").lacks("onclick=");
            assert_eq!(page.body.matches("<script").count(), 1, "only the console's own script file");
        }
        let missing = viewer.get("/console/subscriptions/sub_nope").await;
        assert_eq!(missing.status, 404);
        missing.shows("there is no subscription sub_nope");

        let before = audit_actions(&app).await;
        for (path, fields) in actions(&sub.id, delivery) {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = viewer.post(&path, &fields).await;
            assert_eq!(page.status, 403, "{path}: {}", page.body);
            page.shows("needs an operator token");
        }
        let stored = subscription(&app, &sub.id).await;
        assert_eq!((&stored["active"], &stored["url"]), (&json!(true), &json!(receiver.url())));
        assert_eq!(audit_actions(&app).await, before, "nothing was done");
        assert_eq!(receiver.requests().await.len(), 1, "no test send, no redelivery");
    }

    async fn a_viewer_is_shown_the_host_of_a_subscription_url_and_an_operator_all_of_it(backend) {
        let app = spawn_notifying_console(backend).await;
        let url = "http://127.0.0.1:9/services/T0/B0/s3cret-in-the-path";
        let sub = app.subscribe(url, &["*"], None).await;
        let path = format!("/console/subscriptions/{}", sub.id);
        let viewer = sign_in(&app, VIEWER_TOKEN).await;
        for page in [viewer.get(&path).await, viewer.get("/console/subscriptions").await] {
            page.shows("http://127.0.0.1:9/…").lacks("s3cret");
        }
        let operator = sign_in(&app, OPERATOR_TOKEN).await;
        for page in [operator.get(&path).await, operator.get("/console/subscriptions").await] {
            page.shows(url);
        }

        let api = |token: &'static str, path: String| {
            let request = app.client.get(format!("{}{path}", app.address)).bearer_auth(token);
            async move {
                let answer = request.send().await.unwrap();
                assert_eq!(answer.status(), 200);
                answer.json::<Value>().await.unwrap()
            }
        };
        let one = format!("/api/admin/notifications/subscriptions/{}", sub.id);
        let all = "/api/admin/notifications/subscriptions".to_owned();
        assert_eq!(api(VIEWER_TOKEN, one.clone()).await["url"], "http://127.0.0.1:9/…");
        assert_eq!(api(VIEWER_TOKEN, all.clone()).await["subscriptions"][0]["url"], "http://127.0.0.1:9/…");
        assert_eq!(api(OPERATOR_TOKEN, one).await["url"], url);
        assert_eq!(api(OPERATOR_TOKEN, all).await["subscriptions"][0]["url"], url);

        // An answer that echoes the path it was called on is redacted for a viewer too.
        let echoing = Receiver::failing_first(1, ResponseTemplate::new(404).set_body_string("Cannot POST /hook")).await;
        let (status, made) = app
            .admin_post("/api/admin/notifications/subscriptions", json!({"url": echoing.url(), "max_attempts": 1}))
            .await;
        assert_eq!(status, 201, "{made}");
        let echo = made["id"].as_str().unwrap().to_owned();
        app.deliver(&tenant_created("t-echo")).await;
        let log = app.finished_deliveries(&echo, 1).await;
        assert_eq!(log[0]["attempt_log"][0]["response_body"], "Cannot POST /hook", "an operator reads the answer whole");
        let seen = api(VIEWER_TOKEN, format!("/api/admin/notifications/subscriptions/{echo}/deliveries")).await;
        assert_eq!(seen["deliveries"][0]["attempt_log"][0]["response_body"], "Cannot POST /…", "{seen}");
    }

    async fn a_forged_form_is_refused_for_every_action(backend) {
        let app = spawn_notifying_console(backend).await;
        let sub = app.subscribe("http://127.0.0.1:9/a", &["*"], None).await;
        let operator = sign_in(&app, OPERATOR_TOKEN).await;
        let before = audit_actions(&app).await;
        for (path, fields) in actions(&sub.id, 1) {
            let mut form: Vec<(&str, &str)> = vec![("csrf", "forged")];
            form.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            let page = operator.post_exactly(&path, &form, &[]).await;
            assert_eq!(page.status, 403, "{path}: {}", page.body);
            page.shows("the form is not from this session");
        }
        let cross_site = operator.post_exactly(&format!("/console/subscriptions/{}/pause", sub.id), &[("csrf", &operator.csrf)], &[("sec-fetch-site", "cross-site")]).await;
        assert_eq!(cross_site.status, 403);
        assert_eq!(subscription(&app, &sub.id).await["active"], json!(true));
        assert_eq!(audit_actions(&app).await, before, "nothing was done");
    }
}

/// The `by` of each entry: the admin API, the command line, the console, in the order given.
fn assert_doors(entries: &[crate::cli_events::AuditEntry], doors: &[&str]) {
    assert_eq!(entries.len(), doors.len(), "one entry per action: {entries:?}");
    for (entry, door) in entries.iter().zip(doors) {
        let by = entry.detail["by"].as_str().unwrap_or_default();
        match *door {
            "api" => assert_eq!(by, "admin-api", "{entry:?}"),
            "cli" => assert!(by.starts_with("cli"), "{entry:?}"),
            _ => assert!(by.starts_with("console:") && by.len() > "console:".len(), "{entry:?}"),
        }
    }
}

// Each action on a subscription leaves the same audit entry whichever door it came through; only
// `by` names the door (the command line has no edit, rotate nor redeliver).
on_both_backends! {
    async fn each_subscription_action_leaves_the_same_audit_entry_through_the_api_the_cli_and_the_console(backend) {
        use crate::binary::run_on_database;
        use crate::cli_events::{audit_entries, stdout};
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_console(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;

        // Create.
        let by_api = app.subscribe("http://127.0.0.1:9/a", &["*"], None).await.id;
        let out = stdout(&run_on_database(&app.database_url, &["subscriptions", "add", "--url", "https://8.8.8.8/hook"]).await);
        let by_cli = out.split_whitespace().nth(1).unwrap().to_owned();
        let created = browser.post("/console/subscriptions", &[("url", "http://127.0.0.1:9/c"), ("event_types", "*")]).await;
        assert_eq!(created.status, 303, "{}", created.body);
        let by_console = subscription_on(&created);
        let entries = audit_entries(&app.db, "subscription.created").await;
        assert_doors(&entries, &["api", "cli", "console"]);
        for (entry, id) in entries.iter().zip([&by_api, &by_cli, &by_console]) {
            assert_eq!(entry.without_actor().detail, json!({"subscription_id": id}));
        }

        // Change (pause), rotate.
        let path = format!("/api/admin/notifications/subscriptions/{by_api}");
        assert_eq!(app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"active": false}))).await.0, 200);
        assert_eq!(browser.post(&format!("/console/subscriptions/{by_console}/pause"), &[]).await.status, 303);
        let entries = audit_entries(&app.db, "subscription.updated").await;
        assert_doors(&entries, &["api", "console"]);
        for (entry, id) in entries.iter().zip([&by_api, &by_console]) {
            assert_eq!(entry.without_actor().detail, json!({"subscription_id": id, "active": false}));
        }
        assert_eq!(app.admin_post(&format!("{path}/rotate-secret"), json!({})).await.0, 200);
        assert_eq!(browser.post(&format!("/console/subscriptions/{by_api}/rotate"), &[]).await.status, 303);
        let entries = audit_entries(&app.db, "subscription.secret_rotated").await;
        assert_doors(&entries, &["api", "console"]);
        for entry in &entries {
            let mut detail = entry.without_actor().detail;
            assert!(detail.as_object_mut().unwrap().remove("previous_valid_until").unwrap().is_string(), "{entry:?}");
            assert_eq!(detail, json!({"subscription_id": by_api, "previous_dropped": false}));
        }

        // Test send: nothing answers on port 9 (and the command line refuses a private address).
        assert_eq!(app.admin_post(&format!("{path}/test"), json!({})).await.0, 200);
        run_on_database(&app.database_url, &["subscriptions", "test", &by_api]).await;
        assert_eq!(browser.post(&format!("/console/subscriptions/{by_api}/test"), &[]).await.status, 200);
        let entries = audit_entries(&app.db, "subscription.tested").await;
        assert_doors(&entries, &["api", "cli", "console"]);
        for entry in &entries {
            assert_eq!(entry.without_actor().detail, json!({"subscription_id": by_api, "delivered": false, "status_code": null}));
        }

        // Redeliver: one entry per requeue, none when nothing is requeued.
        let sub = app.subscribe(&receiver.url(), &["*"], None).await.id;
        app.deliver(&tenant_created("t-audit")).await;
        let delivery = app.finished_deliveries(&sub, 1).await[0]["id"].as_i64().unwrap();
        let (status, body) = app.admin_post(&format!("/api/admin/notifications/deliveries/{delivery}/redeliver"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        eventually(WAIT, || async {
            let d = app.deliveries(&sub).await.remove(0);
            (d["status"] == "succeeded" && d["attempts"] == 2).then_some(())
        })
            .await
            .expect("the redelivery is sent");
        assert_eq!(browser.post(&format!("/console/deliveries/{delivery}/redeliver"), &[]).await.status, 303);
        assert_eq!(app.admin_post("/api/admin/notifications/deliveries/999999/redeliver", json!({})).await.0, 404);
        let entries = audit_entries(&app.db, "delivery.redelivered").await;
        assert_doors(&entries, &["api", "console"]);
        for entry in &entries {
            assert_eq!(entry.without_actor().detail, json!({"delivery_id": delivery, "subscription_id": sub, "previous_status": "succeeded"}));
        }

        // Delete.
        assert_eq!(app.admin_send(reqwest::Method::DELETE, &path, None).await.0, 204);
        stdout(&run_on_database(&app.database_url, &["subscriptions", "rm", &by_cli]).await);
        assert_eq!(browser.post(&format!("/console/subscriptions/{by_console}/delete"), &[]).await.status, 303);
        let entries = audit_entries(&app.db, "subscription.deleted").await;
        assert_doors(&entries, &["api", "cli", "console"]);
        for (entry, id) in entries.iter().zip([&by_api, &by_cli, &by_console]) {
            assert_eq!(entry.without_actor().detail, json!({"subscription_id": id}));
        }
    }
}

on_both_backends! {
    async fn a_control_character_or_an_overlong_description_or_tenant_is_shown_on_the_form(backend) {
        let app = spawn_notifying_console(backend).await;
        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let sub = app.subscribe("http://127.0.0.1:9/a", &["*"], None).await;
        let long_tenant = "t".repeat(201);
        let cases = [
            ("description", "nul\u{0}here", "description must be at most 1000 characters"),
            ("tenant_id", long_tenant.as_str(), "tenant_id must be one line of at most 200 characters"),
        ];
        for (field, value, message) in cases {
            for path in ["/console/subscriptions".to_owned(), format!("/console/subscriptions/{}", sub.id)] {
                let page = browser
                    .post(&path, &[("url", "http://127.0.0.1:9/b"), ("event_types", "*"), ("name", "kept"), (field, value)])
                    .await;
                assert_eq!(page.status, 422, "{path} {field}: {}", page.body);
                page.shows(message).shows(r#"role="alert""#).shows(r#"value="kept""#).lacks(r#"id="secret""#);
            }
        }
        let stored = subscription(&app, &sub.id).await;
        assert_eq!((&stored["url"], &stored["name"]), (&json!("http://127.0.0.1:9/a"), &Value::Null), "nothing was changed");
        let (_, listed) = app.admin_get("/api/admin/notifications/subscriptions").await;
        assert_eq!(listed["subscriptions"].as_array().unwrap().len(), 1, "nothing was created");
    }
}
