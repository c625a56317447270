//! Running a comparison: each network adapted in turn to the same support set, timed on its
//! own, its support loss charted step by step; then predictions for a drawing, or — in the
//! 1-shot challenge — accuracy on the held-out examples.

use super::networks::Networks;
use crate::bench::now_ms;
use crate::data::ImageSet;
use crate::playground::adapt::{AdaptError, Adaptation, Procedure, argmax};
use crate::playground::compare::{Contender, Label};
use crate::ui::widgets::{Ticket, yield_to_page};
use burn::tensor::Device;
use leptos::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

/// Line colours, one per compared network.
pub const COLORS: [&str; 4] = ["#2b8a3e", "#e8590c", "#1c7ed6", "#862e9c"];

/// What the page shows about one compared network.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// What the network is.
    pub label: Label,
    /// How it adapted.
    pub procedure: Procedure,
    /// Support loss before each step.
    pub losses: Vec<(f64, f64)>,
    /// Steps taken and in all.
    pub steps: (usize, usize),
    /// Time its adaptation took, on its own.
    pub milliseconds: Option<f64>,
    /// Fraction of the support set it labels right after adapting.
    pub support_accuracy: Option<f64>,
    /// In the 1-shot challenge: fraction of the held-out examples it labels right.
    pub test_accuracy: Option<f64>,
    /// Why it could not take part.
    pub error: Option<String>,
}

/// The comparison as the page shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComparisonView {
    /// One entry per network.
    pub runs: Vec<RunView>,
    /// Adapting now.
    pub running: bool,
    /// Every network is adapted.
    pub done: bool,
    /// A prediction is being computed.
    pub predicting: bool,
    /// Class names, in label order.
    pub names: Vec<String>,
    /// Gallery version the networks were adapted to.
    pub version: u32,
    /// In the 1-shot challenge: how many held-out examples were scored.
    pub challenge: Option<usize>,
}

/// Why a comparison stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// A newer action replaced it.
    Cancelled,
    /// The device failed (on a GPU: switch to the CPU).
    Device(String),
}

/// One network's predicted probabilities for a drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// What the network is.
    pub title: Label,
    /// Class names.
    pub names: Vec<String>,
    /// Probability of each class.
    pub probabilities: Vec<f32>,
}

impl Panel {
    /// The most probable class.
    pub fn predicted(&self) -> &str {
        self.names
            .get(argmax(&self.probabilities))
            .map_or("", String::as_str)
    }
}

/// The comparison's state: what is shown, and the adapted networks kept for predictions.
#[derive(Clone, Copy)]
pub struct Comparison {
    /// What the page shows.
    pub view: RwSignal<ComparisonView>,
    adapted: StoredValue<Vec<(Label, Rc<Adaptation>)>, LocalStorage>,
}

impl Default for Comparison {
    fn default() -> Self {
        Self {
            view: RwSignal::new(ComparisonView::default()),
            adapted: StoredValue::new_local(Vec::new()),
        }
    }
}

impl Comparison {
    /// Forgets the adapted networks and what was shown.
    pub fn clear(&self) {
        self.adapted.set_value(Vec::new());
        self.view.set(ComparisonView::default());
    }

