//! `fewshot-lab meta-train` and `fewshot-lab eval`: few-shot learning on a protocol.

use crate::backend::cpu_device;
use crate::bench::now_ms;
use crate::data::episode::EpisodeSpec;
use crate::data::protocol::{Protocol, p1};
use crate::meta::fomaml::{Fomaml, MamlConfig};
use crate::meta::protonet::ProtoNet;
use crate::meta::reptile::Reptile;
use crate::meta::scratch::Scratch;
use crate::meta::{FewShotLearner, MetaLearner, evaluate};
use crate::model::{ReferenceCnn, from_bytes, to_bytes};
use crate::rng::Rng;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// Learners the CLI knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algo {
    /// First-order MAML.
    Fomaml,
    /// Prototypical networks.
    Protonet,
    /// Reptile.
    Reptile,
    /// No meta-learning: Adam on the support set from a random initialisation.
    Scratch,
}

/// Settings shared by meta-training and evaluation.
#[derive(Debug, Clone, clap::Args)]
pub struct TaskArgs {
    /// Folder holding manifest.json and the shards.
    #[arg(long, default_value = "static/mnist")]
    pub data: std::path::PathBuf,
    /// Classes per task (N).
    #[arg(long, default_value_t = 5)]
    pub way: usize,
    /// Support images per class (K).
    #[arg(long, default_value_t = 1)]
    pub shot: usize,
    /// Query images per class (Q).
    #[arg(long, default_value_t = 5)]
    pub query: usize,
    /// FOMAML inner SGD steps (also used when evaluating).
    #[arg(long, default_value_t = MamlConfig::new(5).inner_steps)]
    pub inner_steps: usize,
    /// FOMAML inner SGD learning rate.
    #[arg(long, default_value_t = MamlConfig::new(5).inner_lr)]
    pub inner_lr: f64,
    /// Reptile's outer interpolation step ε.
    #[arg(long, default_value_t = 0.1)]
    pub outer_step: f64,
    /// Seed for initialisation and task sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl TaskArgs {
    fn spec(&self) -> EpisodeSpec {
        EpisodeSpec {
            way: self.way,
            shot: self.shot,
            query: self.query,
        }
    }

    fn maml(&self) -> MamlConfig {
        MamlConfig::new(self.way)
            .with_inner_steps(self.inner_steps)
            .with_inner_lr(self.inner_lr)
    }

    fn protocol(&self, rotations: bool) -> Result<Protocol, String> {
        let (train, test) = crate::data::load_dir(&self.data).map_err(|e| e.to_string())?;
        Ok(p1(&train, &test, rotations))
    }
}

/// The meta-learner `algo`, fresh or from `weights`; `None` for the scratch baseline.
fn meta_learner(
    algo: Algo,
    args: &TaskArgs,
    weights: Option<ReferenceCnn>,
) -> Option<Box<dyn MetaLearner>> {
    let device = cpu_device();
    device.seed(args.seed);
    let (maml, step) = (args.maml(), args.outer_step);
    Some(match (algo, weights) {
        (Algo::Scratch, _) => return None,
        (Algo::Fomaml, None) => Box::new(Fomaml::new(maml, &device)),
        (Algo::Fomaml, Some(model)) => Box::new(Fomaml::from_model(model, maml, &device)),
        (Algo::Reptile, None) => Box::new(Reptile::new(maml, step, &device)),
        (Algo::Reptile, Some(model)) => Box::new(Reptile::from_model(model, maml, step, &device)),
        (Algo::Protonet, None) => Box::new(ProtoNet::new(PROTONET_LR, &device)),
        (Algo::Protonet, Some(model)) => {
            Box::new(ProtoNet::from_model(model, PROTONET_LR, &device))
        }
    })
}

/// Adam learning rate of prototypical networks.
const PROTONET_LR: f64 = 1e-3;

/// Adam steps the scratch baseline takes on each support set.
const SCRATCH_STEPS: usize = 50;

/// Meta-trains `algo` on P1 for `steps` outer steps, validating every `validate_every`.
pub fn meta_train(
    algo: Algo,
    args: &TaskArgs,
    steps: usize,
    meta_batch: usize,
    rotations: bool,
    save: Option<&Path>,
) -> Result<(), String> {
    let protocol = args.protocol(rotations)?;
    let spec = args.spec();
    let mut learner =
        meta_learner(algo, args, None).ok_or("the scratch baseline has nothing to meta-train")?;
    let bar = ProgressBar::new(steps as u64).with_style(
        ProgressStyle::with_template(
            "[{bar:30}] {pos}/{len} meta-steps  {per_sec}  eta {eta}  {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let mut rng = Rng::new(args.seed);
    let started = now_ms();
    let validate_every = (steps / 5).max(1);
    for step in 1..=steps {
        let tasks = (0..meta_batch)
            .map(|_| {
                protocol
                    .train_pool
                    .sample(&protocol.train_classes, spec, &mut rng)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let loss = learner.meta_step(&tasks).into_scalar::<f32>();
        bar.set_position(step as u64);
        bar.set_message(format!("query loss {loss:.3}"));
        if step % validate_every == 0 {
            let accuracy = pollster::block_on(evaluate(
                learner.as_ref(),
                &protocol.val_pool,
                &protocol.val_classes,
                spec,
                100,
                1000,
            ))
            .map_err(|e| e.to_string())?;
            bar.suspend(|| {
                println!(
                    "step {step}: validation accuracy {:.4} ± {:.4} (100 tasks, digits 0-4, test-split images)",
                    accuracy.mean, accuracy.ci95
                )
            });
        }
    }
    bar.finish_and_clear();
    println!("meta_step_ms={:.1}", (now_ms() - started) / steps as f64);
    if let Some(path) = save {
        let model = learner.model().clone();
        std::fs::write(path, to_bytes(model))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("weights saved to {}", path.display());
    }
    Ok(())
}

/// Evaluates `algo` (with meta-trained `weights` where it has any) on P1's meta-test tasks.
pub fn eval(
    algo: Algo,
    args: &TaskArgs,
    weights: Option<&Path>,
    episodes: usize,
) -> Result<(), String> {
    let protocol = args.protocol(false)?;
    let spec = args.spec();
    let loaded = match (algo, weights) {
        (Algo::Scratch, Some(_)) => return Err("the scratch baseline takes no --weights".into()),
        (Algo::Scratch, None) => None,
        (_, None) => return Err("--weights is needed: a file written by meta-train".into()),
        (_, Some(path)) => {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            // ProtoNet never uses its output layer, which keeps the 10-way shape it was made with.
            let classes = if algo == Algo::Protonet {
                crate::data::NUM_CLASSES
            } else {
                args.way
            };
            Some(
                from_bytes(&bytes, classes, &cpu_device())
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            )
        }
    };
    let learner: Box<dyn FewShotLearner> = match meta_learner(algo, args, loaded) {
        Some(learner) => learner,
        None => Box::new(Scratch::new(SCRATCH_STEPS, 1e-3, &cpu_device())),
    };
    let started = now_ms();
    let accuracy = pollster::block_on(evaluate(
        learner.as_ref(),
        &protocol.test_pool,
        &protocol.test_classes,
        spec,
        episodes,
        args.seed,
    ))
    .map_err(|e| e.to_string())?;
    println!("adapt_ms={:.1}", (now_ms() - started) / episodes as f64);
    println!(
        "method={} way={} shot={} episodes={} accuracy={:.4} ci95={:.4}",
        learner.name(),
        spec.way,
        spec.shot,
        accuracy.episodes,
        accuracy.mean,
        accuracy.ci95
    );
    Ok(())
}
