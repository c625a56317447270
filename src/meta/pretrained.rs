//! The "pre-train, then fine-tune" baseline (Chen et al., 2019): no meta-learning, but all the
//! meta-training classes.
//!
//! Training is ordinary supervised classification over every meta-training class at once: the
//! images of each batch of tasks, labelled with their pool classes, through the backbone's
//! features and a classifier head with one output per pool class. For a new task the features
//! stay frozen and a fresh `way`-way linear head is fitted to the support set with Adam.

use super::{FewShotLearner, MetaLearner};
use crate::data::episode::Episode;
use crate::data::{ImageSet, NUM_CLASSES};
use crate::model::{Architecture, Network, cross_entropy};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Adam steps that fit the new head to a task's support features.
const HEAD_STEPS: usize = 100;
/// Adam learning rate of the new head.
const HEAD_LR: f64 = 1e-2;
/// Adam learning rate of pre-training.
const PRETRAIN_LR: f64 = 1e-3;

/// A backbone's features with a pool-wide classifier head.
#[derive(Module, Debug)]
struct Classifier {
    features: Network,
    head: Linear,
}

/// Pre-trained features, fine-tuned heads.
pub struct Pretrained {
    net: Classifier,
    optim: ModuleOptimizer,
    device: Device,
}

impl Pretrained {
    /// A fresh network of `architecture` whose head has one output per pool class
    /// (`pool_classes`).
    pub fn new(
        architecture: impl Into<Architecture>,
        pool_classes: usize,
        device: &Device,
    ) -> Self {
        let device = device.clone().autodiff();
        // The features' own 10-way output layer is never used; it keeps checkpoints loadable
        // like any other network's file.
        let features = Network::new(architecture, NUM_CLASSES, &device);
        Self::from_model(features, pool_classes, &device)
    }

    /// Starts from saved features (on `device` with autodiff).
    pub fn from_model(features: Network, pool_classes: usize, device: &Device) -> Self {
        let device = device.clone().autodiff();
        Self {
            net: Classifier {
                head: LinearConfig::new(features.architecture().features(), pool_classes)
                    .init(&device),
                features: features.train(),
            },
            optim: AdamConfig::new().init(),
            device,
        }
    }
}

impl FewShotLearner for Pretrained {
    fn name(&self) -> &'static str {
        "pretrained"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let inner = self.device.clone().inner();
        let (support, query) = self.net.features.valid().embed_task(
            episode.support.to_batch(&inner).images,
            episode.query.to_batch(&inner).images,
        );
        let labels = episode.support.to_batch(&self.device).labels;
        let support = Tensor::from_inner(support);
        let features = self.net.features.architecture().features();
        let mut head = LinearConfig::new(features, episode.classes.len()).init(&self.device);
        let mut optim = AdamConfig::new().init();
        for _ in 0..HEAD_STEPS {
            let loss = cross_entropy(head.forward(support.clone()), labels.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optim.step(HEAD_LR, head, grads);
        }
        head.valid().forward(query).argmax(1).squeeze_dim(1)
    }
}

impl MetaLearner for Pretrained {
    fn model(&self) -> &Network {
        &self.net.features
    }

    /// One supervised step on every image of `tasks`, labelled with its pool class.
    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let mut images = ImageSet::default();
        let mut classes = Vec::new();
        for task in tasks {
            for set in [&task.support, &task.query] {
                images.extend(set.clone());
                classes.extend(
                    set.labels
                        .iter()
                        .map(|&l| task.classes[usize::from(l)] as i64),
                );
            }
        }
        let batch = images.to_batch(&self.device);
        let n = classes.len();
        let labels = Tensor::from_data(TensorData::new(classes, [n]), &self.device);
        let net = &self.net;
        let loss = cross_entropy(net.head.forward(net.features.embed(batch.images)), labels);
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(PRETRAIN_LR, self.net.clone(), grads);
        loss.detach()
    }
}
