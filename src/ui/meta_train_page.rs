//! The meta-train page (`?page=meta-train`): meta-train a learner in the browser.
//!
//! Pick the protocol, the algorithm and its settings (or arrive with them in the URL, as the
//! Evolution page's "meta-train with this genome" link does), then watch the query loss per
//! meta-step and the validation accuracy, drawn against the same learner's accuracy before any
//! meta-training. The run goes in a Web Worker (`job`), so the page stays responsive; it can be
//! paused, resumed and reset, and the best validated network downloaded. Below, what the outer
//! loop learned: the first-layer filters before and after, and Meta-SGD's learned rates.

use super::chart::{LineChart, Series};
use super::i18n::{Locale, t, t_string, tu_string, use_i18n};
use super::jobs::meta_train::{MetaJob, MetaReport};
use super::jobs::{Job, Launch, Report, Runner};
use super::language::fill;
use super::learned::Learned;
use super::loader::{self, DataPool};
use super::query_param;
use super::share::{Shared, share_settings};
use super::weights;
use super::widgets::{
    Cancel, LongTasks, Note, NumberField, RunButtons, RunPhase, SettingNotes, offer_download,
    url_number,
};
use crate::backend::Backend;
use crate::evolve::learner::{ALGORITHMS, LearnerSettings};
use crate::meta::inner::InnerLoop;
use crate::model::stored::{self, Provenance};
use crate::model::{Architecture, Backbone, Sizes};
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// Channels the page offers for every convolution.
const CHANNELS: RangeInclusive<usize> = 4..=128;
/// Widths the page offers for the reference CNN's hidden layer.
const HIDDEN: RangeInclusive<usize> = 8..=512;

/// What the charts and the status line show.
#[derive(Debug, Clone, Default, PartialEq)]
struct Progress {
    /// Query loss per meta-step.
    losses: Vec<(f64, f64)>,
    /// Validation accuracy (%) per validation.
    accuracy: Vec<(f64, f64)>,
    /// Validation accuracy (%) before any meta-step.
    before: Option<f64>,
    /// Meta-steps done.
    step: usize,
    /// Milliseconds per meta-step, averaged.
    ms_per_step: f64,
    /// First-layer filters before the first meta-step.
    filters_before: Vec<f32>,
    /// First-layer filters of the best validated network.
    filters_after: Vec<f32>,
    /// Meta-SGD's mean learned rate per parameter tensor, at the best validation.
    rates: Vec<f64>,
}

/// The settings a run starts from, as the fields hold them.
#[derive(Clone, Copy)]
struct Fields {
    algorithm: RwSignal<&'static str>,
    inner_lr: RwSignal<f64>,
    inner_steps: RwSignal<usize>,
    outer_lr: RwSignal<f64>,
    meta_batch: RwSignal<usize>,
    head_only: RwSignal<bool>,
    backbone: RwSignal<Backbone>,
    channels: RwSignal<usize>,
    hidden: RwSignal<usize>,
    /// Conv-4 keeps its last 3×3 map as features (ignored for the reference CNN).
    spatial: RwSignal<bool>,
    steps: RwSignal<usize>,
    validate_every: RwSignal<usize>,
    val_episodes: RwSignal<usize>,
}

