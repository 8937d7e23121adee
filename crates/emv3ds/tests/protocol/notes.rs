//! `docs/protocol.md` is what the code cites: every `docs/protocol.md §N.M` in the
//! workspace's sources (and every bare `§N.M` in the dictionary's element table, which
//! says its section numbers refer to it) must name a section that exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The section numbers of the notes' headings (`## 3.` → `3`, `### 3.4 …` → `3.4`).
fn sections(notes: &str) -> BTreeSet<String> {
    notes
        .lines()
        .filter(|line| line.starts_with("## ") || line.starts_with("### "))
        .filter_map(|line| {
            let number = line
                .trim_start_matches('#')
                .trim_start()
                .split(' ')
                .next()?;
            let number = number.trim_end_matches('.');
            number
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
                .then(|| number.to_owned())
                .filter(|n| !n.is_empty())
        })
        .collect()
}

/// The `§N.M` references in `text`, ranges (`§6.3–§6.6`) included.
fn references(text: &str) -> Vec<String> {
    text.split('§')
        .skip(1)
        .map(|rest| {
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            number.trim_end_matches('.').to_owned()
        })
        // `§N.M` in prose names no section.
        .filter(|number| !number.is_empty())
        .collect()
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != ".git" {
                rust_sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs" || e == "py") {
            out.push(path);
        }
    }
}

#[test]
fn every_reference_to_the_protocol_notes_names_a_section_that_exists() {
    let root = workspace();
    let notes = std::fs::read_to_string(root.join("docs/protocol.md"))
        .expect("docs/protocol.md is in the repository");
    let known = sections(&notes);
    assert!(known.contains("1.4") && known.contains("10"), "{known:?}");
    let mut files = Vec::new();
    for dir in ["crates", "tui"] {
        rust_sources(&root.join(dir), &mut files);
    }
    let mut cited = 0;
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let whole_file = text.contains("section numbers in\n//! comments refer to it");
        for (n, line) in text.lines().enumerate() {
            let from = match line.find("docs/protocol.md") {
                Some(at) => at,
                // RFC sections are the RFC's, not ours.
                None if whole_file && !line.contains("RFC") => 0,
                None => continue,
            };
            for section in references(&line[from..]) {
                cited += 1;
                if !known.contains(&section) {
                    let file = file.strip_prefix(&root).unwrap_or(file);
                    broken.push(format!("{}:{}: §{section}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        cited > 20,
        "only {cited} references found: is the scan looking in the right place?"
    );
    assert!(
        broken.is_empty(),
        "references to sections docs/protocol.md does not have:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_source_cites_a_document_outside_the_repository() {
    let root = workspace();
    let mut files = Vec::new();
    for dir in ["crates", "tui"] {
        rust_sources(&root.join(dir), &mut files);
    }
    // Spelled in pieces so this file does not match itself.
    let outside = [
        ["fact", " sheet"].concat(),
        ["shared/", "protocol.md"].concat(),
    ];
    let offending: Vec<String> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f).is_ok_and(|t| outside.iter().any(|o| t.contains(o.as_str())))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offending.is_empty(),
        "cite docs/protocol.md instead: {offending:?}"
    );
}
