//! `threeds serve <component>`: one component alone, so any of them can be swapped for
//! a user's own implementation. Peers are found by the URLs of the ecosystem file, or
//! by `--port-base` and their offsets, exactly as `threeds up` lays them out.

use std::process::ExitCode;

use anyhow::Context as _;

use super::RunArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `3dss`, `acs`, `ds` (with --scheme), or `merchant`.
    #[arg(value_parser = ["3dss", "acs", "ds", "merchant"])]
    component: String,
    /// The scheme whose DS to run (`ds` only; default: the first scheme).
    #[arg(long, value_name = "NAME")]
    scheme: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let config = args.run.sandbox_config()?;
    let component = match (args.component.as_str(), &args.scheme) {
        ("ds", Some(scheme)) => sandbox::Component::Ds(scheme.clone()),
        ("ds", None) => sandbox::Component::Ds(
            config
                .ecosystem
                .schemes
                .first()
                .map(|s| s.name.clone())
                .unwrap_or_default(),
        ),
        (_, Some(_)) => anyhow::bail!("--scheme is for `threeds serve ds` only"),
        ("acs", None) => sandbox::Component::Acs,
        ("merchant", None) => sandbox::Component::Merchant,
        _ => sandbox::Component::ThreeDsServer,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let running = sandbox::Sandbox::serve(&config, &component)
            .await
            .with_context(|| format!("starting the {}", args.component))?;
        let m = &running.manifest;
        match &component {
            sandbox::Component::ThreeDsServer => {
                println!(
                    "3DS Server  {}  (requestor API; RReq at /rreq)",
                    m.endpoints.requestor_api
                );
                for (ds, prepared) in &running.preparation {
                    match prepared {
                        Ok(n) => println!("  DS {ds}: {n} card ranges"),
                        Err(why) => eprintln!(
                            "threeds: warning: card ranges from DS {ds} not loaded: {why}"
                        ),
                    }
                }
            }
            sandbox::Component::Acs => {
                println!("ACS  {}", m.endpoints.acs);
                println!("  cardholder site  {}", m.endpoints.acs_site);
            }
            sandbox::Component::Merchant => {
                println!("Merchant shop  {}", m.endpoints.merchant);
                println!("  requestor API  {}", m.endpoints.requestor_api);
            }
            sandbox::Component::Ds(name) => {
                for s in m.schemes.iter().filter(|s| &s.name == name) {
                    println!(
                        "DS {}  {}  ({})",
                        s.name, s.directory_server, s.directory_server_id
                    );
                }
                println!("  routes AReqs to {}", m.endpoints.acs);
            }
        }
        println!("  database  {}", m.database);
        if let Some(health) = &m.health {
            println!("  health    {health}/healthz, {health}/readyz  (plain HTTP, for probes)");
        }
        if running.tracer().is_enabled() {
            println!(
                "  trace     {}  (threeds trace --database {})",
                m.trace_database.display(),
                m.trace_database.display()
            );
        }
        println!("Ctrl-C stops it.");
        super::until_stopped().await?;
        running.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
