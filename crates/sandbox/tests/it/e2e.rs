//! The whole sandbox over real sockets and mutual TLS, driven only through the
//! requestor API, as a merchant backend would: requestor → 3DS Server → DS → ACS and
//! back, every hop validated on both sides.

use serde_json::{Value, json};
use transport::{Client, Timeouts};

use crate::support;

use sandbox::{Sandbox, cards};
use support::{browser, card};

struct Running {
    sandbox: Sandbox,
    requestor: Client,
    dirs: tempfile::TempDir,
}

async fn start() -> Running {
    start_in(tempfile::tempdir().expect("tempdir")).await
}

/// A sandbox keeping its certificates and data in `dirs` (which may hold a previous
/// run's).
async fn start_in(dirs: tempfile::TempDir) -> Running {
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.expect("sandbox starts");
    for (ds, prepared) in &sandbox.preparation {
        assert!(prepared.is_ok(), "card ranges from {ds}: {prepared:?}");
    }
    let requestor = support::client_as(&config.certs, "requestor");
    Running {
        sandbox,
        requestor,
        dirs,
    }
}

impl Running {
    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.manifest.endpoints.requestor_api)
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let reply = self
            .requestor
            .post_json(&self.api(path), serde_json::to_vec(body).unwrap())
            .await
            .expect("the 3DS Server answers");
        let value = serde_json::from_slice(&reply.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&reply.body)));
        (reply.status, value)
    }

    async fn postauth(&self, id: &str) -> (u16, Value) {
        let reply = self
            .requestor
            .get(&self.api(&format!("/v1/postauth/{id}")))
            .await
            .expect("answer");
        (
            reply.status,
            serde_json::from_slice(&reply.body).unwrap_or(Value::Null),
        )
    }
}

/// A 3RI recurring payment referring to a prior authentication.
fn recurring(pan: &str, version: &str, prior_acs_trans_id: &str) -> Value {
    let prior = json!({
        "threeDSReqPriorRef": prior_acs_trans_id,
        "threeDSReqPriorAuthMethod": "01",
        "threeDSReqPriorAuthTimestamp": "202611241010",
    });
    let mut body = json!({
        "deviceChannel": "03",
        "messageCategory": if version == "2.1.0" { "02" } else { "01" },
        "threeRIInd": "01",
        "acctNumber": pan,
        "acquirerBIN": "412345",
        "acquirerMerchantID": "M-000001234",
        "mcc": "5411",
        "merchantCountryCode": "826",
        "merchantName": "Sandbox Shop",
        "purchaseAmount": "999",
        "purchaseCurrency": "978",
        "purchaseExponent": "2",
        "purchaseDate": "20261224101530",
        "recurringExpiry": "20271231",
        "recurringFrequency": "30",
        "messageVersion": version,
    });
    if version == "2.3.1" {
        body["threeDSRequestorPriorAuthenticationInfo"] = json!([prior]);
        body["recurringInd"] = json!({"amountInd": "01", "frequencyInd": "01"});
        body["acquirerCountryCode"] = json!("826");
        body["acquirerCountryCodeSource"] = json!("01");
    } else {
        body["threeDSRequestorPriorAuthenticationInfo"] = prior;
    }
    body
}

/// preauth, then auth in the version preauth negotiated.
async fn authenticate(run: &Running, pan: &str) -> (Value, Value) {
    let (status, pre) = run.post("/v1/preauth", &json!({ "acctNumber": pan })).await;
    assert_eq!(status, 200, "{pre}");
    assert_eq!(pre["enrolled"], true, "{pre}");
    let version = pre["messageVersion"]
        .as_str()
        .expect("negotiated version")
        .to_owned();
    let mut body = browser(pan, &version);
    body["threeDSServerTransID"] = pre["threeDSServerTransID"].clone();
    let (status, auth) = run.post("/v1/auth", &body).await;
    assert_eq!(status, 200, "{auth}");
    (pre, auth)
}

