//! The Playground's adaptation, as the compute worker runs it (or the page, where no worker
//! starts): each network adapted in turn to the person's support set, step by step, then
//! predictions for drawings from the adapted networks, which the worker keeps.
//!
//! The page posts an [`AdaptRequest`] (the networks' verified weights, the support set) and then
//! any number of [`Command::Predict`]s; every answer carries the request's `run`, so the page
//! can tell a stale answer from a current one. A newer request, or [`Command::Cancel`], stops the
//! one under way at its next step.

use super::super::widgets::yield_to_page;
use super::{Command, Report};
use crate::backend::BackendKind;
use crate::bench::now_ms;
use crate::data::ImageSet;
use crate::model::{Architecture, Network, from_bytes};
use crate::playground::adapt::{AdaptError, Adaptation, Procedure};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A network to adapt, in a form the page can post to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NetworkSpec {
    /// A fresh random initialisation, seeded (so every run compares the same network).
    Random {
        architecture: Architecture,
        classes: usize,
        seed: u64,
    },
    /// Verified weights: a checkpoint file's bytes, and what they hold.
    Weights {
        file: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        architecture: Architecture,
        classes: usize,
    },
}

impl NetworkSpec {
    /// The network, on `device`.
    pub fn build(&self, device: &Device) -> Result<Network, String> {
        match self {
            Self::Random {
                architecture,
                classes,
                seed,
            } => {
                device.seed(*seed);
                Ok(Network::new(*architecture, *classes, device))
            }
            Self::Weights {
                file,
                bytes,
                architecture,
                classes,
            } => from_bytes(bytes, *architecture, *classes, device)
                .map_err(|e| format!("{file}: {e}")),
        }
    }
}

/// What the page asks the worker to adapt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptRequest {
    /// Which request this is (answers carry it).
    pub run: u32,
    /// The page's kind of backend.
    pub backend: BackendKind,
    /// The networks, each with its index in the comparison and how it adapts.
    pub networks: Vec<(usize, NetworkSpec, Procedure)>,
    /// The person's examples.
    pub support: ImageSet,
    /// Task label k is output `rows[k]` of a learned output layer.
    pub rows: Vec<usize>,
    /// In the 1-shot challenge: the examples to score.
    pub held_out: Option<ImageSet>,
}

/// How adapting one network goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Progress {
    /// A step was taken; the support loss before it.
    Step(f32),
    /// Adapted: the time its own work took, its support accuracy and, in the 1-shot challenge,
    /// its held-out accuracy.
    Done {
        milliseconds: f64,
        support_accuracy: f64,
        test_accuracy: Option<f64>,
    },
    /// It could not take part.
    Failed(AdaptError),
}

/// What the worker tells the page about a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdaptReport {
    /// How network `index` goes.
    Network {
        run: u32,
        index: usize,
        progress: Progress,
    },
    /// Every network of the request is done.
    AllDone { run: u32 },
    /// Each adapted network's class probabilities for a drawing, in comparison order.
    Predictions {
        run: u32,
        rows: Vec<Result<Vec<f32>, AdaptError>>,
    },
}

impl AdaptReport {
    /// The request it answers.
    pub fn run(&self) -> u32 {
        match self {
            Self::Network { run, .. } | Self::AllDone { run } | Self::Predictions { run, .. } => {
                *run
            }
        }
    }
}

/// Adapts `network` to `support` with `procedure` on `device` (where GPU kernels compile at
/// first use if `compiles_kernels`), reporting each step and the result; then scores
/// `held_out` if given. `None` once `live` says the work is no longer wanted.
#[allow(clippy::too_many_arguments)]
async fn adapt_one(
    network: &Network,
    procedure: &Procedure,
    support: &ImageSet,
    rows: &[usize],
    held_out: Option<&ImageSet>,
    device: &Device,
    compiles_kernels: bool,
    live: &dyn Fn() -> bool,
    report: &mut dyn FnMut(Progress),
) -> Result<Option<Adaptation>, AdaptError> {
    if compiles_kernels {
        // One untimed step first, so no network's time includes compiling the GPU kernels it
        // needs (the CPU has none to compile).
        Adaptation::new(network, procedure, support, rows, device)
            .step()
            .await?;
        yield_to_page().await;
    }
    // Only the network's own work is timed: not the pauses between steps or between the
    // pieces of its support pass.
    let (pausing, since) = (Cell::new(0.0), Cell::new(now_ms()));
    let pause = || async {
        pausing.set(pausing.get() + now_ms() - since.get());
        yield_to_page().await;
        since.set(now_ms());
    };
    let mut adaptation =
        Adaptation::in_slices(network, procedure, support, rows, device, pause).await;
    let mut busy = pausing.get() + now_ms() - since.get();
    yield_to_page().await;
    while !adaptation.finished() {
        if !live() {
            return Ok(None);
        }
        let started = now_ms();
        let loss = adaptation.step().await?;
        busy += now_ms() - started;
        report(Progress::Step(loss));
        yield_to_page().await;
    }
    let started = now_ms();
    let support_accuracy = adaptation.support_accuracy().await?;
    busy += now_ms() - started;
    let test_accuracy = match held_out {
        Some(set) => {
            yield_to_page().await;
            Some(adaptation.accuracy_on(set).await?)
        }
        None => None,
    };
    report(Progress::Done {
        milliseconds: busy,
        support_accuracy,
        test_accuracy,
    });
    Ok(Some(adaptation))
}

