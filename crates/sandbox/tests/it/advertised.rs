//! Advertised names: a sandbox told the name (or address) it is reached by hands out
//! only URLs with that name, its certificates cover it, and it works by it end to end.

use crate::support;

use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// Preauth and a browser authentication of `pan` through the requestor API.
async fn authenticate(sandbox: &Sandbox, pan: &str) -> (Value, Value) {
    let requestor = sandbox.manifest.requestor_client().unwrap();
    let api = &sandbox.manifest.endpoints.requestor_api;
    let call = |path: &str, body: Value| {
        let (requestor, url) = (&requestor, format!("{api}{path}"));
        async move {
            let reply = requestor
                .post_json(&url, serde_json::to_vec(&body).unwrap())
                .await
                .unwrap();
            let answer: Value = serde_json::from_slice(&reply.body).unwrap();
            assert_eq!(reply.status, 200, "{url}: {answer}");
            answer
        }
    };
    let preauth = call("/v1/preauth", json!({ "acctNumber": pan })).await;
    let mut body = support::browser(pan, "2.2.0");
    body["messageVersion"] = json!("2.2.0");
    let auth = call("/v1/auth", body).await;
    (preauth, auth)
}

/// Every URL of `value` (recursively), as text.
fn urls(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("http") => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| urls(v, out)),
        Value::Object(members) => members.values().for_each(|v| urls(v, out)),
        _ => {}
    }
}

async fn works_by(config: SandboxConfig, name: &str) {
    let sandbox = Sandbox::start(&config).await.unwrap();
    let endpoints = serde_json::to_value(&sandbox.manifest.endpoints).unwrap();
    let mut handed_out = Vec::new();
    urls(&endpoints, &mut handed_out);
    for scheme in &sandbox.manifest.schemes {
        handed_out.push(scheme.directory_server.clone());
    }
    let (_, frictionless) = authenticate(&sandbox, &support::card("alpha", "frictionless-Y")).await;
    assert_eq!(frictionless["ares"]["transStatus"], "Y", "{frictionless}");
    let (preauth, challenge) = authenticate(&sandbox, &support::card("beta", "challenge")).await;
    assert_eq!(challenge["ares"]["transStatus"], "C", "{challenge}");
    urls(&preauth, &mut handed_out);
    urls(&challenge, &mut handed_out);
    assert!(handed_out.len() > 8, "{handed_out:?}");
    let prefix = format!("https://{name}:");
    for url in &handed_out {
        // The requestor's own URLs (threeDSRequestorURL, notification URLs) are its own.
        if url.contains("merchant.example") || url.contains("/notify") {
            continue;
        }
        assert!(
            url.starts_with(&prefix),
            "{url} is not advertised as {name}"
        );
    }
    // Every server certificate covers the name (not the faults' deliberately bad ones).
    let inventory = pki::inventory(&config.certs).unwrap();
    let servers: Vec<_> = inventory
        .certificates
        .iter()
        .filter(|c| c.names.iter().any(|n| n == "127.0.0.1") && !c.file.starts_with("faults/"))
        .collect();
    assert!(servers.len() >= 5, "{servers:?}");
    for cert in servers {
        assert!(
            cert.names.iter().any(|n| n == name),
            "{}: {:?}",
            cert.file,
            cert.names
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_sandbox_advertised_by_a_name_works_by_that_name() {
    let dirs = tempfile::tempdir().unwrap();
    // A `*.localhost` name: it resolves to loopback here without touching /etc/hosts.
    let name = "sandbox-host.localhost";
    let config = SandboxConfig {
        public_host: Some(name.into()),
        ..support::config_in(dirs.path())
    };
    works_by(config, name).await;
}

#[tokio::test]
async fn a_sandbox_advertised_by_an_address_works_by_that_address() {
    let dirs = tempfile::tempdir().unwrap();
    // Another loopback address, as a LAN address would be for a phone.
    let address = "127.0.0.2";
    let config = SandboxConfig {
        host: address.parse().unwrap(),
        public_host: Some(address.into()),
        ..support::config_in(dirs.path())
    };
    works_by(config, address).await;
}

#[tokio::test]
async fn a_name_that_cannot_be_a_certificate_name_is_refused() {
    let dirs = tempfile::tempdir().unwrap();
    let config = SandboxConfig {
        public_host: Some("bad host/".into()),
        ..support::config_in(dirs.path())
    };
    let err = Sandbox::start(&config).await.unwrap_err().to_string();
    assert!(err.contains("--public-host \"bad host/\""), "{err}");
}

#[tokio::test]
async fn doctor_names_the_advertised_name_a_pki_made_before_does_not_cover() {
    let dirs = tempfile::tempdir().unwrap();
    let plain = support::config_in(dirs.path());
    // A PKI from before the sandbox was advertised by another name.
    pki::init(&plain.certs, &plain.ecosystem.pki_spec(), false).unwrap();
    let name = "elsewhere.localhost";
    let config = SandboxConfig {
        public_host: Some(name.into()),
        ..plain
    };
    let sandbox = Sandbox::start(&config).await.unwrap();
    let report = sandbox::doctor::examine(&sandbox.manifest, &Default::default()).await;
    assert!(!report.passed, "{}", report.table());
    let endpoints = serde_json::to_value(&sandbox.manifest.endpoints).unwrap();
    let mut advertised = Vec::new();
    urls(&endpoints, &mut advertised);
    advertised.retain(|url| url.contains(name));
    assert!(advertised.len() >= 4, "{advertised:?}");
    for url in advertised {
        let port = url
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches(|c: char| !c.is_ascii_digit());
        let port = port.split('/').next().unwrap();
        assert!(
            report.checks.iter().any(|c| {
                c.outcome == sandbox::doctor::Outcome::Fail
                    && c.target.contains(&format!("{name}:{port}"))
                    && c.detail.contains(&format!("does not cover {name}"))
                    && c.detail.contains("threeds pki init --force --name")
            }),
            "no failure naming {name} for {url}:\n{}",
            report.table()
        );
    }
    sandbox.shutdown().await;
}
