//! The native command-line front-end: making shards, training, benchmarking.
//!
//! Each sub-command is a thin shell over the library: it parses arguments, drives the same
//! code the browser runs, shows a progress bar, and ends with `key=value` lines that scripts
//! can read. Errors reach the user as one sentence naming the file or setting at fault.

mod evolve;
mod meta;
pub mod results;
mod rl;
mod shards;

use crate::backend::Backend;
use crate::bench::{self, BenchPlan, now_ms};
use crate::model::catalog::WeightsEntry;
use crate::model::{Backbone, Network};
use crate::train::{TrainConfig, TrainEvent, TrainRun};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Few-Shot Lab command line.
#[derive(Parser, Debug)]
#[command(name = "fewshot-lab", version, about)]
struct Cli {
    /// Where the maths runs: burn's CPU backend, or burn-wgpu on a GPU (a build with
    /// `--features gpu`).
    #[arg(long, global = true, value_enum, default_value_t = BackendChoice::Cpu)]
    backend: BackendChoice,
    #[command(subcommand)]
    command: Command,
}

/// The `--backend` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BackendChoice {
    /// burn's `flex` CPU backend.
    Cpu,
    /// burn-wgpu: Vulkan, Metal or DX12.
    Wgpu,
}

/// The backend this run uses, chosen once from `--backend`.
static BACKEND: std::sync::OnceLock<Backend> = std::sync::OnceLock::new();

/// The backend this run uses (the CPU until [`run`] chose one).
fn backend() -> &'static Backend {
    BACKEND.get_or_init(|| Backend::cpu(None))
}