#[tokio::test]
async fn every_frictionless_outcome_for_both_schemes() {
    let run = start().await;
    for (scheme, eci_y, eci_a) in [("alpha", "05", "06"), ("beta", "02", "01")] {
        for (outcome, status, reason) in [
            ("frictionless-Y", "Y", None),
            ("frictionless-A", "A", None),
            ("frictionless-N", "N", Some("01")),
            ("frictionless-R", "R", Some("11")),
            ("frictionless-U", "U", Some("22")),
        ] {
            let pan = card(scheme, outcome);
            let (pre, auth) = authenticate(&run, &pan).await;
            let ares = &auth["ares"];
            assert_eq!(ares["transStatus"], status, "{scheme} {outcome}: {ares}");
            assert_eq!(ares["messageVersion"], "2.3.1", "negotiated: {ares}");
            assert_eq!(auth["threeDSServerTransID"], pre["threeDSServerTransID"]);
            match status {
                "Y" | "A" => {
                    let av = ares["authenticationValue"]
                        .as_str()
                        .expect("authenticationValue");
                    assert_eq!(av.len(), 28, "{av}");
                    assert_eq!(ares["eci"], if status == "Y" { eci_y } else { eci_a });
                }
                _ => assert_eq!(ares["transStatusReason"].as_str(), reason, "{ares}"),
            }
            let id = auth["threeDSServerTransID"].as_str().unwrap();
            let (code, post) = run.postauth(id).await;
            assert_eq!(code, 200);
            assert_eq!(post["status"], "final");
            assert_eq!(post["transStatus"], status);
            assert_eq!(post["source"], "ARes");
            assert_eq!(post["authenticationValue"], ares["authenticationValue"]);
        }
    }
    run.sandbox.shutdown().await;
}

/// The `authenticationValue` recomputed outside the sandbox, with OpenSSL rather than
/// the `hkdf`/`hmac` crates the key service uses: HKDF-SHA-256 of the software master key
/// (salt `threeds-kms-software-v1`, info `mac:authentication-value:<directory server
/// ID>`) keys an HMAC-SHA-256 over `acsTransID|PAN|purchaseAmount|transStatus`, whose
/// first 20 bytes are the value (a CAVV/AAV's length). So the value is the issuer's and
/// binds the transaction, not merely 28 characters of base64.
#[tokio::test]
async fn the_authentication_value_is_the_issuers_mac_over_the_transaction() {
    use base64::Engine;
    use openssl::{
        hash::MessageDigest, md::Md, pkey::Id, pkey::PKey, pkey_ctx::PkeyCtx, sign::Signer,
    };
    let run = start().await;
    let master = std::fs::read(run.dirs.path().join("data/keys/master.key")).unwrap();
    let value = |issuer: &str, message: &str| {
        let mut ctx = PkeyCtx::new_id(Id::HKDF).unwrap();
        ctx.derive_init().unwrap();
        ctx.set_hkdf_md(Md::sha256()).unwrap();
        ctx.set_hkdf_key(&master).unwrap();
        ctx.set_hkdf_salt(b"threeds-kms-software-v1").unwrap();
        ctx.add_hkdf_info(format!("mac:authentication-value:{issuer}").as_bytes())
            .unwrap();
        let mut key = [0u8; 32];
        ctx.derive(Some(&mut key)).unwrap();
        let key = PKey::hmac(&key).unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
        signer.update(message.as_bytes()).unwrap();
        base64::engine::general_purpose::STANDARD.encode(&signer.sign_to_vec().unwrap()[..20])
    };
    for (scheme, issuer, other) in [
        ("alpha", "F000000001", "F000000002"),
        ("beta", "F000000002", "F000000001"),
    ] {
        for (outcome, status) in [("frictionless-Y", "Y"), ("frictionless-A", "A")] {
            let pan = card(scheme, outcome);
            let (_, auth) = authenticate(&run, &pan).await;
            let ares = &auth["ares"];
            assert_eq!(ares["transStatus"], status, "{ares}");
            let message = format!(
                "{}|{pan}|12345|{status}",
                ares["acsTransID"].as_str().unwrap()
            );
            let got = ares["authenticationValue"].as_str().unwrap();
            assert_eq!(got, value(issuer, &message), "{scheme} {outcome}");
            // Under another issuer's key, or for another amount, it would differ.
            assert_ne!(got, value(other, &message));
            assert_ne!(got, value(issuer, &message.replace("|12345|", "|12346|")));
        }
    }
    run.sandbox.shutdown().await;
}

