//! `fewshot-lab meta-train` and `fewshot-lab eval`: few-shot learning on a protocol.

use crate::backend::cpu_device;
use crate::bench::now_ms;
use crate::data::augment::jitter;
use crate::data::episode::{ClassPool, EpisodeError, EpisodeSpec};
use crate::data::protocol::{ExtraClasses, Protocol, digits, p1, p2};
use crate::data::{ImageSet, NUM_CLASSES};
use crate::meta::maml::{Maml, MamlConfig};
use crate::meta::meta_sgd::MetaSgd;
use crate::meta::pretrained::Pretrained;
use crate::meta::protonet::ProtoNet;
use crate::meta::reptile::Reptile;
use crate::meta::scratch::Scratch;
use crate::meta::{Accuracy, FewShotLearner, MetaLearner, evaluate};
use crate::model::catalog::WeightsEntry;
use crate::model::{ReferenceCnn, from_bytes};
use crate::rng::Rng;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Learners the CLI knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algo {
    /// Second-order MAML (finite-difference Hessian-vector products).
    Maml,
    /// First-order MAML.
    Fomaml,
    /// Reptile.
    Reptile,
    /// Meta-SGD: MAML with learned per-parameter inner learning rates.
    MetaSgd,
    /// Prototypical networks.
    Protonet,
    /// Baseline: pre-trained on all meta-training classes, new head fitted to the support set.
    Pretrained,
    /// Baseline, no meta-learning: Adam on the support set from a random initialisation.
    Scratch,
}

impl Algo {
    /// Output classes of the networks this learner saves: the task's way, or the 10-way layer
    /// that feature learners keep but never use.
    fn saved_classes(self, way: usize) -> usize {
        match self {
            Self::Protonet | Self::Pretrained => NUM_CLASSES,
            _ => way,
        }
    }
}

/// Few-shot benchmarks (see `data::protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolName {
    /// Novel digits: meta-train on 0-4, meta-test on 5-9.
    P1,
    /// Two-digit classes "00"-"99", split 64 / 16 / 20.
    P2,
    /// All ten digits (the playground's checkpoints): train split vs test split images.
    Digits,
}

/// Settings shared by meta-training and evaluation.
#[derive(Debug, Clone, clap::Args)]
pub struct TaskArgs {
    /// Benchmark protocol.
    #[arg(long, value_enum, default_value_t = ProtocolName::P1)]
    pub protocol: ProtocolName,
    /// Folder holding manifest.json and the shards.
    #[arg(long, default_value = "static/mnist")]
    pub data: PathBuf,
    /// Classes per task (N).
    #[arg(long, default_value_t = 5)]
    pub way: usize,
    /// Support images per class (K).
    #[arg(long, default_value_t = 1)]
    pub shot: usize,
    /// Query images per class (Q).
    #[arg(long, default_value_t = 5)]
    pub query: usize,
    /// Inner-loop SGD steps of MAML, Reptile and Meta-SGD (also when evaluating).
    #[arg(long, default_value_t = MamlConfig::new(5).inner_steps)]
    pub inner_steps: usize,
    /// Inner-loop SGD learning rate (Meta-SGD: the rates' starting value).
    #[arg(long, default_value_t = MamlConfig::new(5).inner_lr)]
    pub inner_lr: f64,
    /// Outer-loop Adam learning rate of MAML and Meta-SGD.
    #[arg(long, default_value_t = MamlConfig::new(5).outer_lr)]
    pub outer_lr: f64,
    /// MAML, Reptile, Meta-SGD: keep the meta-learned output layer instead of setting it from
    /// the support prototypes at the start of each task.
    #[arg(long)]
    pub no_proto_head: bool,
    /// MAML, Reptile, Meta-SGD: adapt every layer in the inner loop, not just the output layer.
    #[arg(long)]
    pub whole_network: bool,
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

    fn maml(&self, algo: Algo) -> MamlConfig {
        MamlConfig::new(self.way)
            .with_inner_steps(self.inner_steps)
            .with_inner_lr(self.inner_lr)
            .with_outer_lr(self.outer_lr)
            .with_second_order(algo == Algo::Maml)
            .with_proto_head(!self.no_proto_head)
            .with_head_only(!self.whole_network)
    }

