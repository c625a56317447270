//! The Train page: train the reference CNN on MNIST in the browser, with live curves.
//!
//! Training runs in an async task that does one step, publishes the figures, and yields to the
//! page before the next, so the page stays responsive on WebGPU and on the CPU. Pause stops the
//! task after its current step; Resume starts a new one on the same run; Reset drops the run.

use super::chart::{LineChart, Series};
use super::loader::DataPool;
use super::share::{Shared, share_settings};
use super::widgets::{NumberField, SettingNotes, url_number, yield_to_page};
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
    let defaults = TrainConfig::new();
    let readings = (
        url_number("epochs", defaults.epochs, 1..=50),
        url_number("batch", defaults.batch_size, 1..=1024),
        url_number("lr", defaults.learning_rate, 1e-6..=1.0),
        url_number("epoch_images", defaults.epoch_images, 0..=60_000),
        url_number("test_images", defaults.test_images, 0..=10_000),
    );
    let notes: Vec<String> = [
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
            name: "training loss".into(),
            color: "#d9480f",
            points: figures.with(|f| f.loss.clone()),
            dots: false,
        }]
    });
    let accuracy_series = Signal::derive(move || {
        figures.with(|f| {
            vec![
                Series {
                    name: "batch accuracy".into(),
                    color: "#1c7ed6",
                    points: f.accuracy.clone(),
                    dots: false,
                },
                Series {
                    name: "test accuracy".into(),
                    color: "#2b8a3e",
                    points: f.test_points.clone(),
                    dots: true,
                },
            ]
        })
    });

    view! {
        <section class="page train">
            <h2>"Train the reference CNN on MNIST"</h2>
            <p class="explain">
                "Conv2d 32@3×3 → ReLU → MaxPool 2 → Dense 64 → ReLU → Dense 10, softmax cross-entropy, Adam "
                "with a cosine-annealed learning rate. Everything runs on this page, on the backend shown above."
            </p>
            <SettingNotes notes=notes />
            <DataProgress pool=pool />
            <form class="settings" on:submit=|ev| ev.prevent_default()>
                <NumberField label="Epochs" id="epochs" value=epochs range=1..=50 />
                <NumberField label="Batch size" id="batch" value=batch_size range=1..=1024 />
                <NumberField label="Learning rate" id="lr" value=learning_rate range=1e-6..=1.0 />
                <NumberField label="Images per epoch (0 = all)" id="epoch-images" value=epoch_images range=0..=60_000 />
                <NumberField label="Test images (0 = all)" id="test-images" value=test_images range=0..=10_000 />
            </form>
            <div class="controls">
                <button id="train-button" on:click=start disabled=move || !can_start()>"Train"</button>
                <button id="pause-button" on:click=pause disabled=move || status.get() != Status::Running>"Pause"</button>
                <button id="resume-button" on:click=resume disabled=move || status.get() != Status::Paused>"Resume"</button>
                <button id="reset-button" on:click=reset disabled=move || status.get() == Status::Idle>"Reset"</button>
                <span id="status" class=move || format!("status {}", status.get().label())>{move || status.get().label()}</span>
            </div>
            {move || match status.get() {
                Status::Failed(message) => Some(view! { <p id="train-error" class="error" role="alert">{message}</p> }),
                _ => None,
            }}
            <div class="progress-row">
                <label>"Epoch "{move || last().map_or(0, |r| r.epoch)}" of "{move || epochs.get()}</label>
                <progress id="epoch-progress" max="1" value=move || last().map_or(0.0, |r| r.epoch_done as f64 / r.epoch_size.max(1) as f64)></progress>
            </div>
            <dl class="stats">
                <dt>"Images seen"</dt><dd id="images-seen">{move || last().map_or(0, |r| r.images_seen)}</dd>
                <dt>"Step"</dt><dd id="step">{move || last().map_or(0, |r| r.step)}</dd>
                <dt>"Loss (first → now)"</dt>
                <dd>
                    <span id="first-loss">{move || figures.with(|f| f.first_loss.map_or("–".into(), |l| format!("{l:.4}")))}</span>
                    " → "
                    <span id="last-loss">{move || last().map_or("–".into(), |r| format!("{:.4}", r.loss))}</span>
                </dd>
                <dt>"Batch accuracy"</dt><dd id="batch-accuracy">{move || last().map_or("–".into(), |r| format!("{:.1} %", 100.0 * r.accuracy))}</dd>
                <dt>"Images / s"</dt><dd id="images-per-s">{move || figures.with(|f| format!("{:.0}", f.images_per_s))}</dd>
                <dt>"Test accuracy"</dt>
                <dd id="test-accuracy" data-value=move || figures.with(|f| f.epochs.last().map(|e| e.test_accuracy.to_string()))>
                    {move || figures.with(|f| match (f.evaluating, f.epochs.last()) {
                        (Some((done, total)), _) => format!("testing… {done}/{total} images"),
                        (None, Some(e)) => format!("{:.2} % on {} images", 100.0 * e.test_accuracy, e.test_images),
                        (None, None) => "after the first epoch".into(),
                    })}
                </dd>
            </dl>
            <div class="charts">
                <LineChart series=loss_series x_label="images seen" title="training loss over images seen" />
                <LineChart series=accuracy_series x_label="images seen" y_range=(0.0, 1.0) title="accuracy over images seen" />
            </div>
        </section>
    }
}

/// The shard download: a progress bar with bytes, shards and images, or the error.
#[component]
fn DataProgress(pool: DataPool) -> impl IntoView {
    let progress = pool.progress;
    view! {
        <div class="data-progress">
            <progress id="data-progress-bar" max=move || progress.with(|p| p.bytes_total.max(1) as f64)
                value=move || progress.with(|p| p.bytes_loaded as f64)></progress>
            <span id="data-progress">{move || progress.with(|p| format!(
                "MNIST: {}/{} shards, {:.1}/{:.1} MB, {} train + {} test images{}",
                p.shards_loaded, p.shards_total,
                p.bytes_loaded as f64 / 1e6, p.bytes_total as f64 / 1e6,
                p.train_images, p.test_images,
                if p.is_complete() { " — all loaded" } else { "" },
            ))}</span>
            {move || progress.with(|p| p.error.clone()).map(|e| view! { <p id="data-error" class="error" role="alert">{e}</p> })}
        </div>
    }
}
