//! The "no meta-learning" baseline: train a fresh network on the support set alone.
//!
//! Every task starts from the same freshly initialised network with a `way`-way output layer,
//! runs a few Adam steps on the support set, then predicts the queries. Meta-learners must beat
//! this to be worth their training.

use super::FewShotLearner;
use super::inner::predict_query;
use crate::data::episode::Episode;
use crate::model::{Architecture, Network, cross_entropy};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor};

/// Adam on the support set from a random initialisation.
pub struct Scratch {
    architecture: Architecture,
    steps: usize,
    learning_rate: f64,
    device: Device,
}

impl Scratch {
    /// `steps` Adam steps at `learning_rate` per task on a fresh network of `architecture`, on
    /// `device`.
    pub fn new(
        architecture: impl Into<Architecture>,
        steps: usize,
        learning_rate: f64,
        device: &Device,
    ) -> Self {
        Self {
            architecture: architecture.into(),
            steps,
            learning_rate,
            device: device.clone().autodiff(),
        }
    }
}

impl FewShotLearner for Scratch {
    fn name(&self) -> &'static str {
        "scratch"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let support = episode.support.to_batch(&self.device);
        let mut model = Network::new(self.architecture, episode.classes.len(), &self.device);
        let mut optim = AdamConfig::new().init();
        for _ in 0..self.steps {
            let loss = cross_entropy(
                model.forward(support.images.clone()),
                support.labels.clone(),
            );
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(self.learning_rate, model, grads);
        }
        predict_query(&model, &episode.support, &episode.query)
    }
}
