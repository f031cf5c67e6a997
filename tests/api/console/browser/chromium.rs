//! Headless Chromium for the browser tests: Debian's `chromedriver` started on a free port for
//! one test (killed when the test ends), a WebDriver session on it, and the few gestures the
//! tests need (sign in, fill a form, confirm an action, wait for a page to say something).
//!
//! Without chromedriver (`/usr/bin/chromedriver`, or the file `CHROMEDRIVER` names) a test skips,
//! except under `CI=true`, where it fails. With `TENANTGATE_SCREENSHOTS=<dir>`, [`Chromium::screenshot`]
//! writes PNG files there (the README's images); never otherwise.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::webdriver::{Element, WebDriver};
use crate::helpers::{poll, TestApp};

/// How long a page may take to say what a test waits for.
pub const PAGE_WAIT: Duration = Duration::from_secs(15);
/// The window of every session, and so of the screenshots.
const WINDOW: (u32, u32) = (1280, 900);
/// The tallest screenshot: a longer page is cut there.
const SCREENSHOT_MAX_HEIGHT: u32 = 2000;

/// A signed-out browser on an application.
pub struct Chromium {
    // Declared before the driver process, so the session is closed first when a test panics.
    driver: WebDriver,
    address: String,
    _chromedriver: Chromedriver,
}

/// The chromedriver binary, or `None` when this machine has none and the test may skip.
fn chromedriver_binary() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but there is no chromedriver at {}: the browser tests must run in CI \
             (.ci/run installs Debian's chromium and chromium-driver)",
            path.display()
        );
    }
    eprintln!(
        "skipped: no chromedriver at {} (apt-get install chromium chromium-driver, or set CHROMEDRIVER)",
        path.display()
    );
    None
}

