//! Where the Playground's networks adapt: the compute worker, started at the first adaptation
//! and kept for the predictions and adaptations that follow; or, where no worker starts, the
//! page itself running the same [`Adapter`]. Either way each request's reports arrive as a
//! stream.

use crate::backend::BackendKind;
use crate::ui::jobs::adapt::Adapter;
use crate::ui::jobs::{Command, Report};
use crate::ui::worker::ComputeWorker;
use burn::tensor::Device;
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use std::cell::RefCell;
use std::rc::Rc;

/// Where a worker's reports go, shared with its message and error handlers.
type Listener = Rc<RefCell<Inbox>>;

/// The latest request's `run` and stream, and why the worker failed, once it has.
#[derive(Default)]
pub struct Inbox {
    latest: Option<(u32, UnboundedSender<Report>)>,
    failure: Option<String>,
}

/// Why a request was not started.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The worker has failed, and its adapted networks with it: why.
    Crashed(String),
    /// The request could not be sent (the worker itself is fine): why.
    Unsent(String),
}

/// What adapts the Playground's networks.
pub enum Engine {
    /// A compute worker, and where its reports go.
    Worker(ComputeWorker, Listener),
    /// The page itself.
    Page(Adapter),
}

impl Engine {
    /// The compute worker, once it listens. Where it fails with no request listening (between
    /// requests, or after the request under way was cancelled), `on_unheard_failure` gets why.
    pub async fn worker(on_unheard_failure: impl Fn(String) + 'static) -> Result<Self, String> {
        let listener = Listener::default();
        let inbox = listener.clone();
        let hand_over = Rc::new(move |report| {
            if let Some(reason) = deliver(&inbox, report) {
                on_unheard_failure(reason);
            }
        });
        let on_failure = hand_over.clone();
        let worker = ComputeWorker::start(
            move |message| {
                hand_over(serde_wasm_bindgen::from_value(message).unwrap_or_else(|e| {
                    Report::Failed(format!("the worker's report was unreadable: {e}"))
                }));
            },
            move |reason| on_failure(Report::Failed(reason)),
        )
        .await?;
        Ok(Self::Worker(worker, listener))
    }

    /// The page itself, adapting on its own `device` (of `kind`).
    pub fn page(kind: BackendKind, device: Device) -> Self {
        Self::Page(Adapter::on(kind, device))
    }

    /// Whether this is a worker that has failed (even between requests) and takes no more.
    pub fn failed(&self) -> bool {
        self.failure().is_some()
    }

    /// Why the worker failed, once it has.
    fn failure(&self) -> Option<String> {
        match self {
            Self::Worker(_, listener) => listener.borrow().failure.clone(),
            Self::Page(_) => None,
        }
    }

    /// Starts `command` (of request `run`) and returns the stream of its reports, which ends
    /// when a later request starts.
    pub fn ask(&self, run: u32, command: Command) -> Result<UnboundedReceiver<Report>, Refusal> {
        let (sender, receiver) = unbounded();
        match self {
            Self::Worker(worker, listener) => {
                if let Some(reason) = self.failure() {
                    return Err(Refusal::Crashed(reason));
                }
                // A message that cannot be built leaves the request under way listening.
                let (message, _) = command.to_message().map_err(Refusal::Unsent)?;
                listener.borrow_mut().latest = Some((run, sender));
                worker.send(&message).map_err(Refusal::Unsent)?;
            }
            Self::Page(adapter) => {
                let adapter = adapter.clone();
                let post = move |report| {
                    let _ = sender.unbounded_send(report);
                };
                leptos::task::spawn_local(async move { adapter.answer(command, &post).await });
            }
        }
        Ok(receiver)
    }
}

/// Hands `report` to the latest request's stream, unless it answers an older request; a failure
/// is also kept, for the requests that follow. Returns a failure that no request heard.
fn deliver(listener: &Listener, report: Report) -> Option<String> {
    let mut inbox = listener.borrow_mut();
    let failure = match &report {
        Report::Failed(reason) => Some(reason.clone()),
        _ => None,
    };
    if failure.is_some() {
        inbox.failure.clone_from(&failure);
    }
    let heard = inbox.latest.as_ref().is_some_and(|(run, sender)| {
        let current = match &report {
            Report::Adapt(answer) => answer.run() == *run,
            _ => true,
        };
        // A finished or cancelled request has dropped its stream: the send fails.
        current && sender.unbounded_send(report).is_ok()
    });
    failure.filter(|_| !heard)
}
