//! A network kept as text, for browser storage: the catalogue entry that describes it and its
//! burnpack bytes (base64), checked against the entry when read back.
//!
//! The meta-train page keeps the network it meta-trained this way (*Use in the Playground*);
//! the Playground lists it beside the shipped networks.

use super::Architecture;
use super::catalog::{Listed, WeightsEntry};
use crate::data::shard::sha256_hex;
use crate::meta::inner::InnerLoop;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Format tag of a stored network.
const FORMAT: &str = "fewshot-lab.stored-network.v1";
/// The prefix that marks a catalogue entry as stored in this browser rather than shipped.
pub const STORED_PREFIX: &str = "browser:";

/// What was meta-trained, and how it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// Learner that made it (`fomaml`, `protonet`, …).
    pub algorithm: String,
    /// The network's backbone and layer sizes.
    pub architecture: Architecture,
    /// Protocol it was meta-trained on (`p1`, `p2`).
    pub protocol: String,
    /// Its inner loop, for algorithms that have one.
    pub inner: Option<InnerLoop>,
    /// Output classes of the network.
    pub classes: usize,
    /// Its best validation accuracy (0–1) and after how many meta-steps.
    pub accuracy: f64,
    /// Meta-steps before that validation.
    pub step: usize,
}

#[derive(Serialize, Deserialize)]
struct StoredText {
    format: String,
    entry: WeightsEntry,
    data: String,
}

/// The catalogue entry of a network with `bytes`, made as `provenance` says.
pub fn entry_for(bytes: &[u8], provenance: &Provenance) -> WeightsEntry {
    WeightsEntry {
        file: format!(
            "{STORED_PREFIX}{}-{}",
            provenance.protocol, provenance.algorithm
        ),
        algorithm: provenance.algorithm.clone(),
        protocol: provenance.protocol.clone(),
        backbone: provenance.architecture.backbone,
        sizes: None,
        classes: provenance.classes,
        inner: provenance.inner.clone(),
        command: "meta-trained on the meta-train page of this browser".into(),
        measured: format!(
            "val_accuracy={:.4} meta_steps={}",
            provenance.accuracy, provenance.step
        ),
        bytes: bytes.len() as u64,
        sha256: sha256_hex(bytes),
    }
    .with_architecture(provenance.architecture)
}

/// `entry` and its `bytes` as one text.
pub fn to_text(entry: &WeightsEntry, bytes: &[u8]) -> String {
    let stored = StoredText {
        format: FORMAT.into(),
        entry: entry.clone(),
        data: STANDARD.encode(bytes),
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

/// The entry and bytes in `text`, checked: the format, the base64, the size and hash.
pub fn from_text(text: &str) -> Result<(WeightsEntry, Vec<u8>), String> {
    let stored: StoredText = serde_json::from_str(text)
        .map_err(|e| format!("the stored network is not readable: {e}"))?;
    if stored.format != FORMAT {
        return Err(format!(
            "the stored network has format {:?}, not {FORMAT:?}",
            stored.format
        ));
    }
    let bytes = STANDARD
        .decode(stored.data.as_bytes())
        .map_err(|e| format!("the stored network is damaged: {e}"))?;
    stored
        .entry
        .verify(&bytes)
        .map_err(|e| format!("the stored network is damaged: {e}"))?;
    Ok((stored.entry, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            algorithm: "fomaml".into(),
            architecture: Architecture {
                backbone: crate::model::Backbone::Conv4,
                sizes: crate::model::Sizes {
                    channels: 24,
                    hidden: 24,
                    spatial: false,
                },
            },
            protocol: "p2".into(),
            inner: Some(InnerLoop::new()),
            classes: 5,
            accuracy: 0.8125,
            step: 40,
        }
    }

    #[test]
    fn a_stored_network_reads_back_as_it_was_stored() {
        let bytes: Vec<u8> = (0..=255).cycle().take(3000).collect();
        let entry = entry_for(&bytes, &provenance());
        assert_eq!(entry.file, "browser:p2-fomaml");
        assert_eq!(entry.bytes, 3000);
        assert_eq!(entry.measured_value("val_accuracy"), Some("0.8125"));
        let (read, read_bytes) = from_text(&to_text(&entry, &bytes)).unwrap();
        assert_eq!(read, entry);
        assert_eq!(read.architecture(), provenance().architecture);
        // Conv-4's unused hidden width is stored as its channels: equal networks, equal entries.
        let mut other_hidden = provenance();
        other_hidden.architecture.sizes.hidden = 64;
        assert_eq!(entry_for(&bytes, &other_hidden), entry);
        assert_eq!(read_bytes, bytes);
    }

    #[test]
    fn damaged_or_foreign_texts_are_refused_with_a_reason() {
        let bytes = vec![7u8; 100];
        let entry = entry_for(&bytes, &provenance());
        let text = to_text(&entry, &bytes);
        // One byte changed: same size, another hash.
        let other = to_text(&entry, &[vec![8u8], vec![7u8; 99]].concat());
        assert!(from_text(&other).unwrap_err().contains("damaged"));
        assert!(
            from_text(&text.replace(FORMAT, "something.else"))
                .unwrap_err()
                .contains("format")
        );
        assert!(from_text("{").unwrap_err().contains("not readable"));
        assert!(from_text(&to_text(&entry, &bytes[..50])).is_err());
    }
}
