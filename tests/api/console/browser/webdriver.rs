//! The few WebDriver (W3C) commands the browser tests send to chromedriver, over reqwest.
//!
//! Not a client crate: the one for Rust (thirtyfour) turns on serde_json's `preserve_order`,
//! and a feature a test dependency turns on is on for the code under test too: the tests would
//! run the service with a JSON map other than the one it ships with.

use anyhow::{anyhow, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};

/// The key W3C WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One session of a browser.
pub struct WebDriver {
    client: reqwest::Client,
    session: String,
}

/// An element of the current page.
pub struct Element<'a> {
    driver: &'a WebDriver,
    id: String,
}

impl WebDriver {
    /// Opens a Chromium session on the chromedriver at `url`, started with `args`.
    pub async fn new(url: &str, args: &[&str]) -> Result<Self> {
        let client = reqwest::Client::new();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": args},
        }}});
        let answer = answer_of(client.post(format!("{url}/session")).json(&capabilities).send().await?).await?;
        let session = answer["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session id in {answer}"))?;
        Ok(Self {
            client,
            session: format!("{url}/session/{session}"),
        })
    }

    async fn get(&self, path: &str) -> Result<Value> {
        answer_of(self.client.get(format!("{}{path}", self.session)).send().await?).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        answer_of(
            self.client
                .post(format!("{}{path}", self.session))
                .json(&body)
                .send()
                .await?,
        )
        .await
    }

    pub async fn execute(&self, script: &str) -> Result<Value> {
        self.post("/execute/sync", json!({"script": script, "args": []})).await
    }

    pub async fn set_window_rect(&self, width: u32, height: u32) -> Result<()> {
        self.post(
            "/window/rect",
            json!({"x": 0, "y": 0, "width": width, "height": height}),
        )
        .await
        .map(drop)
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({"url": url})).await.map(drop)
    }

    pub async fn current_url(&self) -> Result<url::Url> {
        let url = self.get("/url").await?;
        url::Url::parse(url.as_str().unwrap_or_default()).context("the current address")
    }

    pub async fn refresh(&self) -> Result<()> {
        self.post("/refresh", json!({})).await.map(drop)
    }

    pub async fn source(&self) -> Result<String> {
        Ok(self.get("/source").await?.as_str().unwrap_or_default().to_owned())
    }

    pub async fn find(&self, css: &str) -> Result<Element<'_>> {
        let found = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await?;
        self.element(&found)
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let found = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await?;
        found
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| self.element(e))
            .collect()
    }

    fn element(&self, found: &Value) -> Result<Element<'_>> {
        let id = found[ELEMENT]
            .as_str()
            .ok_or_else(|| anyhow!("not an element: {found}"))?;
        Ok(Element {
            driver: self,
            id: id.to_owned(),
        })
    }

    pub async fn alert_text(&self) -> Result<String> {
        Ok(self.get("/alert/text").await?.as_str().unwrap_or_default().to_owned())
    }

    pub async fn accept_alert(&self) -> Result<()> {
        self.post("/alert/accept", json!({})).await.map(drop)
    }

    pub async fn screenshot_png(&self) -> Result<Vec<u8>> {
        let png = self.get("/screenshot").await?;
        Ok(base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap_or_default())?)
    }

    pub async fn quit(self) -> Result<()> {
        answer_of(self.client.delete(&self.session).send().await?)
            .await
            .map(drop)
    }
}

impl Element<'_> {
    fn path(&self, command: &str) -> String {
        format!("/element/{}/{command}", self.id)
    }

    pub async fn text(&self) -> Result<String> {
        Ok(self
            .driver
            .get(&self.path("text"))
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The attribute `name`, `None` when the element has none.
    pub async fn attr(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .driver
            .get(&self.path(&format!("attribute/{name}")))
            .await?
            .as_str()
            .map(str::to_owned))
    }

    pub async fn click(&self) -> Result<()> {
        self.driver.post(&self.path("click"), json!({})).await.map(drop)
    }

    pub async fn clear(&self) -> Result<()> {
        self.driver.post(&self.path("clear"), json!({})).await.map(drop)
    }

    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.driver
            .post(&self.path("value"), json!({"text": text}))
            .await
            .map(drop)
    }

    /// Picks the `<option>` of this `<select>` whose value is `value`.
    pub async fn select(&self, value: &str) -> Result<()> {
        let css = format!("option[value='{value}']");
        let found = self
            .driver
            .post(&self.path("element"), json!({"using": "css selector", "value": css}))
            .await?;
        self.driver.element(&found)?.click().await
    }
}

/// The `value` of a WebDriver answer, or its error.
async fn answer_of(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.context("a WebDriver answer")?;
    if !status.is_success() {
        return Err(anyhow!(
            "{status}: {} {}",
            body["value"]["error"].as_str().unwrap_or(""),
            body["value"]["message"].as_str().unwrap_or("")
        ));
    }
    Ok(body["value"].clone())
}
