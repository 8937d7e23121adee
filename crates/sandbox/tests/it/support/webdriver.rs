//! Just enough W3C WebDriver to drive Debian's headless Chromium through chromedriver
//! from a test: sessions, navigation, elements, frames, windows, screenshots. Every
//! wait is for an element or a condition, with a deadline; nothing sleeps to
//! synchronise.
//!
//! Chromium and chromedriver come from Debian (`cargo xtask test` installs them); the
//! launch flags (headless, no sandbox inside a container, no GPU, a throw-away
//! profile) are the ones found to work on the project's CI machines.

use std::io::{Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long any wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A chromedriver process and one browser session; both end on drop, with every
/// Chromium process the session started and the session's profile directory.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
    /// chromedriver's port and the session's path (`/session/<id>`) once it exists.
    port: u16,
    session: Option<String>,
    profile: PathBuf,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium (JavaScript on or off).
    pub async fn start(javascript: bool) -> Browser {
        Browser::start_with(javascript, &[]).await
    }

    /// With Secure Payment Confirmation on (off by default on Linux) and a virtual
    /// platform authenticator with user verification.
    pub async fn start_with_spc() -> Browser {
        let browser = Browser::start_with(
            true,
            &["--enable-features=SecurePaymentConfirmationBrowser"],
        )
        .await;
        browser
            .call(
                "POST",
                "/webauthn/authenticator",
                Some(json!({
                    "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                    "hasUserVerification": true, "isUserVerified": true,
                })),
            )
            .await
            .unwrap_or_else(|e| panic!("no virtual authenticator: {e}"));
        browser
    }

    /// How the SPC dialog answers: `autoAccept`, `autoReject`, `autoOptOut`, …
    pub async fn spc_mode(&self, mode: &str) {
        self.call(
            "POST",
            "/secure-payment-confirmation/set-mode",
            Some(json!({ "mode": mode })),
        )
        .await
        .unwrap_or_else(|e| panic!("SPC mode {mode}: {e}"));
    }

    async fn start_with(javascript: bool, extra: &[&str]) -> Browser {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("address").port()
        };
        // A process group of its own, with the Chromium it starts: killed as one on drop.
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver runs (Debian's chromium-driver; `cargo xtask test` installs it)");
        let http = reqwest::Client::builder().build().expect("client");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready
                && let Ok(bytes) = r.bytes().await
                && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(started.elapsed() < DEADLINE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir").keep();
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--ignore-certificate-errors", "--window-size=1200,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        for arg in extra {
            options["args"]
                .as_array_mut()
                .expect("args")
                .push(json!(arg));
        }
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut browser = Browser {
            driver,
            http,
            base,
            port,
            session: None,
            profile,
        };
        let session = browser
            .call(
                "POST",
                "/session",
                Some(json!({ "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "acceptInsecureCerts": true,
                    "goog:chromeOptions": options,
                }}})),
            )
            .await
            .unwrap_or_else(|e| panic!("no browser session: {e}"));
        let id = session["sessionId"].as_str().expect("sessionId").to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser.session = Some(format!("/session/{id}"));
        browser
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.unwrap_or(json!({})).to_string()),
        };
        let response = request.send().await.map_err(|e| e.to_string())?;
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        match value["value"].get("error") {
            Some(error) => Err(format!("{error}: {}", value["value"]["message"])),
            None => Ok(value["value"].clone()),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })))
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    async fn find_now(&self, css: &str) -> Option<Element> {
        let found = self
            .call(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .ok()?;
        found[ELEMENT].as_str().map(|id| Element(id.to_owned()))
    }

    /// The element matching `css`, once it is there.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_now(css).await {
                return element;
            }
            if started.elapsed() > DEADLINE {
                let url = self.call("GET", "/url", None).await.unwrap_or_default();
                let text = self
                    .run(
                        "return document.body ? document.body.innerText : ''",
                        json!([]),
                    )
                    .await;
                panic!("no element {css} on {url} within {DEADLINE:?}; the page reads:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call("POST", &format!("/element/{}/click", element.0), None)
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clears the field and types `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        let _ = self
            .call("POST", &format!("/element/{}/clear", element.0), None)
            .await;
        self.call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Chooses the option with `value` of a `<select>`.
    pub async fn choose(&self, select_css: &str, value: &str) {
        self.click(&format!("{select_css} option[value=\"{value}\"]"))
            .await;
    }

    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find(css).await;
        self.call(
            "GET",
            &format!("/element/{}/attribute/{name}", element.0),
            None,
        )
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.call("GET", &format!("/element/{}/text", element.0), None)
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Waits until the element matching `css` holds `needle` in its text (the page may
    /// still be the previous one when asked).
    pub async fn wait_text(&self, css: &str, needle: &str) {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_now(css).await
                && let Ok(text) = self
                    .call("GET", &format!("/element/{}/text", element.0), None)
                    .await
                && text.as_str().is_some_and(|t| t.contains(needle))
            {
                return;
            }
            assert!(started.elapsed() < DEADLINE, "{css} never read {needle:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Switches into the frame matching `css` (of the current context).
    pub async fn enter_frame(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            "POST",
            "/frame",
            Some(json!({ "id": { ELEMENT: element.0 } })),
        )
        .await
        .unwrap_or_else(|e| panic!("enter frame {css}: {e}"));
    }

    /// Back to the top-level page.
    pub async fn leave_frames(&self) {
        let _ = self
            .call("POST", "/frame", Some(json!({ "id": null })))
            .await;
    }

    /// The current window's handle.
    pub async fn window(&self) -> String {
        self.call("GET", "/window", None)
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Opens a new tab and switches to it; returns its handle.
    pub async fn new_tab(&self) -> String {
        let created = self
            .call("POST", "/window/new", Some(json!({ "type": "tab" })))
            .await
            .expect("new tab");
        let handle = created["handle"].as_str().expect("handle").to_owned();
        self.switch_to(&handle).await;
        handle
    }

    pub async fn switch_to(&self, handle: &str) {
        self.call("POST", "/window", Some(json!({ "handle": handle })))
            .await
            .expect("switch window");
    }

    /// Runs `script` (a function body; `arguments` as given) and returns its value.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
        .unwrap_or_else(|e| panic!("script: {e}"))
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let data = self
            .call("GET", "/screenshot", None)
            .await
            .expect("screenshot");
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing chromedriver alone leaves its Chromium running (hundreds of processes
        // after a suite): end the session first, which closes the browser, then kill
        // what is left of the process group.
        if let Some(session) = &self.session {
            end_session(self.port, session);
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `DELETE <session>` to chromedriver, synchronously (a drop cannot await): chromedriver
/// answers once the browser has quit.
fn end_session(port: u16, session: &str) {
    let Ok(mut tcp) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "DELETE {session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if tcp.write_all(request.as_bytes()).is_ok() {
        let _ = tcp.read_to_end(&mut Vec::new());
    }
}
