//! The catalogue of shipped weights (`static/weights/manifest.json`): what each file is, how it
//! was made, what it measured, and its hash, so the browser can list, fetch and verify them.
//! The CLI adds or replaces an entry whenever it saves weights.

use super::Backbone;
use crate::data::shard::sha256_hex;
use crate::meta::inner::InnerLoop;
use serde::{Deserialize, Serialize};

/// Name of the catalogue's format.
pub const FORMAT: &str = "fewshot-lab.weights.v1";

/// One weights file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsEntry {
    /// File name, relative to the catalogue.
    pub file: String,
    /// Learner that made it (`classifier`, `protonet`, `fomaml`, …).
    pub algorithm: String,
    /// Protocol or data it was trained on.
    pub protocol: String,
    /// Architecture of the saved network (files from before the choice are the reference CNN).
    #[serde(default)]
    pub backbone: Backbone,
    /// Output classes of the saved network.
    pub classes: usize,
    /// How the network adapts to a task, as it was meta-trained to (absent for networks
    /// without an inner loop: classifiers, prototypical networks, pre-trained features).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<InnerLoop>,
    /// The command that reproduces it.
    pub command: String,
    /// What was measured when it was made (`key=value` pairs).
    pub measured: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

/// Every shipped weights file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Always [`FORMAT`].
    pub format: String,
    /// The files.
    pub entries: Vec<WeightsEntry>,
}

/// Why a catalogue or a weights download was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// Not a catalogue.
    #[error("weights/manifest.json is not a weights catalogue: {0}")]
    Invalid(String),
    /// The file is not the one listed.
    #[error(
        "{file}: {got} bytes with SHA-256 {got_hash}, the catalogue lists {bytes} bytes with {sha256} (damaged or replaced)"
    )]
    Mismatch {
        /// The file.
        file: String,
        /// Size received.
        got: u64,
        /// Hash received.
        got_hash: String,
        /// Size listed.
        bytes: u64,
        /// Hash listed.
        sha256: String,
    },
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            format: FORMAT.into(),
            entries: Vec::new(),
        }
    }
}

impl Catalog {
    /// Parses and checks a catalogue.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let catalog: Self =
            serde_json::from_str(text).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        if catalog.format != FORMAT {
            return Err(CatalogError::Invalid(format!(
                "format {:?}",
                catalog.format
            )));
        }
        Ok(catalog)
    }

    /// The catalogue as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a catalogue always serialises") + "\n"
    }

    /// The entry for `file`.
    pub fn entry(&self, file: &str) -> Option<&WeightsEntry> {
        self.entries.iter().find(|e| e.file == file)
    }

    /// Adds `entry`, replacing any entry for the same file.
    pub fn upsert(&mut self, entry: WeightsEntry) {
        self.entries.retain(|e| e.file != entry.file);
        self.entries.push(entry);
        self.entries.sort_by(|a, b| a.file.cmp(&b.file));
    }
}

impl WeightsEntry {
    /// The value of `key` in [`Self::measured`] (`key=value` pairs separated by spaces).
    pub fn measured_value(&self, key: &str) -> Option<&str> {
        self.measured
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
    }

    /// Checks that `bytes` are this file as listed.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), CatalogError> {
        let hash = sha256_hex(bytes);
        if bytes.len() as u64 == self.bytes && hash == self.sha256 {
            Ok(())
        } else {
            Err(CatalogError::Mismatch {
                file: self.file.clone(),
                got: bytes.len() as u64,
                got_hash: hash,
                bytes: self.bytes,
                sha256: self.sha256.clone(),
            })
        }
    }
}

/// Records `file` (whose contents are `bytes`) in the catalogue next to it, creating the
/// catalogue if needed; `describe` fills in everything but the size and hash.
#[cfg(not(target_arch = "wasm32"))]
pub fn record(path: &std::path::Path, bytes: &[u8], mut entry: WeightsEntry) -> Result<(), String> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let manifest = dir.join("manifest.json");
    let mut catalog = match std::fs::read_to_string(&manifest) {
        Ok(text) => Catalog::parse(&text).map_err(|e| e.to_string())?,
        Err(_) => Catalog::default(),
    };
    entry.file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    entry.bytes = bytes.len() as u64;
    entry.sha256 = sha256_hex(bytes);
    catalog.upsert(entry);
    std::fs::write(&manifest, catalog.to_json())
        .map_err(|e| format!("cannot write {}: {e}", manifest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str, bytes: &[u8]) -> WeightsEntry {
        WeightsEntry {
            file: file.into(),
            algorithm: "protonet".into(),
            protocol: "digits".into(),
            backbone: Backbone::Conv4,
            classes: 10,
            inner: Some(InnerLoop::new().with_steps(3)),
            command: "fewshot-lab meta-train …".into(),
            measured: "val=0.9".into(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        }
    }

    #[test]
    fn catalogue_round_trips_and_upserts() {
        let mut catalog = Catalog::default();
        catalog.upsert(entry("b.bpk", b"one"));
        catalog.upsert(entry("a.bpk", b"two"));
        catalog.upsert(entry("b.bpk", b"three"));
        assert_eq!(catalog.entries.len(), 2);
        assert_eq!(catalog.entries[0].file, "a.bpk");
        let parsed = Catalog::parse(&catalog.to_json()).unwrap();
        assert_eq!(parsed, catalog);
        assert_eq!(parsed.entry("b.bpk").unwrap().bytes, 5);
        let listed = &parsed.entries[0];
        assert_eq!(listed.measured_value("val"), Some("0.9"));
        assert_eq!(listed.measured_value("va"), None);
    }

    #[test]
    fn damaged_files_and_foreign_json_are_refused() {
        let listed = entry("w.bpk", b"weights");
        assert!(listed.verify(b"weights").is_ok());
        assert!(matches!(
            listed.verify(b"weightz"),
            Err(CatalogError::Mismatch { .. })
        ));
        assert!(matches!(
            Catalog::parse("[1, 2]"),
            Err(CatalogError::Invalid(_))
        ));
        let other = r#"{"format": "x", "entries": []}"#;
        assert!(matches!(
            Catalog::parse(other),
            Err(CatalogError::Invalid(_))
        ));
    }
}
