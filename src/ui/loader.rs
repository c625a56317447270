//! Streaming the MNIST shards into the page, with progress and clear errors.
//!
//! The manifest comes first; then shards are fetched one at a time — one train and one test
//! shard first, so training can start while the rest arrive. Each download is checked against
//! its manifest entry (size, SHA-256, header) before its images join the [`DataPool`], a piece
//! at a time, yielding to the page between pieces.

use super::i18n::td_string;
use super::language::{fill, page_locale};
use super::widgets::yield_to_page;
use crate::data::manifest::Manifest;
use crate::data::shard::{MAX_IMAGES, ShardDecoder};
use crate::data::{ImageSet, Split};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Where the shards are served from, relative to the page (overridable with `?data=URL`).
const DEFAULT_DATA_URL: &str = "static/mnist";

/// How far the download has got.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadProgress {
    /// Gzipped bytes received and verified.
    pub bytes_loaded: u64,
    /// Gzipped bytes listed in the manifest.
    pub bytes_total: u64,
    /// Shards received and verified.
    pub shards_loaded: usize,
    /// Shards listed in the manifest.
    pub shards_total: usize,
    /// Training images available.
    pub train_images: usize,
    /// Test images available.
    pub test_images: usize,
    /// What went wrong, if anything (downloading stops there).
    pub error: Option<String>,
}

impl LoadProgress {
    /// True when enough data is in to train and evaluate.
    pub fn can_train(&self) -> bool {
        self.train_images > 0 && self.test_images > 0
    }

    /// True when every shard is in.
    pub fn is_complete(&self) -> bool {
        self.shards_total > 0 && self.shards_loaded == self.shards_total
    }
}

/// The images downloaded so far, shared by everything on the page.
#[derive(Clone, Copy)]
pub struct DataPool {
    /// Training images.
    pub train: StoredValue<ImageSet>,
    /// Test images.
    pub test: StoredValue<ImageSet>,
    /// Download progress.
    pub progress: RwSignal<LoadProgress>,
}

impl Default for DataPool {
    fn default() -> Self {
        Self {
            train: StoredValue::new(ImageSet::default()),
            test: StoredValue::new(ImageSet::default()),
            progress: RwSignal::new(LoadProgress::default()),
        }
    }
}

/// Fetches `url` and returns its body.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window object")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| {
            let error = format!("{e:?}");
            fill(
                td_string!(page_locale(), fetch_network_error),
                &[("url", &url), ("error", &error)],
            )
        })?
        .dyn_into()
        .map_err(|_| {
            fill(
                td_string!(page_locale(), fetch_no_response),
                &[("url", &url)],
            )
        })?;
    if !response.ok() {
        return Err(format!(
            "{url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let buffer = JsFuture::from(
        response
            .array_buffer()
            .map_err(|e| format!("{url}: {e:?}"))?,
    )
    .await
    .map_err(|e| {
        let error = format!("{e:?}");
        fill(
            td_string!(page_locale(), fetch_interrupted),
            &[("url", &url), ("error", &error)],
        )
    })?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

async fn load_into(pool: DataPool, base: String) -> Result<(), String> {
    let manifest_bytes = fetch_bytes(&format!("{base}/manifest.json")).await?;
    let manifest =
        Manifest::parse(&String::from_utf8_lossy(&manifest_bytes)).map_err(|e| e.to_string())?;
    pool.progress.update(|p| {
        p.bytes_total = manifest.total_bytes();
        p.shards_total = manifest.shards.len();
    });
    // Room for the images at once (up to a full MNIST split, whatever a manifest claims):
    // growing the pool as shards arrive would copy it each time.
    for (split, pool) in [(Split::Train, pool.train), (Split::Test, pool.test)] {
        let count = manifest
            .shards
            .iter()
            .filter(|entry| entry.split == split)
            .fold(0, |sum: usize, entry| sum.saturating_add(entry.count));
        pool.update_value(|set| set.reserve(count.min(MAX_IMAGES)));
    }
    for entry in manifest.download_order() {
        let bytes = fetch_bytes(&format!("{base}/{}", entry.file)).await?;
        let mut decoder = ShardDecoder::new(entry, &bytes);
        let shard = loop {
            match decoder.step().map_err(|e| e.to_string())? {
                Some(shard) => break shard,
                None => yield_to_page().await,
            }
        };
        let target = match shard.split {
            Split::Train => pool.train,
            Split::Test => pool.test,
        };
        target.update_value(|set| set.extend(shard.images));
        pool.progress.update(|p| {
            p.bytes_loaded += entry.bytes;
            p.shards_loaded += 1;
            p.train_images = pool.train.with_value(ImageSet::len);
            p.test_images = pool.test.with_value(ImageSet::len);
        });
    }
    Ok(())
}

/// Origins besides the app's own that `?data=` may name, when a build opts in:
/// `FEWSHOT_DATA_ORIGINS="https://a.example,https://b.example" trunk build`.
const ALLOWED_DATA_ORIGINS: &str = match option_env!("FEWSHOT_DATA_ORIGINS") {
    Some(origins) => origins,
    None => "",
};

/// The folder `?data=` names, if it is on the app's own origin (or one the build allows).
/// Shards from elsewhere would let any link feed the page data it did not ship with.
fn data_folder() -> Result<String, String> {
    let Some(requested) = super::query_param("data") else {
        return Ok(DEFAULT_DATA_URL.into());
    };
    let location = web_sys::window().ok_or("no window object")?.location();
    let page = location.href().map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::new_with_base(&requested, &page)
        .map_err(|_| format!("?data={requested} is not a URL"))?;
    let own = location.origin().map_err(|e| format!("{e:?}"))?;
    if crate::params::origin_allowed(&own, &url.origin(), ALLOWED_DATA_ORIGINS) {
        Ok(requested)
    } else {
        Err(format!(
            "?data={requested} is on another site ({}); this app loads data only from its own site ({own}) unless it was built to allow that one",
            url.origin()
        ))
    }
}

/// Starts downloading every shard into `pool` in the background.
pub fn start(pool: DataPool) {
    leptos::task::spawn_local(async move {
        let loaded = match data_folder() {
            Ok(base) => load_into(pool, base).await,
            Err(refused) => Err(refused),
        };
        if let Err(error) = loaded {
            pool.progress.update(|p| p.error = Some(error));
        }
    });
}