/// The backend `choice` names, or why it cannot be had.
fn open_backend(choice: BackendChoice) -> Result<Backend, String> {
    match choice {
        BackendChoice::Cpu => Ok(Backend::cpu(None)),
        #[cfg(feature = "gpu")]
        BackendChoice::Wgpu => Backend::native_gpu(),
        #[cfg(not(feature = "gpu"))]
        BackendChoice::Wgpu => Err(
            "this binary was built without the GPU backend: cargo build --release --features gpu"
                .into(),
        ),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert MNIST IDX files into the app's shards and manifest.
    Shards {
        /// Folder with the four canonical MNIST files (gzipped), and SHA256SUMS if present.
        #[arg(long)]
        mnist_dir: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, default_value = "static/mnist")]
        out: PathBuf,
        /// Images per shard.
        #[arg(long, default_value_t = 5000)]
        per_shard: usize,
    },
    /// Train the reference CNN on the MNIST shards.
    Train {
        /// Folder holding manifest.json and the shards.
        #[arg(long, default_value = "static/mnist")]
        data: PathBuf,
        /// Passes over the training set.
        #[arg(long, default_value_t = TrainConfig::new().epochs)]
        epochs: usize,
        /// Images per step.
        #[arg(long, default_value_t = TrainConfig::new().batch_size)]
        batch_size: usize,
        /// Adam learning rate (peak of the cosine schedule).
        #[arg(long, default_value_t = TrainConfig::new().learning_rate)]
        lr: f64,
        /// Seed for initialisation and data order.
        #[arg(long, default_value_t = TrainConfig::new().seed)]
        seed: u64,
        /// Keep the learning rate constant instead of annealing it (cosine) to zero.
        #[arg(long)]
        constant_lr: bool,
        /// Network architecture.
        #[arg(long, value_enum, default_value_t = Backbone::Reference)]
        backbone: Backbone,
        /// Save the trained weights here.
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// Meta-train a few-shot learner on a protocol's meta-training classes.
    MetaTrain {
        /// Algorithm.
        #[arg(long, value_enum)]
        algo: meta::Algo,
        #[command(flatten)]
        task: meta::TaskArgs,
        #[command(flatten)]
        run: meta::MetaTrainArgs,
    },
    /// Compare few-shot learners on a protocol's meta-test tasks, or on your own IDX files.
    Eval {
        #[command(flatten)]
        task: meta::TaskArgs,
        #[command(flatten)]
        eval: meta::EvalArgs,
    },
    /// Evolutionary search over the learner's settings (algorithm, inner rate and steps, outer
    /// rate, meta-batch, head-only), each meta-trained for the same budget.
    Evolve(evolve::EvolveArgs),
    /// Meta-reinforcement learning: meta-train or evaluate policies on a task family.
    Rl {
        #[command(subcommand)]
        command: rl::RlCommand,
    },
    /// Write the Playground's sample sets (galleries of drawn symbols and MNIST test digits).
    Samples {
        /// Folder holding manifest.json and the shards.
        #[arg(long, default_value = "static/mnist")]
        data: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, default_value = "static/samples")]
        out: PathBuf,
    },
    /// Render the README's result tables from the result files.
    Results {
        /// Folder of `*.jsonl` result files.
        #[arg(long, default_value = "results")]
        dir: PathBuf,
        /// The README to update in place.
        #[arg(long, default_value = "README.md")]
        readme: PathBuf,
    },
    /// Print training throughput and forward latency as JSON lines.
    Bench {
        /// Training steps to time.
        #[arg(long, default_value_t = 50)]
        train_steps: usize,
        /// Forward passes to time per batch size.
        #[arg(long, default_value_t = 50)]
        forward_repeats: usize,
        /// Meta-steps and adaptations to time per figure.
        #[arg(long, default_value_t = 5)]
        meta_repeats: usize,
        /// Backbones to time meta-learning on.
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "reference,conv4"
        )]
        backbones: Vec<Backbone>,
        /// Time each phase of a training step, each layer of a forward pass and each phase of
        /// an adaptation instead (training steps and meta repeats set how many).
        #[arg(long)]
        profile: bool,
        /// Also append each figure, with commit, machine and date, to this results file.
        #[arg(long)]
        results: Option<PathBuf>,
    },
}

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    match open_backend(cli.backend) {
        Ok(chosen) => {
            eprintln!("backend: {} — {}", chosen.kind.label(), chosen.adapter);
            let _ = BACKEND.set(chosen);
        }
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    }
    let result = match cli.command {
        Command::Shards {
            mnist_dir,
            out,
            per_shard,
        } => shards::make(&mnist_dir, &out, per_shard),
        Command::Train {
            data,
            epochs,
            batch_size,
            lr,
            seed,
            constant_lr,
            backbone,
            save,
        } => train(
            &data,
            TrainConfig::new()
                .with_epochs(epochs)
                .with_batch_size(batch_size)
                .with_learning_rate(lr)
                .with_seed(seed)
                .with_cosine_decay(!constant_lr)
                .with_backbone(backbone),
            save,
        ),
        Command::MetaTrain { algo, task, run } => meta::meta_train(algo, &task, &run).map(|_| ()),
        Command::Eval { task, eval } => meta::eval(&task, &eval),
        Command::Results { dir, readme } => render_results(&dir, &readme),
        Command::Samples { data, out } => write_samples(&data, &out),
        Command::Rl { command } => rl::run(&command),
        Command::Evolve(args) => evolve::evolve(&args),
        Command::Bench {
            train_steps,
            forward_repeats,
            meta_repeats,
            backbones,
            profile,
            results,
        } => bench(
            BenchPlan {
                train_steps,
                forward_repeats,
                meta_repeats,
                backbones,
            },
            profile,
            results.as_deref(),
        ),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}

fn train(data: &std::path::Path, config: TrainConfig, save: Option<PathBuf>) -> Result<(), String> {
    let (train_set, test_set) = crate::data::load_dir(data).map_err(|e| e.to_string())?;
    println!(
        "training the {} network on {} images, testing on {} ({} epochs, batch {}, lr {})",
        config.backbone.name(),
        train_set.len(),
        test_set.len(),
        config.epochs,
        config.batch_size,
        config.learning_rate
    );
    let backend = backend();
    let total_images = train_set.len() * config.epochs;
    let mut run = TrainRun::new(config, &backend.device);
    run.train = train_set;
    run.test = test_set;

    let bar = ProgressBar::new(total_images as u64).with_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} images  {per_sec}  eta {eta}  {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let started = now_ms();
    let mut train_ms = 0.0;
    let mut images = 0;
    let mut last_accuracy = None;
    loop {
        let step_started = now_ms();
        match pollster::block_on(run.advance()).map_err(|e| e.to_string())? {
            TrainEvent::Step(report) => {
                train_ms += now_ms() - step_started;
                images = report.images_seen;
                bar.set_prefix(report.epoch.to_string());
                bar.set_position(report.images_seen as u64);
                if report.step % 20 == 0 {
                    bar.set_message(format!(
                        "loss {:.4} acc {:.3}",
                        report.loss, report.accuracy
                    ));
                }
            }
            TrainEvent::Evaluating { done, total } => {
                bar.set_message(format!("testing {done}/{total}"));
            }
            TrainEvent::Epoch(report) => {
                bar.suspend(|| {
                    println!(
                        "epoch {}: test_accuracy={:.4} test_loss={:.4} ({} test images)",
                        report.epoch, report.test_accuracy, report.test_loss, report.test_images
                    )
                });
                last_accuracy = Some(report.test_accuracy);
            }
            TrainEvent::Finished => break,
        }
    }
    bar.finish_and_clear();
    if let Some(path) = save {
        let measured = last_accuracy.map_or(String::new(), |a| format!("test_accuracy={a:.4}"));
        let entry = catalog_entry("classifier", "mnist", crate::data::NUM_CLASSES, measured);
        save_weights(&path, &run.model(), entry)?;
    }
    println!("backend={}", backend.kind.label());
    println!("seconds={:.1}", (now_ms() - started) / 1e3);
    if let Some(accuracy) = last_accuracy {
        println!("test_accuracy={accuracy:.4}");
    }
    println!("images_per_s={:.0}", images as f64 / (train_ms / 1e3));
    Ok(())
}

