//! `threeds spc`: the issuer's side of Secure Payment Confirmation on a running sandbox
//! (found through its manifest): a card's registered credentials, deleting one, and
//! what the check of one transaction's confirmation found. It calls the ACS site's
//! issuer endpoints (`/issuer/spc-credentials`, `/issuer/spc-confirmations/{id}`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use serde_json::{Value, json};

/// Which manifest.
#[derive(Debug, clap::Args)]
pub struct ManifestArg {
    /// The manifest `threeds up` wrote.
    #[arg(long, default_value = ".threeds/manifest.json", value_name = "FILE")]
    manifest: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the credentials registered for a card (after "use this device next time",
    /// or pre-registered for the shipped test authenticator).
    List {
        #[arg(long, value_name = "PAN")]
        card: String,
        /// Print the issuer endpoint's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        manifest: ManifestArg,
    },
    /// Delete a credential: its card's next payments get the OTP challenge again.
    Delete {
        /// The credential id (base64url), as `threeds spc list` shows it.
        #[arg(long, value_name = "ID")]
        credential: String,
        #[command(flatten)]
        manifest: ManifestArg,
    },
    /// What the ACS issued for one transaction's SPC confirmation and what the check of
    /// its assertion found (the precise reason of a refusal), as JSON.
    Check {
        /// The acsTransID of the ARes S (requestor-initiated) or of the challenge
        /// (ACS-initiated).
        #[arg(long = "acs-trans-id", value_name = "ID")]
        acs_trans_id: String,
        #[command(flatten)]
        manifest: ManifestArg,
    },
}

/// The ACS site's base URL, and a client that trusts the sandbox's root.
fn acs_site(manifest: &Path) -> anyhow::Result<(String, transport::Client)> {
    let m = sandbox::Manifest::read(manifest).map_err(|e| anyhow!(e))?;
    let tls = pki::tls::client_config(&m.tls.root_ca, None)?;
    let client = transport::Client::new(&tls, transport::Timeouts::default())?;
    Ok((m.endpoints.acs_site, client))
}

fn parsed(status: u16, body: &[u8]) -> anyhow::Result<Value> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| anyhow!("the ACS answered HTTP {status} with no JSON: {e}"))?;
    if status >= 400 {
        bail!(
            "the ACS refused (HTTP {status}): {}",
            json["error"].as_str().unwrap_or("no reason given")
        );
    }
    Ok(json)
}

pub fn run(command: &Command) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match command {
            Command::List {
                card,
                json: as_json,
                manifest,
            } => {
                let (site, client) = acs_site(&manifest.manifest)?;
                let body = json!({ "acctNumber": card }).to_string().into_bytes();
                let reply = client
                    .post_json(&format!("{site}/issuer/spc-credentials"), body)
                    .await?;
                let list = parsed(reply.status, &reply.body)?;
                if *as_json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                    return Ok(ExitCode::SUCCESS);
                }
                let credentials = list["credentials"].as_array().cloned().unwrap_or_default();
                let shown = list["card"].as_str().unwrap_or(card);
                if credentials.is_empty() {
                    println!("card {shown}: no SPC credential registered");
                }
                for c in credentials {
                    println!(
                        "{:<24} {}  signCount {}  rpId {}",
                        c["credentialId"].as_str().unwrap_or(""),
                        c["algorithm"].as_str().unwrap_or(""),
                        c["signCount"],
                        c["rpId"].as_str().unwrap_or(""),
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Delete {
                credential,
                manifest,
            } => {
                let (site, client) = acs_site(&manifest.manifest)?;
                let reply = client
                    .delete(&format!("{site}/issuer/spc-credentials/{credential}"))
                    .await?;
                if reply.status != 204 {
                    parsed(reply.status, &reply.body)?;
                }
                println!("deleted {credential}");
                Ok(ExitCode::SUCCESS)
            }
            Command::Check {
                acs_trans_id,
                manifest,
            } => {
                let (site, client) = acs_site(&manifest.manifest)?;
                let reply = client
                    .get(&format!("{site}/issuer/spc-confirmations/{acs_trans_id}"))
                    .await?;
                let found = parsed(reply.status, &reply.body)?;
                println!("{}", serde_json::to_string_pretty(&found)?);
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
