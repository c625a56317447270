//! Long work the pages hand to the compute worker ([`super::worker`]): training the reference
//! CNN ([`train`]), meta-training one learner ([`meta_train`]), an evolutionary search
//! ([`search`]) and the Playground's adaptation ([`adapt`], which keeps its worker for the
//! predictions that follow).
//!
//! A page calls [`Launch::start`] with a [`Job`]: it starts a worker, posts it the images a
//! slice at a time (so no copy holds the page for long), then a [`Command`] with the job and
//! the page's kind of backend, posts the images that arrive later, and hands each [`Report`]
//! the worker posts back to the page. Where the browser cannot start a worker, the same job
//! runs on the page itself, yielding to it between steps, and a notice says so. In the worker,
//! [`serve`] answers.

pub mod adapt;
pub mod meta_train;
pub mod search;
pub mod train;

use super::backend::get;
use super::i18n::{Locale, tu_string};
use super::language::fill;
use super::loader::DataPool;
use super::widgets::{RunPhase, Ticket, sleep_ms, yield_to_page};
use super::worker::{self, ComputeWorker};
use crate::backend::{Backend, BackendKind, cpu_device};
use crate::data::ImageSet;
use crate::data::protocol::{ExtraClasses, p2};
use crate::train::TrainConfig;
use burn::tensor::Device;
use burn::tensor::wgpu::WgpuBackend;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

/// Work a page can hand to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Job {
    /// Train the reference CNN.
    Train(TrainConfig),
    /// Meta-train one learner.
    MetaTrain(meta_train::MetaJob),
    /// An evolutionary search over learners.
    Search(search::SearchJob),
}

/// Images posted to the worker at a time: 3.1 MB, copied on the page in a few milliseconds.
const IMAGES_PER_MESSAGE: usize = 4_000;

/// What the page posts to the worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum Command {
    /// More training and test images: before `Start`, the job's images; afterwards, they join
    /// its images (a job that can take more, like training, takes them between steps).
    Images { train: ImageSet, test: ImageSet },
    /// Run `job` on the images posted so far, on the page's kind of backend.
    Start { job: Job, backend: BackendKind },
    /// Wait before the next step.
    Pause,
    /// Go on.
    Resume,
    /// Adapt the Playground's networks (stopping an older request).
    Adapt(adapt::AdaptRequest),
    /// Predict a drawing with the networks request `run` adapted.
    Predict {
        run: u32,
        #[serde(with = "serde_bytes")]
        drawing: Vec<u8>,
    },
    /// Stop the adaptation under way: its results are no longer wanted.
    Cancel,
}

impl Command {
    /// `self` as a message for the worker, and the buffers of its images, which can be moved
    /// there rather than copied (they are copies of the page's images already).
    pub fn to_message(&self) -> Result<(JsValue, js_sys::Array), String> {
        let message = serde_wasm_bindgen::to_value(self).map_err(|e| e.to_string())?;
        let buffers = js_sys::Array::new();
        if let Command::Images { .. } = self {
            let images = get(&message, "Images");
            for set in ["train", "test"] {
                for bytes in ["pixels", "labels"] {
                    let buffer = get(&get(&get(&images, set), bytes), "buffer");
                    if buffer.is_instance_of::<js_sys::ArrayBuffer>() {
                        buffers.push(&buffer);
                    }
                }
            }
        }
        Ok((message, buffers))
    }
}

/// What a job tells the page as it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Report {
    /// (On the page) the job runs in the worker.
    InWorker,
    /// (On the page) no worker could start: the job runs on the page; the notice to show.
    OnPage(String),
    /// (On the page) the worker could not use WebGPU and runs on the CPU: the notice to show.
    Notice(String),
    /// The worker could not use WebGPU and runs on the CPU: why.
    CpuInstead(String),
    /// How training goes.
    Train(train::TrainReport),
    /// How meta-training goes.
    MetaTrain(meta_train::MetaReport),
    /// How the search goes.
    Search(search::SearchReport),
    /// How the Playground's adaptation goes.
    Adapt(adapt::AdaptReport),
    /// Paused: everything done so far has been reported, and nothing runs until resumed.
    Paused,
    /// The job is done.
    Finished,
    /// The job stopped: why.
    Failed(String),
}