#[tokio::test]
async fn every_version_works_end_to_end() {
    let run = start().await;
    let pan = card("alpha", "frictionless-Y");
    for version in ["2.1.0", "2.2.0", "2.3.1"] {
        let mut body = browser(&pan, version);
        body["messageVersion"] = json!(version);
        let (status, auth) = run.post("/v1/auth", &body).await;
        assert_eq!(status, 200, "{version}: {auth}");
        assert_eq!(auth["ares"]["messageVersion"], version);
        assert_eq!(auth["ares"]["transStatus"], "Y");
    }
    run.sandbox.shutdown().await;
}

#[tokio::test]
async fn versions_are_negotiated_per_card_range() {
    let run = start().await;
    let older = cards()
        .into_iter()
        .find(|c| c.description.contains("version negotiation") && c.scheme == "beta")
        .unwrap();
    let (pre, auth) = authenticate(&run, &older.pan).await;
    assert_eq!(
        pre["messageVersion"], "2.2.0",
        "this ACS stops at 2.2.0: {pre}"
    );
    assert_eq!(auth["ares"]["messageVersion"], "2.2.0");
    assert_eq!(auth["ares"]["transStatus"], "Y");
    assert_eq!(pre["directoryServerId"], "F000000002");
    run.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_card_in_no_range_is_not_enrolled() {
    let run = start().await;
    let pan = card("alpha", "not-enrolled");
    let (status, pre) = run.post("/v1/preauth", &json!({ "acctNumber": pan })).await;
    assert_eq!((status, &pre["enrolled"]), (200, &json!(false)), "{pre}");
    let (status, erro) = run.post("/v1/auth", &browser(&pan, "2.2.0")).await;
    assert_eq!(status, 400);
    assert_eq!(
        (erro["errorCode"].as_str(), erro["errorDetail"].as_str()),
        (Some("305"), Some("acctNumber"))
    );
    run.sandbox.shutdown().await;
}

#[tokio::test]
async fn recurring_3ri_refers_to_a_prior_authentication() {
    let run = start().await;
    let pan = card("alpha", "frictionless-Y");
    let (_, first) = authenticate(&run, &pan).await;
    let prior = first["ares"]["acsTransID"].as_str().unwrap().to_owned();
    for version in ["2.1.0", "2.2.0", "2.3.1"] {
        let (status, auth) = run
            .post("/v1/auth", &recurring(&pan, version, &prior))
            .await;
        assert_eq!(status, 200, "{version}: {auth}");
        assert_eq!(auth["ares"]["transStatus"], "Y", "{version}: {auth}");
    }
    // A prior reference the ACS never gave: not authenticated, invalid transaction.
    let bogus = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let (status, auth) = run.post("/v1/auth", &recurring(&pan, "2.2.0", bogus)).await;
    assert_eq!(status, 200, "{auth}");
    assert_eq!(auth["ares"]["transStatus"], "N");
    assert_eq!(auth["ares"]["transStatusReason"], "07");
    run.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_invalid_request_is_refused_by_the_3ds_server() {
    let run = start().await;
    let mut body = browser(&card("alpha", "frictionless-Y"), "2.2.0");
    body["messageVersion"] = json!("2.2.0");
    body.as_object_mut().unwrap().remove("purchaseCurrency");
    body["browserColorDepth"] = json!("23");
    let (status, erro) = run.post("/v1/auth", &body).await;
    assert_eq!(status, 400, "{erro}");
    assert_eq!(erro["messageType"], "Erro");
    assert_eq!(erro["errorComponent"], "S");
    assert_eq!(erro["errorCode"], "201");
    assert_eq!(erro["errorDetail"], "purchaseCurrency");

    let mut unsupported = browser(&card("alpha", "frictionless-Y"), "2.2.0");
    unsupported["messageVersion"] = json!("2.0.0");
    let (status, erro) = run.post("/v1/auth", &unsupported).await;
    assert_eq!(status, 400, "{erro}");
    assert_eq!(
        (erro["errorCode"].as_str(), erro["errorDetail"].as_str()),
        (Some("102"), Some("messageVersion"))
    );

    let (status, missing) = run.postauth("8a880dc0-d2d2-4067-bcb1-b08d1690b26e").await;
    assert_eq!(status, 404, "{missing}");
    run.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_requestor_api_requires_a_client_certificate() {
    let run = start().await;
    let layout = pki::Layout::new(run.dirs.path().join("certs"));
    let anonymous = Client::new(
        &pki::tls::client_config(&layout.tls_root_ca(), None).unwrap(),
        Timeouts::default(),
    )
    .unwrap();
    let result = anonymous
        .post_json(&run.api("/v1/preauth"), b"{}".to_vec())
        .await;
    assert!(result.is_err(), "{result:?}");
    // Nor does the DS take an AReq from a client without one.
    let ds = &run.sandbox.manifest.endpoints.directory_server;
    assert!(anonymous.post_json(ds, b"{}".to_vec()).await.is_err());
    run.sandbox.shutdown().await;
}

/// Every endpoint of the running sandbox, seen from outside: a client certificate from
/// another CA is refused, and OpenSSL cannot get TLS 1.1 or a CBC suite.
#[tokio::test]
async fn every_endpoint_enforces_the_tls_policy() {
    let run = start().await;
    let certs = run.dirs.path().join("certs");
    let layout = pki::Layout::new(&certs);
    let foreign_dir = tempfile::tempdir().unwrap();
    let spec = pki::PkiSpec {
        schemes: vec![pki::PkiSpec::default().schemes[0].clone()],
        ..pki::PkiSpec::default()
    };
    pki::init(foreign_dir.path(), &spec, false).unwrap();
    let foreign = pki::Layout::new(foreign_dir.path());
    let stranger = Client::new(
        &pki::tls::client_config(
            &layout.tls_root_ca(),
            Some(&foreign.tls_identity("3ds-server")),
        )
        .unwrap(),
        Timeouts::default(),
    )
    .unwrap();

    let m = &run.sandbox.manifest;
    let mut endpoints = vec![
        format!("{}/v1/preauth", m.endpoints.requestor_api),
        m.endpoints.acs.clone(),
    ];
    endpoints.extend(m.schemes.iter().map(|s| s.directory_server.clone()));
    let me = layout.tls_identity("3ds-server");
    for url in &endpoints {
        let refused = stranger.post_json(url, b"{}".to_vec()).await;
        assert!(
            refused.is_err(),
            "{url} accepted a certificate from another CA"
        );

        let port = url
            .split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        // Blocking processes run off the runtime, which the servers need to answer.
        let s_client = |args: Vec<&str>| {
            let mut cmd = std::process::Command::new("openssl");
            cmd.args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-servername",
                "localhost",
            ])
            .args(args)
            .arg("-cert")
            .arg(&me.cert)
            .arg("-key")
            .arg(&me.key)
            .stdin(std::process::Stdio::null());
            tokio::task::spawn_blocking(move || {
                cmd.output()
                    .expect("openssl (cargo xtask test installs it)")
            })
        };
        let old = s_client(vec!["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&old.stdout).to_string()
            + &String::from_utf8_lossy(&old.stderr);
        assert!(
            !old.status.success() && text.contains("SSL alert number"),
            "{url} TLS 1.1: {text}"
        );
        let cbc = s_client(vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"])
            .await
            .unwrap();
        assert!(!cbc.status.success(), "{url} accepted a CBC suite");
        let good = s_client(vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])
            .await
            .unwrap();
        assert!(
            good.status.success(),
            "{url} refused TLS 1.2 with an AEAD suite"
        );
    }
    run.sandbox.shutdown().await;
}

/// The DS itself, sent bad AReqs directly (as a user's own 3DS Server might).
#[tokio::test]
async fn the_ds_answers_bad_areqs_with_the_right_erro() {
    let run = start().await;
    let server = support::client_as(&run.dirs.path().join("certs"), "3ds-server");
    let ds = &run.sandbox.manifest.schemes[0].directory_server;
    let example: Value =
        serde_json::from_str(emv3ds::examples::get("2.2.0", "AReq-browser").unwrap().json).unwrap();
    let send = |body: Vec<u8>| {
        let server = server.clone();
        let ds = ds.clone();
        async move {
            let reply = server.post_json(&ds, body).await.expect("the DS answers");
            assert_eq!(reply.status, 200, "protocol answers are HTTP 200");
            serde_json::from_slice::<Value>(&reply.body).unwrap()
        }
    };

    let mut missing = example.clone();
    missing.as_object_mut().unwrap().remove("purchaseAmount");
    let erro = send(serde_json::to_vec(&missing).unwrap()).await;
    assert_eq!(
        (erro["errorCode"].as_str(), erro["errorDetail"].as_str()),
        (Some("201"), Some("purchaseAmount"))
    );
    assert_eq!(erro["errorComponent"], "D");

    let mut bad = example.clone();
    bad["purchaseCurrency"] = json!("999");
    let erro = send(serde_json::to_vec(&bad).unwrap()).await;
    assert_eq!(
        (erro["errorCode"].as_str(), erro["errorDetail"].as_str()),
        (Some("203"), Some("purchaseCurrency"))
    );

    let mut elsewhere = example.clone();
    elsewhere["acctNumber"] = json!("4242424242424242");
    let erro = send(serde_json::to_vec(&elsewhere).unwrap()).await;
    assert_eq!(
        (erro["errorCode"].as_str(), erro["errorDetail"].as_str()),
        (Some("305"), Some("acctNumber"))
    );

    let erro = send(b"not json".to_vec()).await;
    assert_eq!(erro["errorCode"], "101");

    // Nested past any parser's limit, under the body limit: the trace's one-pass
    // redaction recursed per level and once aborted the process on this.
    let erro = send(b"[".repeat(100_000)).await;
    assert_eq!(erro["messageType"], "Erro", "{erro}");

    // And a good one is routed to the ACS and answered (this PAN has no card record).
    let ares = send(serde_json::to_vec(&example).unwrap()).await;
    assert_eq!(ares["messageType"], "ARes", "{ares}");
    assert_eq!(
        (
            ares["transStatus"].as_str(),
            ares["transStatusReason"].as_str()
        ),
        (Some("N"), Some("08"))
    );
    assert!(ares["dsTransID"].is_string());
    run.sandbox.shutdown().await;
}

#[tokio::test]
async fn results_and_card_ranges_survive_a_restart() {
    let run = start().await;
    let pan = card("beta", "frictionless-A");
    let (_, auth) = authenticate(&run, &pan).await;
    let id = auth["threeDSServerTransID"].as_str().unwrap().to_owned();
    let (_, before) = run.postauth(&id).await;
    let (_, pre) = run.post("/v1/preauth", &json!({ "acctNumber": pan })).await;
    let Running {
        sandbox,
        requestor: _,
        dirs,
    } = run;
    sandbox.shutdown().await;

    let run = start_in(dirs).await;
    let (code, after) = run.postauth(&id).await;
    assert_eq!(code, 200, "{after}");
    assert_eq!(after, before);
    assert_eq!(after["transStatus"], "A");
    // The preauth issued before the restart can still be completed.
    let mut body = browser(&pan, pre["messageVersion"].as_str().unwrap());
    body["threeDSServerTransID"] = pre["threeDSServerTransID"].clone();
    let (status, auth) = run.post("/v1/auth", &body).await;
    assert_eq!(status, 200, "{auth}");
    // But a transaction that already has its result cannot be authenticated again.
    let (status, again) = run.post("/v1/auth", &body).await;
    assert_eq!(
        (status, again["errorCode"].as_str()),
        (400, Some("301")),
        "{again}"
    );
    run.sandbox.shutdown().await;
}

#[tokio::test]
async fn auth_refuses_transaction_ids_preauth_did_not_issue_for_the_card() {
    let run = start().await;
    let (_, pre) = run
        .post(
            "/v1/preauth",
            &json!({ "acctNumber": card("alpha", "frictionless-Y") }),
        )
        .await;
    let other = card("alpha", "frictionless-N");
    for id in [
        pre["threeDSServerTransID"].clone(),
        json!("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"),
    ] {
        let mut body = browser(&other, "2.2.0");
        body["threeDSServerTransID"] = id;
        let (status, erro) = run.post("/v1/auth", &body).await;
        assert_eq!(status, 400, "{erro}");
        assert_eq!(erro["errorCode"], "301", "{erro}");
        assert_eq!(erro["errorDetail"], "threeDSServerTransID", "{erro}");
    }
    run.sandbox.shutdown().await;
}

/// Every test card through every component, then every file in the data directory
/// (database, WAL, shared memory, keys, manifest) scanned for each card number; on
/// PostgreSQL, every table read back by `Store::scan`.
#[tokio::test]
async fn the_database_holds_no_card_number_in_clear() {
    let run = start().await;
    let mut pans = Vec::new();
    for c in cards() {
        if c.outcome == "not-enrolled" {
            let _ = run
                .post("/v1/preauth", &json!({ "acctNumber": c.pan }))
                .await;
        } else {
            authenticate(&run, &c.pan).await;
        }
        pans.push(c.pan);
    }
    if support::on_postgres() {
        let scan = run.sandbox.store().scan(&pans).await.unwrap();
        assert!(scan.exposures.is_empty(), "{:#?}", scan.exposures);
        assert!(scan.rows("server_transactions") > 10, "{:?}", scan.tables);
        run.sandbox.shutdown().await;
        return;
    }
    let database = std::path::PathBuf::from(&run.sandbox.manifest.database);
    assert!(
        database.is_absolute() && database.exists(),
        "{}",
        database.display()
    );
    let data = database.parent().unwrap().to_owned();
    // With the WAL live, then after shutdown has checkpointed it.
    scan_for_pans(&data, &pans);
    run.sandbox.shutdown().await;
    scan_for_pans(&data, &pans);
}

fn scan_for_pans(dir: &std::path::Path, pans: &[String]) {
    let mut files = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            files += 1;
            for pan in pans {
                assert!(
                    !bytes.windows(pan.len()).any(|w| w == pan.as_bytes()),
                    "{} holds {pan} in clear",
                    path.display()
                );
            }
        }
    }
    assert!(files >= 2, "scanned {files} files");
}

/// The DS relays RReqs only for transactions it routed, only from the range's ACS, and
/// the 3DS Server refuses one for a transaction whose ARes was already final.
#[tokio::test]
async fn the_ds_checks_rreqs_before_relaying_them() {
    let run = start().await;
    let (_, auth) = authenticate(&run, &card("alpha", "frictionless-Y")).await;
    let ares = &auth["ares"];
    let rreq = |ds_trans_id: &Value| {
        json!({
            "messageType": "RReq",
            "messageVersion": "2.2.0",
            "threeDSServerTransID": ares["threeDSServerTransID"],
            "acsTransID": ares["acsTransID"],
            "dsTransID": ds_trans_id,
            "messageCategory": "01",
            "transStatus": "Y",
            "authenticationType": "02",
            "interactionCounter": "01",
            "eci": "05",
            "authenticationValue": "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=",
        })
    };
    let certs = run.dirs.path().join("certs");
    let as_identity = |name: &str| support::client_as(&certs, name);
    let ds = run.sandbox.manifest.schemes[0].directory_server.clone();
    let send = |client: Client, body: Value| {
        let ds = ds.clone();
        async move {
            let reply = client
                .post_json(&ds, serde_json::to_vec(&body).unwrap())
                .await
                .unwrap();
            (
                reply.status,
                serde_json::from_slice::<Value>(&reply.body).unwrap(),
            )
        }
    };
    // The right ACS, a transaction whose result is final: the 3DS Server says 305.
    let (status, answer) = send(as_identity("acs"), rreq(&ares["dsTransID"])).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &answer["messageType"],
            &answer["errorCode"],
            &answer["errorComponent"]
        ),
        (&json!("Erro"), &json!("305"), &json!("S")),
        "{answer}"
    );
    // Unknown dsTransID: the DS says 301.
    let unknown = json!("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    let (status, answer) = send(as_identity("acs"), rreq(&unknown)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &answer["errorCode"],
            &answer["errorComponent"],
            &answer["errorDetail"]
        ),
        (&json!("301"), &json!("D"), &json!("dsTransID")),
        "{answer}"
    );
    // Another party's certificate (the 3DS Server's): access denied, as HTTP 403.
    let (status, answer) = send(as_identity("3ds-server"), rreq(&ares["dsTransID"])).await;
    assert_eq!(status, 403);
    assert_eq!(
        (&answer["errorCode"], &answer["errorComponent"]),
        (&json!("303"), &json!("D")),
        "{answer}"
    );
    // The result is unchanged.
    let id = ares["threeDSServerTransID"].as_str().unwrap();
    let (_, post) = run.postauth(id).await;
    assert_eq!(
        (post["source"].as_str(), post["transStatus"].as_str()),
        (Some("ARes"), Some("Y"))
    );
    run.sandbox.shutdown().await;
}

