//! Training the reference CNN, as the Train page asks for it: the run, and what it reports.

use super::super::widgets::yield_to_page;
use super::{Go, Report, hold};
use crate::bench::now_ms;
use crate::data::ImageSet;
use crate::train::{EpochReport, StepReport, TrainConfig, TrainError, TrainEvent, TrainRun};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// How training goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrainReport {
    /// A training step, and the milliseconds it took.
    Step { report: StepReport, ms: f64 },
    /// Test images evaluated so far, and in all, while an epoch's evaluation runs.
    Evaluating { done: usize, total: usize },
    /// An epoch ended and its test images were evaluated.
    Epoch(EpochReport),
    /// Reading from the device failed (on a GPU: the device was lost); the run stops.
    DeviceFailed(String),
}

/// Trains as `config` says on `train` and `test`, and on the images `arrivals` adds before
/// each step (shards still downloading), reporting as it goes; `Ok(false)` when `control`
/// stopped it.
pub async fn run(
    config: TrainConfig,
    (train, test): (ImageSet, ImageSet),
    device: &Device,
    control: &impl Fn() -> Go,
    arrivals: &dyn Fn(&mut ImageSet, &mut ImageSet),
    report: &mut dyn FnMut(Report),
) -> Result<bool, String> {
    let mut run = TrainRun::new(config, device);
    (run.train, run.test) = (train, test);
    loop {
        if !hold(control, report).await {
            return Ok(false);
        }
        arrivals(&mut run.train, &mut run.test);
        let started = now_ms();
        let event = match run.advance().await {
            Ok(event) => event,
            Err(TrainError::Device(reason)) => {
                let message = TrainError::Device(reason.clone()).to_string();
                report(Report::Train(TrainReport::DeviceFailed(reason)));
                return Err(message);
            }
            Err(error) => return Err(error.to_string()),
        };
        let news = match event {
            TrainEvent::Step(step) => TrainReport::Step {
                report: step,
                ms: now_ms() - started,
            },
            TrainEvent::Evaluating { done, total } => TrainReport::Evaluating { done, total },
            TrainEvent::Epoch(epoch) => TrainReport::Epoch(epoch),
            TrainEvent::Finished => return Ok(true),
        };
        report(Report::Train(news));
        yield_to_page().await;
    }
}