impl Report {
    /// Whether no report follows this one.
    fn is_last(&self) -> bool {
        matches!(self, Report::Finished | Report::Failed(_))
    }
}

/// Before each step of a job: go on, wait, or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Go {
    /// Run the next step.
    On,
    /// Paused.
    Wait,
    /// Reset: end without another report.
    Stop,
}

/// Waits while `control` says so (reporting [`Report::Paused`] once); false when it says stop.
async fn hold(control: &impl Fn() -> Go, report: &mut dyn FnMut(Report)) -> bool {
    let mut waiting = false;
    loop {
        match control() {
            Go::On => return true,
            Go::Stop => return false,
            Go::Wait if !waiting => {
                waiting = true;
                report(Report::Paused);
            }
            Go::Wait => sleep_ms(100).await,
        }
    }
}

/// Runs `job` on `images` (train, test) and on those `arrivals` adds, to its end (or until
/// `control` says stop), handing every report to `report`; the last is `Finished` or `Failed`
/// unless stopped.
async fn run(
    job: Job,
    images: (ImageSet, ImageSet),
    device: &Device,
    control: impl Fn() -> Go,
    arrivals: &dyn Fn(&mut ImageSet, &mut ImageSet),
    report: &mut dyn FnMut(Report),
) {
    // A meta-learning job's classes are copied out of the images, the largest thing it would
    // hold: the images go.
    let outcome = match job {
        Job::Train(config) => train::run(config, images, device, &control, arrivals, report).await,
        Job::MetaTrain(job) => {
            let protocol = job.protocol(&images.0, &images.1);
            drop(images);
            meta_train::run(&job, protocol, device, &control, report).await
        }
        Job::Search(job) => {
            let protocol = p2(&images.0, &images.1, ExtraClasses::default());
            drop(images);
            search::run(job, protocol, device, &control, report).await
        }
    };
    match outcome {
        Ok(true) => report(Report::Finished),
        Ok(false) => {}
        Err(e) => report(Report::Failed(e)),
    }
}

/// Where a job runs: the compute worker, or the page itself where no worker could start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    Worker,
    Page,
}

impl Runner {
    /// Lower-case name, for data attributes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Page => "page",
        }
    }
}

/// Where a page keeps its worker; emptying it stops the worker.
pub type WorkerSlot = StoredValue<Option<ComputeWorker>, LocalStorage>;

/// What a page's job needs from the page, and what it tells back besides reports.
#[derive(Clone, Copy)]
pub struct Launch {
    /// The images the job trains on.
    pool: DataPool,
    /// The page's run phase: Pause and Resume reach the job from it.
    phase: RwSignal<RunPhase>,
    /// The page's worker, if any; emptying it stops the worker.
    worker: WorkerSlot,
    /// How many training and test images the worker has been sent.
    sent: StoredValue<(usize, usize), LocalStorage>,
    /// Whether the job has stopped for a pause (it finishes the step under way first).
    pub held: RwSignal<bool>,
    /// Where the job runs, once started.
    pub runner: RwSignal<Option<Runner>>,
    /// For the notices.
    i18n: I18nContext<Locale>,
}

impl Launch {
    /// Jobs for a page training on `pool`: Pause and Resume go from `phase` to the worker (a job
    /// on the page reads the phase itself), and so do images that arrive in `pool` while it
    /// runs. Call once, when the page is built.
    pub fn new(pool: DataPool, phase: RwSignal<RunPhase>, i18n: I18nContext<Locale>) -> Self {
        let launch = Self {
            pool,
            phase,
            worker: StoredValue::new_local(None),
            sent: StoredValue::new_local((0, 0)),
            held: RwSignal::new(false),
            runner: RwSignal::new(None),
            i18n,
        };
        Effect::new(move |_| {
            let command = match phase.get() {
                RunPhase::Paused => Command::Pause,
                RunPhase::Running => {
                    launch.held.set(false);
                    Command::Resume
                }
                _ => return,
            };
            launch.worker.with_value(|running| {
                if let (Some(running), Ok((message, _))) = (running, command.to_message()) {
                    let _ = running.send(&message);
                }
            });
        });
        Effect::new(move |_| {
            pool.progress.track();
            leptos::task::spawn_local(async move {
                if let Err(e) = launch.send_images().await {
                    web_sys::console::error_1(&e.into());
                }
            });
        });
        launch
    }

