//! The layering of `docs/architecture.md`, checked on the source.
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Lines of code (comments left out) under `dir` that contain any of `banned`.
fn offences(dir: &str, banned: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    assert!(!files.is_empty(), "no files under {dir}");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if banned.iter().any(|b| code.contains(b)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_domain_knows_no_http() {
    let found = offences(
        "src/domain",
        &[
            "actix_web",
            "actix_",
            "crate::web",
            "crate::error",
            "AppError",
        ],
    );
    assert!(
        found.is_empty(),
        "HTTP in the domain:\n{}",
        found.join("\n")
    );
}

#[test]
fn tenants_do_not_reach_into_what_lives_in_them() {
    // Devices live in tenants; restructuring (which touches both) sits above them.
    let found = offences("src/domain/tenants", &["devices::", "domain::devices"]);
    assert!(
        found.is_empty(),
        "tenants import devices:\n{}",
        found.join("\n")
    );
}

#[test]
fn email_gets_plain_values() {
    let found = offences(
        "src/email",
        &["domain::branding", "domain::tenants", "domain::users"],
    );
    assert!(
        found.is_empty(),
        "email reaches into the domain:\n{}",
        found.join("\n")
    );
}
