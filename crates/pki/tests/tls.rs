//! The TLS policy over real loopback sockets: mutual TLS works and names the peer; no
//! certificate, a certificate from another CA, a wrong server name, TLS 1.1 and non-AEAD
//! suites are all refused. OpenSSL's `s_client` plays the outside client for the
//! protocol and suite checks, so the policy is seen as a stranger would see it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

use pki::tls::{self, ClientAuth, Identity, PeerIdentity};
use pki::{Layout, PkiSpec};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Our PKI, and a foreign one (same shape, different keys).
fn pkis() -> &'static (tempfile::TempDir, tempfile::TempDir) {
    static DIRS: OnceLock<(tempfile::TempDir, tempfile::TempDir)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let spec = PkiSpec {
            schemes: vec![PkiSpec::default().schemes[0].clone()],
            ..PkiSpec::default()
        };
        let ours = tempfile::tempdir().expect("tempdir");
        let foreign = tempfile::tempdir().expect("tempdir");
        pki::init(ours.path(), &spec, false).expect("our pki");
        pki::init(foreign.path(), &spec, false).expect("foreign pki");
        (ours, foreign)
    })
}

fn ours() -> Layout {
    Layout::new(pkis().0.path())
}

fn foreign() -> Layout {
    Layout::new(pkis().1.path())
}

type HandshakeResult = Result<Option<PeerIdentity>, String>;