/// Every server-to-server endpoint × every identity the PKI issues (plus no certificate,
/// an expired one and one from a foreign CA): only the endpoint's own callers get past
/// the TLS handshake and the access check; every other caller is refused (TLS, or HTTP
/// 403 with `Erro` 303), and the transaction waiting for its result is unchanged.
#[tokio::test]
async fn every_endpoint_answers_only_the_parties_it_serves() {
    let run = start().await;
    // A challenge left open: the RReq a forger would send names it.
    let (_, auth) = authenticate(&run, &card("alpha", "challenge")).await;
    let ares = auth["ares"].clone();
    assert_eq!(ares["transStatus"], "C", "{ares}");
    let id = ares["threeDSServerTransID"].as_str().unwrap().to_owned();

    let certs = run.dirs.path().join("certs");
    let layout = pki::Layout::new(&certs);
    let root = layout.tls_root_ca();
    let client = |identity: Option<pki::tls::Identity>| {
        let tls = pki::tls::client_config(&root, identity.as_ref()).unwrap();
        Client::new(&tls, Timeouts::default()).unwrap()
    };
    let faulty = pki::faulty_identities(&certs, "3ds-server").unwrap();
    let callers: Vec<(&str, Client)> = vec![
        ("requestor", client(Some(layout.tls_identity("requestor")))),
        (
            "3ds-server",
            client(Some(layout.tls_identity("3ds-server"))),
        ),
        ("acs", client(Some(layout.tls_identity("acs")))),
        ("merchant", client(Some(layout.tls_identity("merchant")))),
        (
            "ds-alpha",
            client(Some(layout.scheme("alpha").ds_tls_identity())),
        ),
        (
            "ds-beta",
            client(Some(layout.scheme("beta").ds_tls_identity())),
        ),
        ("admin", client(Some(pki::admin_identity(&certs).unwrap()))),
        ("expired", client(Some(faulty.expired))),
        ("foreign CA", client(Some(faulty.wrong_ca))),
        ("none", client(None)),
    ];
    let example = |name: &str| -> Value {
        serde_json::from_str(emv3ds::examples::get("2.2.0", name).unwrap().json).unwrap()
    };
    // A valid RReq of this transaction's version, naming it, saying Y.
    let version = ares["messageVersion"].as_str().unwrap();
    let mut rreq: Value =
        serde_json::from_str(emv3ds::examples::get(version, "RReq-browser").unwrap().json).unwrap();
    for name in ["threeDSServerTransID", "acsTransID", "dsTransID"] {
        rreq[name] = ares[name].clone();
    }
    rreq["transStatus"] = json!("Y");
    // A browser AReq as a DS sends it on to the ACS.
    let mut relayed = example("AReq-browser");
    relayed["dsTransID"] = json!("0f2c4b1e-9a7d-4c3b-8e5f-6a1b2c3d4e5f");
    relayed["dsReferenceNumber"] = json!("DS_SANDBOX_ALPHA");
    relayed["dsURL"] = json!("https://localhost:1/rreq");
    let endpoints = &run.sandbox.manifest.endpoints;
    let api = endpoints.requestor_api.trim_end_matches('/');
    let alpha = &run.sandbox.manifest.schemes[0].directory_server;
    let beta = &run.sandbox.manifest.schemes[1].directory_server;
    // (endpoint, message, the callers it serves)
    let matrix: Vec<(String, Option<Value>, &[&str])> = vec![
        (
            format!("{api}/v1/preauth"),
            Some(json!({"acctNumber": card("alpha", "frictionless-Y")})),
            &["requestor"],
        ),
        (
            format!("{api}/v1/auth"),
            Some(browser(&card("alpha", "frictionless-Y"), "2.2.0")),
            &["requestor"],
        ),
        (format!("{api}/v1/postauth/{id}"), None, &["requestor"]),
        // Results: from the DS of this transaction only (alpha's).
        (format!("{api}/rreq"), Some(rreq.clone()), &["ds-alpha"]),
        (alpha.clone(), Some(example("PReq")), &["3ds-server"]),
        (beta.clone(), Some(example("AReq-browser")), &["3ds-server"]),
        // The RReq of an alpha transaction, at alpha's DS: from the ACS only.
        (alpha.clone(), Some(rreq.clone()), &["acs"]),
        // An alpha card's AReq: from alpha's DS only (beta's is the ACS's DS too,
        // but not this card's).
        (endpoints.acs.clone(), Some(relayed), &["ds-alpha"]),
    ];
    let mut refused = 0;
    for (url, body, serves) in &matrix {
        for (who, client) in &callers {
            if serves.contains(who) {
                continue;
            }
            let reply = match body {
                Some(body) => {
                    client
                        .post_json(url, serde_json::to_vec(body).unwrap())
                        .await
                }
                None => client.get(url).await,
            };
            match reply {
                // Refused in the handshake (no, expired or foreign certificate; the
                // merchant's is a server certificate only).
                Err(_) => {}
                Ok(reply) => {
                    let answer: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
                    assert_eq!(
                        (reply.status, answer["errorCode"].as_str()),
                        (403, Some("303")),
                        "{url} let {who} in: {answer}"
                    );
                    assert!(
                        answer["errorDescription"]
                            .as_str()
                            .is_some_and(|d| d.contains("only")),
                        "the refusal says whom {url} serves: {answer}"
                    );
                }
            }
            refused += 1;
        }
    }
    assert_eq!(
        refused,
        matrix
            .iter()
            .map(|(_, _, s)| callers.len() - s.len())
            .sum::<usize>()
    );
    // The legitimate caller of an endpoint that changes nothing gets through.
    let reply = callers[1]
        .1
        .post_json(alpha, serde_json::to_vec(&example("PReq")).unwrap())
        .await
        .unwrap();
    let pres: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        (reply.status, pres["messageType"].as_str()),
        (200, Some("PRes")),
        "{pres}"
    );
    // Nobody's forged result was taken: the challenge still waits for its RReq.
    let (_, post) = run.postauth(&id).await;
    assert_eq!(
        (post["source"].as_str(), post["transStatus"].as_str()),
        (Some("ARes"), Some("C")),
        "{post}"
    );
    run.sandbox.shutdown().await;
}

