//! The operator console: sessions, every page and action, roles and cross-site refusals, on
//! both backends; and real browser tests (`browser`).

mod browser;
mod events;
mod reconcile;
mod refusals;
mod search;
mod sessions;
mod subscriptions;
mod tenants;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use secrecy::SecretString;
use tenantgate::config::admin::TokenEntry;
use tenantgate::config::Role;

use crate::admin::ADMIN_TOKEN;
use crate::helpers::*;

/// An operator's token (the admin tests' token) and a viewer's.
pub const OPERATOR_TOKEN: &str = ADMIN_TOKEN;
pub const VIEWER_TOKEN: &str = "test-viewer-token-not-real-0123456789";

/// The application with an operator token and a viewer token.
pub async fn spawn_console_app(backend: Backend) -> TestApp {
    spawn_console_app_with(backend, |_| {}).await
}

pub async fn spawn_console_app_with(
    backend: Backend,
    customize: impl FnOnce(&mut tenantgate::config::Settings),
) -> TestApp {
    spawn_app_with(backend, |s| {
        s.admin.tokens = vec![
            OPERATOR_TOKEN.to_owned().into(),
            TokenEntry::WithRole {
                token: SecretString::from(VIEWER_TOKEN.to_owned()),
                role: Role::Viewer,
            },
        ];
        customize(s);
    })
    .await
}

/// An answer as a browser sees it: status, `Location`, body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// Fails the test with the page when `text` is not on it.
    pub fn shows(&self, text: &str) -> &Self {
        assert!(
            self.body.contains(text),
            "`{text}` is not on the page ({}):\n{}",
            self.status,
            self.body
        );
        self
    }

    pub fn lacks(&self, text: &str) -> &Self {
        assert!(
            !self.body.contains(text),
            "`{text}` is on the page ({}):\n{}",
            self.status,
            self.body
        );
        self
    }
}

/// A browser signed in to the console: its session cookie and the CSRF token of its pages.
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

/// A client that does not follow redirects, so a test sees each 303.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Posts the sign-in form; the raw answer.
pub async fn post_sign_in(app: &TestApp, token: &str, next: &str) -> reqwest::Response {
    no_redirects()
        .post(format!("{}/console/sign-in", app.address))
        .form(&[("token", token), ("next", next)])
        .send()
        .await
        .unwrap()
}

/// Signs in with `token` and reads the CSRF token from the overview.
pub async fn sign_in(app: &TestApp, token: &str) -> Browser {
    let response = post_sign_in(app, token, "/console").await;
    assert_eq!(response.status().as_u16(), 303, "sign-in with a valid token goes on");
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let mut browser = Browser {
        address: app.address.clone(),
        client: no_redirects(),
        cookie,
        csrf: String::new(),
    };
    let overview = browser.get("/console").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    browser.csrf = csrf_of(&overview.body).expect("every signed-in page has the sign-out form's token");
    browser
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    Some(html[start..].split('"').next()?.to_owned())
}

impl Browser {
    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        page_of(response).await
    }

    /// The page a 303 answer sends the browser to.
    pub async fn follow(&self, answer: &Page) -> Page {
        assert_eq!(answer.status, 303, "{}", answer.body);
        self.get(answer.location.as_deref().expect("a Location")).await
    }

    /// Posts a form of the console with this session's CSRF token, as a page of ours would.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.post_exactly(path, &form, &[]).await
    }

    /// Posts exactly these fields with these extra headers (for the refusals).
    pub async fn post_exactly(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .header(COOKIE, &self.cookie)
            .form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        page_of(request.send().await.unwrap()).await
    }
}

pub async fn page_of(response: reqwest::Response) -> Page {
    Page {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: response.text().await.unwrap_or_default(),
    }
}
