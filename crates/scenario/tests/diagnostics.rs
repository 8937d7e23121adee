//! Broken scenario files (`tests/broken/`) and what `threeds run` says about each: the
//! file, the line and column, and what was expected. The messages are snapshotted
//! (`tests/snapshots/`), so a change to a diagnostic is reviewed like code.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;

#[test]
fn every_broken_file_gets_its_place_and_what_was_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let cards = sandbox::cards();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut report = String::new();
    for file in &files {
        let diagnostic = scenario::load(file, &cards).expect_err("a broken file is refused");
        assert!(diagnostic.line > 0, "{diagnostic}: no place");
        let name = file.file_name().unwrap().to_string_lossy();
        let shown = diagnostic
            .to_string()
            .replace(&dir.display().to_string(), "tests/broken");
        report.push_str(&format!("{name}\n  {shown}\n"));
    }
    insta::assert_snapshot!("diagnostics", report);
}

#[test]
fn the_shipped_pack_reads_without_a_diagnostic() {
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let files = scenario::files(&[pack]).unwrap();
    assert!(files.len() >= 30, "{} scenarios", files.len());
    let cards = sandbox::cards();
    for file in &files {
        let scenario = scenario::load(file, &cards).unwrap_or_else(|d| panic!("{d}"));
        assert!(
            !scenario.description.trim().is_empty(),
            "{}: no description",
            file.display()
        );
    }
}
