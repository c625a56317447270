//! Deep reinforcement learning meets meta-learning: a policy that adapts to a new task from a
//! few policy-gradient updates on its own rollouts.
//!
//! - [`env`]: Gym-style task families on burn's `rl` interface — [`point`] (2-D navigation to
//!   an unseen goal, the MAML paper's benchmark), [`bandit`] (Bernoulli multi-armed bandits) and
//!   [`cart`] (holding an unseen goal velocity) — each also as batched tensor dynamics;
//! - [`policy`]: a Gaussian MLP policy and a categorical one;
//! - [`gradient`]: batched rollouts and the REINFORCE-with-baseline surrogate;
//! - [`learn`]: MAML / FOMAML / Reptile through the meta-learning core, a policy pre-trained on
//!   all tasks, adaptation and evaluation after 0, 1, 2, 3 updates.

pub mod bandit;
pub mod cart;
pub mod env;
pub mod gradient;
pub mod learn;
pub mod point;
pub mod policy;

use crate::model::catalog::Listed;
use burn::tensor::Device;
use env::TaskFamily;
use policy::Policy;
use serde::{Deserialize, Serialize};

/// A policy file, as listed in the `manifest.json` beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyEntry {
    /// File name, relative to the catalogue.
    pub file: String,
    /// Task family (`point`, `cart`, `bandit`).
    pub env: String,
    /// How it was trained (`maml`, `fomaml`, `reptile`, `pretrained`).
    pub algorithm: String,
    /// The command that reproduces it.
    pub command: String,
    /// What was measured when it was made (`key=value` pairs).
    pub measured: String,
    /// Learning rate of its adaptation steps.
    pub inner_lr: f64,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

impl Listed for PolicyEntry {
    const FORMAT: &'static str = "fewshot-lab.policies.v1";

    fn file(&self) -> &str {
        &self.file
    }

    fn listed(&self) -> (u64, &str) {
        (self.bytes, &self.sha256)
    }

    fn list(&mut self, file: String, bytes: u64, sha256: String) {
        (self.file, self.bytes, self.sha256) = (file, bytes, sha256);
    }
}

/// A policy's parameters as bytes (burnpack).
pub fn policy_to_bytes(policy: Policy) -> Vec<u8> {
    crate::model::module_to_bytes(policy)
}

/// A policy for family `E` on `device` from [`policy_to_bytes`] output; refuses bytes of another
/// shape and non-finite values.
pub fn policy_from_bytes<E: TaskFamily>(bytes: &[u8], device: &Device) -> Result<Policy, String> {
    crate::model::load_module(bytes, device, learn::fresh_policy::<E>)
        .map_err(|e| format!("not a policy for the {} tasks: {e}", E::NAME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use burn::tensor::Tensor;

    #[test]
    fn policies_round_trip_and_refuse_the_wrong_family() {
        let device = cpu_device();
        device.seed(2);
        let policy = learn::fresh_policy::<point::PointNav>(&device);
        let obs = Tensor::<2>::from_data([[0.2f32, -0.1]], &device);
        let before: Vec<f32> = policy
            .best_action(obs.clone())
            .into_data()
            .iter::<f32>()
            .collect();
        let bytes = policy_to_bytes(policy);
        let loaded = policy_from_bytes::<point::PointNav>(&bytes, &device).unwrap();
        let after: Vec<f32> = loaded.best_action(obs).into_data().iter::<f32>().collect();
        assert_eq!(before, after);
        assert!(policy_from_bytes::<bandit::Bandit>(&bytes, &device).is_err());
        assert!(policy_from_bytes::<point::PointNav>(b"garbage", &device).is_err());
    }
}
