//! Calling a peer: one pooled HTTPS client per peer configuration, connections kept
//! alive, and failures mapped to what the caller must answer.

use std::sync::Arc;
use std::time::Duration;

use emv3ds::ErrorCode;
use rustls::ClientConfig;
use trace::classify::Seen;
use trace::{Direction, Event, Kind, Party};

use crate::Observer;
use crate::faults::{self, CertificateProblem, FaultKind, Faults};

/// How long to wait (defaults from the decisions in `docs/protocol.md`: connect 5 s, answer 10 s).
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

/// Resolves loopback names (`pki::tls::is_loopback_name`: `localhost`, `*.localhost`)
/// to 127.0.0.1; other names go to the system resolver.
#[derive(Debug, Clone, Copy)]
struct LoopbackNames;

impl reqwest::dns::Resolve for LoopbackNames {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if pki::tls::is_loopback_name(&host) {
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
    /// Records what this client sends and gets back, when set.
    observer: Option<Arc<Observer>>,
    /// Server certificates already named for the trace (a handful of peers: parsing
    /// each response's certificate again would cost more than the message).
    peer_names: Arc<std::sync::Mutex<std::collections::HashMap<Vec<u8>, String>>>,
    /// The faults applied to what this client sends, and the party it sends for.
    faults: Option<(Faults, Party)>,
    /// The identities certificate faults present.
    faulty: Option<Arc<Faulty>>,
}

/// HTTP clients presenting identities a peer must refuse (certificate faults).
#[derive(Debug)]
struct Faulty {
    expired: reqwest::Client,
    wrong_ca: reqwest::Client,
}

/// A pooled HTTP client over `tls`.
fn http(
    tls: &ClientConfig,
    timeouts: Timeouts,
    tls_info: bool,
) -> Result<reqwest::Client, TransportError> {
    let mut config = tls.clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.read)
        // Keep connections: a TLS handshake per message would dominate latency.
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .dns_resolver(Arc::new(LoopbackNames))
        .no_proxy()
        .tls_info(tls_info)
        .build()
        .map_err(|e| TransportError::Build(e.to_string()))
}

