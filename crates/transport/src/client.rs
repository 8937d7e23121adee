//! Calling a peer: one pooled HTTPS client per peer configuration, connections kept
//! alive, and failures mapped to what the caller must answer.

use std::sync::Arc;
use std::time::Duration;

use emv3ds::ErrorCode;
use rustls::ClientConfig;

/// How long to wait (defaults from the fact sheet's decisions: connect 5 s, answer 10 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// From sending the request to having the whole answer.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(10),
        }
    }
}

/// Resolves `localhost` and every `*.localhost` name (the sandbox's `acs.localhost`,
/// …) to the loopback address, as RFC 6761 says and browsers do, whatever the system
/// resolver thinks; other names go to the system resolver.
#[derive(Debug, Clone, Copy)]
struct LoopbackNames;

impl reqwest::dns::Resolve for LoopbackNames {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(loopback));
                return Ok(addrs);
            }
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let addrs: reqwest::dns::Addrs = Box::new(found.collect::<Vec<_>>().into_iter());
            Ok(addrs)
        })
    }
}

/// An HTTPS client for one TLS identity and trust anchor.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
}

/// A peer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The peer did not answer in time.
    #[error("timed out waiting for {url}")]
    Timeout { url: String },
    /// No connection could be made (refused, unreachable, TLS handshake failed).
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    /// The connection broke during the exchange.
    #[error("exchange with {url} failed: {message}")]
    Exchange { url: String, message: String },
    /// The client could not be built.
    #[error("HTTP client: {0}")]
    Build(String),
}

impl TransportError {
    /// The `Erro` code a component answers with when a call to its peer fails this way
    /// (402 transaction timed out, 405 system connection failure, 403 transient failure).
    pub fn erro_code(&self) -> ErrorCode {
        match self {
            TransportError::Timeout { .. } => ErrorCode::TimedOut,
            TransportError::Connect { .. } => ErrorCode::ConnectionFailure,
            TransportError::Exchange { .. } | TransportError::Build(_) => {
                ErrorCode::TransientSystemFailure
            }
        }
    }
}

impl Client {
    /// A client that presents (or not) the identity inside `tls`.
    pub fn new(tls: &ClientConfig, timeouts: Timeouts) -> Result<Client, TransportError> {
        let mut config = tls.clone();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.read)
            // Keep connections: a TLS handshake per message would dominate latency.
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(LoopbackNames))
            .no_proxy()
            .build()
            .map_err(|e| TransportError::Build(e.to_string()))?;
        Ok(Client { http })
    }

    /// POSTs `body` with `content_type` and returns the answer, whatever its status.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Reply, TransportError> {
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.send(url, request).await
    }

    /// POSTs a JSON body (`application/json; charset=utf-8`).
    pub async fn post_json(&self, url: &str, body: Vec<u8>) -> Result<Reply, TransportError> {
        self.post(url, "application/json; charset=utf-8", body)
            .await
    }

    /// GETs `url`.
    pub async fn get(&self, url: &str) -> Result<Reply, TransportError> {
        self.send(url, self.http.get(url)).await
    }

    /// DELETEs `url`.
    pub async fn delete(&self, url: &str) -> Result<Reply, TransportError> {
        self.send(url, self.http.delete(url)).await
    }

    async fn send(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Reply, TransportError> {
        let response = request.send().await.map_err(|e| classify(url, &e))?;
        read(url, response).await
    }
}

async fn read(url: &str, response: reqwest::Response) -> Result<Reply, TransportError> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .bytes()
        .await
        .map_err(|e| classify(url, &e))?
        .to_vec();
    Ok(Reply {
        status,
        content_type,
        body,
    })
}

fn classify(url: &str, e: &reqwest::Error) -> TransportError {
    let message = error_chain(e);
    if e.is_timeout() {
        TransportError::Timeout {
            url: url.to_owned(),
        }
    } else if e.is_connect() {
        TransportError::Connect {
            url: url.to_owned(),
            message,
        }
    } else {
        TransportError::Exchange {
            url: url.to_owned(),
            message,
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
