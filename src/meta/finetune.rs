//! Fine-tuning a trained network on the support set: Adam on every layer, from the network's
//! own output layer — the plain baseline that meta-learned adaptation has to beat when the
//! classes are the network's own (digits in someone else's handwriting). With zero steps it is
//! the trained network as it is, with no adaptation.

use super::FewShotLearner;
use super::inner::{InnerLoop, batch_loss, predict_query};
use crate::data::episode::Episode;
use crate::model::Network;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor};

/// A trained network, fine-tuned on each task's support set.
pub struct FineTune {
    model: Network,
    steps: usize,
    learning_rate: f64,
    device: Device,
}

impl FineTune {
    /// `steps` Adam steps at `learning_rate` from `model` (on an autodiff device) per task.
    pub fn new(model: Network, steps: usize, learning_rate: f64) -> Self {
        let device = super::inner::device_of(&model);
        Self {
            model: model.train(),
            steps,
            learning_rate,
            device,
        }
    }
}

impl FewShotLearner for FineTune {
    fn name(&self) -> &'static str {
        if self.steps == 0 {
            "classifier"
        } else {
            "finetune"
        }
    }

    /// Task label k is the network's output k: meaningful for tasks in the network's own class
    /// order (all ten digits, label = digit).
    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let way = episode.classes.len();
        let mut model = InnerLoop::new().task_start(&self.model, &episode.support, way);
        let support = episode.support.to_batch(&self.device);
        let mut optim = AdamConfig::new().init();
        for _ in 0..self.steps {
            let loss = batch_loss(&model, &support);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(self.learning_rate, model, grads);
        }
        predict_query(&model, &episode.support, &episode.query)
    }
}
