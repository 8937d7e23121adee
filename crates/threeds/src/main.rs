//! `threeds`: the sandbox's command-line entry point. It parses flags and calls library
//! functions; no protocol logic lives here.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// An EMV 3-D Secure 2.x sandbox: every party of a 3DS authentication, on your laptop.
#[derive(Debug, Parser)]
#[command(name = "threeds", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate one EMV 3DS message as a receiving component would.
    ///
    /// Prints {"valid":true,"messageType":…,"messageVersion":…} and exits 0 when the
    /// message is valid; prints the Erro the receiving role would send back and exits 1
    /// when it is not; exits 2 on bad usage (no such file, unreadable request, …).
    Validate(commands::validate::Args),
    /// Print the data dictionary (every element, its format and presence rules) as Markdown.
    Dictionary,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Dictionary => {
            print!("{}", emv3ds::docs::markdown());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line: the whole context chain, outermost first.
            eprintln!("threeds: {err:#}");
            ExitCode::from(2)
        }
    }
}
