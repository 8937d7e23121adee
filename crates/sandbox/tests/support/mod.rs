//! What several end-to-end test binaries share: clients with the sandbox's identities,
//! the test cards, and a browser authentication's requestor data.

#![allow(dead_code, reason = "each test binary uses the part it needs")]

pub mod site;
pub mod webdriver;

use std::path::Path;

use serde_json::{Value, json};
use transport::{Client, Timeouts};

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