/// Writes every sample set as a gallery file into `out`.
fn write_samples(data: &Path, out: &Path) -> Result<(), String> {
    let (_, test) = crate::data::load_dir(data).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for (stem, title, gallery) in crate::playground::samples::all(&test) {
        let path = out.join(format!("{stem}.json"));
        let json = gallery.to_json();
        std::fs::write(&path, &json)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("{title}: {} ({} KB)", path.display(), json.len() / 1024);
    }
    Ok(())
}

/// Renders the result tables into `readme`.
fn render_results(dir: &Path, readme: &Path) -> Result<(), String> {
    let results = results::read_results_dir(dir)?;
    let text = std::fs::read_to_string(readme)
        .map_err(|e| format!("cannot read {}: {e}", readme.display()))?;
    let rendered = results::render_readme(&text, &results)?;
    std::fs::write(readme, rendered)
        .map_err(|e| format!("cannot write {}: {e}", readme.display()))?;
    println!(
        "{} result lines, {} curve points, {} benchmark files, {} RL evaluations, {} searches, {} load measurements and {} main-thread measurements rendered into {}",
        results.lines.len(),
        results.curves.len(),
        results.bench.len(),
        results.rl.len(),
        results.evolve.len(),
        results.load.len(),
        results.tasks.len(),
        readme.display()
    );
    Ok(())
}

/// The running command, as `fewshot-lab ARGS…`.
fn command_line() -> String {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    format!("fewshot-lab {}", arguments.join(" "))
}

/// A catalogue entry for weights made by the running command ([`save_weights`] fills in the
/// network's architecture).
fn catalog_entry(
    algorithm: &str,
    protocol: &str,
    classes: usize,
    measured: String,
) -> WeightsEntry {
    WeightsEntry {
        file: String::new(),
        algorithm: algorithm.into(),
        protocol: protocol.into(),
        backbone: Backbone::Reference,
        sizes: None,
        classes,
        inner: None,
        command: command_line(),
        measured,
        bytes: 0,
        sha256: String::new(),
    }
}

/// Writes `model` to `path` and records it, with its architecture, in the catalogue next to
/// it.
fn save_weights(path: &Path, model: &Network, entry: WeightsEntry) -> Result<(), String> {
    let bytes = crate::model::to_bytes(model.clone());
    std::fs::write(path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let entry = entry.with_architecture(model.architecture());
    crate::model::catalog::record(path, &bytes, entry)?;
    println!(
        "weights saved to {} (catalogued in its manifest.json)",
        path.display()
    );
    Ok(())
}

fn bench(plan: BenchPlan, profile: bool, results_file: Option<&Path>) -> Result<(), String> {
    let figures = pollster::block_on(bench::measure(backend(), plan, profile))?;
    let (commit, machine, date) = (
        results::git_commit(),
        results::machine(backend()),
        results::today(),
    );
    for figure in figures {
        println!("{}", figure.json_line());
        if let Some(path) = results_file {
            let line = results::BenchLine {
                bench: figure.bench.into(),
                backend: figure.backend.into(),
                adapter: figure.adapter.clone(),
                batch: figure.batch,
                setting: figure.setting.clone(),
                value: figure.value,
                unit: figure.unit.into(),
                repeats: figure.repeats,
                commit: commit.clone(),
                machine: machine.clone(),
                date: date.clone(),
            };
            let json = serde_json::to_string(&line).expect("a bench line serialises");
            meta::append_line(path, &json)?;
        }
    }
    Ok(())
}