    fn protocol(&self, extra: ExtraClasses) -> Result<Protocol, String> {
        let (train, test) = crate::data::load_dir(&self.data).map_err(|e| e.to_string())?;
        if self.protocol == ProtocolName::P2 {
            let (train, val, test) = crate::data::protocol::p2_class_split();
            let show = |c: &[usize]| {
                c.iter()
                    .map(|n| format!("{n:02}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            println!("P2 classes — train: {}", show(&train));
            println!("P2 classes — validation: {}", show(&val));
            println!("P2 classes — test: {}", show(&test));
        }
        Ok(match self.protocol {
            ProtocolName::P1 => p1(&train, &test, extra),
            ProtocolName::P2 => p2(&train, &test, extra),
            ProtocolName::Digits => digits(&train, &test, extra),
        })
    }
}

/// Saved weights of a learner: the network, and Meta-SGD's learning rates.
struct Weights {
    model: ReferenceCnn,
    rates: Option<ReferenceCnn>,
}

/// Where Meta-SGD keeps its learning rates next to the weights file `path`.
fn rates_path(path: &Path) -> PathBuf {
    path.with_extension("rates.bpk")
}

/// Output classes of the network saved at `path`: from the catalogue next to it when it is
/// listed there (MAML-family files keep their training way, which may differ from `way`).
fn saved_classes(algo: Algo, way: usize, path: &Path) -> usize {
    let catalogue = path.with_file_name("manifest.json");
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
    std::fs::read_to_string(catalogue)
        .ok()
        .and_then(|text| crate::model::catalog::Catalog::parse(&text).ok())
        .and_then(|c| c.entry(file.as_deref()?).map(|e| e.classes))
        .unwrap_or_else(|| algo.saved_classes(way))
}

/// Reads the weights `algo` saved at `path`.
fn load_weights(algo: Algo, way: usize, path: &Path) -> Result<Weights, String> {
    let device = cpu_device().autodiff();
    let classes = saved_classes(algo, way, path);
    if algo == Algo::MetaSgd && classes != way {
        return Err(format!(
            "{}: Meta-SGD's learned rates fit a {classes}-way output layer; evaluate it with --way {classes}",
            path.display()
        ));
    }
    let read = |path: &Path| {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        from_bytes(&bytes, classes, &device).map_err(|e| format!("{}: {e}", path.display()))
    };
    Ok(Weights {
        model: read(path)?,
        rates: match algo {
            Algo::MetaSgd => Some(read(&rates_path(path))?),
            _ => None,
        },
    })
}

/// The learner `algo`, fresh or from `weights`; `pool_classes` sizes the pre-training head.
fn learner(
    algo: Algo,
    args: &TaskArgs,
    weights: Option<Weights>,
    pool_classes: usize,
) -> Result<Box<dyn MetaLearner>, String> {
    let device = cpu_device();
    device.seed(args.seed);
    let maml = args.maml(algo);
    Ok(match (algo, weights) {
        (Algo::Scratch, _) => return Err("the scratch baseline learns nothing across tasks".into()),
        (Algo::Maml | Algo::Fomaml, None) => Box::new(Maml::new(maml, &device)),
        (Algo::Maml | Algo::Fomaml, Some(w)) => Box::new(Maml::from_model(w.model, maml, &device)),
        (Algo::Reptile, None) => Box::new(Reptile::new(maml, args.outer_step, &device)),
        (Algo::Reptile, Some(w)) => {
            Box::new(Reptile::from_model(w.model, maml, args.outer_step, &device))
        }
        (Algo::MetaSgd, None) => Box::new(MetaSgd::new(maml, &device)),
        (Algo::MetaSgd, Some(w)) => {
            let rates = w.rates.ok_or("Meta-SGD needs its learning-rate file")?;
            Box::new(MetaSgd::from_parts(w.model, rates, maml, &device))
        }
        (Algo::Protonet, None) => Box::new(ProtoNet::new(PROTONET_LR, &device)),
        (Algo::Protonet, Some(w)) => Box::new(ProtoNet::from_model(w.model, PROTONET_LR, &device)),
        (Algo::Pretrained, None) => Box::new(Pretrained::new(pool_classes, &device)),
        (Algo::Pretrained, Some(w)) => {
            Box::new(Pretrained::from_model(w.model, pool_classes, &device))
        }
    })
}

/// Adam learning rate of prototypical networks.
const PROTONET_LR: f64 = 1e-3;

/// Adam steps the scratch baseline takes on each support set.
const SCRATCH_STEPS: usize = 50;

/// How meta-training runs.
#[derive(Debug, Clone, clap::Args)]
pub struct MetaTrainArgs {
    /// Outer-loop steps.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Tasks per outer step.
    #[arg(long, default_value_t = 4)]
    pub meta_batch: usize,
    /// Add 90°/180°/270° rotations of the training classes as new classes.
    #[arg(long)]
    pub rotations: bool,
    /// Add left-right mirrors of the training classes as new classes.
    #[arg(long)]
    pub mirrors: bool,
    /// Add half-and-half chimeras of every pair of training classes as new classes.
    #[arg(long)]
    pub chimeras: bool,
    /// Shift each training image by up to this many pixels per axis.
    #[arg(long, default_value_t = 0)]
    pub jitter: usize,
    /// Save the meta-learned weights here (Meta-SGD adds NAME.rates.bpk).
    #[arg(long)]
    pub save: Option<PathBuf>,
}

/// Meta-trains `algo` on the chosen protocol, validating five times along the way.
pub fn meta_train(algo: Algo, args: &TaskArgs, run: &MetaTrainArgs) -> Result<(), String> {
    let protocol = args.protocol(ExtraClasses {
        rotations: run.rotations,
        mirrors: run.mirrors,
        chimeras: run.chimeras,
    })?;
    let spec = args.spec();
    let mut learner = learner(algo, args, None, protocol.train_pool.num_classes())?;
    let bar = ProgressBar::new(run.steps as u64).with_style(
        ProgressStyle::with_template(
            "[{bar:30}] {pos}/{len} meta-steps  {per_sec}  eta {eta}  {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let mut rng = Rng::new(args.seed);
    let started = now_ms();
    let mut validation = None;
    let validate_every = (run.steps / 5).max(1);
    // Validation classes may be fewer than a wide training task's way.
    let val_spec = EpisodeSpec {
        way: spec.way.min(protocol.val_classes.len()),
        ..spec
    };
    for step in 1..=run.steps {
        let tasks = (0..run.meta_batch)
            .map(|_| {
                let mut task =
                    protocol
                        .train_pool
                        .sample(&protocol.train_classes, spec, &mut rng)?;
                jitter(&mut task.support, run.jitter, &mut rng);
                jitter(&mut task.query, run.jitter, &mut rng);
                Ok(task)
            })
            .collect::<Result<Vec<_>, EpisodeError>>()
            .map_err(|e| e.to_string())?;
        let loss = learner.meta_step(&tasks).into_scalar::<f32>();
        bar.set_position(step as u64);
        bar.set_message(format!("query loss {loss:.3}"));
        if step % validate_every == 0 {
            let accuracy = pollster::block_on(evaluate(
                learner.as_ref(),
                &protocol.val_pool,
                &protocol.val_classes,
                val_spec,
                100,
                1000,
            ))
            .map_err(|e| e.to_string())?;
            bar.suspend(|| {
                println!(
                    "step {step}: validation accuracy {:.4} ± {:.4} (100 tasks)",
                    accuracy.mean, accuracy.ci95
                )
            });
            validation = Some(accuracy);
        }
    }
    bar.finish_and_clear();
    let seconds = (now_ms() - started) / 1e3;
    println!("meta_step_ms={:.1}", 1e3 * seconds / run.steps as f64);
    if let Some(path) = &run.save {
        let measured = validation.map_or(String::new(), |a| {
            format!(
                "validation_accuracy={:.4} ci95={:.4} way={} shot={} minutes={:.1}",
                a.mean,
                a.ci95,
                val_spec.way,
                spec.shot,
                seconds / 60.0
            )
        });
        let entry = super::catalog_entry(
            learner.name(),
            &format!("{:?}", args.protocol).to_lowercase(),
            algo.saved_classes(args.way),
            measured,
        );
        super::save_weights(path, learner.model(), entry.clone())?;
        if let Some(rates) = learner.rates() {
            let entry = WeightsEntry {
                algorithm: format!("{} (learning rates)", learner.name()),
                ..entry
            };
            super::save_weights(&rates_path(path), rates, entry)?;
        }
    }
    Ok(())
}

/// One method to evaluate: `ALGO` or `ALGO=WEIGHTS`.
#[derive(Debug, Clone)]
pub struct Method {
    algo: Algo,
    weights: Option<PathBuf>,
}

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, weights) = match text.split_once('=') {
            Some((name, path)) => (name, Some(PathBuf::from(path))),
            None => (text, None),
        };
        let algo = <Algo as clap::ValueEnum>::from_str(name, true)
            .map_err(|_| format!("unknown method `{name}` (see --help for the list)"))?;
        Ok(Self { algo, weights })
    }
}

/// Where `eval` draws its test tasks from.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Methods to compare: ALGO=WEIGHTS for meta-learned ones, or just `scratch`.
    #[arg(long = "method", required = true)]
    pub methods: Vec<Method>,
    /// Test tasks per method.
    #[arg(long, default_value_t = 600)]
    pub episodes: usize,
    /// An IDX image file (optionally gzipped) to use as the class pool instead of the protocol.
    #[arg(long, requires = "labels")]
    pub images: Option<PathBuf>,
    /// The IDX label file that goes with --images.
    #[arg(long, requires = "images")]
    pub labels: Option<PathBuf>,
    /// Plain MNIST classifier to report without adaptation when the labels are digits.
    #[arg(long, default_value = "static/weights/mnist-cnn.bpk")]
    pub classifier: PathBuf,
}

/// Reads an IDX image/label pair.
fn read_idx_pair(images: &Path, labels: &Path) -> Result<ImageSet, String> {
    let read = |path: &Path| {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        crate::data::idx::maybe_gunzip(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    crate::data::idx::parse_pair(&read(images)?, &read(labels)?)
        .map_err(|e| format!("{} / {}: {e}", images.display(), labels.display()))
}

/// Accuracy of the plain 10-way classifier at `path` on every image of `set`.
fn classifier_accuracy(path: &Path, set: &ImageSet) -> Result<f64, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let device = cpu_device();
    let model =
        from_bytes(&bytes, NUM_CLASSES, &device).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut correct = 0;
    for start in (0..set.len()).step_by(500) {
        let batch = set
            .range(start..(start + 500).min(set.len()))
            .to_batch(&device);
        let predicted = model.forward(batch.images).argmax(1).squeeze_dim::<1>(1);
        let hits = predicted
            .equal(batch.labels)
            .int()
            .sum()
            .into_scalar::<i64>();
        correct += hits as usize;
    }
    Ok(correct as f64 / set.len() as f64)
}

/// Evaluates each method on the same test tasks and prints a table and one line per method.
pub fn eval(args: &TaskArgs, eval: &EvalArgs) -> Result<(), String> {
    let spec = args.spec();
    let (pool, classes, own_data) = match (&eval.images, &eval.labels) {
        (Some(images), Some(labels)) => {
            let set = read_idx_pair(images, labels)?;
            let pool = ClassPool::from_labels(&set);
            let classes: Vec<usize> = (0..pool.num_classes())
                .filter(|&c| pool.class_size(c) >= spec.shot + spec.query)
                .collect();
            println!(
                "class pool: {} images, {} classes with at least {} images",
                set.len(),
                classes.len(),
                spec.shot + spec.query
            );
            if set.labels.iter().all(|&l| usize::from(l) < NUM_CLASSES) {
                let accuracy = classifier_accuracy(&eval.classifier, &set)?;
                println!(
                    "method=mnist-classifier images={} accuracy={accuracy:.4}",
                    set.len()
                );
            }
            (pool, classes, true)
        }
        _ => {
            let protocol = args.protocol(ExtraClasses::default())?;
            (protocol.test_pool, protocol.test_classes, false)
        }
    };
    let mut rows: Vec<(&'static str, Accuracy, f64)> = Vec::new();
    for method in &eval.methods {
        let weights = match (method.algo, &method.weights) {
            (Algo::Scratch, Some(_)) => return Err("the scratch baseline takes no weights".into()),
            (Algo::Scratch, None) => None,
            (_, None) => {
                return Err(format!(
                    "{:?} needs weights: --method NAME=FILE with a file written by meta-train",
                    method.algo
                ));
            }
            (algo, Some(path)) => Some(load_weights(algo, spec.way, path)?),
        };
        let learner: Box<dyn FewShotLearner> = match method.algo {
            Algo::Scratch => Box::new(Scratch::new(SCRATCH_STEPS, 1e-3, &cpu_device())),
            algo => learner(algo, args, weights, 1)?,
        };
        let started = now_ms();
        let accuracy = pollster::block_on(evaluate(
            learner.as_ref(),
            &pool,
            &classes,
            spec,
            eval.episodes,
            args.seed,
        ))
        .map_err(|e| e.to_string())?;
        let adapt_ms = (now_ms() - started) / eval.episodes as f64;
        println!(
            "method={} way={} shot={} episodes={} accuracy={:.4} ci95={:.4} ms_per_task={adapt_ms:.1}",
            learner.name(),
            spec.way,
            spec.shot,
            accuracy.episodes,
            accuracy.mean,
            accuracy.ci95
        );
        rows.push((learner.name(), accuracy, adapt_ms));
    }
    let source = if own_data {
        "your data".to_string()
    } else {
        format!("{:?} meta-test", args.protocol)
    };
    println!(
        "\n{}-way {}-shot, {} tasks from {source}:",
        spec.way, spec.shot, eval.episodes
    );
    println!("{:<12} {:>16} {:>12}", "method", "accuracy", "ms / task");
    for (name, accuracy, ms) in rows {
        println!(
            "{name:<12} {:>8.2} ± {:<5.2} {ms:>12.1}",
            100.0 * accuracy.mean,
            100.0 * accuracy.ci95
        );
    }
    Ok(())
}