/// A fault being applied to one exchange.
struct Applied {
    fault: crate::faults::Fault,
    hop: String,
    /// It changes the answer (it names the answer's type), not the request.
    on_answer: bool,
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
        Client::build(tls, timeouts, None)
    }

    /// Like [`Client::new`], recording every message it sends and every answer it gets
    /// (with the server's TLS identity) through `observer`.
    pub fn traced(
        tls: &ClientConfig,
        timeouts: Timeouts,
        observer: Observer,
    ) -> Result<Client, TransportError> {
        let observer = observer.tracer.is_enabled().then(|| Arc::new(observer));
        Client::build(tls, timeouts, observer)
    }

    fn build(
        tls: &ClientConfig,
        timeouts: Timeouts,
        observer: Option<Arc<Observer>>,
    ) -> Result<Client, TransportError> {
        Ok(Client {
            http: http(tls, timeouts, observer.is_some())?,
            observer,
            peer_names: Arc::default(),
            faults: None,
            faulty: None,
        })
    }

    /// Gives this client the identities certificate faults present instead of its own
    /// (`expired`, `wrong-ca`; see `pki::faulty_identities`).
    pub fn with_faulty_identities(
        mut self,
        expired: &ClientConfig,
        wrong_ca: &ClientConfig,
        timeouts: Timeouts,
    ) -> Result<Client, TransportError> {
        let traced = self.observer.is_some();
        self.faulty = Some(Arc::new(Faulty {
            expired: http(expired, timeouts, traced)?,
            wrong_ca: http(wrong_ca, timeouts, traced)?,
        }));
        Ok(self)
    }

    /// The server's certificate, as the trace names a TLS peer.
    fn server_identity(&self, response: &reqwest::Response) -> Option<String> {
        let info = response.extensions().get::<reqwest::tls::TlsInfo>()?;
        let der = info.peer_certificate()?;
        let mut names = self.peer_names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(name) = names.get(der) {
            return Some(name.clone());
        }
        let identity =
            pki::tls::PeerIdentity::from_chain(&[rustls::pki_types::CertificateDer::from(
                der.to_vec(),
            )])?;
        let name = format!(
            "{} ({})",
            identity.common_name.as_deref().unwrap_or("no common name"),
            identity.sha256.get(..23).unwrap_or(&identity.sha256)
        );
        if names.len() > 1024 {
            names.clear();
        }
        names.insert(der.to_vec(), name.clone());
        Some(name)
    }

    /// Who records this client's messages, if anyone.
    pub fn observer(&self) -> Option<&Observer> {
        self.observer.as_deref()
    }

    /// POSTs `body` with `content_type` and returns the answer, whatever its status.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        mut body: Vec<u8>,
    ) -> Result<Reply, TransportError> {
        let fault = self.fault(url, content_type, &body);
        if let Some(applied) = &fault
            && !applied.on_answer
            && let Some(changed) = faults::mutate(&applied.fault.kind, &body)
        {
            body = changed;
        }
        let sent = self
            .observer
            .as_deref()
            .and_then(|o| sent(o, url, content_type, &body));
        let started = self.observer.as_deref().map(|o| o.tracer.stopwatch());
        let result = match fault.as_ref().map(|a| &a.fault.kind) {
            Some(FaultKind::Timeout) => Err(TransportError::Timeout {
                url: url.to_owned(),
            }),
            Some(FaultKind::Refused) => Err(TransportError::Connect {
                url: url.to_owned(),
                message: "connection refused (fault injected)".into(),
            }),
            Some(FaultKind::HttpStatus { status }) => Ok((
                Reply {
                    status: *status,
                    content_type: None,
                    body: Vec::new(),
                },
                None,
            )),
            Some(FaultKind::Erro { code }) => Ok((
                Reply {
                    status: 200,
                    content_type: Some("application/json".into()),
                    body: faults::erro(code, fault.as_ref().map_or("", |a| a.hop.as_str()), &body),
                },
                None,
            )),
            other => {
                if let Some(FaultKind::Delay { ms }) = other {
                    tokio::time::sleep(Duration::from_millis(*ms)).await;
                }
                let misnamed;
                let (http, target) = match other {
                    Some(FaultKind::Certificate { problem }) => {
                        match (problem, self.faulty.as_deref()) {
                            (CertificateProblem::WrongName, _) => {
                                misnamed = faults::misnamed(url);
                                (&self.http, misnamed.as_str())
                            }
                            (CertificateProblem::Expired, Some(faulty)) => (&faulty.expired, url),
                            (CertificateProblem::WrongCa, Some(faulty)) => (&faulty.wrong_ca, url),
                            (_, None) => {
                                return Err(TransportError::Build(
                                    "this client has no faulty identities for certificate faults"
                                        .into(),
                                ));
                            }
                        }
                    }
                    _ => (&self.http, url),
                };
                let request = http
                    .post(target)
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(body);
                let mut result = self.send(url, request).await;
                if let (Some(applied), Ok((reply, _))) = (&fault, &mut result)
                    && applied.on_answer
                    && let Some(changed) = faults::mutate(&applied.fault.kind, &reply.body)
                {
                    reply.body = changed;
                }
                result
            }
        };
        if let (Some(observer), Some(sent), Some(started)) =
            (self.observer.as_deref(), sent, started)
        {
            answered(observer, url, &sent, &started, &result);
        }
        result.map(|(reply, _)| reply)
    }

    /// This client sending for `party`, with the faults of `faults` applied to what it
    /// sends and gets back.
    pub fn with_faults(mut self, faults: Faults, party: Party) -> Client {
        self.faults = Some((faults, party));
        self
    }

    /// The fault to apply to posting `body` to `url`, if one is set (and a note of it in
    /// the trace). A JWE (the app channel's CReq) is a CReq to the ACS; a fault that
    /// changes the message does not apply to it on the wire
    /// ([`Client::fault_plaintext`] did, before sealing).
    fn fault(&self, url: &str, content_type: &str, body: &[u8]) -> Option<Applied> {
        let (faults, party) = self.faults.as_ref()?;
        if !faults.any() {
            return None;
        }
        let message_type = message_type_of(body);
        let jwe = message_type.is_none() && content_type.starts_with("application/jose");
        let message_type = message_type.or_else(|| jwe.then(|| "CReq".to_owned()));
        let to = trace::classify::receiver(*party, message_type.as_deref())?;
        // A requestor API call is named by its path.
        let request = message_type.unwrap_or_else(|| path_of(url).to_owned());
        let hop = format!("{party}->{to}");
        let answer = match request.as_str() {
            "AReq" => "ARes",
            "PReq" => "PRes",
            "RReq" => "RRes",
            "CReq" => "CRes",
            _ => "",
        };
        let applies = |kind: &FaultKind| !(jwe && kind.changes_the_message());
        let (fault, on_answer) = match faults.take(&hop, &request, applies) {
            Some(f) => (f, false),
            None => (faults.take(&hop, answer, applies)?, true),
        };
        self.note_fault(&hop, &fault, to, body);
        Some(Applied {
            fault,
            hop,
            on_answer,
        })
    }

    /// `plaintext`, a `message_type` about to be sealed for the app channel (the SDK's
    /// CReq), as a fault that changes messages on this client's hop would have it; none
    /// when no such fault is set. Recorded like any fault.
    pub fn fault_plaintext(&self, message_type: &str, plaintext: &[u8]) -> Option<Vec<u8>> {
        let (faults, party) = self.faults.as_ref()?;
        if !faults.any() {
            return None;
        }
        let to = trace::classify::receiver(*party, Some(message_type))?;
        let hop = format!("{party}->{to}");
        let fault = faults.take(&hop, message_type, FaultKind::changes_the_message)?;
        self.note_fault(&hop, &fault, to, plaintext);
        faults::mutate(&fault.kind, plaintext)
    }

    /// A note in the trace that `fault` was applied on `hop`.
    fn note_fault(&self, hop: &str, fault: &crate::faults::Fault, to: Party, body: &[u8]) {
        if let Some(observer) = self.observer.as_deref() {
            let mut note = Event::note(
                observer.party,
                format!(
                    "fault injected on {hop}: {}",
                    serde_json::to_string(&fault.kind).unwrap_or_default()
                ),
                trace::Ids::of(&serde_json::from_slice(body).unwrap_or_default()),
            );
            note.to = Some(to);
            observer.tracer.emit(note);
        }
    }

    /// POSTs a JSON body (`application/json; charset=utf-8`).
    pub async fn post_json(&self, url: &str, body: Vec<u8>) -> Result<Reply, TransportError> {
        self.post(url, "application/json; charset=utf-8", body)
            .await
    }

    /// GETs `url`.
    pub async fn get(&self, url: &str) -> Result<Reply, TransportError> {
        self.send(url, self.http.get(url))
            .await
            .map(|(reply, _)| reply)
    }

    /// GETs `url` with a bearer token and hands over the body as it arrives, one line
    /// at a time (a Server-Sent Events stream), until the server ends it or the
    /// receiver is dropped. The status is checked first.
    pub async fn get_lines(
        &self,
        url: &str,
        bearer: &str,
    ) -> Result<tokio::sync::mpsc::Receiver<String>, TransportError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(bearer)
            .timeout(Duration::from_secs(60 * 60 * 24 * 365))
            .send()
            .await
            .map_err(|e| classify(url, &e))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            return Err(TransportError::Exchange {
                url: url.to_owned(),
                message: format!("HTTP {status}: {}", body.trim()),
            });
        }
        let (lines, received) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            let mut response = response;
            let mut pending = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                pending.extend_from_slice(&chunk);
                while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let line = String::from_utf8_lossy(&line).trim_end().to_owned();
                    if lines.send(line).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(received)
    }

    /// `method` `url` with a bearer token and a JSON body (the sandbox's admin endpoint).
    pub async fn send_with_bearer(
        &self,
        method: &str,
        url: &str,
        bearer: &str,
        body: Vec<u8>,
    ) -> Result<Reply, TransportError> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| TransportError::Build(e.to_string()))?;
        let request = self
            .http
            .request(method, url)
            .bearer_auth(bearer)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        self.send(url, request).await.map(|(reply, _)| reply)
    }

    /// GETs `url` with a bearer token (the sandbox's admin endpoint).
    pub async fn get_with_bearer(&self, url: &str, bearer: &str) -> Result<Reply, TransportError> {
        self.send(url, self.http.get(url).bearer_auth(bearer))
            .await
            .map(|(reply, _)| reply)
    }

    /// DELETEs `url`.
    pub async fn delete(&self, url: &str) -> Result<Reply, TransportError> {
        self.send(url, self.http.delete(url))
            .await
            .map(|(reply, _)| reply)
    }

    /// The answer, and the server's TLS identity when the client records it.
    async fn send(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(Reply, Option<String>), TransportError> {
        let response = request.send().await.map_err(|e| classify(url, &e))?;
        let peer = self
            .observer
            .as_ref()
            .and_then(|_| self.server_identity(&response));
        Ok((read(url, response).await?, peer))
    }
}

