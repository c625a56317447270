//! The Train page: train the reference CNN on MNIST in the browser, with live curves.
//!
//! Training runs in the compute worker ([`super::jobs::train`]), one step at a time, so the
//! page keeps drawing and answering clicks; where no worker starts it runs on the page, yielding
//! between steps, and a notice says so. Images that arrive while it runs join the epoch. Pause
//! holds the run after its current step; Resume goes on; Reset drops the run.

use super::chart::{LineChart, Series};
use super::i18n::{Locale, t, t_string, use_i18n};
use super::jobs::train::TrainReport;
use super::jobs::{Job, Launch, Report, Runner};
use super::loader::DataPool;
use super::share::{Shared, share_settings};
use super::widgets::{Cancel, Note, NumberField, RunPhase, SettingNotes, url_number};
use crate::backend::{Backend, BackendKind};
use crate::train::{EpochReport, StepReport, TrainConfig};
use leptos::prelude::*;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Idle,
    Running,
    Paused,
    Finished,
    Failed,
}

impl Status {
    /// The status of a run in `phase`, which stopped on an error if `failed`.
    fn of(phase: RunPhase, failed: bool) -> Self {
        match phase {
            RunPhase::Idle => Status::Idle,
            RunPhase::Running => Status::Running,
            RunPhase::Paused => Status::Paused,
            RunPhase::Done if failed => Status::Failed,
            RunPhase::Done => Status::Finished,
        }
    }

    /// The status in the person's language.
    fn shown(self, i18n: leptos_i18n::I18nContext<Locale>) -> &'static str {
        match self {
            Status::Idle => t_string!(i18n, tr_status_idle),
            Status::Running => t_string!(i18n, tr_status_running),
            Status::Paused => t_string!(i18n, tr_status_paused),
            Status::Finished => t_string!(i18n, tr_status_finished),
            Status::Failed => t_string!(i18n, tr_status_failed),
        }
    }

    /// The status as a word for scripts and styles (`data-status`, CSS class).
    fn label(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Finished => "finished",
            Status::Failed => "failed",
        }
    }
}

/// Everything the page shows about the current run.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    last: Option<StepReport>,
    first_loss: Option<f32>,
    images_per_s: f64,
    /// Milliseconds of all training steps so far.
    training_ms: f64,
    loss: Vec<(f64, f64)>,
    accuracy: Vec<(f64, f64)>,
    epochs: Vec<EpochReport>,
    /// Test images evaluated so far, and in all, while an epoch's evaluation runs.
    evaluating: Option<(usize, usize)>,
    test_points: Vec<(f64, f64)>,
}

impl Figures {
    /// Adds what the run reported.
    fn add(&mut self, news: TrainReport) {
        match news {
            TrainReport::Step { report, ms } => {
                let x = report.images_seen as f64;
                self.loss.push((x, f64::from(report.loss)));
                self.accuracy.push((x, f64::from(report.accuracy)));
                self.first_loss.get_or_insert(report.loss);
                self.training_ms += ms;
                let rate = report.batch as f64 / (ms / 1e3);
                self.images_per_s = if self.last.is_none() {
                    rate
                } else {
                    0.8 * self.images_per_s + 0.2 * rate
                };
                self.last = Some(report);
            }
            TrainReport::Evaluating { done, total } => self.evaluating = Some((done, total)),
            TrainReport::Epoch(report) => {
                self.evaluating = None;
                let x = self.last.map_or(0.0, |r| r.images_seen as f64);
                self.test_points.push((x, f64::from(report.test_accuracy)));
                self.epochs.push(report);
            }
            TrainReport::DeviceFailed(_) => {}
        }
    }
}

