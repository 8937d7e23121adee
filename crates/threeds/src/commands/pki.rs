//! `threeds pki`: generate the sandbox PKI, or show what is in it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Generate every key and certificate the sandbox needs (refuses to overwrite an
    /// existing PKI without --force).
    Init {
        #[command(flatten)]
        dir: DirArg,
        /// Replace an existing PKI (new keys; the old certificates stop being trusted).
        #[arg(long)]
        force: bool,
        /// Certificates for the schemes of this ecosystem file (the hosts of the URLs it
        /// gives are covered too).
        #[command(flatten)]
        ecosystem: super::EcosystemArg,
        /// Another name every server certificate covers: a DNS name or IP address the
        /// components are reached by (a LAN address for a phone, a container's name).
        /// Repeatable.
        #[arg(long = "name", value_name = "NAME")]
        names: Vec<String>,
    },
    /// List the certificates: subject, issuer, key type, expiry, SHA-256 fingerprint.
    Show {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct DirArg {
    /// The PKI directory.
    #[arg(
        long = "dir",
        env = "THREEDS_CERTS",
        default_value = "certs",
        value_name = "DIR"
    )]
    path: PathBuf,
}

pub fn run(command: &Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init {
            dir,
            force,
            ecosystem,
            names,
        } => {
            let mut spec = ecosystem.load()?.pki_spec();
            for name in names {
                if !spec.names.contains(name) {
                    spec.names.push(name.clone());
                }
            }
            let inventory = pki::init(&dir.path, &spec, *force)?;
            println!(
                "generated {} certificates in {}",
                inventory.certificates.len(),
                dir.path.display()
            );
            print_table(&inventory)?;
        }
        Command::Show { dir, json } => {
            let inventory = pki::inventory(&dir.path)?;
            if *json {
                let mut out = std::io::stdout().lock();
                serde_json::to_writer_pretty(&mut out, &inventory)?;
                writeln!(out)?;
            } else {
                print_table(&inventory)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(inventory: &pki::Inventory) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let width = inventory
        .certificates
        .iter()
        .map(|c| c.file.len())
        .max()
        .unwrap_or(4);
    writeln!(
        out,
        "{:width$}  {:9}  {:10}  {:>4}  subject",
        "file", "key", "expires", "days"
    )
    .context("writing to standard output")?;
    for c in &inventory.certificates {
        let verified = match c.issuer_verified {
            Some(true) => "",
            Some(false) => "  [SIGNATURE DOES NOT VERIFY]",
            None => "  [issuer not in this directory]",
        };
        writeln!(
            out,
            "{:width$}  {:9}  {:10}  {:>4}  {}{verified}",
            c.file,
            c.key_type,
            c.not_after.get(..10).unwrap_or(&c.not_after),
            c.days_left,
            c.subject,
        )?;
        writeln!(
            out,
            "{:width$}  issuer {}  sha256 {}",
            "", c.issuer, c.sha256
        )?;
    }
    Ok(())
}
