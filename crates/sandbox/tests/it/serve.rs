//! `threeds serve`: each component started alone (its own database), finding its peers
//! by port as `threeds up` lays them out, together make a working sandbox; and a
//! component whose peers cannot be located refuses to start with a clear reason.

use crate::support;

use sandbox::{Component, Sandbox, SandboxConfig};
use serde_json::json;

#[tokio::test]
async fn components_served_alone_form_the_sandbox() {
    let dirs = tempfile::tempdir().unwrap();
    let config = SandboxConfig {
        port_base: support::free_port_base(),
        ..support::config_in(dirs.path())
    };
    // Peers first, so the 3DS Server's first PReq finds its DSs.
    let mut running = Vec::new();
    for component in [
        Component::Acs,
        Component::Ds("alpha".into()),
        Component::Ds("beta".into()),
        Component::ThreeDsServer,
        Component::Merchant,
    ] {
        running.push(Sandbox::serve(&config, &component).await.unwrap());
    }
    let server = &running[3];
    for (ds, prepared) in &server.preparation {
        assert!(prepared.is_ok(), "{ds}: {prepared:?}");
    }
    let databases: Vec<_> = running
        .iter()
        .map(|r| std::path::PathBuf::from(&r.manifest.database))
        .collect();
    assert_eq!(databases.len(), 5);
    if support::on_postgres() {
        // One PostgreSQL database, shared, as components on several hosts share it.
        assert!(
            databases.iter().all(|db| db == &databases[0]),
            "{databases:?}"
        );
    } else {
        // A SQLite file each.
        for (i, db) in databases.iter().enumerate() {
            assert!(
                db.exists() && !databases[..i].contains(db),
                "{}",
                db.display()
            );
        }
    }

    let requestor = support::client_as(&config.certs, "requestor");
    let api = &server.manifest.endpoints.requestor_api;
    for scheme in ["alpha", "beta"] {
        let mut body = support::browser(&support::card(scheme, "frictionless-Y"), "2.2.0");
        body["messageVersion"] = json!("2.2.0");
        let reply = requestor
            .post_json(
                &format!("{api}/v1/auth"),
                serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(reply.status, 200, "{answer}");
        assert_eq!(answer["ares"]["transStatus"], "Y", "{scheme}: {answer}");
    }
    // The shop served alone finds the 3DS Server by port: its checkout reaches preauth.
    let shop = &running[4].manifest.endpoints.merchant;
    let browser = support::site::Site::new(&config.certs, &running[0].manifest.endpoints.acs_site);
    assert!(browser.get(shop).await.has(r#"id="card-number""#));
    let page = browser
        .post(
            &format!("{shop}/checkout"),
            &[
                ("cardNumber", &support::card("alpha", "frictionless-Y")),
                ("expiry", "12/30"),
                ("amount", "1.00"),
            ],
        )
        .await;
    assert!(page.has("Verifying your card"), "{}", page.html);
    for r in running {
        r.shutdown().await;
    }
}

#[tokio::test]
async fn a_component_starts_only_if_the_peers_it_needs_can_be_located() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let err = Sandbox::serve(&config, &Component::ThreeDsServer)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("runs elsewhere"), "{err}");
    // A DS needs its ACS; the ACS needs nobody, so it starts on any port.
    let err = Sandbox::serve(&config, &Component::Ds("alpha".into()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("the ACS runs elsewhere"), "{err}");
    let acs = Sandbox::serve(&config, &Component::Acs).await.unwrap();
    assert!(
        acs.manifest.endpoints.acs.ends_with("/areq"),
        "{:?}",
        acs.manifest.endpoints
    );
    acs.shutdown().await;
    let err = Sandbox::serve(&config, &Component::Ds("gamma".into()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no scheme named gamma") && err.contains("alpha, beta"),
        "{err}"
    );
}