/// The Train page.
#[component]
pub fn TrainPage(
    /// Device to train on.
    backend: Backend,
    /// Downloaded images.
    pool: DataPool,
    /// Called when the GPU fails mid-run, so the app can fall back to the CPU.
    on_device_lost: impl Fn(String) + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let defaults = TrainConfig::new();
    let readings = (
        url_number("epochs", defaults.epochs, 1..=50),
        url_number("batch", defaults.batch_size, 1..=1024),
        url_number("lr", defaults.learning_rate, 1e-6..=1.0),
        url_number("epoch_images", defaults.epoch_images, 0..=60_000),
        url_number("test_images", defaults.test_images, 0..=10_000),
    );
    let notes: Vec<Note> = [
        readings.0.message,
        readings.1.message,
        readings.2.message,
        readings.3.message,
        readings.4.message,
    ]
    .into_iter()
    .flatten()
    .collect();
    let epochs = RwSignal::new(readings.0.value);
    let batch_size = RwSignal::new(readings.1.value);
    let learning_rate = RwSignal::new(readings.2.value);
    let epoch_images = RwSignal::new(readings.3.value);
    let test_images = RwSignal::new(readings.4.value);
    share_settings(move || Shared {
        settings: vec![
            ("epochs", epochs.get_untracked().to_string()),
            ("batch", batch_size.get_untracked().to_string()),
            ("lr", learning_rate.get_untracked().to_string()),
            ("epoch_images", epoch_images.get_untracked().to_string()),
            ("test_images", test_images.get_untracked().to_string()),
        ],
        fragment: Vec::new(),
        note: None,
    });

    let phase = RwSignal::new(RunPhase::Idle);
    let failure = RwSignal::new(None::<String>);
    // Where the run is not as asked (no worker, no WebGPU in the worker), why.
    let notice = RwSignal::new(None::<String>);
    let figures = RwSignal::new(Figures::default());
    let status = move || Status::of(phase.get(), failure.with(Option::is_some));
    let launch = Launch::new(pool, phase, i18n);
    let cancel = Cancel::default();
    let is_gpu = backend.kind == BackendKind::WebGpu;
    let on_device_lost = StoredValue::new(on_device_lost);
    let deliver = move |report: Report| match report {
        Report::Train(TrainReport::DeviceFailed(reason)) if is_gpu => {
            on_device_lost.with_value(|lost| lost(reason));
        }
        Report::Train(news) => figures.update(|f| f.add(news)),
        Report::OnPage(reason) | Report::Notice(reason) => notice.set(Some(reason)),
        Report::Failed(reason) => {
            failure.set(Some(reason));
            phase.set(RunPhase::Done);
        }
        Report::Finished => phase.set(RunPhase::Done),
        Report::InWorker
        | Report::Paused
        | Report::CpuInstead(_)
        | Report::MetaTrain(_)
        | Report::Search(_)
        | Report::Adapt(_) => {}
    };

    let start = move |_| {
        let config = TrainConfig::new()
            .with_epochs(epochs.get_untracked())
            .with_batch_size(batch_size.get_untracked())
            .with_learning_rate(learning_rate.get_untracked())
            .with_epoch_images(epoch_images.get_untracked())
            .with_test_images(test_images.get_untracked());
        let ticket = cancel.begin();
        figures.set(Figures::default());
        failure.set(None);
        notice.set(None);
        phase.set(RunPhase::Running);
        launch.start(Job::Train(config), &backend, ticket, deliver);
    };
    let pause = move |_| phase.set(RunPhase::Paused);
    let resume = move |_| phase.set(RunPhase::Running);
    let reset = move |_| {
        cancel.cancel();
        launch.stop();
        figures.set(Figures::default());
        failure.set(None);
        notice.set(None);
        phase.set(RunPhase::Idle);
    };

    let progress = pool.progress;
    let can_start = move || progress.with(|p| p.can_train()) && !phase.get().active();
    let last = move || figures.with(|f| f.last);
    let loss_series = Signal::derive(move || {
        vec![Series {
            name: t_string!(i18n, tr_training_loss).into(),
            color: "#d9480f",
            points: figures.with(|f| f.loss.clone()),
            dots: false,
        }]
    });
    let accuracy_series = Signal::derive(move || {
        figures.with(|f| {
            vec![
                Series {
                    name: t_string!(i18n, tr_batch_accuracy).into(),
                    color: "#1c7ed6",
                    points: f.accuracy.clone(),
                    dots: false,
                },
                Series {
                    name: t_string!(i18n, tr_test_accuracy).into(),
                    color: "#2b8a3e",
                    points: f.test_points.clone(),
                    dots: true,
                },
            ]
        })
    });

    view! {
        <section class="page train">
            <h2>{t!(i18n, tr_title)}</h2>
            <p class="explain">{t!(i18n, tr_explain)}</p>
            <SettingNotes notes=notes />
            <DataProgress pool=pool />
            <form class="settings" on:submit=|ev| ev.prevent_default()>
                <NumberField label=Signal::derive(move || t_string!(i18n, tr_epochs)) id="epochs" value=epochs range=1..=50 />
                <NumberField label=Signal::derive(move || t_string!(i18n, tr_batch)) id="batch" value=batch_size range=1..=1024 />
                <NumberField label=Signal::derive(move || t_string!(i18n, tr_lr)) id="lr" value=learning_rate range=1e-6..=1.0 />
                <NumberField label=Signal::derive(move || t_string!(i18n, tr_epoch_images)) id="epoch-images" value=epoch_images range=0..=60_000 />
                <NumberField label=Signal::derive(move || t_string!(i18n, tr_test_images)) id="test-images" value=test_images range=0..=10_000 />
            </form>
            <div class="controls">
                <button id="train-button" on:click=start disabled=move || !can_start()>{t!(i18n, tr_train)}</button>
                <button id="pause-button" on:click=pause disabled=move || status() != Status::Running>{t!(i18n, run_pause)}</button>
                <button id="resume-button" on:click=resume disabled=move || status() != Status::Paused>{t!(i18n, run_resume)}</button>
                <button id="reset-button" on:click=reset disabled=move || status() == Status::Idle>{t!(i18n, run_reset)}</button>
                <span id="status" class=move || format!("status {}", status().label())
                    data-status=move || status().label() data-runner=move || launch.runner.get().map(Runner::name)>{move || status().shown(i18n)}</span>
            </div>
            {move || notice.get().map(|n| view! { <p id="train-notice" class="notice" role="status">{n}</p> })}
            {move || failure.get().map(|message| view! { <p id="train-error" class="error" role="alert">{message}</p> })}
            <div class="progress-row">
                <label>{t!(i18n, tr_epoch_of, epoch = move || last().map_or(0, |r| r.epoch), epochs = move || epochs.get())}</label>
                <progress id="epoch-progress" max="1" value=move || last().map_or(0.0, |r| r.epoch_done as f64 / r.epoch_size.max(1) as f64)></progress>
            </div>
            <dl class="stats">
                <dt>{t!(i18n, tr_images_seen)}</dt><dd id="images-seen">{move || last().map_or(0, |r| r.images_seen)}</dd>
                <dt>{t!(i18n, tr_step)}</dt><dd id="step" data-ms-per-step=move || figures.with(|f| f.last.map(|r| format!("{:.0}", f.training_ms / r.step as f64)))>{move || last().map_or(0, |r| r.step)}</dd>
                <dt>{t!(i18n, tr_loss)}</dt>
                <dd>
                    <span id="first-loss">{move || figures.with(|f| f.first_loss.map_or("–".into(), |l| format!("{l:.4}")))}</span>
                    " → "
                    <span id="last-loss">{move || last().map_or("–".into(), |r| format!("{:.4}", r.loss))}</span>
                </dd>
                <dt>{t!(i18n, tr_batch_accuracy)}</dt><dd id="batch-accuracy">{move || last().map_or("–".into(), |r| format!("{:.1} %", 100.0 * r.accuracy))}</dd>
                <dt>{t!(i18n, tr_images_per_s)}</dt><dd id="images-per-s">{move || figures.with(|f| format!("{:.0}", f.images_per_s))}</dd>
                <dt>{t!(i18n, tr_test_accuracy)}</dt>
                <dd id="test-accuracy" data-value=move || figures.with(|f| f.epochs.last().map(|e| e.test_accuracy.to_string()))>
                    {move || figures.with(|f| match (f.evaluating, f.epochs.last()) {
                        (Some((done, total)), _) => t!(i18n, tr_testing, done = move || done, total = move || total).into_any(),
                        (None, Some(e)) => {
                            let accuracy = format!("{:.2}", 100.0 * e.test_accuracy);
                            let images = e.test_images;
                            t!(i18n, tr_accuracy_on, accuracy = move || accuracy.clone(), images = move || images).into_any()
                        }
                        (None, None) => t!(i18n, tr_after_first_epoch).into_any(),
                    })}
                </dd>
            </dl>
            <div class="charts">
                <LineChart series=loss_series x_label=Signal::derive(move || t_string!(i18n, tr_images_axis))
                    title=Signal::derive(move || t_string!(i18n, tr_loss_chart)) />
                <LineChart series=accuracy_series x_label=Signal::derive(move || t_string!(i18n, tr_images_axis)) y_range=(0.0, 1.0)
                    title=Signal::derive(move || t_string!(i18n, tr_accuracy_chart)) />
            </div>
        </section>
    }
}

/// The shard download: a progress bar with bytes, shards and images, or the error.
#[component]
fn DataProgress(pool: DataPool) -> impl IntoView {
    let i18n = use_i18n();
    let progress = pool.progress;
    view! {
        <div class="data-progress">
            <progress id="data-progress-bar" max=move || progress.with(|p| p.bytes_total.max(1) as f64)
                value=move || progress.with(|p| p.bytes_loaded as f64)></progress>
            <span id="data-progress">{move || {
                let p = progress.get();
                let (mb, total_mb) = (format!("{:.1}", p.bytes_loaded as f64 / 1e6), format!("{:.1}", p.bytes_total as f64 / 1e6));
                view! {
                    {t!(i18n, tr_data, shards = move || p.shards_loaded, total_shards = move || p.shards_total,
                        mb = move || mb.clone(), total_mb = move || total_mb.clone(),
                        train = move || p.train_images, test = move || p.test_images)}
                    {p.is_complete().then_some(t!(i18n, tr_all_loaded))}
                }
            }}</span>
            {move || progress.with(|p| p.error.clone()).map(|e| view! { <p id="data-error" class="error" role="alert">{e}</p> })}
        </div>
    }
}
