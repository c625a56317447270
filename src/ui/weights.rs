//! Fetching the shipped weights: the catalogue, then each file, verified against it; and the
//! network meta-trained in this browser, kept in its storage.

use super::i18n::td_string;
use super::language::page_locale;
use super::widgets::local_storage;
use crate::model::catalog::{Catalog, Listed, WeightsEntry};
use crate::model::stored;
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

/// Downloads the file of `entry` and checks it against the catalogue.
pub async fn fetch_verified(entry: &WeightsEntry) -> Result<Vec<u8>, String> {
    let bytes = fetch_bytes(&format!("{WEIGHTS_URL}/{}", entry.file)).await?;
    entry.verify(&bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Downloads, verifies and loads the network of `entry` onto `device`.
pub async fn load(entry: &WeightsEntry, device: &Device) -> Result<Network, String> {
    let bytes = fetch_verified(entry).await?;
    from_bytes(&bytes, entry.architecture(), entry.classes, device)
        .map_err(|e| format!("{}: {e}", entry.file))
}

/// Storage key of the network meta-trained in this browser (one: the last one kept).
const KEPT_KEY: &str = "fewshot-lab.kept-network";

/// Keeps `entry`'s network (`bytes`) in this browser, replacing the one kept before.
pub fn keep(entry: &WeightsEntry, bytes: &[u8]) -> Result<(), String> {
    let storage =
        local_storage().ok_or_else(|| td_string!(page_locale(), store_unavailable).to_string())?;
    storage
        .set_item(KEPT_KEY, &stored::to_text(entry, bytes))
        .map_err(|_| td_string!(page_locale(), store_refused).to_string())
}

/// The network kept in this browser, if any, checked against its entry.
pub fn kept() -> Option<Result<(WeightsEntry, Vec<u8>), String>> {
    let text = local_storage()?.get_item(KEPT_KEY).ok().flatten()?;
    Some(stored::from_text(&text))
}
