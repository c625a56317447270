//! Running a comparison: each network adapted in turn to the same support set, timed on its
//! own, its support loss charted step by step; then predictions for a drawing, or — in the
//! 1-shot challenge — accuracy on the held-out examples. The work runs in the compute worker
//! ([`Engine`]), so the page never waits on it; where no worker starts, on the page itself,
//! yielding between steps, with a notice saying so.

use super::networks::Networks;
use super::remote::{Engine, Refusal};
use crate::backend::BackendKind;
use crate::data::ImageSet;
use crate::playground::adapt::{AdaptError, Procedure, argmax};
use crate::playground::compare::{Contender, Label};
use crate::ui::i18n::{Locale, tu_string};
use crate::ui::jobs::adapt::{AdaptReport, AdaptRequest, Progress};
use crate::ui::jobs::{Command, Report, Runner};
use crate::ui::language::fill;
use crate::ui::widgets::Ticket;
use burn::tensor::Device;
use futures_util::StreamExt;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
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
    /// Where the networks adapt.
    pub runner: Option<Runner>,
    /// A fallback to show: no worker, or a worker on the CPU instead of WebGPU.
    pub notice: Option<String>,
}

/// Why a comparison stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// A newer action replaced it.
    Cancelled,
    /// The device failed (on a GPU: switch to the CPU).
    Device(String),
    /// The compute worker failed, and its adapted networks with it: why.
    Worker(String),
    /// A network could not do what was asked, for a reason other than the device: why.
    Failed(String),
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

/// What a comparison needs from the page besides its networks and examples.
#[derive(Clone)]
pub struct Setting {
    /// The page's backend.
    pub backend: BackendKind,
    /// Where the page itself runs the networks if no worker starts.
    pub device: Device,
    /// For the notices.
    pub i18n: I18nContext<Locale>,
    /// Told why, when the worker fails with no request listening (its networks are gone),
    /// unless an adaptation is under way (it replaces the worker).
    pub worker_lost: Callback<String>,
}

/// The comparison's state: what is shown, and where the networks adapt.
#[derive(Clone, Copy)]
pub struct Comparison {
    /// What the page shows.
    pub view: RwSignal<ComparisonView>,
    /// What adapts the networks, once started.
    engine: StoredValue<Option<Rc<Engine>>, LocalStorage>,
    /// Requests made so far.
    requests: StoredValue<u32>,
    /// The request whose adapted networks serve predictions, and what each is (in comparison
    /// order).
    adapted: StoredValue<(u32, Vec<Label>), LocalStorage>,
}

impl Default for Comparison {
    fn default() -> Self {
        Self {
            view: RwSignal::new(ComparisonView::default()),
            engine: StoredValue::new_local(None),
            requests: StoredValue::new(0),
            adapted: StoredValue::new_local((0, Vec::new())),
        }
    }
}

impl Comparison {
    /// Forgets the adapted networks and what was shown.
    pub fn clear(&self) {
        self.adapted.set_value((0, Vec::new()));
        self.view.set(ComparisonView::default());
    }

