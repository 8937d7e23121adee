//! What the integration test modules share: clients with the sandbox's identities,
//! the test cards, and a browser authentication's requestor data.

pub mod site;
pub mod webdriver;

use std::path::Path;

use serde_json::{Value, json};
use transport::{Client, Timeouts};

/// A sandbox configuration keeping its certificates and data under `dir`, on ports the
/// OS chooses. Its database is the SQLite file in `dir`, or, when
/// `THREEDS_TEST_SANDBOX_ON=postgres` (`cargo xtask test`'s second pass), a database of
/// `dir`'s own on the `THREEDS_TEST_POSTGRES` server (a restart in `dir` finds it).
pub fn config_in(dir: &Path) -> sandbox::SandboxConfig {
    sandbox::SandboxConfig {
        certs: dir.join("certs"),
        data: dir.join("data"),
        port_base: 0,
        database: test_database(dir),
        ..sandbox::SandboxConfig::default()
    }
}

/// The database [`config_in`] gives for `dir`: `None` (the SQLite default), or a
/// PostgreSQL database named after `dir`.
pub fn test_database(dir: &Path) -> Option<store::Database> {
    use std::hash::{BuildHasher as _, BuildHasherDefault, DefaultHasher};
    match std::env::var("THREEDS_TEST_SANDBOX_ON").as_deref() {
        Ok("postgres") => {
            let server = test_services::postgres()
                .expect("THREEDS_TEST_SANDBOX_ON=postgres needs THREEDS_TEST_POSTGRES");
            let name = BuildHasherDefault::<DefaultHasher>::default().hash_one(dir);
            Some(store::Database::parse(&format!(
                "{}/sandbox_{name:016x}",
                server.trim_end_matches('/')
            )))
        }
        Ok("sqlite") | Err(_) => None,
        Ok(other) => panic!("THREEDS_TEST_SANDBOX_ON={other}: use postgres or sqlite"),
    }
}

/// Whether the sandboxes of [`config_in`] keep their state in PostgreSQL.
pub fn on_postgres() -> bool {
    test_database(Path::new("")).is_some()
}

/// Ports a whole sandbox of the shipped ecosystem takes from `--port-base`: 3DS Server,
/// ACS, two DSs, the ACS's site, the merchant, the admin endpoint, the health port.
pub const SHIPPED_PORTS: u16 = 8;

/// The first of [`SHIPPED_PORTS`] consecutive ports free now, for a sandbox that must
/// be found by port (served components, a restart on the same ports).
///
/// The ports come from below the kernel's ephemeral range: every outgoing connection of
/// the tests running beside this one takes a port from that range, so a base found free
/// there can be taken by a client before the sandbox binds it (CI saw `AddrInUse`).
pub fn free_port_base() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let (low, high) = (10_000_u16, ephemeral_low.saturating_sub(SHIPPED_PORTS));
    let span = u32::from(high.saturating_sub(low).max(1));
    // Tests run in processes of their own: start each at a different place.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let start = (std::process::id().wrapping_mul(7_919) ^ nanos) % span;
    for step in 0..200_u32 {
        let offset = (start + step * u32::from(SHIPPED_PORTS) * 7) % span;
        let base = low + u16::try_from(offset).unwrap_or(0);
        let all_free = (0..SHIPPED_PORTS)
            .all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no {SHIPPED_PORTS} consecutive free ports below {ephemeral_low}");
}

/// A client presenting the sandbox TLS identity `name` (`requestor`, `acs`, …) of the
/// PKI in `certs`.
pub fn client_as(certs: &Path, name: &str) -> Client {
    let layout = pki::Layout::new(certs);
    let tls = pki::tls::client_config(&layout.tls_root_ca(), Some(&layout.tls_identity(name)))
        .expect("TLS client configuration");
    Client::new(&tls, Timeouts::default()).expect("client")
}

/// The shipped card of `scheme` with `outcome`.
pub fn card(scheme: &str, outcome: &str) -> String {
    sandbox::cards()
        .into_iter()
        .find(|c| c.scheme == scheme && c.outcome == outcome)
        .map(|c| c.pan)
        .expect("test card")
}

/// A browser AReq's requestor data, shaped for `version`.
pub fn browser(pan: &str, version: &str) -> Value {
    let mut body = json!({
        "deviceChannel": "02",
        "messageCategory": "01",
        "threeDSCompInd": "U",
        "threeDSRequestorAuthenticationInd": "01",
        "acctNumber": pan,
        "cardExpiryDate": "2712",
        "acquirerBIN": "412345",
        "acquirerMerchantID": "M-000001234",
        "mcc": "5411",
        "merchantCountryCode": "826",
        "merchantName": "Sandbox Shop",
        "purchaseAmount": "12345",
        "purchaseCurrency": "978",
        "purchaseExponent": "2",
        "purchaseDate": "20261124101530",
        "browserAcceptHeader": "text/html,application/xhtml+xml",
        "browserJavaEnabled": false,
        "browserLanguage": "en-GB",
        "browserColorDepth": "24",
        "browserScreenHeight": "1080",
        "browserScreenWidth": "1920",
        "browserTZ": "0",
        "browserUserAgent": "Mozilla/5.0 (X11; Linux x86_64)",
        "notificationURL": "https://localhost/3ds/notify",
    });
    if version != "2.1.0" {
        body["browserJavascriptEnabled"] = json!(true);
    }
    if version == "2.3.1" {
        body["acceptLanguage"] = json!(["en-GB"]);
        body["acquirerCountryCode"] = json!("826");
        body["acquirerCountryCodeSource"] = json!("01");
    }
    body
}

/// A browser authentication's requestor data, forced to `version`.
pub fn browser_at(pan: &str, version: &str) -> Value {
    let mut body = browser(pan, version);
    body["messageVersion"] = json!(version);
    body
}

/// `/v1/postauth/{id}` once it is final (the RReq arrived), or as it is after 10 s.
pub async fn final_result(requestor: &Client, api: &str, id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let result = sdk::backend::postauth(requestor, api, id)
            .await
            .expect("postauth answers");
        if result["status"] == "final" || std::time::Instant::now() > deadline {
            return result;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