/// What the trace knows of a request sent: its `seq`, its counterpart, its ids.
struct Sent {
    seq: u64,
    to: Option<Party>,
    ids: trace::Ids,
}

fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').map_or("/", |i| &rest[i..])
}

fn sent(observer: &Observer, url: &str, content_type: &str, body: &[u8]) -> Option<Sent> {
    let path = path_of(url);
    let seen = Seen {
        path,
        content_type: Some(content_type),
        request: true,
    };
    let classified = trace::classify::classify(seen, body)?;
    let to = trace::classify::counterpart(observer.party, &classified, true);
    let ids = classified.ids.clone();
    let event = observer.message(classified, Direction::Sent, to, path);
    Some(Sent {
        seq: observer.tracer.emit(event),
        to,
        ids,
    })
}

fn answered(
    observer: &Observer,
    url: &str,
    sent: &Sent,
    started: &trace::Stopwatch,
    result: &Result<(Reply, Option<String>), TransportError>,
) {
    let path = path_of(url);
    let duration_ms = started.elapsed_ms();
    let mut event = match result {
        Ok((reply, peer)) => {
            let seen = Seen {
                path,
                content_type: reply.content_type.as_deref(),
                request: false,
            };
            let mut event = match trace::classify::classify(seen, &reply.body) {
                Some(classified) => {
                    observer.message(classified, Direction::Received, sent.to, path)
                }
                None => {
                    let mut event =
                        Event::new(Kind::Message, observer.party, format!("answer to {path}"));
                    event.direction = Some(Direction::Received);
                    event.from = sent.to;
                    event.to = Some(observer.party);
                    event.path = Some(path.to_owned());
                    event
                }
            };
            event.http_status = Some(reply.status);
            event.tls_peer.clone_from(peer);
            event
        }
        Err(e) => {
            let mut event = Event::note(
                observer.party,
                format!("no answer: {e}"),
                trace::Ids::default(),
            );
            event.to = sent.to;
            event
                .findings
                .push(format!("{e} (Erro {})", e.erro_code().as_str()));
            event
        }
    };
    event.ids.merge(&sent.ids);
    event.reply_to = Some(sent.seq);
    event.duration_ms = Some(duration_ms);
    observer.tracer.emit(event);
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

/// The `messageType` of a JSON message; none for anything else.
fn message_type_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "messageType")]
        message_type: Option<String>,
    }
    serde_json::from_slice::<Kind>(body)
        .ok()
        .and_then(|k| k.message_type)
}
