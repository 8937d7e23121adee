//! libFuzzer's input to `fuzzing::Target::BrowserForms` (its documentation says what the
//! target checks). Run from `crates/fuzzing` as the README says.

#![no_main]

use fuzzing::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: Target::BrowserForms.prepare(),
    |data: &[u8]| Target::BrowserForms.run(data)
);
