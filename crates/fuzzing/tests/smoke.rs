//! Every fuzz target, in the ordinary test run: each seed, then a fixed set of
//! mutations of each (`fuzzing::mutate`), so a target that stops building, a seed that
//! stops reaching its parser's depths, or a regression on inputs just off the seeds
//! fails CI. The coverage-guided runs are `fuzz/` (cargo-fuzz); see the README.

#![allow(clippy::unwrap_used, reason = "tests")]

use fuzzing::Target;
use fuzzing::mutate::{Rng, mutate};

/// Mutations per target: enough to leave every seed several ways, few enough for a
/// debug build on two cores (the RSA and P-256 targets cost milliseconds per input).
const MUTATIONS: usize = 400;

fn smoke(target: Target) {
    let seeds = target.seeds();
    assert!(!seeds.is_empty(), "{}: no seeds", target.name());
    for seed in &seeds {
        target.run(seed);
    }
    let mut rng = Rng::new(0x3d5_2023);
    for i in 0..MUTATIONS {
        let seed = &seeds[i % seeds.len()];
        let input = mutate(&mut rng, seed, &seeds);
        target.run(&input);
    }
    target.run(b"");
}

macro_rules! smoke_tests {
    ($($name:ident => $target:expr,)*) => {
        $(#[test] fn $name() { smoke($target); })*

        /// Every target has a smoke test here (the macro's list is checked against
        /// `Target::ALL`).
        #[test]
        fn every_target_is_smoke_tested() {
            let listed = [$($target),*];
            assert_eq!(listed, Target::ALL);
        }
    };
}

smoke_tests! {
    validate => Target::Validate,
    device_data => Target::DeviceData,
    app_jwe => Target::AppJwe,
    signed_content => Target::SignedContent,
    browser_forms => Target::BrowserForms,
    spc => Target::Spc,
    scenario_toml => Target::ScenarioToml,
    ecosystem_toml => Target::EcosystemToml,
    trace_input => Target::TraceInput,
}

/// The cargo-fuzz package has one binary per target, named as the target, each running
/// exactly that target: a new target cannot be forgotten there.
#[test]
fn the_cargo_fuzz_package_runs_every_target() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    let bins = manifest.matches("[[bin]]").count();
    assert_eq!(bins, Target::ALL.len(), "one [[bin]] per target");
    for target in Target::ALL {
        let name = target.name();
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "fuzz/Cargo.toml lacks the binary {name}"
        );
        let body = std::fs::read_to_string(fuzz.join(format!("fuzz_targets/{name}.rs")))
            .unwrap_or_else(|e| panic!("fuzz_targets/{name}.rs: {e}"));
        let variant = format!("{target:?}");
        assert!(
            body.contains(&format!("Target::{variant}.run(data)")),
            "fuzz_targets/{name}.rs does not run Target::{variant}"
        );
    }
}
