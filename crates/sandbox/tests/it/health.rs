//! The health port: probes without a client certificate learn whether a process runs
//! (`/healthz`) and whether what it runs can work (`/readyz`), and nothing else.

use std::time::{Duration, Instant};

use crate::support;

use sandbox::{Component, Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// A plain-HTTP GET of `path` on the health listener: status and JSON body.
async fn probe(sandbox: &Sandbox, path: &str) -> (u16, Value) {
    let base = sandbox.manifest.health.as_deref().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let reply = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = reply.status().as_u16();
    let body = reply.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `/readyz` until it answers `want` (a peer may take a moment), or its last answer.
async fn readyz_until(sandbox: &Sandbox, want: u16) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = probe(sandbox, "/readyz").await;
        if answer.0 == want || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_running_sandbox_is_ready_and_the_port_says_nothing_else() {
    let dirs = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&support::config_in(dirs.path()))
        .await
        .unwrap();
    assert_eq!(
        probe(&sandbox, "/healthz").await,
        (200, json!({"status": "ok"}))
    );
    assert_eq!(
        readyz_until(&sandbox, 200).await,
        (200, json!({"status": "ready"}))
    );
    // Only the two probes: no trace, no admin, no component behind this port.
    for path in ["/", "/admin/trace", "/v1/preauth", "/readyz/../admin"] {
        assert_eq!(probe(&sandbox, path).await.0, 404, "{path}");
    }
    let base = sandbox.manifest.health.clone().unwrap();
    let post = reqwest::Client::new()
        .post(format!("{base}/readyz"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_component_is_not_ready_until_its_peers_and_card_ranges_are() {
    let dirs = tempfile::tempdir().unwrap();
    let mut config = SandboxConfig {
        port_base: support::free_port_base(),
        ..support::config_in(dirs.path())
    };
    // So the 3DS Server asks again soon for the card ranges it could not get at start.
    config.ecosystem.threeds_server.range_refresh_secs = 1;
    // The shop alone: it runs, but its 3DS Server does not.
    let shop = Sandbox::serve(&config, &Component::Merchant).await.unwrap();
    assert_eq!(probe(&shop, "/healthz").await.0, 200);
    assert_eq!(
        probe(&shop, "/readyz").await,
        (
            503,
            json!({"status": "not ready", "failing": ["3DS Server"]})
        )
    );
    // A 3DS Server without its DSs: not ready for either scheme, and says so.
    let server = Sandbox::serve(&config, &Component::ThreeDsServer)
        .await
        .unwrap();
    let (status, answer) = probe(&server, "/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(
        answer["failing"],
        json!([
            "card ranges alpha",
            "card ranges beta",
            "DS alpha",
            "DS beta"
        ]),
        "{answer}"
    );
    assert_eq!(readyz_until(&shop, 200).await.0, 200);
    // The DSs and the ACS come; at its next refresh of the card ranges it is ready.
    let mut peers = Vec::new();
    for component in [
        Component::Acs,
        Component::Ds("alpha".into()),
        Component::Ds("beta".into()),
    ] {
        peers.push(Sandbox::serve(&config, &component).await.unwrap());
    }
    for peer in &peers {
        assert_eq!(
            readyz_until(peer, 200).await.0,
            200,
            "{:?}",
            peer.manifest.health
        );
    }
    assert_eq!(readyz_until(&server, 200).await.0, 200);
    for running in peers.into_iter().chain([server, shop]) {
        running.shutdown().await;
    }
}
