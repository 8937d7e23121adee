//! Writes every target's seeds into `<dir>/<target>/`, one file per seed named by its
//! content's hash, for cargo-fuzz to start from:
//! `cargo run -p fuzzing --bin seed-corpus -- crates/fuzzing/fuzz/corpus`.

use std::process::ExitCode;

use sha2::{Digest, Sha256};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: seed-corpus <dir>   (e.g. crates/fuzzing/fuzz/corpus)");
        return ExitCode::from(2);
    };
    for target in fuzzing::Target::ALL {
        let out = dir.join(target.name());
        if let Err(e) = std::fs::create_dir_all(&out) {
            eprintln!("{}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        let seeds = target.seeds();
        for seed in &seeds {
            let name: String = Sha256::digest(seed)[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let path = out.join(name);
            if let Err(e) = std::fs::write(&path, seed) {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
        println!(
            "{:<16} {} seeds in {}",
            target.name(),
            seeds.len(),
            out.display()
        );
    }
    ExitCode::SUCCESS
}
