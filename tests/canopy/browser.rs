//! Headless Chromium (Debian's chromium + chromium-driver) driven by WebDriver, for the
//! journeys (`e2e*`): a browser per test, its console, screenshots and waiting helpers.
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::PASSWORD;

/// chromedriver on a free port, in a process group of its own; when dropped (also when a
/// test fails), the whole group goes — the driver and every Chromium it started — before the
/// profile is removed.
pub(crate) struct Driver {
    child: Child,
    port: u16,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub(crate) async fn browser() -> (Driver, Client) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt-get install chromium-driver)");
    let profile =
        std::env::temp_dir().join(format!("canopy-chromium-{}", uuid::Uuid::now_v7().simple()));
    let driver = Driver {
        child,
        port,
        profile,
    };
    let mut caps = serde_json::Map::new();
    // The console is kept, so that a journey can fail on any error in it.
    caps.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({ "browser": "ALL" }),
    );
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", driver.profile.display()),
            ]
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        if let Ok(client) = ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            return (driver, client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not start a Chromium session");
}

/// ChromeDriver's command for the browser's console since it was last read.
#[derive(Debug)]
struct ConsoleLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

/// The errors in the browser's console since it was last read: a script error, a CSP
/// violation, a resource that failed to load. An answer the journey asked for on purpose (a
/// form refused with 4xx, shown in place) is not one.
pub(crate) async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(ConsoleLog).await.unwrap();
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .filter(|m| {
            !(m.contains("the server responded with a status of 4")
                && m.contains("Failed to load resource"))
        })
        .collect()
}

/// Every journey ends here: nothing went wrong in the browser on the way.
pub(crate) async fn assert_clean_console(c: &Client) {
    let errors = console_errors(c).await;
    assert!(errors.is_empty(), "the browser's console: {errors:#?}");
}

/// With CANOPY_SCREENSHOTS=<folder>, keeps a picture of the page for people to look at.
pub(crate) async fn snapshot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("CANOPY_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

pub(crate) async fn wait_for_text(c: &Client, css: &str, text: &str) -> bool {
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && e.text().await.unwrap_or_default().contains(text)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

pub(crate) async fn type_into(c: &Client, id: &str, text: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Clicks the element once it is there (the page a click leads to may still be loading).
pub(crate) async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub(crate) async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    type_into(c, "email", email).await;
    type_into(c, "password", PASSWORD).await;
    click(c, "form button[type=submit]").await;
    assert!(wait_for_dashboard(c).await, "landed on a dashboard");
}

pub(crate) async fn wait_for_dashboard(c: &Client) -> bool {
    for _ in 0..100 {
        if c.current_url()
            .await
            .map(|u| u.path().ends_with("/dashboard"))
            .unwrap_or(false)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

pub(crate) async fn wait_for_path(c: &Client, path: &str) -> bool {
    for _ in 0..100 {
        if c.current_url()
            .await
            .map(|u| u.path() == path)
            .unwrap_or(false)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