/// Each of `adapted`'s class probabilities for `drawing`, yielding between networks.
async fn predict_each(
    adapted: &[Rc<Adaptation>],
    drawing: Vec<u8>,
) -> Vec<Result<Vec<f32>, AdaptError>> {
    let test = ImageSet {
        labels: vec![0],
        pixels: drawing,
    };
    let mut rows = Vec::new();
    for adaptation in adapted {
        let row = adaptation.probabilities(&test).await;
        rows.push(row.map(|rows| rows.into_iter().next().unwrap_or_default()));
        yield_to_page().await;
    }
    rows
}

/// Answers the Playground's requests (in the worker, or on the page where no worker starts):
/// the latest request, its adapted networks, and the device.
#[derive(Clone, Default)]
pub struct Adapter {
    /// The latest request (an older one stops at its next step; 0: none).
    run: Rc<Cell<u32>>,
    /// The networks the latest request adapted (so far), in comparison order, and its `run`.
    adapted: Rc<RefCell<(u32, Vec<Rc<Adaptation>>)>>,
    /// The device of the last request, its kind, and whether it is a GPU.
    device: Rc<RefCell<Option<(BackendKind, Device, bool)>>>,
}

impl Adapter {
    /// An adapter that uses `device` (of `kind`) for requests of that kind.
    pub fn on(kind: BackendKind, device: Device) -> Self {
        let adapter = Self::default();
        let is_gpu = kind != BackendKind::Cpu;
        *adapter.device.borrow_mut() = Some((kind, device, is_gpu));
        adapter
    }

    /// Answers `command` (an adaptation, a prediction or a cancel), posting each report.
    pub async fn answer(&self, command: Command, post: &dyn Fn(Report)) {
        match command {
            Command::Adapt(request) => self.adapt(request, post).await,
            Command::Predict { run, drawing } => self.predict(run, drawing, post).await,
            Command::Cancel => self.run.set(0),
            _ => {}
        }
    }

    /// Adapts every network of `request` in turn.
    async fn adapt(&self, request: AdaptRequest, post: &dyn Fn(Report)) {
        let AdaptRequest {
            run,
            backend,
            networks,
            support,
            rows,
            held_out,
        } = request;
        self.run.set(run);
        *self.adapted.borrow_mut() = (run, Vec::new());
        let (device, is_gpu) = self.device_for(backend, post).await;
        let latest = self.run.clone();
        let live = move || latest.get() == run;
        for (index, spec, procedure) in networks {
            let mut report = |progress| {
                post(Report::Adapt(AdaptReport::Network {
                    run,
                    index,
                    progress,
                }))
            };
            let outcome = match spec.build(&device) {
                Ok(network) => {
                    // Loading a network (decoding its weights) is a piece of work of its own.
                    yield_to_page().await;
                    let (support, held_out) = (&support, held_out.as_ref());
                    adapt_one(
                        &network,
                        &procedure,
                        support,
                        &rows,
                        held_out,
                        &device,
                        is_gpu,
                        &live,
                        &mut report,
                    )
                    .await
                }
                Err(message) => Err(AdaptError::Mismatch(message)),
            };
            if !live() {
                return;
            }
            match outcome {
                Ok(Some(adaptation)) => self.adapted.borrow_mut().1.push(Rc::new(adaptation)),
                Ok(None) => return,
                Err(error) => report(Progress::Failed(error)),
            }
            // On the CPU a read-back is ready at once: without this the next network's support
            // pass would run in the same task as this one's last work.
            yield_to_page().await;
        }
        post(Report::Adapt(AdaptReport::AllDone { run }));
    }

    /// The predictions for `drawing` of the networks request `run` adapted (none if a newer
    /// request replaced them).
    async fn predict(&self, run: u32, drawing: Vec<u8>, post: &dyn Fn(Report)) {
        // A copy of the list (of shared adaptations), so a newer request can start meanwhile.
        let adapted = match &*self.adapted.borrow() {
            (adapted_run, adapted) if *adapted_run == run => adapted.clone(),
            _ => Vec::new(),
        };
        let rows = predict_each(&adapted, drawing).await;
        post(Report::Adapt(AdaptReport::Predictions { run, rows }));
    }

    /// The device for `kind` (the last one again if `kind` has not changed), and whether it
    /// is a GPU.
    async fn device_for(&self, kind: BackendKind, post: &dyn Fn(Report)) -> (Device, bool) {
        if let Some((known, device, is_gpu)) = self.device.borrow().as_ref()
            && *known == kind
        {
            return (device.clone(), *is_gpu);
        }
        let (device, is_gpu) = super::device_for(kind, post).await;
        *self.device.borrow_mut() = Some((kind, device.clone(), is_gpu));
        (device, is_gpu)
    }
}
