//! The catalogue of shipped weights (`static/weights/manifest.json`): what each file is, how it
//! was made, what it measured, and its hash, so the browser can list, fetch and verify them.
//! The CLI adds or replaces an entry whenever it saves weights.

use super::{Architecture, Backbone, Sizes};
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
    /// Its layer sizes, when they are not the backbone's standard ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Sizes>,
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

impl WeightsEntry {
    /// The saved network's backbone and layer sizes.
    pub fn architecture(&self) -> Architecture {
        Architecture {
            backbone: self.backbone,
            sizes: self.sizes.unwrap_or(self.backbone.standard_sizes()),
        }
    }

    /// The same entry for a network of `architecture` (sizes recorded only when not standard).
    pub fn with_architecture(self, architecture: Architecture) -> Self {
        Self {
            backbone: architecture.backbone,
            sizes: (!architecture.is_standard()).then_some(architecture.canonical().sizes),
            ..self
        }
    }
}

/// A kind of file a catalogue lists: what its entries say beyond the file's name, size and
/// hash, and the format name of its catalogue.
pub trait Listed: Clone + Serialize + serde::de::DeserializeOwned {
    /// Name of the catalogue's format.
    const FORMAT: &'static str;
    /// The file's name, relative to the catalogue.
    fn file(&self) -> &str;
    /// Its size in bytes and hex SHA-256 as listed.
    fn listed(&self) -> (u64, &str);
    /// Lists `file` with its size and hash.
    fn list(&mut self, file: String, bytes: u64, sha256: String);

    /// Checks that `bytes` are this file as listed.
    fn verify(&self, bytes: &[u8]) -> Result<(), CatalogError> {
        let (size, sha256) = self.listed();
        let hash = sha256_hex(bytes);
        if bytes.len() as u64 == size && hash == sha256 {
            Ok(())
        } else {
            Err(CatalogError::Mismatch {
                file: self.file().into(),
                got: bytes.len() as u64,
                got_hash: hash,
                bytes: size,
                sha256: sha256.into(),
            })
        }
    }
}

/// Every file of one kind in a folder (`manifest.json` beside them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "E: Listed")]
pub struct Catalog<E = WeightsEntry> {
    /// Always `E::FORMAT`.
    pub format: String,
    /// The files.
    pub entries: Vec<E>,
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

impl<E: Listed> Default for Catalog<E> {
    fn default() -> Self {
        Self {
            format: E::FORMAT.into(),
            entries: Vec::new(),
        }
    }
}

impl<E: Listed> Catalog<E> {
    /// Parses and checks a catalogue.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let catalog: Self =
            serde_json::from_str(text).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        if catalog.format != E::FORMAT {
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
    pub fn entry(&self, file: &str) -> Option<&E> {
        self.entries.iter().find(|e| e.file() == file)
    }

    /// Adds `entry`, replacing any entry for the same file.
    pub fn upsert(&mut self, entry: E) {
        self.entries.retain(|e| e.file() != entry.file());
        self.entries.push(entry);
        self.entries.sort_by(|a, b| a.file().cmp(b.file()));
    }
}

impl Listed for WeightsEntry {
    const FORMAT: &'static str = FORMAT;

    fn file(&self) -> &str {
        &self.file
    }

    fn listed(&self) -> (u64, &str) {
        (self.bytes, &self.sha256)
    }

    fn list(&mut self, file: String, bytes: u64, sha256: String) {
        (self.file, self.bytes, self.sha256) = (file, bytes, sha256);
    }
}

impl WeightsEntry {
    /// The value of `key` in [`Self::measured`] (`key=value` pairs separated by spaces).
    pub fn measured_value(&self, key: &str) -> Option<&str> {
        self.measured
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
    }
}

/// Records the file at `path` (whose contents are `bytes`) in the catalogue next to it,
/// creating the catalogue if needed; `entry` holds everything but the name, size and hash.
#[cfg(not(target_arch = "wasm32"))]
pub fn record<E: Listed>(path: &std::path::Path, bytes: &[u8], mut entry: E) -> Result<(), String> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let manifest = dir.join("manifest.json");
    let mut catalog = match std::fs::read_to_string(&manifest) {
        Ok(text) => Catalog::<E>::parse(&text).map_err(|e| e.to_string())?,
        Err(_) => Catalog::default(),
    };
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    entry.list(file, bytes.len() as u64, sha256_hex(bytes));
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
            sizes: None,
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
            Catalog::<WeightsEntry>::parse("[1, 2]"),
            Err(CatalogError::Invalid(_))
        ));
        let other = r#"{"format": "x", "entries": []}"#;
        assert!(matches!(
            Catalog::<WeightsEntry>::parse(other),
            Err(CatalogError::Invalid(_))
        ));
    }
}
