//! `threeds spc`: the issuer's side of Secure Payment Confirmation on a running sandbox
//! (found through its manifest): a card's registered credentials, deleting one, and
//! what the check of one transaction's confirmation found. It calls the ACS site's
//! issuer back office, behind the admin endpoint (`/admin/issuer/spc-credentials`,
//! `/admin/issuer/spc-confirmations/{id}`: the admin certificate, and a TOTP code in
//! `THREEDS_ADMIN_TOTP` when a second factor is enrolled).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use serde_json::{Value, json};

use super::ManifestArg;

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

/// The sandbox's admin endpoint, where the issuer back office is served.
fn admin(manifest: &Path) -> anyhow::Result<sandbox::admin::AdminClient> {
    sandbox::admin::AdminClient::from_manifest(manifest).map_err(|e| anyhow!(e))
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
                let body = json!({ "acctNumber": card }).to_string().into_bytes();
                let (status, reply) = admin(&manifest.manifest)?
                    .call("POST", "/admin/issuer/spc-credentials", body)
                    .await
                    .map_err(|e| anyhow!(e))?;
                let list = parsed(status, &reply)?;
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
                let (status, reply) = admin(&manifest.manifest)?
                    .call(
                        "DELETE",
                        &format!("/admin/issuer/spc-credentials/{credential}"),
                        Vec::new(),
                    )
                    .await
                    .map_err(|e| anyhow!(e))?;
                if status != 204 {
                    parsed(status, &reply)?;
                }
                println!("deleted {credential}");
                Ok(ExitCode::SUCCESS)
            }
            Command::Check {
                acs_trans_id,
                manifest,
            } => {
                let (status, reply) = admin(&manifest.manifest)?
                    .call(
                        "GET",
                        &format!("/admin/issuer/spc-confirmations/{acs_trans_id}"),
                        Vec::new(),
                    )
                    .await
                    .map_err(|e| anyhow!(e))?;
                let found = parsed(status, &reply)?;
                println!("{}", serde_json::to_string_pretty(&found)?);
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
