//! Long work the pages hand to the compute worker ([`super::worker`]): meta-training one
//! learner ([`meta_train`]), an evolutionary search ([`search`]) and the Playground's
//! adaptation ([`adapt`], which keeps its worker for the predictions that follow).
//!
//! A page calls [`Launch::start`] with a [`Job`]: it starts a worker, posts a [`Command`] with
//! the job, the images and the page's kind of backend, and hands each [`Report`] the worker
//! posts back to the page. Where the browser cannot start a worker, the same job runs on the
//! page itself, yielding to it between meta-steps, and a notice says so. In the worker,
//! [`serve`] answers.

pub mod adapt;
pub mod meta_train;
pub mod search;

use super::backend::get;
use super::i18n::{Locale, tu_string};
use super::language::fill;
use super::loader::DataPool;
use super::widgets::{RunPhase, Ticket, sleep_ms};
use super::worker::{self, ComputeWorker};
use crate::backend::{Backend, BackendKind, cpu_device};
use crate::data::ImageSet;
use crate::data::protocol::{ExtraClasses, p2};
use burn::tensor::Device;
use burn::tensor::wgpu::WgpuBackend;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

/// Work a page can hand to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Job {
    /// Meta-train one learner.
    MetaTrain(meta_train::MetaJob),
    /// An evolutionary search over learners.
    Search(search::SearchJob),
}

/// What the page posts to the worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum Command<'a> {
    /// Run `job` on these images, on the page's kind of backend.
    Start {
        job: Job,
        backend: BackendKind,
        train: Cow<'a, ImageSet>,
        test: Cow<'a, ImageSet>,
    },
    /// Wait before the next meta-step.
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

impl Command<'_> {
    /// `self` as a message for the worker, and the buffers of its images, which can be moved
    /// there rather than copied (they are copies of the page's images already).
    pub fn to_message(&self) -> Result<(JsValue, js_sys::Array), String> {
        let message = serde_wasm_bindgen::to_value(self).map_err(|e| e.to_string())?;
        let buffers = js_sys::Array::new();
        if let Command::Start { .. } = self {
            let start = get(&message, "Start");
            for set in ["train", "test"] {
                for bytes in ["pixels", "labels"] {
                    let buffer = get(&get(&get(&start, set), bytes), "buffer");
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

/// Before each meta-step: go on, wait, or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Go {
    /// Run the next meta-step.
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

/// Runs `job` to its end (or until `control` says stop), handing every report to `report`; the
/// last is `Finished` or `Failed` unless stopped.
async fn run(
    job: Job,
    train: ImageSet,
    test: ImageSet,
    device: &Device,
    control: impl Fn() -> Go,
    report: &mut dyn FnMut(Report),
) {
    // The job's classes are copied out of the images, the largest thing it would hold: the
    // images go.
    let protocol = match &job {
        Job::MetaTrain(job) => job.protocol(&train, &test),
        Job::Search(_) => p2(&train, &test, ExtraClasses::default()),
    };
    drop((train, test));
    let outcome = match job {
        Job::MetaTrain(job) => meta_train::run(&job, protocol, device, &control, report).await,
        Job::Search(job) => search::run(job, protocol, device, &control, report).await,
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
    /// Whether the job has stopped for a pause (it finishes the meta-step under way first).
    pub held: RwSignal<bool>,
    /// Where the job runs, once started.
    pub runner: RwSignal<Option<Runner>>,
    /// For the notices.
    i18n: I18nContext<Locale>,
}

impl Launch {
    /// Jobs for a page training on `pool`: Pause and Resume go from `phase` to the worker (a job
    /// on the page reads the phase itself). Call once, when the page is built.
    pub fn new(pool: DataPool, phase: RwSignal<RunPhase>, i18n: I18nContext<Locale>) -> Self {
        let launch = Self {
            pool,
            phase,
            worker: StoredValue::new_local(None),
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
        launch
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
            held,
            runner,
            i18n,
        } = self;
        self.stop();
        worker.set_value(None);
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
                    let sent = pool.train.with_value(|train| {
                        pool.test.with_value(|test| {
                            let command = Command::Start {
                                job,
                                backend: kind,
                                train: Cow::Borrowed(train),
                                test: Cow::Borrowed(test),
                            };
                            command.to_message().and_then(|(message, buffers)| {
                                started.send_moving(&message, &buffers)
                            })
                        })
                    });
                    // A Pause clicked while the worker was loading had no worker to reach.
                    if phase.get_untracked() == RunPhase::Paused
                        && let Ok((message, _)) = Command::Pause.to_message()
                    {
                        let _ = started.send(&message);
                    }
                    worker.set_value(Some(started));
                    if let Err(e) = sent {
                        forward(Report::Failed(e));
                    }
                }
                Err(reason) => {
                    forward(Report::OnPage(fill(
                        tu_string!(i18n, job_on_page),
                        &[("reason", &reason)],
                    )));
                    let (train, test) = (pool.train.get_value(), pool.test.get_value());
                    let control = move || match phase.get_untracked() {
                        _ if !ticket.live() => Go::Stop,
                        RunPhase::Paused => Go::Wait,
                        _ => Go::On,
                    };
                    let mut forward = forward;
                    run(job, train, test, &device, control, &mut forward).await;
                }
            }
        });
    }
}

/// In the compute worker: answers the page's commands.
pub fn serve() {
    let paused = Rc::new(Cell::new(false));
    let adapter = adapt::Adapter::default();
    worker::serve(move |message| {
        match serde_wasm_bindgen::from_value::<Command<'static>>(message) {
            Ok(Command::Start {
                job,
                backend,
                train,
                test,
            }) => {
                let paused = paused.clone();
                // leptos' executor only runs on pages: spawn on the worker's event loop.
                wasm_bindgen_futures::spawn_local(async move {
                    let (device, _) = device_for(backend, &post).await;
                    let control = move || if paused.get() { Go::Wait } else { Go::On };
                    run(
                        job,
                        train.into_owned(),
                        test.into_owned(),
                        &device,
                        control,
                        &mut post,
                    )
                    .await;
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
