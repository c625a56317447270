//! # Few-Shot Lab
//!
//! Deep learning and meta-learning that run entirely in the browser (leptos + burn on WebGPU)
//! and natively as a CLI, from one backend-agnostic core:
//!
//! - [`data`]: MNIST IDX parsing, the project's shard format, in-memory image sets;
//! - [`model`]: network architectures and their checkpoints;
//! - [`train`]: classic supervised training, as a steppable run both front-ends drive;
//! - [`meta`]: few-shot learners — meta-learning algorithms and the baselines they must beat;
//! - [`evolve`]: an evolutionary search over the learner itself (meta-optimisation);
//! - [`backend`]: which device the maths runs on;
//! - [`bench`]: throughput and latency measurements printed as JSON lines;
//! - [`playground`]: the canvas Playground's logic (drawings, galleries, adaptation, samples);
//! - [`axis`]: round-number ticks and labels for the charts;
//! - [`params`]: numbers typed by a person or given in a URL, checked and clamped;
//! - [`rl`]: reinforcement learning meets meta-learning (environments, policies, MAML-RL);
//! - `cli` (native) and `ui` (wasm): the two front-ends.

pub mod axis;
pub mod backend;
pub mod bench;
pub mod data;
pub mod evolve;
pub mod meta;
pub mod model;
pub mod params;
pub mod playground;
pub mod rl;
pub mod rng;
pub mod train;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(target_arch = "wasm32")]
pub mod ui;
