//! Learning to adapt, with the meta-learning core: MAML (second or first order, through
//! [`crate::meta::unroll::meta_gradient`]) and Reptile over a family's tasks; a policy
//! pre-trained on all tasks at once (the baseline without meta-learning); and adaptation to a
//! task by policy-gradient steps, the same for every policy.
//!
//! One MAML meta-step: for each task of a meta-batch, sample trajectories with the current
//! policy, take the inner policy-gradient step(s) on their surrogate loss, sample fresh
//! trajectories with the adapted policy and differentiate their surrogate loss back to the
//! initialisation (the query loss); average over tasks; one Adam step. (As in the MAML paper,
//! the dependence of the pre-update samples on the initialisation is not differentiated; the
//! paper's TRPO outer step is replaced by Adam.)

use super::env::{Space, TaskFamily};
use super::gradient::{Surrogate, Trajectories, mean_return, rollout, surrogate};
use super::policy::Policy;
use crate::meta::Accuracy;
use crate::meta::params::ParamVec;
use crate::meta::unroll::{InnerRate, Unroll, meta_gradient};
use crate::rng::Rng;
use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use std::cell::RefCell;

/// How a policy learns across tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
pub enum RlAlgo {
    /// MAML with the Hessian terms (finite-difference Hessian-vector products).
    Maml,
    /// First-order MAML.
    Fomaml,
    /// Reptile: move towards the policies adapted to each task.
    Reptile,
    /// No meta-learning: one policy trained on tasks drawn from the whole family.
    Pretrained,
}

impl RlAlgo {
    /// Name in result files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Maml => "maml",
            Self::Fomaml => "fomaml",
            Self::Reptile => "reptile",
            Self::Pretrained => "pretrained",
        }
    }
}

/// Settings of meta-training and of adaptation.
#[derive(Config, Debug, PartialEq)]
pub struct RlConfig {
    /// Policy-gradient steps of the inner loop in meta-training (one for MAML and FOMAML: more
    /// would reuse the pre-update trajectories off-policy). Adaptation at evaluation takes one
    /// step per update, each on fresh trajectories.
    #[config(default = 1)]
    pub inner_steps: usize,
    /// SGD learning rate of a policy-gradient step (a family's [`TaskFamily::INNER_LR`]).
    pub inner_lr: f64,
    /// Adam learning rate of the outer loop.
    #[config(default = 1e-3)]
    pub outer_lr: f64,
    /// Tasks per meta-step.
    #[config(default = 20)]
    pub meta_batch: usize,
    /// Trajectories sampled per task and policy.
    #[config(default = 20)]
    pub trajectories: usize,
    /// Reptile's interpolation step ε (Reptile's outer step; it uses no Adam).
    #[config(default = 1.0)]
    pub reptile_step: f64,
}

impl RlConfig {
    /// The default settings for family `E` (its own policy-gradient rate).
    pub fn for_family<E: TaskFamily>() -> Self {
        Self::new(E::INNER_LR)
    }

    /// Refuses settings `algo` cannot run with, or that would learn nothing.
    pub fn check(&self, algo: RlAlgo) -> Result<(), String> {
        if self.inner_steps == 0 || self.meta_batch == 0 {
            return Err("inner steps and meta-batch must be at least 1".into());
        }
        if matches!(algo, RlAlgo::Maml | RlAlgo::Fomaml) && self.inner_steps > 1 {
            return Err(
                "MAML and FOMAML take one inner step here: a second would reuse the pre-update \
                 trajectories off-policy"
                    .into(),
            );
        }
        self.check_adaptation()?;
        for (name, rate) in [
            ("outer rate", self.outer_lr),
            ("Reptile step", self.reptile_step),
        ] {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!("the {name} must be a positive number, not {rate}"));
            }
        }
        Ok(())
    }

    /// Refuses adaptation settings that would learn nothing: fewer than 2 trajectories (the
    /// baseline is their mean, so one trajectory has no advantage) or a rate that is not a
    /// positive number.
    pub fn check_adaptation(&self) -> Result<(), String> {
        if self.trajectories < 2 {
            return Err(format!(
                "at least 2 trajectories per task, not {}: each is judged against the others' \
                 mean return",
                self.trajectories
            ));
        }
        if !(self.inner_lr.is_finite() && self.inner_lr > 0.0) {
            return Err(format!(
                "the inner rate must be a positive number, not {}",
                self.inner_lr
            ));
        }
        Ok(())
    }
}

