//! `fewshot-lab shards`: MNIST IDX files in, verified shards and a manifest out.

use crate::data::Split;
use crate::data::idx::parse_pair;
use crate::data::manifest::{FORMAT, Manifest, ShardEntry};
use crate::data::shard::{self, Shard, sha256_hex};
use std::path::Path;

const FILES: [(Split, &str, &str); 2] = [
    (
        Split::Train,
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ),
    (
        Split::Test,
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ),
];

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Checks each file listed in `SHA256SUMS` (when the folder has one) before using it.
fn check_sums(dir: &Path) -> Result<(), String> {
    let Ok(sums) = std::fs::read_to_string(dir.join("SHA256SUMS")) else {
        return Ok(());
    };
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let (Some(expected), Some(name)) = (parts.next(), parts.next()) else {
            return Err(format!("SHA256SUMS: cannot read line {line:?}"));
        };
        let name = name.trim_start_matches('*');
        let actual = sha256_hex(&read(&dir.join(name))?);
        if actual != expected {
            return Err(format!(
                "{name}: SHA-256 {actual} does not match SHA256SUMS"
            ));
        }
    }
    Ok(())
}

/// Writes `out/{split}-NNN.shard` shards of `per_shard` images and `out/manifest.json`.
pub fn make(mnist_dir: &Path, out: &Path, per_shard: usize) -> Result<(), String> {
    if per_shard == 0 {
        return Err("--per-shard must be at least 1".into());
    }
    check_sums(mnist_dir)?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut entries = Vec::new();
    for (split, images_file, labels_file) in FILES {
        let set = parse_pair(
            &read(&mnist_dir.join(images_file))?,
            &read(&mnist_dir.join(labels_file))?,
        )
        .map_err(|e| format!("{images_file} / {labels_file}: {e}"))?;
        let name = match split {
            Split::Train => "train",
            Split::Test => "test",
        };
        for (index, start) in (0..set.len()).step_by(per_shard).enumerate() {
            let shard = Shard {
                split,
                images: set.range(start..(start + per_shard).min(set.len())),
            };
            let file = format!("{name}-{index:03}.shard");
            let bytes = shard::encode(&shard);
            std::fs::write(out.join(&file), &bytes)
                .map_err(|e| format!("cannot write {file}: {e}"))?;
            entries.push(ShardEntry::describe(&file, &shard, &bytes));
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: shard::VERSION,
        shards: entries,
    };
    let json = serde_json::to_string_pretty(&manifest).expect("a manifest always serialises");
    std::fs::write(out.join("manifest.json"), json + "\n")
        .map_err(|e| format!("cannot write manifest.json: {e}"))?;
    println!(
        "wrote {} shards ({} train, {} test images, {:.1} MB) to {}",
        manifest.shards.len(),
        manifest.images_in(Split::Train),
        manifest.images_in(Split::Test),
        manifest.total_bytes() as f64 / 1e6,
        out.display()
    );
    Ok(())
}