/// A TLS server on 127.0.0.1: reports each handshake, and greets the client by name.
async fn serve(
    identity: Identity,
    client_auth: ClientAuth,
) -> (SocketAddr, mpsc::UnboundedReceiver<HandshakeResult>) {
    let config =
        tls::server_config(&identity, &ours().tls_root_ca(), client_auth).expect("server config");
    let acceptor = TlsAcceptor::from(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(mut stream) => {
                        let peer = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(PeerIdentity::from_chain);
                        let name = peer
                            .as_ref()
                            .and_then(|p| p.common_name.clone())
                            .unwrap_or_else(|| "anonymous".into());
                        let _ = stream.write_all(format!("hello {name}\n").as_bytes()).await;
                        let _ = stream.shutdown().await;
                        let _ = tx.send(Ok(peer));
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// Connects with our TLS client configuration and reads the greeting.
async fn connect(
    addr: SocketAddr,
    identity: Option<&Identity>,
    trust: &Path,
    server_name: &str,
) -> Result<String, String> {
    let config = tls::client_config(trust, identity).map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
    let mut stream = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut greeting = String::new();
    stream
        .read_to_string(&mut greeting)
        .await
        .map_err(|e| e.to_string())?;
    Ok(greeting)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<HandshakeResult>) -> HandshakeResult {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("the server reports every handshake within 10 s")
        .expect("server running")
}

#[tokio::test]
async fn mutual_tls_succeeds_and_names_the_peer() {
    let (addr, mut rx) = serve(ours().tls_identity("acs"), ClientAuth::Required).await;
    let greeting = connect(
        addr,
        Some(&ours().tls_identity("3ds-server")),
        &ours().tls_root_ca(),
        "acs.localhost",
    )
    .await;
    assert_eq!(greeting.as_deref(), Ok("hello threeds 3DS Server\n"));
    let peer = next(&mut rx)
        .await
        .expect("handshake")
        .expect("peer certificate");
    assert_eq!(peer.common_name.as_deref(), Some("threeds 3DS Server"));
    let inventory = pki::inventory(pkis().0.path()).unwrap();
    assert_eq!(
        peer.sha256,
        inventory.get("tls/3ds-server.crt").unwrap().sha256,
        "same fingerprint as `pki show`"
    );
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let (addr, mut rx) = serve(
        ours().scheme("alpha").ds_tls_identity(),
        ClientAuth::Required,
    )
    .await;
    let client = connect(addr, None, &ours().tls_root_ca(), "localhost").await;
    let server = next(&mut rx).await;
    assert!(
        server.is_err(),
        "server accepted an anonymous client: {server:?}"
    );
    assert!(
        client.is_err() || client.as_deref() == Ok(""),
        "client got a greeting: {client:?}"
    );
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let (addr, mut rx) = serve(
        ours().scheme("alpha").ds_tls_identity(),
        ClientAuth::Required,
    )
    .await;
    let stranger = foreign().tls_identity("3ds-server");
    let _ = connect(addr, Some(&stranger), &ours().tls_root_ca(), "localhost").await;
    let server = next(&mut rx).await;
    let err = server.expect_err("a certificate from another CA must be refused");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[tokio::test]
async fn the_server_name_is_checked() {
    let (addr, mut rx) = serve(
        ours().scheme("alpha").ds_tls_identity(),
        ClientAuth::Required,
    )
    .await;
    let me = ours().tls_identity("acs");
    let wrong = connect(addr, Some(&me), &ours().tls_root_ca(), "acs.localhost").await;
    assert!(
        wrong.is_err(),
        "the DS certificate is not valid for acs.localhost"
    );
    let _ = next(&mut rx).await;
    let right = connect(addr, Some(&me), &ours().tls_root_ca(), "ds-alpha.localhost").await;
    assert_eq!(right.as_deref(), Ok("hello threeds ACS\n"));
    // And a server whose certificate comes from another CA is not trusted.
    let (addr, _rx) = serve_foreign().await;
    assert!(
        connect(addr, Some(&me), &ours().tls_root_ca(), "localhost")
            .await
            .is_err()
    );
}

async fn serve_foreign() -> (SocketAddr, mpsc::UnboundedReceiver<HandshakeResult>) {
    let config = tls::server_config(
        &foreign().tls_identity("acs"),
        &foreign().tls_root_ca(),
        ClientAuth::None,
    )
    .expect("foreign server");
    let acceptor = TlsAcceptor::from(config);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("foreign server");
    let addr = listener.local_addr().expect("foreign server");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let result = acceptor
                .accept(tcp)
                .await
                .map(|_| None)
                .map_err(|e| e.to_string());
            let _ = tx.send(result);
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn cardholder_facing_servers_need_no_client_certificate() {
    let (addr, mut rx) = serve(ours().tls_identity("merchant"), ClientAuth::None).await;
    let greeting = connect(addr, None, &ours().tls_root_ca(), "localhost").await;
    assert_eq!(greeting.as_deref(), Ok("hello anonymous\n"));
    assert_eq!(next(&mut rx).await, Ok(None));
}

#[test]
fn only_aead_suites_with_forward_secrecy() {
    for suite in tls::CIPHER_SUITES {
        let name = format!("{:?}", suite.suite());
        let aead = name.contains("GCM") || name.contains("CHACHA20_POLY1305");
        let fs = name.starts_with("TLS13_") || name.starts_with("TLS_ECDHE_");
        assert!(aead && fs, "{name}");
    }
    assert_eq!(
        tls::provider().cipher_suites.len(),
        tls::CIPHER_SUITES.len()
    );
}

/// Runs `openssl s_client` against `addr` and returns (success, everything it printed).
async fn s_client(addr: SocketAddr, args: &[&str], identity: Option<&Identity>) -> (bool, String) {
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &addr.to_string(),
        "-servername",
        "localhost",
        "-CAfile",
    ])
    .arg(ours().tls_root_ca())
    .args(args)
    .stdin(std::process::Stdio::null());
    if let Some(id) = identity {
        cmd.arg("-cert").arg(&id.cert).arg("-key").arg(&id.key);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("openssl must be installed (cargo xtask test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn openssl_sees_tls12_and_13_with_aead_only_and_mutual_auth() {
    let (addr, _rx) = serve(
        ours().scheme("alpha").ds_tls_identity(),
        ClientAuth::Required,
    )
    .await;
    let me = ours().tls_identity("3ds-server");

    let (ok, text) = s_client(addr, &["-tls1_3"], Some(&me)).await;
    assert!(
        ok && text.contains("TLSv1.3"),
        "TLS 1.3 with a certificate: {text}"
    );

    let (ok, text) = s_client(
        addr,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
        Some(&me),
    )
    .await;
    assert!(
        ok && text.contains("ECDHE-ECDSA-AES128-GCM-SHA256"),
        "TLS 1.2 AEAD: {text}"
    );

    // A CBC suite this ECDSA certificate could serve, were the policy to allow it.
    let (ok, text) = s_client(
        addr,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"],
        Some(&me),
    )
    .await;
    assert!(
        !ok && text.contains("alert handshake failure"),
        "CBC must be refused by the server: {text}"
    );

    // TLS 1.1, allowed on OpenSSL's side (security level 0) so that the refusal we see
    // is the server's alert, not OpenSSL declining to try.
    // (rustls answers an unsupported version with alert 40, handshake_failure.)
    let (ok, text) = s_client(
        addr,
        &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        Some(&me),
    )
    .await;
    let attempted = text.contains("Protocol  : TLSv1.1") || text.contains("Protocol: TLSv1.1");
    assert!(
        !ok && attempted && text.contains("SSL alert number"),
        "TLS 1.1 must be attempted by OpenSSL and refused by the server: {text}"
    );

    // TLS 1.2 without a client certificate: the handshake fails.
    let (ok, text) = s_client(addr, &["-tls1_2"], None).await;
    assert!(!ok, "no client certificate must be refused: {text}");
}
