//! libFuzzer's input to `fuzzing::Target::EcosystemToml` (its documentation says what the
//! target checks). Run from `crates/fuzzing` as the README says.

#![no_main]

use fuzzing::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: Target::EcosystemToml.prepare(),
    |data: &[u8]| Target::EcosystemToml.run(data)
);