impl Chromium {
    /// A headless browser pointed at `app`, or `None` (the test skips) without chromedriver.
    pub async fn open(app: &TestApp) -> Option<Self> {
        let chromedriver = Chromedriver::start(&chromedriver_binary()?).await;
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        ];
        let driver = WebDriver::new(&chromedriver.url, &args)
            .await
            .expect("chromedriver opens a headless Chromium session");
        let chromium = Self {
            driver,
            address: app.address.clone(),
            _chromedriver: chromedriver,
        };
        chromium.set_viewport(WINDOW.0, WINDOW.1).await;
        Some(chromium)
    }

    /// Sizes the window so that the page itself is `width` × `height` (a headless window keeps
    /// some of its height for the browser's own frame).
    async fn set_viewport(&self, width: u32, height: u32) {
        let frame = self
            .driver
            .execute("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];")
            .await
            .expect("the window's frame");
        let size = |i: usize| frame[i].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        self.driver
            .set_window_rect(width + size(0), height + size(1))
            .await
            .expect("the window is resized");
    }

    /// Opens `path` of the application.
    /// The path and query of the page shown.
    pub async fn path(&self) -> String {
        let url = self.driver.current_url().await.expect("the page's URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The HTML of the page shown.
    pub async fn source(&self) -> String {
        self.driver.source().await.expect("the page's source")
    }

    /// Reloads the page as the browser's reload button does.
    pub async fn reload(&self) {
        self.driver.refresh().await.unwrap_or_else(|e| panic!("reload: {e}"));
    }

    pub async fn goto(&self, path: &str) {
        self.driver
            .goto(&format!("{}{path}", self.address))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    }

    /// The path and query of the current page.
    pub async fn location(&self) -> String {
        let url = self.driver.current_url().await.expect("the current address");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Signs in through the sign-in form, as a person would, and lands on the overview.
    pub async fn sign_in(&self, token: &str) {
        self.goto("/console").await;
        assert!(
            self.location().await.starts_with("/console/sign-in"),
            "a signed-out browser is sent to sign in, not to {}",
            self.location().await
        );
        self.type_into("#token", token).await;
        self.click("form[action='/console/sign-in'] button[type=submit]").await;
        self.wait_for_text("main h1", "Overview").await;
    }

    pub async fn find(&self, css: &str) -> Element<'_> {
        match self.driver.find(css).await {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {}: {e}", self.describe().await),
        }
    }

    /// Every element `css` selects on the page (none is not an error).
    pub async fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        self.driver.find_all(css).await.expect("a search of the page")
    }

    /// The visible text of the first element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("an element's text")
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("`{css}` cannot be clicked: {e}"));
    }

    /// Replaces the value of the field `css` by `text`, typed key by key.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("the field clears");
        field.send_keys(text).await.expect("the field takes keys");
    }

    /// Picks the option whose value is `value` in the `<select>` `css`.
    pub async fn pick(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select(value)
            .await
            .unwrap_or_else(|e| panic!("no option `{value}` in `{css}`: {e}"));
    }

    /// Clicks `css`, a submit button of a `data-confirm` form, and accepts the question the page
    /// asks first, which must contain `question`.
    pub async fn submit_confirmed(&self, css: &str, question: &str) {
        self.click(css).await;
        let asked = poll(PAGE_WAIT, Duration::from_millis(20), || async {
            self.driver.alert_text().await.ok()
        })
        .await
        .unwrap_or_else(|| panic!("clicking `{css}` asked nothing"));
        assert!(asked.contains(question), "the page asked {asked:?}, not {question:?}");
        self.driver.accept_alert().await.expect("the question is answered");
    }

    /// Waits until the element `css` shows `text` (the page as it is, not reloaded).
    pub async fn wait_for_text(&self, css: &str, text: &str) {
        self.until_text(css, text, false, Duration::from_millis(20)).await;
    }

    /// Reloads the page until the element `css` shows `text`, for [`PAGE_WAIT`] at most (for a
    /// page that changes only when it is read again, such as an event being processed).
    pub async fn reload_until_text(&self, css: &str, text: &str) {
        self.until_text(css, text, true, Duration::from_millis(100)).await;
    }

    async fn until_text(&self, css: &str, text: &str, reload: bool, every: Duration) {
        let found = poll(PAGE_WAIT, every, || async {
            if reload {
                self.driver.refresh().await.ok()?;
            }
            let element = self.driver.find(css).await.ok()?;
            element.text().await.ok().filter(|t| t.contains(text))
        })
        .await;
        if found.is_none() {
            panic!(
                "`{css}` did not show {text:?} within {PAGE_WAIT:?} on {}",
                self.describe().await
            );
        }
    }

    /// Writes the whole page (up to [`SCREENSHOT_MAX_HEIGHT`]) as
    /// `<TENANTGATE_SCREENSHOTS>/<name>.png`, when that variable is set.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("TENANTGATE_SCREENSHOTS") else {
            return;
        };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        let page_height = self
            .driver
            .execute("return document.documentElement.scrollHeight;")
            .await
            .ok()
            .and_then(|height| height.as_u64())
            .and_then(|height| u32::try_from(height).ok())
            .expect("the page's height");
        self.set_viewport(WINDOW.0, page_height.clamp(WINDOW.1, SCREENSHOT_MAX_HEIGHT))
            .await;
        let png = self.driver.screenshot_png().await.expect("a screenshot");
        self.set_viewport(WINDOW.0, WINDOW.1).await;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("screenshot: {}", path.display());
    }

    /// Closes the browser; a test that panics before has it closed when it is dropped.
    pub async fn quit(self) {
        let Self {
            driver, _chromedriver, ..
        } = self;
        driver.quit().await.expect("the browser closes");
    }

    /// Where the browser is and what it shows, for a failure message.
    async fn describe(&self) -> String {
        let location = self.location().await;
        let body = match self.driver.find("body").await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        format!("{location}:\n{body}")
    }
}

/// A chromedriver process of one test, ended when it is dropped.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it answers that it is ready.
    async fn start(binary: &PathBuf) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status = format!("{}/status", driver.url);
        let client = reqwest::Client::new();
        let ready = poll(PAGE_WAIT, Duration::from_millis(20), || async {
            let answer: serde_json::Value = client.get(&status).send().await.ok()?.json().await.ok()?;
            answer["value"]["ready"].as_bool().filter(|ready| *ready)
        })
        .await;
        if ready.is_none() {
            let exited = driver.child.try_wait().ok().flatten();
            panic!("chromedriver on port {port} was not ready within {PAGE_WAIT:?} (exited: {exited:?})");
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
