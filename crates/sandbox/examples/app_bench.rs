//! App-channel challenge round trips (CReq → CRes, encrypted) per second through the
//! whole sandbox, and their latency. Each round trip is: the SDK encrypts the CReq, posts
//! it to the ACS over TLS, the ACS finds the challenge in the store, unseals its
//! session key under the key service, decrypts and validates the CReq, checks ids and
//! counter, moves the challenge on, stores it (compare-and-set), encrypts the CRes;
//! the SDK decrypts and validates it. Starts its own sandbox on loopback.
//!
//! ```sh
//! cargo run --release -p sandbox --example app_bench -- [SECONDS] [CONCURRENCY] [ENC]
//! ```
//!
//! Defaults: 10 seconds, 16 concurrent apps, A128CBC-HS256 (`A128GCM` for the other).
//! Each challenge is the first CReq, 20 "send a new code" CReqs, then the right code,
//! so most round trips are steady-state challenge steps; the AReq before each challenge
//! is not counted in the round trips (it is in the wall time).

use std::time::{Duration, Instant};

use app_crypto::session::Enc;
use emv3ds::MessageVersion;
use sandbox::{Sandbox, SandboxConfig, cards};
use sdk::backend::{self, Purchase};
use sdk::{
    Action, ChallengeParameters, ChallengeStatus, ConfigParameters, DirectoryServer,
    ScriptedDriver, ThreeDs2Service,
};
use serde_json::Value;

/// Times each CReq → CRes round trip.
#[derive(Default)]
struct Stopwatch {
    sent: Option<Instant>,
    round_trips: Vec<Duration>,
}

impl sdk::ChallengeStatusReceiver for Stopwatch {
    fn creq(&mut self, _creq: &Value) {
        self.sent = Some(Instant::now());
    }
    fn cres(&mut self, _cres: &Value) {
        if let Some(sent) = self.sent.take() {
            self.round_trips.push(sent.elapsed());
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(1, 600);
    let concurrency: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
        .clamp(1, 512);
    let enc = args
        .next()
        .and_then(|e| Enc::from_name(&e))
        .unwrap_or(Enc::A128CbcHs256);

    let dirs = tempfile::tempdir()?;
    let config = SandboxConfig {
        certs: dirs.path().join("certs"),
        data: dirs.path().join("data"),
        port_base: 0,
        // THREEDS_TRACE=off measures the protocol without the trace.
        trace: std::env::var("THREEDS_TRACE").map_or(true, |v| v != "off"),
        ..SandboxConfig::default()
    };
    let running = Sandbox::start(&config).await?;
    let m = running.manifest.clone();
    let layout = pki::Layout::new(&config.certs);
    let tls = pki::tls::client_config(
        &layout.tls_root_ca(),
        Some(&layout.tls_identity("requestor")),
    )?;
    let requestor = transport::Client::new(&tls, transport::Timeouts::default())?;
    let api = m.endpoints.requestor_api.clone();
    let alpha = m
        .schemes
        .iter()
        .find(|s| s.name == "alpha")
        .ok_or("no alpha scheme")?;
    let ds_id = alpha.directory_server_id.clone();
    let servers = vec![DirectoryServer::from_files(
        &ds_id,
        &alpha.ds_encryption_cert,
        &alpha.ds_root_ca,
    )?];
    let service = ThreeDs2Service::initialize(ConfigParameters::new(servers, &m.tls.root_ca))?;
    let pan = cards()
        .into_iter()
        .find(|c| c.scheme == "alpha" && c.outcome == "challenge")
        .map(|c| c.pan)
        .ok_or("no challenge card")?;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (service, requestor, api, ds_id, pan) = (
            service.clone(),
            requestor.clone(),
            api.clone(),
            ds_id.clone(),
            pan.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut watch = Stopwatch::default();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let Ok(mut transaction) =
                    service.create_transaction(&ds_id, MessageVersion::V2_2_0)
                else {
                    failures += 1;
                    continue;
                };
                transaction.enc = enc;
                let Ok(params) = transaction.authentication_request_parameters() else {
                    failures += 1;
                    continue;
                };
                let body = backend::auth_request(&Purchase::new(&pan), &params);
                let Ok(answer) = backend::auth(&requestor, &api, &body).await else {
                    failures += 1;
                    continue;
                };
                let Ok(challenge) = ChallengeParameters::from_ares(&answer["ares"]) else {
                    failures += 1;
                    continue;
                };
                let mut actions = vec![Action::Resend; 20];
                actions.push(Action::Text("123456".into()));
                let status = transaction
                    .do_challenge(
                        &challenge,
                        &mut ScriptedDriver::new(actions),
                        &mut watch,
                        Duration::from_secs(60),
                    )
                    .await;
                if status
                    != (ChallengeStatus::Completed {
                        trans_status: "Y".into(),
                    })
                {
                    failures += 1;
                }
            }
            (watch.round_trips, failures)
        }));
    }
    let mut round_trips = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (times, failed) = task.await?;
        round_trips.extend(times);
        failures += failed;
    }
    let elapsed = started.elapsed();
    round_trips.sort();
    let at = |q: f64| {
        round_trips
            .get(((round_trips.len() as f64 * q) as usize).min(round_trips.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{} round trips ({}) in {:.1?} with {concurrency} apps: {:.0} CReq→CRes/s, p50 {:.1?}, p99 {:.1?}, {failures} failed challenges",
        round_trips.len(),
        enc.name(),
        elapsed,
        round_trips.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
    );
    running.shutdown().await;
    Ok(())
}
