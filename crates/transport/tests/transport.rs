//! The shared wire over real loopback sockets: handlers learn who is calling, requests
//! reuse one connection, and failures map to the codes a component must answer with.

use std::sync::OnceLock;
use std::time::Duration;

use axum::routing::post;
use axum::{Extension, Router};
use emv3ds::ErrorCode;
use pki::tls::{self, ClientAuth};
use pki::{Layout, PkiSpec};
use tokio::net::TcpListener;
use transport::{Client, Peer, Timeouts, TransportError, serve};

fn layout() -> Layout {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = PkiSpec {
            schemes: vec![PkiSpec::default().schemes[0].clone()],
            ..PkiSpec::default()
        };
        pki::init(dir.path(), &spec, false).expect("pki");
        dir
    });
    Layout::new(dir.path())
}

fn app() -> Router {
    Router::new()
        .route(
            "/whoami",
            post(|Extension(peer): Extension<Peer>| async move {
                peer.0
                    .and_then(|p| p.common_name)
                    .unwrap_or_else(|| "anonymous".into())
            }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_millis(800)).await;
                "late"
            }),
        )
}

async fn start(client_auth: ClientAuth) -> transport::TlsServer {
    let layout = layout();
    let config = tls::server_config(
        &layout.scheme("alpha").ds_tls_identity(),
        &layout.tls_root_ca(),
        client_auth,
    )
    .expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    serve(listener, &config, app()).expect("serve")
}

fn client(identity: Option<&str>, timeouts: Timeouts) -> Client {
    let layout = layout();
    let identity = identity.map(|name| layout.tls_identity(name));
    let config =
        tls::client_config(&layout.tls_root_ca(), identity.as_ref()).expect("client config");
    Client::new(&config, timeouts).expect("client")
}

/// A TLS connection to `address` speaking HTTP/1.1 by hand (no ALPN), no client
/// certificate: to send what no well-behaved client would.
async fn raw_http1(
    address: std::net::SocketAddr,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut client =
        (*tls::client_config(&layout().tls_root_ca(), None).expect("client config")).clone();
    client.alpn_protocols.clear();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    connector.connect(name, tcp).await.expect("handshake")
}

fn url(server: &transport::TlsServer, path: &str) -> String {
    format!("https://localhost:{}{path}", server.local_addr().port())
}

#[tokio::test]
async fn handlers_learn_who_is_calling() {
    let server = start(ClientAuth::Required).await;
    let reply = client(Some("3ds-server"), Timeouts::default())
        .post_json(&url(&server, "/whoami"), b"{}".to_vec())
        .await
        .expect("reply");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"threeds 3DS Server");
    server.shutdown().await;
}

#[tokio::test]
async fn many_requests_share_one_connection() {
    let server = start(ClientAuth::Required).await;
    let client = client(Some("acs"), Timeouts::default());
    for _ in 0..25 {
        let reply = client
            .post_json(&url(&server, "/whoami"), b"{}".to_vec())
            .await
            .expect("reply");
        assert_eq!(reply.body, b"threeds ACS");
    }
    assert_eq!(server.connections(), 1, "one TLS handshake for 25 requests");
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_without_a_certificate_gets_no_answer() {
    let server = start(ClientAuth::Required).await;
    let err = client(None, Timeouts::default())
        .post_json(&url(&server, "/whoami"), b"{}".to_vec())
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            TransportError::Connect { .. } | TransportError::Exchange { .. }
        ),
        "{err}"
    );
    // The server records the failed handshake on its own task: wait for it, with a deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while server.handshake_failures() == 0 && tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        server.handshake_failures() >= 1,
        "the server saw no failed handshake"
    );
    assert_eq!(server.connections(), 0, "no connection was established");
    server.shutdown().await;
}

#[tokio::test]
async fn a_slow_peer_is_a_timeout_402() {
    let server = start(ClientAuth::Required).await;
    let timeouts = Timeouts {
        connect: Duration::from_secs(5),
        read: Duration::from_millis(150),
    };
    let err = client(Some("3ds-server"), timeouts)
        .post_json(&url(&server, "/slow"), b"{}".to_vec())
        .await
        .expect_err("timeout");
    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    assert_eq!(err.erro_code(), ErrorCode::TimedOut);
    server.shutdown().await;
}