/// A fresh policy for family `E` on `device`.
pub fn fresh_policy<E: TaskFamily>(device: &Device) -> Policy {
    match E::action_space() {
        Space::Discrete(arms) => Policy::categorical(arms, device),
        Space::Box { low, .. } => Policy::gaussian(E::observation_space().dim(), low.len(), device),
    }
}

/// `policy` after one policy-gradient step at `lr` on `trajectories` (an autodiff device).
pub fn adapt_step(policy: &Policy, trajectories: &Trajectories, lr: f64) -> Policy {
    let gradient = ParamVec::gradient(policy, surrogate(policy, trajectories));
    gradient.step(policy.clone(), -lr)
}

/// A policy learning across tasks of family `E`.
pub struct RlTrainer {
    algo: RlAlgo,
    policy: Policy,
    optim: ModuleOptimizer,
    config: RlConfig,
    rng: Rng,
}

impl RlTrainer {
    /// Starts from `policy` (moved to an autodiff device), sampling with `seed`; refuses
    /// settings `algo` cannot run with ([`RlConfig::check`]).
    pub fn new(algo: RlAlgo, policy: Policy, config: RlConfig, seed: u64) -> Result<Self, String> {
        config.check(algo)?;
        Ok(Self {
            algo,
            policy: policy.train(),
            optim: AdamConfig::new().init(),
            config,
            rng: Rng::new(seed),
        })
    }

    /// The policy as it is now.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// One outer step on a fresh meta-batch of tasks; returns the mean return of the
    /// trajectories it learned from last: after adaptation for MAML and FOMAML, over every inner
    /// step's trajectories for Reptile, of the policy itself when pre-training.
    pub fn step<E: TaskFamily>(&mut self) -> Tensor<1> {
        let tasks: Vec<Vec<f32>> = (0..self.config.meta_batch)
            .map(|_| E::sample_task(&mut self.rng))
            .collect();
        match self.algo {
            RlAlgo::Maml | RlAlgo::Fomaml => self.maml_step::<E>(&tasks),
            RlAlgo::Reptile => self.reptile_step::<E>(&tasks),
            RlAlgo::Pretrained => self.pretrain_step::<E>(&tasks),
        }
    }

    fn maml_step<E: TaskFamily>(&mut self, tasks: &[Vec<f32>]) -> Tensor<1> {
        let n = self.config.trajectories;
        let unroll = Unroll {
            steps: self.config.inner_steps,
            rate: InnerRate::Shared(self.config.inner_lr),
            second_order: self.algo == RlAlgo::Maml,
        };
        let rng = RefCell::new(&mut self.rng);
        let returns = RefCell::new(Vec::new());
        let gradients: Vec<ParamVec> = tasks
            .iter()
            .map(|task| {
                let before = rollout::<E>(&self.policy, task, n, &mut rng.borrow_mut());
                let query_loss = |adapted: &Policy| {
                    let after = rollout::<E>(adapted, task, n, &mut rng.borrow_mut());
                    returns.borrow_mut().push(mean_return(&after));
                    surrogate(adapted, &after)
                };
                meta_gradient(&self.policy, &unroll, Surrogate(&before), query_loss).init
            })
            .collect();
        let grads = ParamVec::mean(gradients).to_grads(&self.policy);
        self.policy = self
            .optim
            .step(self.config.outer_lr, self.policy.clone(), grads);
        Tensor::cat(returns.into_inner(), 0).mean()
    }

    fn reptile_step<E: TaskFamily>(&mut self, tasks: &[Vec<f32>]) -> Tensor<1> {
        let n = self.config.trajectories;
        let mut adapted_values = Vec::new();
        let mut returns = Vec::new();
        for task in tasks {
            let mut adapted = self.policy.clone();
            for _ in 0..self.config.inner_steps {
                let trajectories = rollout::<E>(&adapted, task, n, &mut self.rng);
                returns.push(mean_return(&trajectories));
                adapted = adapt_step(&adapted, &trajectories, self.config.inner_lr);
            }
            adapted_values.push(ParamVec::values(&adapted));
        }
        // θ ← θ + ε (mean θ′ − θ)
        let current = ParamVec::values(&self.policy);
        let target = ParamVec::mean(adapted_values);
        let moved = current.add_scaled(&target.sub(&current), self.config.reptile_step);
        self.policy = moved.assign(self.policy.clone());
        Tensor::cat(returns, 0).mean()
    }

