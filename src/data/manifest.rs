//! The shard manifest (`manifest.json`): which shards exist, and how to check each download.

use super::Split;
use super::shard::{Shard, sha256_hex};

/// Name of the manifest's format, so a wrong JSON file is recognised as such.
pub const FORMAT: &str = "fewshot-lab-mnist-shards";

/// One shard as listed in the manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardEntry {
    /// File name, relative to the manifest.
    pub file: String,
    /// Train or test.
    pub split: Split,
    /// Number of images.
    pub count: usize,
    /// Size of the gzipped file in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the gzipped file.
    pub sha256: String,
}

impl ShardEntry {
    /// The entry describing `shard`, encoded as `bytes`, stored as `file`.
    pub fn describe(file: &str, shard: &Shard, bytes: &[u8]) -> Self {
        Self {
            file: file.to_string(),
            split: shard.split,
            count: shard.images.len(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        }
    }
}

/// The list of shards and the format they are in.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Shard format version (see [`super::shard::VERSION`]).
    pub version: u16,
    /// Every shard, train shards first.
    pub shards: Vec<ShardEntry>,
}

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or not the expected fields.
    #[error("manifest.json is not a valid shard manifest: {0}")]
    Json(#[from] serde_json::Error),
    /// A JSON file of some other kind or version.
    #[error(
        "manifest.json is format {format:?} version {version}, expected {FORMAT:?} version {}",
        super::shard::VERSION
    )]
    Format {
        /// Format named in the file.
        format: String,
        /// Version named in the file.
        version: u16,
    },
}

impl Manifest {
    /// Parses and checks a manifest.
    pub fn parse(json: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = serde_json::from_str(json)?;
        if manifest.format != FORMAT || manifest.version != super::shard::VERSION {
            return Err(ManifestError::Format {
                format: manifest.format,
                version: manifest.version,
            });
        }
        Ok(manifest)
    }

    /// Total gzipped bytes of all shards.
    pub fn total_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.bytes).sum()
    }

    /// Total images in `split`.
    pub fn images_in(&self, split: Split) -> usize {
        self.shards
            .iter()
            .filter(|s| s.split == split)
            .map(|s| s.count)
            .sum()
    }

    /// The order to download shards in: one train shard, then one test shard, then the rest,
    /// so training can start as early as possible.
    pub fn download_order(&self) -> Vec<&ShardEntry> {
        let first_train = self.shards.iter().position(|s| s.split == Split::Train);
        let first_test = self.shards.iter().position(|s| s.split == Split::Test);
        let firsts: Vec<usize> = [first_train, first_test].into_iter().flatten().collect();
        firsts
            .iter()
            .chain(
                (0..self.shards.len())
                    .filter(|i| !firsts.contains(i))
                    .collect::<Vec<_>>()
                    .iter(),
            )
            .map(|&i| &self.shards[i])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str, split: Split) -> ShardEntry {
        ShardEntry {
            file: file.into(),
            split,
            count: 5,
            bytes: 10,
            sha256: String::new(),
        }
    }

    #[test]
    fn parses_its_own_output_and_rejects_other_json() {
        let manifest = Manifest {
            format: FORMAT.into(),
            version: 1,
            shards: vec![entry("a", Split::Train), entry("b", Split::Test)],
        };
        let json = serde_json::to_string(&manifest).unwrap();
        assert_eq!(Manifest::parse(&json).unwrap(), manifest);
        assert!(matches!(
            Manifest::parse(r#"{"format":"other","version":1,"shards":[]}"#),
            Err(ManifestError::Format { .. })
        ));
        assert!(matches!(
            Manifest::parse("<html>"),
            Err(ManifestError::Json(_))
        ));
    }

    #[test]
    fn downloads_one_train_and_one_test_shard_first() {
        let manifest = Manifest {
            format: FORMAT.into(),
            version: 1,
            shards: vec![
                entry("t0", Split::Train),
                entry("t1", Split::Train),
                entry("t2", Split::Train),
                entry("e0", Split::Test),
                entry("e1", Split::Test),
            ],
        };
        let order: Vec<&str> = manifest
            .download_order()
            .iter()
            .map(|e| e.file.as_str())
            .collect();
        assert_eq!(order, ["t0", "e0", "t1", "t2", "e1"]);
        assert_eq!(manifest.images_in(Split::Train), 15);
        assert_eq!(manifest.total_bytes(), 50);
    }
}
