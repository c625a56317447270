//! The networks the Playground adapts: the weights catalogue, fetched once; each file
//! downloaded and verified once, then kept; the network meta-trained in this browser, if one
//! is kept; random networks made on demand. Each is handed on as a [`NetworkSpec`], which the
//! page or the compute worker builds. A failed download is reported as what it is — never as a
//! GPU failure.

use crate::model::catalog::{Catalog, WeightsEntry};
use crate::model::stored::STORED_PREFIX;
use crate::playground::compare::Source;
use crate::ui::i18n::{Locale, tu_string};
use crate::ui::jobs::adapt::NetworkSpec;
use crate::ui::language::fill;
use crate::ui::weights;
use leptos::prelude::*;
use leptos_i18n::I18nContext;

/// Seed of the random-features network, so every run compares against the same one.
const RANDOM_SEED: u64 = 1234;

/// The catalogue and the networks loaded from it.
#[derive(Clone, Copy)]
pub struct Networks {
    /// The catalogue, once fetched (or why it could not be).
    pub catalog: RwSignal<Option<Result<Catalog, String>>>,
    /// What is being loaded, or was loaded last.
    pub status: RwSignal<String>,
    /// A download in progress.
    pub busy: RwSignal<bool>,
    /// Verified weights files, by name.
    loaded: StoredValue<Vec<(String, Vec<u8>)>, LocalStorage>,
    /// The network meta-trained in this browser (*Use in the Playground*), if one is kept.
    kept: StoredValue<Option<(WeightsEntry, Vec<u8>)>, LocalStorage>,
    /// The page's language, for the status lines.
    i18n: I18nContext<Locale>,
}

impl Networks {
    /// Starts fetching the catalogue.
    pub fn start(i18n: I18nContext<Locale>) -> Self {
        let (kept, kept_error) = match weights::kept() {
            Some(Ok(kept)) => (Some(kept), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        let networks = Self {
            catalog: RwSignal::new(None),
            status: RwSignal::new(tu_string!(i18n, net_loading_catalogue).into()),
            busy: RwSignal::new(true),
            loaded: StoredValue::new_local(Vec::new()),
            kept: StoredValue::new_local(kept),
            i18n,
        };
        leptos::task::spawn_local(async move {
            let found = weights::catalog().await;
            networks.status.set(match (&found, kept_error) {
                (Err(e), _) => fill(tu_string!(i18n, net_catalogue_failed), &[("error", e)]),
                (Ok(_), Some(e)) => fill(tu_string!(i18n, net_kept_damaged), &[("error", &e)]),
                (Ok(c), None) => fill(tu_string!(i18n, net_listed), &[("count", &c.entries.len())]),
            });
            networks.catalog.set(Some(found));
            networks.busy.set(false);
        });
        networks
    }

    /// The meta-trained networks that serve *New symbols*: those shipped (trained on the digits
    /// protocol), then the one meta-trained in this browser, if kept.
    pub fn symbol_networks(&self) -> Vec<WeightsEntry> {
        let mut networks = self.catalog.with(|c| match c {
            Some(Ok(c)) => c
                .entries
                .iter()
                .filter(|e| e.protocol == "digits" && !e.algorithm.contains("rates"))
                .cloned()
                .collect(),
            _ => Vec::new(),
        });
        networks.extend(
            self.kept
                .with_value(|k| k.as_ref().map(|(entry, _)| entry.clone())),
        );
        networks
    }

    /// The catalogue, if it is loaded.
    pub fn catalog_now(&self) -> Option<Catalog> {
        self.catalog
            .with(|c| c.as_ref().and_then(|c| c.as_ref().ok()).cloned())
    }

    /// The network `source` describes (its weights downloaded and verified at first use).
    pub async fn spec(&self, source: &Source) -> Result<NetworkSpec, String> {
        let weights = |entry: &WeightsEntry, bytes| NetworkSpec::Weights {
            file: entry.file.clone(),
            bytes,
            architecture: entry.architecture(),
            classes: entry.classes,
        };
        match source {
            Source::Random {
                architecture,
                classes,
            } => Ok(NetworkSpec::Random {
                architecture: *architecture,
                classes: *classes,
                seed: RANDOM_SEED,
            }),
            Source::File(entry) if entry.file.starts_with(STORED_PREFIX) => {
                let bytes = self
                    .kept
                    .with_value(|k| k.as_ref().map(|(_, bytes)| bytes.clone()))
                    .ok_or_else(|| format!("{} is no longer kept in this browser", entry.file))?;
                Ok(weights(entry, bytes))
            }
            Source::File(entry) => {
                let cached = self.loaded.with_value(|l| {
                    l.iter()
                        .find(|(file, _)| *file == entry.file)
                        .map(|(_, bytes)| bytes.clone())
                });
                if let Some(bytes) = cached {
                    return Ok(weights(entry, bytes));
                }
                self.busy.set(true);
                let mb = format!("{:.1}", entry.bytes as f64 / 1e6);
                self.status.set(fill(
                    tu_string!(self.i18n, net_downloading),
                    &[("file", &entry.file), ("mb", &mb)],
                ));
                let fetched = weights::fetch_verified(entry).await;
                self.busy.set(false);
                match fetched {
                    Ok(bytes) => {
                        let loaded =
                            fill(tu_string!(self.i18n, net_loaded), &[("file", &entry.file)]);
                        self.status.set(loaded);
                        self.loaded
                            .update_value(|l| l.push((entry.file.clone(), bytes.clone())));
                        Ok(weights(entry, bytes))
                    }
                    Err(e) => {
                        let message = fill(
                            tu_string!(self.i18n, net_failed),
                            &[("file", &entry.file), ("error", &e)],
                        );
                        self.status.set(message.clone());
                        Err(message)
                    }
                }
            }
        }
    }
}
