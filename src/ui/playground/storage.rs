//! Keeping a person's galleries: browser storage across reloads, and export / import as a file.

use super::super::widgets::{local_storage, offer_download};
use crate::playground::gallery::{Gallery, GalleryError, MAX_FILE_BYTES};
use wasm_bindgen_futures::JsFuture;

/// Storage key of the gallery of `mode`.
fn key(mode: &str) -> String {
    format!("fewshot-lab.gallery.{mode}")
}

/// The stored gallery of `mode`, if any. A damaged entry is reported, never silently replaced.
pub fn load(mode: &str) -> Option<Result<Gallery, GalleryError>> {
    let text = local_storage()?.get_item(&key(mode)).ok().flatten()?;
    Some(Gallery::from_json(&text))
}

/// Stores `gallery` as the gallery of `mode`; returns a message if the browser refused.
pub fn save(mode: &str, gallery: &Gallery) -> Result<(), String> {
    let storage = local_storage().ok_or("this browser offers no local storage")?;
    storage
        .set_item(&key(mode), &gallery.to_json())
        .map_err(|_| "the browser refused to store the gallery (storage full or disabled)".into())
}

/// Storage key of the digest of the link whose gallery of `mode` is stored as linked.
fn source_key(mode: &str) -> String {
    format!("fewshot-lab.gallery-link.{mode}")
}

/// The digest of the link whose gallery of `mode` is stored, if any.
pub fn linked_source(mode: &str) -> Option<String> {
    local_storage()?.get_item(&source_key(mode)).ok().flatten()
}

/// Records that the stored linked gallery of `mode` came from the link with `digest`.
pub fn set_linked_source(mode: &str, digest: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(&source_key(mode), digest);
    }
}

/// Offers `gallery` as a JSON file download.
pub fn export(gallery: &Gallery, file_name: &str) -> Result<(), String> {
    offer_download(&gallery.to_json().into(), "application/json", file_name)
}

/// Reads the file chosen in `input` as a gallery.
pub async fn import(input: &web_sys::HtmlInputElement) -> Result<Gallery, String> {
    let file = input
        .files()
        .and_then(|files| files.get(0))
        .ok_or("no file chosen")?;
    if file.size() > MAX_FILE_BYTES as f64 {
        return Err(format!(
            "{} is {:.1} MB; a gallery file is at most {:.1} MB",
            file.name(),
            file.size() / 1e6,
            MAX_FILE_BYTES as f64 / 1e6
        ));
    }
    let text = JsFuture::from(file.text())
        .await
        .map_err(|e| format!("cannot read {}: {e:?}", file.name()))?
        .as_string()
        .ok_or_else(|| format!("{} is not text", file.name()))?;
    Gallery::from_json(&text).map_err(|e| format!("{}: {e}", file.name()))
}