    /// Posts the worker the pool's images it has not been sent yet, a slice at a time,
    /// yielding to the page between slices (each is copied on the page).
    async fn send_images(self) -> Result<(), String> {
        while self.send_slice()? {
            yield_to_page().await;
        }
        Ok(())
    }

    /// Posts the worker the next slice of the pool's images it has not been sent; false when
    /// there is none, no worker, or no page any more (this runs between yields).
    fn send_slice(self) -> Result<bool, String> {
        let sent = self.sent.try_get_value();
        let posted = self.worker.try_with_value(|running| {
            let (Some(running), Some((train_sent, test_sent))) = (running, sent) else {
                return Ok(false);
            };
            let train = images_from(self.pool.train, train_sent, IMAGES_PER_MESSAGE);
            let test = match train.is_empty() {
                true => images_from(self.pool.test, test_sent, IMAGES_PER_MESSAGE),
                false => ImageSet::default(),
            };
            if train.is_empty() && test.is_empty() {
                return Ok(false);
            }
            let sent = (train_sent + train.len(), test_sent + test.len());
            let (message, buffers) = Command::Images { train, test }.to_message()?;
            running.send_moving(&message, &buffers)?;
            self.sent.set_value(sent);
            Ok(true)
        });
        posted.unwrap_or(Ok(false))
    }

    /// Stops the job (its worker, if any) and forgets where it ran.
    pub fn stop(self) {
        self.worker.set_value(None);
        self.runner.set(None);
        self.held.set(false);
    }

    /// Runs `job` in a new worker, or on the page where none starts. Each report goes to
    /// `deliver` while `ticket` is live; the last one also stops the worker.
    pub fn start(
        self,
        job: Job,
        backend: &Backend,
        ticket: Ticket,
        deliver: impl Fn(Report) + Copy + 'static,
    ) {
        let Launch {
            pool,
            phase,
            worker,
            sent,
            held,
            runner,
            i18n,
        } = self;
        let launch = self;
        self.stop();
        let (kind, device) = (backend.kind, backend.device.clone());
        let forward = move |report: Report| {
            if !ticket.live() {
                return;
            }
            let report = match report {
                Report::InWorker => {
                    runner.set(Some(Runner::Worker));
                    Report::InWorker
                }
                Report::OnPage(notice) => {
                    runner.set(Some(Runner::Page));
                    Report::OnPage(notice)
                }
                Report::Paused => {
                    // Late news of a pause already resumed is no hold.
                    held.set(phase.get_untracked() == RunPhase::Paused);
                    Report::Paused
                }
                Report::CpuInstead(reason) => Report::Notice(fill(
                    tu_string!(i18n, job_worker_cpu),
                    &[("reason", &reason)],
                )),
                other => other,
            };
            let last = report.is_last();
            deliver(report);
            if last {
                // Not from inside the worker's own message handler: once it has returned.
                leptos::task::spawn_local(async move { worker.set_value(None) });
            }
        };
        leptos::task::spawn_local(async move {
            let started = ComputeWorker::start(
                move |message| {
                    forward(serde_wasm_bindgen::from_value(message).unwrap_or_else(|e| {
                        Report::Failed(fill(
                            tu_string!(i18n, job_report_unreadable),
                            &[("reason", &e)],
                        ))
                    }))
                },
                move |reason| {
                    let reason = fill(tu_string!(i18n, job_worker_stopped), &[("reason", &reason)]);
                    forward(Report::Failed(reason));
                },
            )
            .await;
            if !ticket.live() {
                return;
            }
            match started {
                Ok(started) => {
                    forward(Report::InWorker);
                    // A Pause clicked while the worker was loading had no worker to reach.
                    if phase.get_untracked() == RunPhase::Paused
                        && let Ok((message, _)) = Command::Pause.to_message()
                    {
                        let _ = started.send(&message);
                    }
                    worker.set_value(Some(started));
                    sent.set_value((0, 0));
                    // Every image first, then the job (unless reset meanwhile).
                    let posted = launch.send_images().await.and_then(|()| {
                        if !ticket.live() {
                            return Ok(());
                        }
                        let (message, _) = Command::Start { job, backend: kind }.to_message()?;
                        let sent = worker.try_with_value(|running| {
                            running.as_ref().map(|running| running.send(&message))
                        });
                        sent.flatten().unwrap_or(Ok(()))
                    });
                    if let Err(e) = posted {
                        forward(Report::Failed(e));
                    }
                }
                Err(reason) => {
                    forward(Report::OnPage(fill(
                        tu_string!(i18n, job_on_page),
                        &[("reason", &reason)],
                    )));
                    let images = (pool.train.get_value(), pool.test.get_value());
                    let control = move || match phase.get_untracked() {
                        _ if !ticket.live() => Go::Stop,
                        RunPhase::Paused => Go::Wait,
                        _ => Go::On,
                    };
                    let arrivals = |train: &mut ImageSet, test: &mut ImageSet| {
                        train.extend(images_from(pool.train, train.len(), usize::MAX));
                        test.extend(images_from(pool.test, test.len(), usize::MAX));
                    };
                    let mut forward = forward;
                    run(job, images, &device, control, &arrivals, &mut forward).await;
                }
            }
        });
    }
}