    /// Adapts every contender to `support` in turn (task label k = learned output `rows[k]`),
    /// then scores `held_out` if given (the 1-shot challenge), on `device` (where GPU kernels
    /// compile at first use if `compiles_kernels`). Stops, leaving what it did, when `ticket` is
    /// cancelled.
    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        &self,
        contenders: Vec<Contender>,
        names: Vec<String>,
        version: u32,
        support: ImageSet,
        rows: Vec<usize>,
        held_out: Option<ImageSet>,
        networks: Networks,
        device: Device,
        compiles_kernels: bool,
        ticket: Ticket,
    ) -> Result<(), Stop> {
        self.adapted.set_value(Vec::new());
        self.view.set(ComparisonView {
            runs: contenders
                .iter()
                .map(|c| RunView {
                    label: c.label.clone(),
                    procedure: c.procedure.clone(),
                    losses: Vec::new(),
                    steps: (0, c.procedure.steps()),
                    milliseconds: None,
                    support_accuracy: None,
                    test_accuracy: None,
                    error: None,
                })
                .collect(),
            running: true,
            names,
            version,
            challenge: held_out.as_ref().map(ImageSet::len),
            ..ComparisonView::default()
        });
        for (index, contender) in contenders.iter().enumerate() {
            // A cancelled run writes nothing: its rows may belong to a newer run, or be gone.
            let update = |change: &dyn Fn(&mut RunView)| {
                if ticket.live() {
                    self.view.update(|v| {
                        if let Some(run) = v.runs.get_mut(index) {
                            change(run);
                        }
                    });
                }
            };
            let network = match networks.get(&contender.source, &device).await {
                Ok(network) => network,
                Err(message) => {
                    update(&|r| r.error = Some(message.clone()));
                    continue;
                }
            };
            // Loading a network (decoding its weights) is a piece of work of its own.
            yield_to_page().await;
            if !ticket.live() {
                return Err(Stop::Cancelled);
            }
            let outcome: Result<Adaptation, AdaptError> = async {
                if compiles_kernels {
                    // One untimed step first, so no network's time includes compiling the GPU
                    // kernels it needs (the CPU has none to compile).
                    Adaptation::new(&network, &contender.procedure, &support, &rows, &device)
                        .step()
                        .await?;
                    yield_to_page().await;
                }
                // Only the network's own work is timed: not the page's redraws between steps
                // or between the pieces of its support pass.
                let (passing, since) = (Cell::new(0.0), Cell::new(now_ms()));
                let pause = || async {
                    passing.set(passing.get() + now_ms() - since.get());
                    yield_to_page().await;
                    since.set(now_ms());
                };
                let procedure = &contender.procedure;
                let mut adaptation =
                    Adaptation::in_slices(&network, procedure, &support, &rows, &device, pause)
                        .await;
                let mut busy = passing.get() + now_ms() - since.get();
                yield_to_page().await;
                while !adaptation.finished() && ticket.live() {
                    let started = now_ms();
                    let loss = adaptation.step().await?;
                    busy += now_ms() - started;
                    update(&|r| {
                        r.steps.0 += 1;
                        r.losses.push((r.steps.0 as f64, f64::from(loss)));
                    });
                    yield_to_page().await;
                }
                let started = now_ms();
                let support_accuracy = adaptation.support_accuracy().await?;
                busy += now_ms() - started;
                let test_accuracy = match &held_out {
                    Some(set) => {
                        yield_to_page().await;
                        Some(adaptation.accuracy_on(set).await?)
                    }
                    None => None,
                };
                update(&|r| {
                    r.milliseconds = Some(busy);
                    r.support_accuracy = Some(support_accuracy);
                    r.test_accuracy = test_accuracy;
                });
                Ok(adaptation)
            }
            .await;
            if !ticket.live() {
                return Err(Stop::Cancelled);
            }
            match outcome {
                Ok(adaptation) => self
                    .adapted
                    .update_value(|a| a.push((contender.label.clone(), Rc::new(adaptation)))),
                Err(AdaptError::Device(reason)) => {
                    self.view.update(|v| v.running = false);
                    return Err(Stop::Device(reason));
                }
                Err(error) => update(&|r| r.error = Some(error.to_string())),
            }
            // On the CPU a read-back is ready at once, so without this the next network's
            // support pass would run in the same main-thread task as this one's last work.
            yield_to_page().await;
        }
        self.view.update(|v| {
            v.running = false;
            v.done = true;
        });
        Ok(())
    }

    /// Marks the comparison as no longer running (a newer action cancelled it).
    pub fn stop(&self) {
        self.view.update(|v| {
            v.running = false;
            v.predicting = false;
        });
    }

    /// Every adapted network's class probabilities for `drawing`.
    pub async fn predict(&self, drawing: Vec<u8>, ticket: Ticket) -> Result<Vec<Panel>, Stop> {
        let names = self.view.with_untracked(|v| v.names.clone());
        // A copy of the list (of shared adaptations): they serve every later prediction too.
        let adapted = self.adapted.get_value();
        let test = ImageSet {
            labels: vec![0],
            pixels: drawing,
        };
        let mut panels = Vec::new();
        let mut failure = None;
        for (label, adaptation) in &adapted {
            match adaptation.probabilities(&test).await {
                Ok(rows) => panels.push(Panel {
                    title: label.clone(),
                    names: names.clone(),
                    probabilities: rows.into_iter().next().unwrap_or_default(),
                }),
                Err(e) => failure = Some(e.to_string()),
            }
            yield_to_page().await;
        }
        if !ticket.live() {
            return Err(Stop::Cancelled); // the gallery changed: these predictions are stale
        }
        self.view.update(|v| v.predicting = false);
        match failure {
            Some(reason) => Err(Stop::Device(reason)),
            None => Ok(panels),
        }
    }
}
