//! Records the git commit the binary is built from (with `+` when the tree had uncommitted
//! changes), so result files name the code that produced them, not whatever is checked out
//! when they are written.

use std::process::Command;

/// Runs git without the optional index refresh of `git status`, which would rewrite
/// `.git/index`, a file this script watches: a build in one target folder would then make the
/// others rebuild.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// What the binary is built from: a change to any of these marks the commit with `+`.
const SOURCES: [&str; 4] = ["src", "Cargo.toml", "Cargo.lock", "build.rs"];

fn main() {
    let refs = [
        ".git/HEAD",
        ".git/index",
        ".git/packed-refs",
        ".git/refs/heads",
    ];
    for path in SOURCES.iter().chain(&refs) {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let mut status = vec!["status", "--porcelain", "--"];
    status.extend(SOURCES);
    let dirty = git(&status).is_some_and(|s| !s.is_empty());
    let mark = if dirty { "+" } else { "" };
    println!("cargo:rustc-env=FEWSHOT_COMMIT={commit}{mark}");
}
