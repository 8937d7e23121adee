//! Throughput and latency of frictionless browser authentications through the whole
//! sandbox: requestor API → 3DS Server → DS → ACS and back, over mutual TLS, every
//! message validated by its receiver. Starts its own sandbox on loopback (temporary
//! PKI and data) and stops after a fixed time.
//!
//! ```sh
//! cargo run --release -p sandbox --example auth_bench -- [SECONDS] [CONCURRENCY]
//! ```
//!
//! Defaults: 10 seconds, 32 concurrent requestors. Every component persists as it does
//! under `threeds up` (one SQLite file in WAL mode, PANs sealed under software keys), so
//! each authentication costs four database writes and three reads.

use std::time::{Duration, Instant};

use sandbox::{Sandbox, SandboxConfig, cards};
use serde_json::json;
use transport::{Client, Timeouts};

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
        .unwrap_or(32)
        .clamp(1, 1024);

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
    let layout = pki::Layout::new(&config.certs);
    let tls = pki::tls::client_config(
        &layout.tls_root_ca(),
        Some(&layout.tls_identity("requestor")),
    )?;
    let client = Client::new(&tls, Timeouts::default())?;
    let url = format!("{}/v1/auth", running.manifest.endpoints.requestor_api);
    let pan = cards()
        .into_iter()
        .find(|c| c.outcome == "frictionless-Y")
        .map(|c| c.pan)
        .unwrap_or_default();
    let body = serde_json::to_vec(&json!({
        "messageVersion": "2.2.0", "deviceChannel": "02", "messageCategory": "01",
        "threeDSCompInd": "U", "threeDSRequestorAuthenticationInd": "01",
        "acctNumber": pan, "acquirerBIN": "412345", "acquirerMerchantID": "M-1",
        "mcc": "5411", "merchantCountryCode": "826", "merchantName": "Sandbox Shop",
        "purchaseAmount": "12345", "purchaseCurrency": "978", "purchaseExponent": "2",
        "purchaseDate": "20261124101530", "browserAcceptHeader": "text/html",
        "browserJavaEnabled": false, "browserJavascriptEnabled": true, "browserLanguage": "en-GB",
        "browserColorDepth": "24", "browserScreenHeight": "1080", "browserScreenWidth": "1920",
        "browserTZ": "0", "browserUserAgent": "bench", "notificationURL": "https://localhost/notify",
    }))?;

    // Warm up: open connections, fill caches.
    for _ in 0..concurrency.min(64) {
        client.post_json(&url, body.clone()).await?;
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.clone();
        let body = body.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match client.post_json(&url, body.clone()).await {
                    Ok(reply)
                        if reply.status == 200
                            && reply.body.windows(17).any(|w| w == br#""transStatus":"Y""#) =>
                    {
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, e) = worker.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).copied().unwrap_or_default()
    };
    println!(
        "frictionless browser authentications over mTLS (requestor → 3DS Server → DS → ACS), {concurrency} concurrent, {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  {} ok, {errors} failed: {:.0} authentications/s",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    if let sandbox::KeysInfo::Software {
        audit_log: Some(log),
        ..
    } = &running.manifest.keys
    {
        let audit = std::fs::metadata(log).map_or(0, |m| m.len());
        let lines = std::fs::read(log).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
        println!(
            "  key audit log: {lines} lines, {:.1} per authentication, {:.1} MB",
            lines as f64 / latencies.len().max(1) as f64,
            audit as f64 / 1e6
        );
    }
    running.shutdown().await;
    Ok(())
}
