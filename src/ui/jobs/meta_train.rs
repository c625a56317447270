//! Meta-training one learner, as the meta-train page asks for it: the run, and what it reports.

use super::super::learned::{first_filters, mean_rates};
use super::super::widgets::yield_to_page;
use super::{Go, Report, hold};
use crate::bench::now_ms;
use crate::data::ImageSet;
use crate::data::episode::EpisodeSpec;
use crate::data::protocol::{ExtraClasses, Protocol, p1, p2};
use crate::evolve::learner::{ALGORITHMS, LearnerSettings, Schedule};
use crate::meta::inner::InnerLoop;
use crate::meta::run::{MetaEvent, MetaTrainRun};
use crate::model::{Architecture, to_bytes_async};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// Tasks meta-trained on: 5-way 1-shot, 5 queries per class.
pub const SPEC: EpisodeSpec = EpisodeSpec {
    way: 5,
    shot: 1,
    query: 5,
};

/// The settings of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaJob {
    /// `"p1"` or `"p2"`.
    pub protocol: String,
    /// One of [`ALGORITHMS`].
    pub algorithm: String,
    /// The inner loop.
    pub inner: InnerLoop,
    /// Adam rate of the outer loop.
    pub outer_lr: f64,
    /// Tasks per meta-step.
    pub meta_batch: usize,
    /// The network's backbone and layer sizes.
    pub architecture: Architecture,
    /// Meta-steps.
    pub steps: usize,
    /// Meta-steps between validations.
    pub validate_every: usize,
    /// Validation tasks.
    pub val_episodes: usize,
}

impl MetaJob {
    /// The learner's settings; an unknown algorithm is refused.
    fn settings(&self) -> Result<LearnerSettings, String> {
        let algorithm = ALGORITHMS
            .iter()
            .copied()
            .find(|known| *known == self.algorithm)
            .ok_or_else(|| format!("unknown algorithm {:?}", self.algorithm))?;
        Ok(LearnerSettings {
            algorithm,
            inner: self.inner.clone(),
            outer_lr: self.outer_lr,
            meta_batch: self.meta_batch,
            architecture: self.architecture,
        })
    }

    /// The protocol's classes out of `train` and `test` images.
    pub fn protocol(&self, train: &ImageSet, test: &ImageSet) -> Protocol {
        match self.protocol.as_str() {
            "p1" => p1(train, test, ExtraClasses::default()),
            _ => p2(train, test, ExtraClasses::default()),
        }
    }

    /// The run on `protocol`, on `device`.
    fn start(&self, protocol: Protocol, device: &Device) -> Result<MetaTrainRun, String> {
        let schedule = Schedule {
            steps: self.steps,
            validate_every: self.validate_every,
            val_episodes: self.val_episodes,
        };
        self.settings()?.run(protocol, SPEC, schedule, 1, device)
    }
}

/// The best network so far, and what it learned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    /// The network as a burnpack file.
    #[serde(with = "serde_bytes")]
    pub network: Vec<u8>,
    /// Its output classes.
    pub classes: usize,
    /// Its first convolution's weights.
    pub filters: Vec<f32>,
    /// Meta-SGD's mean learned rate per parameter tensor (empty for other algorithms).
    pub rates: Vec<f64>,
}

/// How meta-training goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetaReport {
    /// Validation accuracy (0–1) and first-layer filters before any meta-step.
    Before { accuracy: f64, filters: Vec<f32> },
    /// A meta-step: its number (from 1), query loss, and milliseconds per step so far.
    Step {
        step: usize,
        loss: f32,
        ms_per_step: f64,
    },
    /// A validation after `step` meta-steps: accuracy (0–1), and the network when it is the
    /// best so far.
    Validated {
        step: usize,
        accuracy: f64,
        kept: Option<Kept>,
    },
}

/// Meta-trains as `job` says, reporting as it goes; `Ok(false)` when `control` stopped it.
pub async fn run(
    job: &MetaJob,
    protocol: Protocol,
    device: &Device,
    control: &impl Fn() -> Go,
    report: &mut dyn FnMut(Report),
) -> Result<bool, String> {
    let mut run = job.start(protocol, device)?;
    let before = run.accuracy_now().await.map_err(|e| e.to_string())?;
    report(Report::MetaTrain(MetaReport::Before {
        accuracy: before.mean,
        filters: first_filters(run.learner().model()).await?,
    }));
    let mut training_ms = 0.0;
    loop {
        if !hold(control, report).await {
            return Ok(false);
        }
        let started = now_ms();
        match run.advance().await.map_err(|e| e.to_string())? {
            MetaEvent::Step { step, loss } => {
                training_ms += now_ms() - started;
                report(Report::MetaTrain(MetaReport::Step {
                    step,
                    loss,
                    ms_per_step: training_ms / step as f64,
                }));
            }
            MetaEvent::Validated {
                step,
                accuracy,
                best,
            } => {
                let kept = match best {
                    // The kept network is the learner as it is now: read it from the learner.
                    true => Some(kept(&run).await?),
                    false => None,
                };
                report(Report::MetaTrain(MetaReport::Validated {
                    step,
                    accuracy: accuracy.mean,
                    kept,
                }));
            }
            MetaEvent::Finished(_) => return Ok(true),
        }
        yield_to_page().await;
    }
}

/// The learner as it is now, as [`Kept`].
async fn kept(run: &MetaTrainRun) -> Result<Kept, String> {
    let learner = run.learner();
    let rates = match learner.rates() {
        Some(rates) => mean_rates(rates).await?,
        None => Vec::new(),
    };
    Ok(Kept {
        network: to_bytes_async(learner.model()).await?,
        classes: learner.model().classes(),
        filters: first_filters(learner.model()).await?,
        rates,
    })
}