    fn pretrain_step<E: TaskFamily>(&mut self, tasks: &[Vec<f32>]) -> Tensor<1> {
        let n = self.config.trajectories;
        let (losses, returns): (Vec<_>, Vec<_>) = tasks
            .iter()
            .map(|task| {
                let trajectories = rollout::<E>(&self.policy, task, n, &mut self.rng);
                (
                    surrogate(&self.policy, &trajectories),
                    mean_return(&trajectories),
                )
            })
            .unzip();
        let loss = Tensor::cat(losses, 0).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &self.policy);
        self.policy = self
            .optim
            .step(self.config.outer_lr, self.policy.clone(), grads);
        Tensor::cat(returns, 0).mean()
    }
}

/// What one round of a policy on a task looked like.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// Mean undiscounted return of its trajectories.
    pub mean_return: f32,
    /// Observations, time-major `[T][n][obs]` flattened (for drawing trajectories).
    pub observations: Vec<f32>,
    /// 1 while each trajectory runs, time-major `[T][n]`.
    pub alive: Vec<f32>,
}

/// `policy` on `task` before adaptation and after each of `updates` policy-gradient updates:
/// each round samples `n` trajectories of the current policy, records them, then steps at `lr`
/// on them. `policy` must live on an autodiff device; reads back asynchronously.
pub async fn rounds<E: TaskFamily>(
    policy: &Policy,
    task: &[f32],
    updates: usize,
    n: usize,
    lr: f64,
    rng: &mut Rng,
) -> Result<Vec<Round>, String> {
    let read = |t: Tensor<1>| async move {
        t.into_data_async()
            .await
            .map(|d| d.iter::<f32>().collect::<Vec<f32>>())
            .map_err(|e| format!("reading from the device failed: {e:?}"))
    };
    let mut current = policy.clone().train();
    let mut rounds = Vec::with_capacity(updates + 1);
    for update in 0..=updates {
        let trajectories = rollout::<E>(&current, task, n, rng);
        let observations = trajectories.observations.clone();
        let size = observations.shape().num_elements();
        rounds.push(Round {
            mean_return: read(mean_return(&trajectories)).await?[0],
            observations: read(observations.reshape([size])).await?,
            alive: read(
                trajectories
                    .alive
                    .clone()
                    .reshape([trajectories.alive.shape().num_elements()]),
            )
            .await?,
        });
        if update < updates {
            current = adapt_step(&current, &trajectories, lr);
        }
    }
    Ok(rounds)
}

/// Mean return ± 95 % CI over `tasks` after 0, 1, … `updates` updates of `policy`.
pub async fn evaluate<E: TaskFamily>(
    policy: &Policy,
    tasks: &[Vec<f32>],
    updates: usize,
    config: &RlConfig,
    seed: u64,
) -> Result<Vec<Accuracy>, String> {
    let mut rng = Rng::new(seed);
    let mut per_update = vec![Vec::new(); updates + 1];
    for task in tasks {
        let rounds = rounds::<E>(
            policy,
            task,
            updates,
            config.trajectories,
            config.inner_lr,
            &mut rng,
        )
        .await?;
        for (slot, round) in per_update.iter_mut().zip(rounds) {
            slot.push(f64::from(round.mean_return));
        }
    }
    Ok(per_update
        .iter()
        .map(|r| Accuracy::from_episodes(r))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::rl::point::PointNav;

    /// A tiny seeded budget of MAML meta-training raises the return after one update on
    /// held-out goals (the same evaluation, before and after).
    #[test]
    fn meta_training_improves_the_return_after_one_update() {
        let device = cpu_device().autodiff();
        device.seed(7);
        let config = RlConfig::new(0.1)
            .with_meta_batch(8)
            .with_trajectories(10)
            .with_outer_lr(1e-2);
        let goals: Vec<Vec<f32>> = {
            let mut rng = Rng::new(99);
            (0..10).map(|_| PointNav::sample_task(&mut rng)).collect()
        };
        let policy = fresh_policy::<PointNav>(&device);
        let before =
            pollster::block_on(evaluate::<PointNav>(&policy, &goals, 1, &config, 5)).unwrap();
        let mut trainer = RlTrainer::new(RlAlgo::Fomaml, policy, config.clone(), 3).unwrap();
        for _ in 0..20 {
            trainer.step::<PointNav>();
        }
        let after = pollster::block_on(evaluate::<PointNav>(
            trainer.policy(),
            &goals,
            1,
            &config,
            5,
        ))
        .unwrap();
        assert!(
            after[1].mean > before[1].mean + 50.0,
            "return after one update: {} before meta-training, {} after",
            before[1].mean,
            after[1].mean
        );
    }
}
