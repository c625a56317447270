//! The Train page: train the reference CNN on MNIST in the browser, with live curves.
//!
//! Training runs in an async task that does one step, publishes the figures, and yields to the
//! page before the next, so the page stays responsive on WebGPU and on the CPU. Pause stops the
//! task after its current step; Resume starts a new one on the same run; Reset drops the run.

use super::chart::{LineChart, Series};
use super::i18n::{Locale, t, t_string, use_i18n};
use super::loader::DataPool;
use super::share::{Shared, share_settings};
use super::widgets::{Note, NumberField, SettingNotes, url_number, yield_to_page};
use crate::backend::{Backend, BackendKind};
use crate::bench::now_ms;
use crate::data::ImageSet;
use crate::train::{EpochReport, StepReport, TrainConfig, TrainError, TrainEvent, TrainRun};
use leptos::prelude::*;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Idle,
    Running,
    Paused,
    Finished,
    Failed(String),
}

impl Status {
    /// The status in the person's language.
    fn shown(&self, i18n: leptos_i18n::I18nContext<Locale>) -> &'static str {
        match self {
            Status::Idle => t_string!(i18n, tr_status_idle),
            Status::Running => t_string!(i18n, tr_status_running),
            Status::Paused => t_string!(i18n, tr_status_paused),
            Status::Finished => t_string!(i18n, tr_status_finished),
            Status::Failed(_) => t_string!(i18n, tr_status_failed),
        }
    }

    /// The status as a word for scripts and styles (`data-status`, CSS class).
    fn label(&self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Finished => "finished",
            Status::Failed(_) => "failed",
        }
    }
}

/// Everything the page shows about the current run.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    last: Option<StepReport>,
    first_loss: Option<f32>,
    images_per_s: f64,
    loss: Vec<(f64, f64)>,
    accuracy: Vec<(f64, f64)>,
    epochs: Vec<EpochReport>,
    /// Test images evaluated so far, and in all, while an epoch's evaluation runs.
    evaluating: Option<(usize, usize)>,
    test_points: Vec<(f64, f64)>,
}

/// The images of `pool` beyond the first `from`.
fn tail(pool: StoredValue<ImageSet>, from: usize) -> Option<ImageSet> {
    pool.with_value(|set| (set.len() > from).then(|| set.range(from..set.len())))
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

    let status = RwSignal::new(Status::Idle);
    let figures = RwSignal::new(Figures::default());
    let run = StoredValue::new_local(None::<TrainRun>);
    let generation = StoredValue::new(0u32);
    let device = backend.device.clone();
    let is_gpu = backend.kind == BackendKind::WebGpu;
    let on_device_lost = StoredValue::new(on_device_lost);

    // One task per Running stretch; it stops when the status changes or the run is replaced.
    let drive = move || {
        let mine = generation.get_value();
        leptos::task::spawn_local(async move {
            while status.get_untracked() == Status::Running && generation.get_value() == mine {
                let Some(mut current) = run.try_update_value(Option::take).flatten() else {
                    break;
                };
                if let Some(more) = tail(pool.train, current.train.len()) {
                    current.train.extend(more);
                }
                if let Some(more) = tail(pool.test, current.test.len()) {
                    current.test.extend(more);
                }
                let started = now_ms();
                let outcome = current.advance().await;
                let elapsed_ms = now_ms() - started;
                if generation.get_value() != mine {
                    break; // reset while this step ran: drop the old run
                }
                run.set_value(Some(current));
                match outcome {
                    Ok(TrainEvent::Step(report)) => figures.update(|f| {
                        let x = report.images_seen as f64;
                        f.loss.push((x, f64::from(report.loss)));
                        f.accuracy.push((x, f64::from(report.accuracy)));
                        f.first_loss.get_or_insert(report.loss);
                        // The batch this step trained on, not whatever the field says now.
                        let rate = report.batch as f64 / (elapsed_ms / 1e3);
                        f.images_per_s = if f.last.is_none() {
                            rate
                        } else {
                            0.8 * f.images_per_s + 0.2 * rate
                        };
                        f.last = Some(report);
                    }),
                    Ok(TrainEvent::Evaluating { done, total }) => {
                        figures.update(|f| f.evaluating = Some((done, total)));
                    }
                    Ok(TrainEvent::Epoch(report)) => figures.update(|f| {
                        f.evaluating = None;
                        let x = f.last.map_or(0.0, |r| r.images_seen as f64);
                        f.test_points.push((x, f64::from(report.test_accuracy)));
                        f.epochs.push(report);
                    }),
                    Ok(TrainEvent::Finished) => status.set(Status::Finished),
                    Err(TrainError::Device(reason)) if is_gpu => {
                        status.set(Status::Failed(reason.clone()));
                        on_device_lost.with_value(|lost| lost(reason));
                    }
                    Err(error) => status.set(Status::Failed(error.to_string())),
                }
                yield_to_page().await;
            }
        });
    };

    let start = move |_| {
        let config = TrainConfig::new()
            .with_epochs(epochs.get_untracked())
            .with_batch_size(batch_size.get_untracked())
            .with_learning_rate(learning_rate.get_untracked())
            .with_epoch_images(epoch_images.get_untracked())
            .with_test_images(test_images.get_untracked());
        generation.update_value(|g| *g += 1);
        run.set_value(Some(TrainRun::new(config, &device)));
        figures.set(Figures::default());
        status.set(Status::Running);
        drive();
    };
    let pause = move |_| status.set(Status::Paused);
    let resume = move |_| {
        status.set(Status::Running);
        drive();
    };
    let reset = move |_| {
        generation.update_value(|g| *g += 1);
        run.set_value(None);
        figures.set(Figures::default());
        status.set(Status::Idle);
    };

    let progress = pool.progress;
    let can_start = move || {
        progress.with(|p| p.can_train())
            && !matches!(status.get(), Status::Running | Status::Paused)
    };
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
                <button id="pause-button" on:click=pause disabled=move || status.get() != Status::Running>{t!(i18n, run_pause)}</button>
                <button id="resume-button" on:click=resume disabled=move || status.get() != Status::Paused>{t!(i18n, run_resume)}</button>
                <button id="reset-button" on:click=reset disabled=move || status.get() == Status::Idle>{t!(i18n, run_reset)}</button>
                <span id="status" class=move || format!("status {}", status.get().label())
                    data-status=move || status.get().label()>{move || status.get().shown(i18n)}</span>
            </div>
            {move || match status.get() {
                Status::Failed(message) => Some(view! { <p id="train-error" class="error" role="alert">{message}</p> }),
                _ => None,
            }}
            <div class="progress-row">
                <label>{t!(i18n, tr_epoch_of, epoch = move || last().map_or(0, |r| r.epoch), epochs = move || epochs.get())}</label>
                <progress id="epoch-progress" max="1" value=move || last().map_or(0.0, |r| r.epoch_done as f64 / r.epoch_size.max(1) as f64)></progress>
            </div>
            <dl class="stats">
                <dt>{t!(i18n, tr_images_seen)}</dt><dd id="images-seen">{move || last().map_or(0, |r| r.images_seen)}</dd>
                <dt>{t!(i18n, tr_step)}</dt><dd id="step">{move || last().map_or(0, |r| r.step)}</dd>
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