    /// Adapts every contender to `support` in turn (task label k = learned output `rows[k]`),
    /// then scores `held_out` if given (the 1-shot challenge). Stops, leaving what it did, when
    /// `ticket` is cancelled.
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
        setting: Setting,
        ticket: Ticket,
    ) -> Result<(), Stop> {
        self.adapted.set_value((0, Vec::new()));
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
            runner: self.view.with_untracked(|v| v.runner),
            notice: self.view.with_untracked(|v| v.notice.clone()),
            ..ComparisonView::default()
        });
        // Each network's weights, downloaded and verified on the page.
        let mut specs = Vec::new();
        for (index, contender) in contenders.iter().enumerate() {
            match networks.spec(&contender.source).await {
                Ok(spec) => specs.push((index, spec, contender.procedure.clone())),
                Err(message) => {
                    let failed = Progress::Failed(AdaptError::Mismatch(message));
                    self.show(index, failed, ticket)?;
                }
            }
            if !ticket.live() {
                return Err(Stop::Cancelled);
            }
        }
        let engine = self.engine(&setting).await;
        if !ticket.live() {
            return Err(Stop::Cancelled);
        }
        let run = self.next_request();
        let request = AdaptRequest {
            run,
            backend: setting.backend,
            networks: specs,
            support,
            rows,
            held_out,
        };
        let labels: Vec<Label> = contenders.into_iter().map(|c| c.label).collect();
        let outcome = self
            .follow(&engine, request, labels, &setting, ticket)
            .await;
        if ticket.live() {
            self.view.update(|v| {
                v.running = false;
                v.done = outcome.is_ok();
            });
        }
        outcome
    }

    /// The engine, started at first use and again after a worker failed (even while no request
    /// was listening): the compute worker, or the page itself (with a notice) where none starts.
    async fn engine(&self, setting: &Setting) -> Rc<Engine> {
        if let Some(engine) = self.working_engine() {
            return engine;
        }
        let (comparison, worker_lost) = (*self, setting.worker_lost);
        let on_unheard_failure = move |reason| {
            // Later, outside the worker's error handler, which forgetting the worker drops. An
            // adaptation started since replaces the worker and its networks: no message then
            // (it once stayed on the page beside that adaptation's results).
            leptos::task::spawn_local(async move {
                let adapting = comparison.view.with_untracked(|v| v.running);
                if comparison.forget_failed_engine() && !adapting {
                    worker_lost.run(reason);
                }
            });
        };
        let (engine, runner, notice) = match Engine::worker(on_unheard_failure).await {
            Ok(worker) => (worker, Runner::Worker, None),
            Err(reason) => {
                let notice = fill(tu_string!(setting.i18n, pg_on_page), &[("reason", &reason)]);
                let page = Engine::page(setting.backend, setting.device.clone());
                (page, Runner::Page, Some(notice))
            }
        };
        // A request made while this one waited may have started an engine first: keep that
        // one, which holds (or will hold) the adapted networks.
        if let Some(started) = self.working_engine() {
            return started;
        }
        self.view.update(|v| {
            v.runner = Some(runner);
            v.notice = notice;
        });
        let engine = Rc::new(engine);
        self.engine.set_value(Some(engine.clone()));
        engine
    }

    /// The engine started so far, unless it is a worker that has failed.
    fn working_engine(&self) -> Option<Rc<Engine>> {
        self.engine.get_value().filter(|engine| !engine.failed())
    }

    /// A new request number.
    fn next_request(&self) -> u32 {
        self.requests.update_value(|n| *n += 1);
        self.requests.get_value()
    }

    /// Shows how network `index` goes (nothing once `ticket` is cancelled: its row may belong to
    /// a newer run, or be gone); a device failure stops the comparison.
    fn show(&self, index: usize, progress: Progress, ticket: Ticket) -> Result<(), Stop> {
        if !ticket.live() {
            return Err(Stop::Cancelled);
        }
        if let Progress::Failed(AdaptError::Device(reason)) = progress {
            return Err(Stop::Device(reason));
        }
        self.view.update(|v| {
            let Some(run) = v.runs.get_mut(index) else {
                return;
            };
            match progress {
                Progress::Step(loss) => {
                    run.steps.0 += 1;
                    run.losses.push((run.steps.0 as f64, f64::from(loss)));
                }
                Progress::Done {
                    milliseconds,
                    support_accuracy,
                    test_accuracy,
                } => {
                    run.milliseconds = Some(milliseconds);
                    run.support_accuracy = Some(support_accuracy);
                    run.test_accuracy = test_accuracy;
                }
                Progress::Failed(error) => run.error = Some(error.to_string()),
            }
        });
        Ok(())
    }

    /// Runs `request` on `engine`, showing its reports.
    async fn follow(
        &self,
        engine: &Engine,
        request: AdaptRequest,
        labels: Vec<Label>,
        setting: &Setting,
        ticket: Ticket,
    ) -> Result<(), Stop> {
        let run = request.run;
        let mut reports = engine
            .ask(run, Command::Adapt(request))
            .map_err(|refusal| self.refused(refusal, ticket))?;
        while let Some(report) = reports.next().await {
            if !ticket.live() {
                return Err(Stop::Cancelled);
            }
            match report {
                Report::Adapt(AdaptReport::Network {
                    index, progress, ..
                }) => {
                    if matches!(progress, Progress::Done { .. }) {
                        let label = labels.get(index).cloned();
                        self.adapted.update_value(|(adapted_run, adapted)| {
                            *adapted_run = run;
                            adapted.extend(label);
                        });
                    }
                    self.show(index, progress, ticket)?;
                }
                Report::Adapt(AdaptReport::AllDone { .. }) => return Ok(()),
                Report::CpuInstead(reason) => {
                    let notice = fill(
                        tu_string!(setting.i18n, pg_worker_cpu),
                        &[("reason", &reason)],
                    );
                    self.view.update(|v| v.notice = Some(notice));
                }
                Report::Failed(reason) => return Err(self.lost(reason, ticket)),
                _ => {}
            }
        }
        Err(Stop::Cancelled) // a newer request replaced this one
    }

    /// Why a request was not started: a failed worker, or a message that could not be sent.
    fn refused(&self, refusal: Refusal, ticket: Ticket) -> Stop {
        match refusal {
            Refusal::Crashed(reason) => self.lost(reason, ticket),
            Refusal::Unsent(reason) => Stop::Failed(reason),
        }
    }

    /// The worker failed (a crash) during a request: see [`Self::forget_engine`]. Where
    /// `ticket` is cancelled, a newer action owns the page, and the next adaptation replaces the
    /// failed worker all the same.
    fn lost(&self, reason: String, ticket: Ticket) -> Stop {
        if !ticket.live() {
            return Stop::Cancelled;
        }
        self.forget_engine();
        self.view.update(|v| {
            v.running = false;
            v.predicting = false;
        });
        Stop::Worker(reason)
    }

    /// Forgets the engine if it is a worker that has failed; whether it was.
    fn forget_failed_engine(&self) -> bool {
        let failed = self
            .engine
            .get_value()
            .is_some_and(|engine| engine.failed());
        if failed {
            self.forget_engine();
        }
        failed
    }

    /// Forgets the engine, and the networks it adapted: Predict waits for the next adaptation,
    /// which starts a new worker.
    fn forget_engine(&self) {
        self.engine.set_value(None);
        self.adapted.set_value((0, Vec::new()));
        self.view.update(|v| v.done = false);
    }

    /// Marks the comparison as no longer running (a newer action cancelled it), and stops the
    /// adaptation under way.
    pub fn stop(&self) {
        self.view.update(|v| {
            v.running = false;
            v.predicting = false;
        });
        if let Some(engine) = self.engine.get_value() {
            let _ = engine.ask(self.next_request(), Command::Cancel);
        }
    }

    /// Every adapted network's class probabilities for `drawing`.
    pub async fn predict(&self, drawing: Vec<u8>, ticket: Ticket) -> Result<Vec<Panel>, Stop> {
        let names = self.view.with_untracked(|v| v.names.clone());
        let (run, labels) = self.adapted.get_value();
        // Predict waits for this answer: a second drawing's request would share its run.
        self.view.update(|v| v.predicting = true);
        let rows = match self.engine.get_value() {
            Some(engine) if !labels.is_empty() => {
                self.predictions(&engine, run, drawing, ticket).await
            }
            _ => Ok(Vec::new()),
        };
        if !ticket.live() {
            return Err(Stop::Cancelled); // the gallery changed: these predictions are stale
        }
        self.view.update(|v| v.predicting = false);
        let rows = rows?;
        let mut panels = Vec::new();
        for (title, row) in labels.into_iter().zip(rows) {
            let probabilities = row.map_err(|e| match e {
                AdaptError::Device(reason) => Stop::Device(reason),
                other => Stop::Failed(other.to_string()),
            })?;
            panels.push(Panel {
                title,
                names: names.clone(),
                probabilities,
            });
        }
        Ok(panels)
    }

    /// The predictions of the networks request `run` adapted.
    async fn predictions(
        &self,
        engine: &Engine,
        run: u32,
        drawing: Vec<u8>,
        ticket: Ticket,
    ) -> Result<Vec<Result<Vec<f32>, AdaptError>>, Stop> {
        let mut reports = engine
            .ask(run, Command::Predict { run, drawing })
            .map_err(|refusal| self.refused(refusal, ticket))?;
        while let Some(report) = reports.next().await {
            match report {
                Report::Adapt(AdaptReport::Predictions { rows, .. }) => return Ok(rows),
                Report::Failed(reason) => return Err(self.lost(reason, ticket)),
                _ => {}
            }
        }
        Err(Stop::Cancelled)
    }
}
