//! ES-MAML (Song et al., 2020): MAML whose meta-gradient is estimated by evolution strategies
//! instead of differentiated. The initialisation is moved a little along random Gaussian
//! directions and back (antithetic pairs); each moved network adapts to the tasks with the
//! usual inner loop and is scored by its query loss after adaptation; the difference of the two
//! scores along a direction weighs that direction. No derivative passes through the inner
//! loop, not even a first-order one: the estimate needs only losses, which is why it suits
//! inner loops that cannot be differentiated. It is noisy: its error shrinks with the square
//! root of the number of directions, against tens of thousands of parameters.

use super::inner::{InnerLoop, predict_query, query_loss};
use super::maml::MamlConfig;
use super::params::ParamVec;
use super::{FewShotLearner, MetaLearner};
use crate::data::episode::Episode;
use crate::model::{Architecture, Network};
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Int, Tensor};

/// How the meta-gradient is estimated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EsConfig {
    /// Antithetic pairs of directions per meta-step (two adapted evaluations each).
    pub directions: usize,
    /// How far along each direction the initialisation is moved.
    pub sigma: f64,
}

/// The evolution-strategies estimate of the gradient of `f` at `theta`: the mean over
/// `directions` Gaussian directions ε of `(f(θ + σε) − f(θ − σε)) / 2σ · ε`, with ε drawn
/// by `noise` (one vector shaped like `theta` per call).
pub fn es_gradient(
    theta: &ParamVec,
    config: EsConfig,
    mut noise: impl FnMut() -> ParamVec,
    mut f: impl FnMut(&ParamVec) -> f64,
) -> ParamVec {
    let mut estimate = theta.fill(0.0);
    for _ in 0..config.directions {
        let direction = noise();
        let plus = f(&theta.add_scaled(&direction, config.sigma));
        let minus = f(&theta.add_scaled(&direction, -config.sigma));
        let weight = (plus - minus) / (2.0 * config.sigma * config.directions as f64);
        estimate = estimate.add_scaled(&direction, weight);
    }
    estimate
}

/// ES-MAML on either backbone.
pub struct EsMaml {
    model: Network,
    optim: ModuleOptimizer,
    config: MamlConfig,
    es: EsConfig,
    device: Device,
}

impl EsMaml {
    /// A fresh initialisation of `architecture` on `device` (autodiff is enabled here: the
    /// inner loop takes gradients).
    pub fn new(
        architecture: impl Into<Architecture>,
        config: MamlConfig,
        es: EsConfig,
        device: &Device,
    ) -> Self {
        let device = device.clone().autodiff();
        Self::from_model(
            Network::new(architecture, config.way, &device),
            config,
            es,
            &device,
        )
    }

    /// Starts from a saved initialisation (on `device` with autodiff).
    pub fn from_model(model: Network, config: MamlConfig, es: EsConfig, device: &Device) -> Self {
        Self {
            model: model.train(),
            optim: AdamConfig::new().init(),
            config,
            es,
            device: device.clone().autodiff(),
        }
    }

    /// Mean query loss over `tasks` after the inner loop adapts `model` to each.
    fn adapted_loss(&self, model: &Network, tasks: &[Episode]) -> f64 {
        let inner = self.device.clone().inner();
        let total: f64 = tasks
            .iter()
            .map(|task| {
                let adapted = self
                    .config
                    .inner
                    .fast_adapt(model, &task.support, self.config.way);
                let support = task.support.to_batch(&inner);
                let query = task.query.to_batch(&inner);
                f64::from(query_loss(&adapted.valid(), &support, &query).into_scalar::<f32>())
            })
            .sum();
        total / tasks.len() as f64
    }
}

impl FewShotLearner for EsMaml {
    fn name(&self) -> &'static str {
        "es-maml"
    }

    fn predict(&self, episode: &Episode) -> Tensor<1, Int> {
        let adapted =
            self.config
                .inner
                .fast_adapt(&self.model, &episode.support, episode.classes.len());
        predict_query(&adapted, &episode.support, &episode.query)
    }
}

impl MetaLearner for EsMaml {
    fn model(&self) -> &Network {
        &self.model
    }

    fn inner_loop(&self) -> Option<&InnerLoop> {
        Some(&self.config.inner)
    }

    fn meta_step(&mut self, tasks: &[Episode]) -> Tensor<1> {
        let before = self.adapted_loss(&self.model, tasks);
        let theta = ParamVec::values(&self.model);
        let inner = self.device.clone().inner();
        let noise = || {
            ParamVec::from_parts(
                theta
                    .parts()
                    .iter()
                    .map(|p| Tensor::random(p.dims(), Distribution::Normal(0.0, 1.0), &inner))
                    .collect(),
            )
        };
        let model = self.model.clone();
        let estimate = es_gradient(&theta, self.es, noise, |moved| {
            self.adapted_loss(&moved.assign(model.clone()), tasks)
        });
        let grads = estimate.to_grads(&self.model);
        self.model = self
            .optim
            .step(self.config.outer_lr, self.model.clone(), grads);
        Tensor::from_floats([before as f32], &inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::meta::tests::assert_meta_training_lowers_query_loss;
    use crate::model::{Backbone, Sizes};
    use crate::rng::Rng;

    /// With enough directions for its few parameters, a small reference CNN (2 channels, 8
    /// hidden: 2.8 k parameters) meta-trains on losses alone.
    #[test]
    fn es_maml_lowers_the_query_loss_of_a_small_network() {
        let device = cpu_device();
        device.seed(4);
        let small = Architecture {
            backbone: Backbone::Reference,
            sizes: Sizes {
                channels: 2,
                hidden: 8,
                spatial: false,
            },
        };
        let inner = InnerLoop::new().with_steps(1).with_lr(0.05);
        let config = MamlConfig::new(5, inner).with_outer_lr(2e-2);
        let es = EsConfig {
            directions: 32,
            sigma: 0.01,
        };
        assert_meta_training_lowers_query_loss(&mut EsMaml::new(small, config, es, &device));
    }

    /// On a quadratic, each antithetic difference is exact, `ε·(θ − c)`, so the estimate is
    /// `(1/n) Σ ε εᵀ (θ − c)`, which tends to the gradient `θ − c`.
    #[test]
    fn the_estimate_tends_to_the_gradient_of_a_quadratic() {
        let device = cpu_device();
        let theta = ParamVec::from_parts(vec![
            Tensor::from_floats([1.0, -2.0, 0.5], &device),
            Tensor::from_floats([3.0], &device),
        ]);
        let centre = [0.5f32, 0.0, 0.5, 1.0];
        let f = |p: &ParamVec| -> f64 {
            p.to_vec()
                .iter()
                .zip(centre)
                .map(|(x, c)| 0.5 * f64::from(x - c).powi(2))
                .sum()
        };
        let mut rng = Rng::new(11);
        let mut noise = || {
            let mut part = |n: usize| {
                let values: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
                Tensor::<1>::from_floats(values.as_slice(), &device)
            };
            let parts = vec![part(3), part(1)];
            ParamVec::from_parts(parts)
        };
        let config = EsConfig {
            directions: 4000,
            sigma: 0.1,
        };
        let estimate = es_gradient(&theta, config, &mut noise, f).to_vec();
        let truth = [0.5f32, -2.0, 0.0, 2.0];
        for (e, t) in estimate.iter().zip(truth) {
            assert!((e - t).abs() < 0.15, "estimate {estimate:?} vs {truth:?}");
        }
    }
}