impl Fields {
    /// The fields, from the URL where it sets them; notes on any value it had to change.
    fn from_url(i18n: I18nContext<Locale>) -> (Self, Vec<Note>) {
        let algorithm = query_param("algo")
            .and_then(|a| ALGORITHMS.iter().copied().find(|known| *known == a))
            .unwrap_or("fomaml");
        let defaults = InnerLoop::new();
        let backbone = match query_param("backbone").as_deref() {
            Some("reference") => Backbone::Reference,
            _ => Backbone::Conv4,
        };
        let standard = backbone.standard_sizes();
        let sizes = (
            url_number("channels", standard.channels, CHANNELS),
            url_number("hidden", standard.hidden, HIDDEN),
        );
        let readings = (
            url_number("inner_lr", defaults.lr, 0.001..=2.0),
            url_number("inner_steps", defaults.steps, 1..=10),
            url_number("outer_lr", 1e-3, 1e-5..=0.1),
            url_number("meta_batch", 4usize, 1..=16),
            url_number("steps", 200usize, 1..=5000),
        );
        let mut notes: Vec<Note> = [
            readings.0.message.clone(),
            readings.1.message.clone(),
            readings.2.message.clone(),
            readings.3.message.clone(),
            readings.4.message.clone(),
            sizes.0.message.clone(),
            sizes.1.message.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(asked) = query_param("algo").filter(|a| !ALGORITHMS.contains(&a.as_str())) {
            notes.push(Arc::new(move || {
                fill(
                    t_string!(i18n, mt_unknown_algo),
                    &[("asked", &asked), ("known", &ALGORITHMS.join(", "))],
                )
            }));
        }
        if let Some(asked) =
            query_param("backbone").filter(|b| !["conv4", "reference"].contains(&b.as_str()))
        {
            notes.push(Arc::new(move || {
                fill(t_string!(i18n, mt_unknown_backbone), &[("asked", &asked)])
            }));
        }
        let spatial = query_param("spatial").is_some_and(|v| v == "1");
        if spatial && backbone != Backbone::Conv4 {
            notes.push(Arc::new(move || {
                t_string!(i18n, mt_spatial_conv4_only).to_string()
            }));
        }
        let fields = Self {
            algorithm: RwSignal::new(algorithm),
            inner_lr: RwSignal::new(readings.0.value),
            inner_steps: RwSignal::new(readings.1.value),
            outer_lr: RwSignal::new(readings.2.value),
            meta_batch: RwSignal::new(readings.3.value),
            head_only: RwSignal::new(query_param("head_only").is_some_and(|v| v == "1")),
            backbone: RwSignal::new(backbone),
            channels: RwSignal::new(sizes.0.value),
            hidden: RwSignal::new(sizes.1.value),
            spatial: RwSignal::new(spatial && backbone == Backbone::Conv4),
            steps: RwSignal::new(readings.4.value),
            validate_every: RwSignal::new(20),
            val_episodes: RwSignal::new(20),
        };
        (fields, notes)
    }

    fn settings(&self) -> LearnerSettings {
        let backbone = self.backbone.get_untracked();
        LearnerSettings {
            algorithm: self.algorithm.get_untracked(),
            inner: InnerLoop::new()
                .with_lr(self.inner_lr.get_untracked())
                .with_steps(self.inner_steps.get_untracked())
                .with_head_only(self.head_only.get_untracked()),
            outer_lr: self.outer_lr.get_untracked(),
            meta_batch: self.meta_batch.get_untracked(),
            architecture: Architecture {
                backbone,
                sizes: Sizes {
                    channels: self.channels.get_untracked(),
                    hidden: self.hidden.get_untracked(),
                    // Only Conv-4 can be ticked: choosing a backbone resets it.
                    spatial: self.spatial.get_untracked(),
                },
            },
        }
    }

    /// Chooses `backbone`, at its standard sizes.
    fn choose_backbone(&self, backbone: Backbone) {
        let standard = backbone.standard_sizes();
        self.backbone.set(backbone);
        self.channels.set(standard.channels);
        self.hidden.set(standard.hidden);
        self.spatial.set(standard.spatial);
    }

    /// The run these fields describe, on `protocol`.
    fn job(&self, protocol: &str) -> MetaJob {
        let settings = self.settings();
        MetaJob {
            protocol: protocol.to_string(),
            algorithm: settings.algorithm.to_string(),
            inner: settings.inner,
            outer_lr: settings.outer_lr,
            meta_batch: settings.meta_batch,
            architecture: settings.architecture,
            steps: self.steps.get_untracked(),
            validate_every: self.validate_every.get_untracked(),
            val_episodes: self.val_episodes.get_untracked(),
        }
    }
}

/// The URL settings that open the meta-train page with `settings` on `protocol`.
fn url_settings(settings: &LearnerSettings, protocol: &str) -> Vec<(&'static str, String)> {
    vec![
        ("protocol", protocol.to_string()),
        ("algo", settings.algorithm.to_string()),
        ("inner_lr", settings.inner.lr.to_string()),
        ("inner_steps", settings.inner.steps.to_string()),
        ("outer_lr", settings.outer_lr.to_string()),
        ("meta_batch", settings.meta_batch.to_string()),
        ("head_only", u8::from(settings.inner.head_only).to_string()),
        (
            "backbone",
            settings.architecture.backbone.name().to_string(),
        ),
        ("channels", settings.architecture.sizes.channels.to_string()),
        ("hidden", settings.architecture.sizes.hidden.to_string()),
        (
            "spatial",
            u8::from(settings.architecture.sizes.spatial).to_string(),
        ),
    ]
}

/// The page address that opens the meta-train page with `settings`.
pub fn link(settings: &LearnerSettings, protocol: &str) -> String {
    let query: Vec<String> = url_settings(settings, protocol)
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!("./?page=meta-train&{}", query.join("&"))
}

/// The best validated network of a run.
#[derive(Debug, Clone)]
struct Best {
    /// As a burnpack file.
    bytes: Vec<u8>,
    /// Its output classes.
    classes: usize,
    /// Its validation accuracy (0–1).
    accuracy: f64,
    /// Meta-steps before it.
    step: usize,
}

/// What the page shows of a run; [`Board::deliver`] draws each report.
#[derive(Clone, Copy)]
struct Board {
    phase: RwSignal<RunPhase>,
    progress: RwSignal<Progress>,
    error: RwSignal<Option<String>>,
    /// Where the run is not as asked (no worker, no WebGPU in the worker), why.
    notice: RwSignal<Option<String>>,
    /// The best validated network.
    best: StoredValue<Option<Best>, LocalStorage>,
    /// The settings of the run on the board.
    job: StoredValue<Option<MetaJob>, LocalStorage>,
    watch: StoredValue<Option<LongTasks>, LocalStorage>,
    longest_task: RwSignal<f64>,
    i18n: I18nContext<Locale>,
}

impl Board {
    /// Back to an empty board.
    fn clear(&self) {
        self.watch.set_value(None);
        self.longest_task.set(0.0);
        self.progress.set(Progress::default());
        self.best.set_value(None);
        self.error.set(None);
        self.notice.set(None);
        self.job.set_value(None);
    }

