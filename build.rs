//! Records the git commit the binary is built from (with `+` when the tree had uncommitted
//! changes), so result files name the code that produced them, not whatever is checked out
//! when they are written.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn main() {
    for path in ["src", "Cargo.toml", ".git/HEAD", ".git/index"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let mark = if dirty { "+" } else { "" };
    println!("cargo:rustc-env=FEWSHOT_COMMIT={commit}{mark}");
}