/// A malformed element is reported as itself before any lookup: a card number with
/// letters is 203 naming `acctNumber`, not "not enrolled" (305), on both API calls.
#[tokio::test]
async fn requestor_elements_are_checked_before_they_are_looked_up() {
    let run = start().await;
    let mut body = browser(&card("alpha", "frictionless-Y"), "2.2.0");
    body["acctNumber"] = json!("41111111abcd1111");
    body["threeDSServerTransID"] = json!("not-a-uuid");
    let (status, answer) = run.post("/v1/auth", &body).await;
    assert_eq!(
        (
            status,
            answer["errorCode"].as_str(),
            answer["errorDetail"].as_str()
        ),
        (400, Some("203"), Some("acctNumber,threeDSServerTransID")),
        "{answer}"
    );
    let (status, answer) = run
        .post("/v1/preauth", &json!({"acctNumber": "41111111abcd1111"}))
        .await;
    assert_eq!(
        (
            status,
            answer["errorCode"].as_str(),
            answer["errorDetail"].as_str()
        ),
        (400, Some("203"), Some("acctNumber")),
        "{answer}"
    );
    run.sandbox.shutdown().await;
}

/// URLs are data: a 3DS Method whose notification URL would run script on the ACS's
/// origin gets an error page naming the field, and no form posts there; the requestor
/// API refuses such a URL too (203 naming it).
#[tokio::test]
async fn a_script_url_never_becomes_a_form_action() {
    use base64::Engine;
    let run = start().await;
    let site = run
        .sandbox
        .manifest
        .endpoints
        .acs_site
        .trim_end_matches('/');
    for notify in [
        "javascript:alert(document.domain)",
        "JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://shop.example/notify",
    ] {
        let data = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            json!({
                "threeDSServerTransID": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
                "threeDSMethodNotificationURL": notify,
            })
            .to_string(),
        );
        let form = format!("threeDSMethodData={data}");
        let reply = run
            .requestor
            .post(
                &format!("{site}/3ds-method"),
                "application/x-www-form-urlencoded",
                form.into_bytes(),
            )
            .await
            .unwrap();
        let page = String::from_utf8_lossy(&reply.body);
        assert_eq!(reply.status, 400, "{notify}: {page}");
        assert!(
            page.contains("threeDSMethodNotificationURL is refused"),
            "{notify}: {page}"
        );
        assert!(!page.contains("<form"), "{notify}: {page}");
    }
    let (status, answer) = run
        .post(
            "/v1/preauth",
            &json!({
                "acctNumber": card("alpha", "frictionless-Y"),
                "threeDSMethodNotificationURL": "javascript:alert(1)",
            }),
        )
        .await;
    assert_eq!(
        (
            status,
            answer["errorCode"].as_str(),
            answer["errorDetail"].as_str()
        ),
        (400, Some("203"), Some("threeDSMethodNotificationURL")),
        "{answer}"
    );
    run.sandbox.shutdown().await;
}