    /// Draws `report`.
    fn deliver(&self, report: Report) {
        let i18n = self.i18n;
        match report {
            Report::OnPage(notice) | Report::Notice(notice) => self.notice.set(Some(notice)),
            Report::MetaTrain(report) => self.draw(report),
            Report::Finished | Report::Failed(_) => {
                if let Report::Failed(e) = report {
                    self.error
                        .set(Some(fill(tu_string!(i18n, mt_stopped), &[("error", &e)])));
                }
                self.watch.set_value(None);
                self.phase.set(RunPhase::Done);
            }
            Report::InWorker
            | Report::Paused
            | Report::CpuInstead(_)
            | Report::Train(_)
            | Report::Search(_)
            | Report::Adapt(_) => {}
        }
    }

    /// Draws how meta-training goes.
    fn draw(&self, report: MetaReport) {
        match report {
            MetaReport::Before { accuracy, filters } => self.progress.update(|p| {
                p.before = Some(100.0 * accuracy);
                p.filters_before = filters;
            }),
            MetaReport::Step {
                step,
                loss,
                ms_per_step,
            } => self.progress.update(|p| {
                p.step = step;
                p.losses.push((step as f64, f64::from(loss)));
                p.ms_per_step = ms_per_step;
            }),
            MetaReport::Validated {
                step,
                accuracy,
                kept,
            } => self.progress.update(|p| {
                p.accuracy.push((step as f64, 100.0 * accuracy));
                if let Some(kept) = kept {
                    self.best.set_value(Some(Best {
                        bytes: kept.network,
                        classes: kept.classes,
                        accuracy,
                        step,
                    }));
                    p.filters_after = kept.filters;
                    p.rates = kept.rates;
                }
            }),
        }
    }
}

/// The meta-train page.
#[component]
pub fn MetaTrainPage(
    /// Device to meta-train on.
    backend: Backend,
) -> impl IntoView {
    let i18n = use_i18n();
    let pool = DataPool::default();
    loader::start(pool);
    let (fields, notes) = Fields::from_url(i18n);
    let protocol_name = RwSignal::new(if query_param("protocol").as_deref() == Some("p1") {
        "p1"
    } else {
        "p2"
    });
    share_settings(move || {
        let mut settings = url_settings(&fields.settings(), protocol_name.get_untracked());
        settings.push(("steps", fields.steps.get_untracked().to_string()));
        Shared {
            settings,
            fragment: Vec::new(),
            note: None,
        }
    });
    let phase = RwSignal::new(RunPhase::Idle);
    let board = Board {
        phase,
        progress: RwSignal::new(Progress::default()),
        error: RwSignal::new(None),
        notice: RwSignal::new(None),
        best: StoredValue::new_local(None),
        job: StoredValue::new_local(None),
        watch: StoredValue::new_local(None),
        longest_task: RwSignal::new(0.0),
        i18n,
    };
    let Board {
        progress,
        error,
        longest_task,
        ..
    } = board;
    let launch = Launch::new(pool, phase, i18n);
    let cancel = Cancel::default();
    let ready = move || pool.progress.with(|p| p.is_complete());
    let start = move |_| {
        let job = fields.job(protocol_name.get_untracked());
        let ticket = cancel.begin();
        board.clear();
        board.job.set_value(Some(job.clone()));
        let job = Job::MetaTrain(job);
        phase.set(RunPhase::Running);
        board.watch.set_value(LongTasks::watch(longest_task));
        launch.start(job, &backend, ticket, move |report| board.deliver(report));
    };
    let reset = move |_| {
        cancel.cancel();
        launch.stop();
        board.clear();
        phase.set(RunPhase::Idle);
    };
    let download = move |_| {
        let Some(best) = board.best.get_value() else {
            error.set(Some(tu_string!(i18n, mt_nothing_validated).into()));
            return;
        };
        let name = board.job.with_value(|job| match job {
            Some(job) => format!("{}-{}.bpk", job.protocol, job.algorithm),
            None => "network.bpk".into(),
        });
        let content = js_sys::Uint8Array::from(best.bytes.as_slice()).into();
        if let Err(e) = offer_download(&content, "application/octet-stream", &name) {
            error.set(Some(fill(
                tu_string!(i18n, mt_download_failed),
                &[("error", &e)],
            )));
        }
    };
    // Keeps the best network in this browser and opens the Playground with it chosen.
    let use_in_playground = move |_| {
        let Some(best) = board.best.get_value() else {
            error.set(Some(tu_string!(i18n, mt_nothing_validated).into()));
            return;
        };
        // What the run was, not what the fields say now.
        let Some(job) = board.job.get_value() else {
            return;
        };
        let provenance = Provenance {
            architecture: job.architecture,
            inner: (job.algorithm != "protonet").then_some(job.inner),
            algorithm: job.algorithm,
            protocol: job.protocol,
            classes: best.classes,
            accuracy: best.accuracy,
            step: best.step,
        };
        let entry = stored::entry_for(&best.bytes, &provenance);
        match weights::keep(&entry, &best.bytes) {
            Ok(()) => {
                let mut link = format!("./?net={}", entry.file);
                if let Some(lang) = query_param("lang") {
                    link += &format!("&lang={lang}");
                }
                if let Some(window) = web_sys::window() {
                    let _ = window.location().set_href(&link);
                }
            }
            Err(e) => error.set(Some(fill(
                tu_string!(i18n, mt_keep_failed),
                &[("error", &e)],
            ))),
        }
    };
    let running = move || phase.get().active();
    let status = move || {
        let p = progress.get();
        let total = fields.steps.get();
        match phase.get() {
            RunPhase::Idle if !ready() => t!(i18n, mt_loading).into_any(),
            RunPhase::Idle => t!(i18n, mt_ready).into_any(),
            RunPhase::Done => t!(i18n, mt_done, steps = move || p.step).into_any(),
            _ if p.before.is_none() => t!(i18n, mt_measuring).into_any(),
            running => {
                let left = format!(
                    "{:.0}",
                    total.saturating_sub(p.step) as f64 * p.ms_per_step / 1e3
                );
                let ms = format!("{:.0}", p.ms_per_step);
                let paused = (running == RunPhase::Paused).then(|| match launch.held.get() {
                    true => view! { {t!(i18n, mt_paused_at)}" " }.into_any(),
                    false => view! { {t!(i18n, mt_pausing)}" " }.into_any(),
                });
                view! {
                    {paused}
                    {t!(i18n, mt_progress, step = move || p.step, total = move || total,
                        ms = move || ms.clone(), left = move || left.clone())}
                }
                .into_any()
            }
        }
    };
    let loss_series = Signal::derive(move || {
        vec![Series {
            name: t_string!(i18n, mt_query_loss).into(),
            color: "#1c7ed6",
            points: progress.with(|p| p.losses.clone()),
            dots: false,
        }]
    });
    let accuracy_series = Signal::derive(move || {
        progress.with(|p| {
            let mut series = vec![Series {
                name: t_string!(i18n, mt_validation_accuracy).into(),
                color: "#2b8a3e",
                points: p.accuracy.clone(),
                dots: true,
            }];
            if let (Some(before), Some(&(last, _))) = (p.before, p.accuracy.last()) {
                series.push(Series {
                    name: t_string!(i18n, mt_before).into(),
                    color: "#adb5bd",
                    points: vec![(0.0, before), (last, before)],
                    dots: false,
                });
            }
            series
        })
    });
    let algorithm_choice = move |name: &'static str| {
        view! { <option value=name selected=move || fields.algorithm.get() == name translate="no">{name}</option> }
    };
    view! {
        <section class="page meta-train">
            <h2>{t!(i18n, mt_title)}</h2>
            <p class="explain">{t!(i18n, mt_explain)}</p>
            <SettingNotes notes=notes />
            <div class="controls settings">
                <label class="field" for="mt-protocol"><span>{t!(i18n, mt_protocol)}</span>
                    <select id="mt-protocol" on:change=move |ev| protocol_name.set(if event_target_value(&ev) == "p1" { "p1" } else { "p2" })>
                        <option value="p2" selected=move || protocol_name.get() == "p2">{t!(i18n, mt_p2)}</option>
                        <option value="p1" selected=move || protocol_name.get() == "p1">{t!(i18n, mt_p1)}</option>
                    </select>
                </label>
                <label class="field" for="mt-algo"><span>{t!(i18n, mt_algorithm)}</span>
                    <select id="mt-algo" on:change=move |ev| {
                        let chosen = event_target_value(&ev);
                        if let Some(known) = ALGORITHMS.iter().copied().find(|a| *a == chosen) {
                            fields.algorithm.set(known);
                        }
                    }>
                        {ALGORITHMS.map(algorithm_choice).to_vec()}
                    </select>
                </label>
                <label class="field" for="mt-backbone"><span>{t!(i18n, mt_backbone)}</span>
                    <select id="mt-backbone" on:change=move |ev| fields.choose_backbone(
                        if event_target_value(&ev) == "reference" { Backbone::Reference } else { Backbone::Conv4 })>
                        <option value="conv4" selected=move || fields.backbone.get() == Backbone::Conv4>{t!(i18n, mt_conv4)}</option>
                        <option value="reference" selected=move || fields.backbone.get() == Backbone::Reference>{t!(i18n, mt_reference)}</option>
                    </select>
                </label>
                <NumberField label=Signal::derive(move || t_string!(i18n, mt_channels)) id="mt-channels" value=fields.channels range=CHANNELS />
                <Show when=move || fields.backbone.get() == Backbone::Reference
                    fallback=move || view! {
                        <label class="field" for="mt-spatial"><span>{t!(i18n, mt_spatial)}</span>
                            <input id="mt-spatial" type="checkbox" prop:checked=move || fields.spatial.get()
                                on:change=move |ev| fields.spatial.set(event_target_checked(&ev)) />
                        </label>
                    }>
                    <NumberField label=Signal::derive(move || t_string!(i18n, mt_hidden)) id="mt-hidden" value=fields.hidden range=HIDDEN />
                </Show>
                <NumberField label=Signal::derive(move || t_string!(i18n, mt_inner_rate)) id="mt-inner-lr" value=fields.inner_lr range=0.001..=2.0 />
                <NumberField label=Signal::derive(move || t_string!(i18n, mt_inner_steps)) id="mt-inner-steps" value=fields.inner_steps range=1..=10 />
                <NumberField label=Signal::derive(move || t_string!(i18n, mt_outer_rate)) id="mt-outer-lr" value=fields.outer_lr range=1e-5..=0.1 />
                <NumberField label=Signal::derive(move || t_string!(i18n, mt_meta_batch)) id="mt-meta-batch" value=fields.meta_batch range=1..=16 />
                <NumberField label=Signal::derive(move || t_string!(i18n, mt_meta_steps)) id="mt-steps" value=fields.steps range=1..=5000 />
                <NumberField label=Signal::derive(move || t_string!(i18n, mt_validate_every)) id="mt-validate-every" value=fields.validate_every range=1..=500 />
                <NumberField label=Signal::derive(move || t_string!(i18n, mt_validation_tasks)) id="mt-val" value=fields.val_episodes range=5..=200 />
                <label class="field" for="mt-head-only"><span>{t!(i18n, mt_head_only)}</span>
                    <input id="mt-head-only" type="checkbox" prop:checked=move || fields.head_only.get()
                        on:change=move |ev| fields.head_only.set(event_target_checked(&ev)) />
                </label>
            </div>
            <RunButtons id="mt" start_label=Signal::derive(move || t_string!(i18n, run_start)) phase=phase ready=Signal::derive(ready) on_start=start on_reset=reset>
                <button id="mt-download" on:click=download disabled=move || progress.with(|p| p.accuracy.is_empty())>{t!(i18n, mt_download)}</button>
                <button id="mt-use" on:click=use_in_playground
                    disabled=move || progress.with(|p| p.accuracy.is_empty()) || phase.get() == RunPhase::Running>{t!(i18n, mt_use_in_playground)}</button>
            </RunButtons>
            <p id="mt-status" class="muted" role="status" data-phase=move || phase.get().name()
                data-runner=move || launch.runner.get().map(Runner::name) data-held=move || launch.held.get().to_string()
                data-steps=move || progress.with(|p| p.step) data-ms-per-step=move || progress.with(|p| p.ms_per_step.round()) data-validations=move || progress.with(|p| p.accuracy.len())>
                {move || running().then(|| view! { <progress class="busy"></progress>" " })}
                {status}
                {move || pool.progress.with(|p| p.error.clone()).map(|e| format!(" {e}"))}
            </p>
            <p id="mt-long-tasks" class="muted" data-longest=move || longest_task.get().round().to_string()>
                {move || (launch.runner.get() == Some(Runner::Worker)).then(|| view! { {t!(i18n, mt_in_worker)}" " })}
                {move || (phase.get() != RunPhase::Idle).then(|| match longest_task.get() {
                    0.0 => t!(i18n, mt_no_long_task).into_any(),
                    ms => {
                        let ms = format!("{ms:.0}");
                        t!(i18n, mt_long_task, ms = move || ms.clone()).into_any()
                    }
                })}
            </p>
            {move || board.notice.get().map(|n| view! { <p class="notice">{n}</p> })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="charts">
                <LineChart series=loss_series x_label=Signal::derive(move || t_string!(i18n, mt_meta_step))
                    title=Signal::derive(move || t_string!(i18n, mt_loss_chart)) />
                <LineChart series=accuracy_series x_label=Signal::derive(move || t_string!(i18n, mt_meta_step))
                    title=Signal::derive(move || t_string!(i18n, mt_accuracy_chart)) />
            </div>
            <Learned before=Signal::derive(move || progress.with(|p| p.filters_before.clone()))
                after=Signal::derive(move || progress.with(|p| p.filters_after.clone()))
                rates=Signal::derive(move || progress.with(|p| p.rates.clone()))
                start_rate=Signal::derive(move || fields.inner_lr.get()) />
        </section>
    }
}
