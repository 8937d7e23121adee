//! A cardholder's browser at HTTP level: form posts to the browser-facing sites (the
//! ACS's pages, the merchant's shop), trusting the sandbox's root CA, with
//! `acs.localhost` resolved to loopback as browsers do. Reads the self-submitting forms
//! the pages carry, so tests follow them as a browser would.

use std::net::SocketAddr;
use std::path::Path;

/// A browser-like HTTPS client.
pub struct Site {
    http: reqwest::Client,
}

/// A page: its HTTP status and HTML.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub html: String,
}

/// A `<form>` of a page: where it posts and the fields a browser submits.
pub use html_reader::Form;

impl Site {
    /// Trusting `certs`'s root; `acs.localhost` is `acs_site`'s loopback address.
    pub fn new(certs: &Path, acs_site: &str) -> Site {
        let root = std::fs::read(pki::Layout::new(certs).tls_root_ca()).expect("root CA");
        let port: u16 = acs_site
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&root).expect("PEM"))
            .resolve("acs.localhost", SocketAddr::from(([127, 0, 0, 1], port)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .expect("client");
        Site { http }
    }

    pub async fn post(&self, url: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", "sandbox-tests")
            .body(body);
        send(request, "POST", url).await
    }

    /// A JSON POST (what a page's script sends).
    pub async fn post_json(&self, url: &str, body: &serde_json::Value) -> Page {
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        send(request, "POST", url).await
    }

    pub async fn delete(&self, url: &str) -> Page {
        send(self.http.delete(url), "DELETE", url).await
    }

    pub async fn get(&self, url: &str) -> Page {
        send(self.http.get(url), "GET", url).await
    }

    /// Posts the CReq of a `/v1/auth` answer's `challenge` to the ACS, as the
    /// merchant's page does: the first challenge page.
    pub async fn open_challenge(&self, challenge: &serde_json::Value) -> Page {
        let page = self
            .post(
                challenge["acsURL"].as_str().expect("acsURL"),
                &[
                    ("creq", challenge["creq"].as_str().expect("creq")),
                    ("threeDSSessionData", "c2Vzc2lvbg"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.html);
        page
    }
}

async fn send(request: reqwest::RequestBuilder, method: &str, url: &str) -> Page {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let html = response.text().await.expect("body");
    let is_html = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if is_html {
        check_page_policy(method, url, &headers, &html);
    }
    Page { status, html }
}

/// What every page of the sandbox must be sent with (SECURITY.md, "pages"): a
/// Content-Security-Policy that runs script only by a nonce, `nosniff`, no referrer;
/// and markup whose every script carries that nonce, with no inline event handler.
/// Every test that loads a page through [`Site`] checks it.
fn check_page_policy(method: &str, url: &str, headers: &reqwest::header::HeaderMap, html: &str) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{method} {url}: no {name} header"))
            .to_owned()
    };
    let policy = header("content-security-policy");
    assert_eq!(
        header("x-content-type-options"),
        "nosniff",
        "{method} {url}"
    );
    assert_eq!(header("referrer-policy"), "no-referrer", "{method} {url}");
    let nonce = policy
        .split("script-src 'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("{method} {url}: no script nonce in {policy}"));
    assert!(
        policy.starts_with("default-src 'none';") && !policy.contains("unsafe-"),
        "{method} {url}: {policy}"
    );
    // Read as a browser reads it (crates/html-reader): any case, any quoting.
    for token in html_reader::tokens(html) {
        let html_reader::Token::Start(tag) = token else {
            continue;
        };
        if tag.name == "script" {
            assert!(
                tag.attribute("nonce") == Some(nonce)
                    || tag.attribute("type") == Some("application/json"),
                "{method} {url}: a script without the page's nonce: {tag:?}"
            );
        }
        for (name, value) in &tag.attributes {
            assert!(
                !name.starts_with("on"),
                "{method} {url}: the page holds an inline handler {name} on <{}>",
                tag.name
            );
            assert!(
                !(matches!(name.as_str(), "href" | "action" | "src" | "formaction")
                    && value
                        .trim_start()
                        .to_ascii_lowercase()
                        .starts_with("javascript:")),
                "{method} {url}: the page holds {name}=\"{value}\""
            );
        }
    }
}

impl Page {
    /// The form with id `id`, read by the workspace's one HTML reader.
    pub fn form(&self, id: &str) -> Form {
        html_reader::form(&self.html, id).unwrap_or_else(|| panic!("no form {id} in {}", self.html))
    }

    pub fn has(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}