#[tokio::test]
async fn nobody_listening_is_a_connection_failure_405() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = client(Some("3ds-server"), Timeouts::default())
        .post_json(
            &format!("https://localhost:{closed}/whoami"),
            b"{}".to_vec(),
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, TransportError::Connect { .. }), "{err}");
    assert_eq!(err.erro_code(), ErrorCode::ConnectionFailure);
}

#[tokio::test]
async fn after_shutdown_nothing_is_accepted() {
    let server = start(ClientAuth::None).await;
    let target = url(&server, "/whoami");
    let ok = client(None, Timeouts::default())
        .post_json(&target, b"{}".to_vec())
        .await
        .expect("reply");
    assert_eq!(ok.body, b"anonymous");
    server.shutdown().await;
    // A fresh client (no pooled connection) cannot reach it any more.
    let err = client(None, Timeouts::default())
        .post_json(&target, b"{}".to_vec())
        .await;
    assert!(err.is_err(), "{err:?}");
}

/// A body larger than the endpoint's limit is refused from its announced length (the
/// handler never runs and nothing of the body is buffered).
#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let layout = layout();
    let config = tls::server_config(
        &layout.scheme("alpha").ds_tls_identity(),
        &layout.tls_root_ca(),
        ClientAuth::None,
    )
    .expect("server config");
    let app = transport::access::body_limit(
        Router::new().route("/echo", post(|body: axum::body::Bytes| async move { body })),
        1024,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = serve(listener, &config, app).expect("serve");

    let mut tls = raw_http1(server.local_addr()).await;
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000\r\n\r\n".to_vec();
    request.extend(std::iter::repeat_n(b'x', 2000));
    tls.write_all(&request).await.expect("write");
    let mut answer = vec![0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    let head = String::from_utf8_lossy(&answer[..read]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    server.shutdown().await;
}

/// A client that stops sending, in its headers or in its body, is cut off once the
/// header or body read timeout has passed (the connection closes, or the body's
/// reader answers 4xx), so it cannot hold a connection and a task for long.
#[tokio::test]
async fn slow_clients_are_cut_off_after_the_read_timeouts() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let layout = layout();
    let config = tls::server_config(
        &layout.scheme("alpha").ds_tls_identity(),
        &layout.tls_root_ca(),
        ClientAuth::None,
    )
    .expect("server config");
    let app = Router::new().route("/echo", post(|body: axum::body::Bytes| async move { body }));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = serve(listener, &config, app).expect("serve");
    let address = server.local_addr();
    let stall = |sent: &'static [u8], limit: Duration| async move {
        let mut tls = raw_http1(address).await;
        tls.write_all(sent).await.expect("write");
        tls.flush().await.expect("flush");
        let started = std::time::Instant::now();
        let mut answer = vec![0u8; 256];
        let read = tokio::time::timeout(limit + Duration::from_secs(5), tls.read(&mut answer))
            .await
            .expect("cut off within the timeout and a margin");
        let waited = started.elapsed();
        let head = match read {
            Ok(n) => String::from_utf8_lossy(&answer[..n]).into_owned(),
            Err(_) => String::new(),
        };
        (waited, head)
    };
    let (header, body) = tokio::join!(
        stall(
            b"POST /echo HTTP/1.1\r\nHost: localhost\r\n",
            transport::HEADER_READ_TIMEOUT
        ),
        stall(
            b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789",
            transport::BODY_READ_TIMEOUT
        ),
    );
    for ((waited, head), limit, what) in [
        (header, transport::HEADER_READ_TIMEOUT, "headers"),
        (body, transport::BODY_READ_TIMEOUT, "body"),
    ] {
        assert!(
            waited + Duration::from_secs(1) >= limit,
            "{what}: cut off early ({waited:?})"
        );
        assert!(
            head.is_empty() || head.starts_with("HTTP/1.1 4"),
            "{what}: answered {head:?}"
        );
    }
    server.shutdown().await;
}