/// A copy of at most `most` images of `pool` from the `from`th on.
fn images_from(pool: StoredValue<ImageSet>, from: usize, most: usize) -> ImageSet {
    pool.with_value(|set| {
        let end = set.len().min(from.saturating_add(most));
        set.range(from.min(end)..end)
    })
}

/// In the compute worker: answers the page's commands.
pub fn serve() {
    let paused = Rc::new(Cell::new(false));
    // Images posted and not yet taken: by `Start`, then by the job between its steps.
    let arrived = Rc::new(RefCell::new((ImageSet::default(), ImageSet::default())));
    let adapter = adapt::Adapter::default();
    worker::serve(move |message| {
        match serde_wasm_bindgen::from_value::<Command>(message) {
            Ok(Command::Images { train, test }) => {
                let mut arrived = arrived.borrow_mut();
                arrived.0.extend(train);
                arrived.1.extend(test);
            }
            Ok(Command::Start { job, backend }) => {
                let paused = paused.clone();
                let images = arrived.take();
                let arrived = arrived.clone();
                // leptos' executor only runs on pages: spawn on the worker's event loop.
                wasm_bindgen_futures::spawn_local(async move {
                    let (device, _) = device_for(backend, &post).await;
                    let control = move || if paused.get() { Go::Wait } else { Go::On };
                    let arrivals = |train: &mut ImageSet, test: &mut ImageSet| {
                        let (more_train, more_test) = arrived.take();
                        train.extend(more_train);
                        test.extend(more_test);
                    };
                    run(job, images, &device, control, &arrivals, &mut post).await;
                });
            }
            Ok(Command::Pause) => paused.set(true),
            Ok(Command::Resume) => paused.set(false),
            Ok(command) => {
                let adapter = adapter.clone();
                wasm_bindgen_futures::spawn_local(
                    async move { adapter.answer(command, &post).await },
                );
            }
            Err(e) => post(Report::Failed(format!(
                "the worker could not read the page's message: {e}"
            ))),
        }
    });
}

/// In the worker: the device of `kind`, and whether it is a GPU; the CPU, reported, where
/// WebGPU cannot start.
async fn device_for(kind: BackendKind, post: &dyn Fn(Report)) -> (Device, bool) {
    if kind != BackendKind::WebGpu {
        return (cpu_device(), false);
    }
    match Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
    {
        Ok(device) => (device, true),
        Err(e) => {
            post(Report::CpuInstead(e.to_string()));
            (cpu_device(), false)
        }
    }
}

/// In the worker: posts `report` to the page.
fn post(report: Report) {
    match serde_wasm_bindgen::to_value(&report) {
        Ok(message) => worker::post(&message),
        Err(e) => web_sys::console::error_1(&format!("unpostable report: {e}").into()),
    }
}
