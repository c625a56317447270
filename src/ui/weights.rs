//! Fetching the shipped weights: the catalogue, then each file, verified against it.

use crate::model::catalog::{Catalog, Listed, WeightsEntry};
use crate::model::{Network, from_bytes};
use crate::ui::loader::fetch_bytes;
use burn::tensor::Device;

/// Where the weights are served from, relative to the page.
pub const WEIGHTS_URL: &str = "static/weights";

/// The catalogue of shipped weights.
pub async fn catalog() -> Result<Catalog, String> {
    let bytes = fetch_bytes(&format!("{WEIGHTS_URL}/manifest.json")).await?;
    Catalog::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| e.to_string())
}

/// Downloads, verifies and loads the network of `entry` onto `device`.
pub async fn load(entry: &WeightsEntry, device: &Device) -> Result<Network, String> {
    let bytes = fetch_bytes(&format!("{WEIGHTS_URL}/{}", entry.file)).await?;
    entry.verify(&bytes).map_err(|e| e.to_string())?;
    from_bytes(&bytes, entry.backbone, entry.classes, device)
        .map_err(|e| format!("{}: {e}", entry.file))
}
