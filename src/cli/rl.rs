//! `fewshot-lab rl meta-train` and `fewshot-lab rl eval`: meta-reinforcement learning.

use super::meta::append_line;
use super::results::{self, RlLine, RlPoint};
use crate::bench::now_ms;
use crate::meta::Accuracy;
use crate::model::catalog::{Catalog, record};
use crate::rl::bandit::Bandit;
use crate::rl::cart::CartVelocity;
use crate::rl::env::TaskFamily;
use crate::rl::learn::{RlAlgo, RlConfig, RlTrainer, evaluate, fresh_policy};
use crate::rl::point::PointNav;
use crate::rl::{PolicyEntry, policy_from_bytes, policy_to_bytes};
use crate::rng::Rng;
use burn::module::Module;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// The task families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvName {
    /// 2-D point navigation to an unseen goal.
    Point,
    /// Holding an unseen goal velocity on a 1-D cart.
    Cart,
    /// Bernoulli multi-armed bandits.
    Bandit,
}

/// `fewshot-lab rl …`.
#[derive(Debug, clap::Subcommand)]
pub enum RlCommand {
    /// Meta-train a policy (or pre-train one on all tasks) on a task family.
    MetaTrain(MetaTrainArgs),
    /// Mean return ± 95 % CI over held-out tasks after 0, 1, 2, 3 policy-gradient updates.
    Eval(EvalArgs),
}

/// Settings shared by meta-training and evaluation.
#[derive(Debug, Clone, clap::Args)]
pub struct Shared {
    /// Task family.
    #[arg(long, value_enum, default_value_t = EnvName::Point)]
    pub env: EnvName,
    /// Trajectories per task and policy.
    #[arg(long, default_value_t = RlConfig::for_family::<PointNav>().trajectories)]
    pub trajectories: usize,
    /// Learning rate of a policy-gradient step (inner loop and adaptation updates); default:
    /// the family's (0.01 for point and cart, 5 for bandit).
    #[arg(long)]
    pub inner_lr: Option<f64>,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `rl meta-train`.
#[derive(Debug, Clone, clap::Args)]
pub struct MetaTrainArgs {
    #[command(flatten)]
    shared: Shared,
    /// How the policy learns across tasks.
    #[arg(long, value_enum, default_value_t = RlAlgo::Maml)]
    algo: RlAlgo,
    /// Outer steps.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Tasks per outer step.
    #[arg(long, default_value_t = RlConfig::for_family::<PointNav>().meta_batch)]
    meta_batch: usize,
    /// Adam learning rate of the outer loop (MAML, FOMAML, pretrained).
    #[arg(long, default_value_t = RlConfig::for_family::<PointNav>().outer_lr)]
    outer_lr: f64,
    /// Reptile's outer step ε: the fraction of the way to the adapted policies' mean.
    #[arg(long, default_value_t = RlConfig::for_family::<PointNav>().reptile_step)]
    outer_step: f64,
    /// Policy-gradient steps of the inner loop (1 for MAML and FOMAML).
    #[arg(long, default_value_t = RlConfig::for_family::<PointNav>().inner_steps)]
    inner_steps: usize,
    /// Save the policy here (and list it in the `manifest.json` beside it).
    #[arg(long)]
    save: Option<PathBuf>,
}

/// `rl eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    #[command(flatten)]
    shared: Shared,
    /// Policies: NAME=FILE, or `random` for a fresh random policy.
    #[arg(long = "policy", required = true)]
    policies: Vec<String>,
    /// Held-out tasks.
    #[arg(long, default_value_t = 100)]
    tasks: usize,
    /// Policy-gradient updates after the first measurement.
    #[arg(long, default_value_t = 3)]
    updates: usize,
    /// Append one JSON line per policy to this results file.
    #[arg(long)]
    results: Option<PathBuf>,
}

/// Seed of held-out tasks: far from any meta-training seed.
const HELD_OUT_SEED: u64 = 1_000_003;

/// Runs `rl …`.
pub fn run(command: &RlCommand) -> Result<(), String> {
    let env = match command {
        RlCommand::MetaTrain(args) => args.shared.env,
        RlCommand::Eval(args) => args.shared.env,
    };
    match env {
        EnvName::Point => run_on::<PointNav>(command),
        EnvName::Cart => run_on::<CartVelocity>(command),
        EnvName::Bandit => run_on::<Bandit>(command),
    }
}

fn run_on<E: TaskFamily>(command: &RlCommand) -> Result<(), String> {
    match command {
        RlCommand::MetaTrain(args) => meta_train::<E>(args),
        RlCommand::Eval(args) => eval::<E>(args),
    }
}

fn meta_train<E: TaskFamily>(args: &MetaTrainArgs) -> Result<(), String> {
    if args.steps == 0 {
        return Err("steps must be at least 1".into());
    }
    let config = RlConfig::new(args.shared.inner_lr.unwrap_or(E::INNER_LR))
        .with_inner_steps(args.inner_steps)
        .with_outer_lr(args.outer_lr)
        .with_reptile_step(args.outer_step)
        .with_meta_batch(args.meta_batch)
        .with_trajectories(args.shared.trajectories);
    let device = super::backend().device.clone().autodiff();
    device.seed(args.shared.seed);
    let mut trainer = RlTrainer::new(
        args.algo,
        fresh_policy::<E>(&device),
        config.clone(),
        args.shared.seed,
    )?;
    let bar = ProgressBar::new(args.steps as u64).with_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} steps  eta {eta}  {msg}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    let started = now_ms();
    let mut last = f32::NAN;
    for step in 1..=args.steps {
        last = trainer.step::<E>().into_scalar::<f32>();
        if !last.is_finite() {
            return Err(format!(
                "meta-training diverged at step {step} (return {last})"
            ));
        }
        bar.set_position(step as u64);
        bar.set_message(format!("return {last:.2}"));
        if step % (args.steps / 10).max(1) == 0 {
            bar.suspend(|| println!("step {step}: mean return {last:.3}"));
        }
    }
    bar.finish_and_clear();
    let minutes = (now_ms() - started) / 60e3;
    println!(
        "steps={} minutes={minutes:.1} last_return={last:.3}",
        args.steps
    );
    if let Some(path) = &args.save {
        let bytes = policy_to_bytes(trainer.policy().valid());
        std::fs::write(path, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let entry = PolicyEntry {
            file: String::new(),
            env: E::NAME.into(),
            algorithm: args.algo.name().into(),
            command: super::command_line(),
            measured: format!(
                "steps={} minutes={minutes:.1} last_return={last:.3}",
                args.steps
            ),
            inner_lr: config.inner_lr,
            bytes: 0,
            sha256: String::new(),
        };
        record(path, &bytes, entry)?;
        println!(
            "policy saved to {} (catalogued in its manifest.json)",
            path.display()
        );
    }
    Ok(())
}

/// The catalogue entry of the policy file `path`, if listed beside it.
fn catalogued(path: &Path) -> Option<PolicyEntry> {
    let text = std::fs::read_to_string(path.with_file_name("manifest.json")).ok()?;
    let file = path.file_name()?.to_string_lossy().into_owned();
    Catalog::<PolicyEntry>::parse(&text)
        .ok()?
        .entry(&file)
        .cloned()
}

fn eval<E: TaskFamily>(args: &EvalArgs) -> Result<(), String> {
    let config = RlConfig::new(args.shared.inner_lr.unwrap_or(E::INNER_LR))
        .with_trajectories(args.shared.trajectories);
    config.check_adaptation()?;
    let device = super::backend().device.clone().autodiff();
    let mut rng = Rng::new(HELD_OUT_SEED);
    let tasks: Vec<Vec<f32>> = (0..args.tasks).map(|_| E::sample_task(&mut rng)).collect();
    if tasks.is_empty() {
        return Err("evaluation needs at least one task".into());
    }
    let mut rows: Vec<(String, Vec<Accuracy>)> = Vec::new();
    for spec in &args.policies {
        let (name, file) = match spec.split_once('=') {
            Some((name, file)) => (name.to_string(), Some(PathBuf::from(file))),
            None if spec == "random" => (spec.clone(), None),
            None => return Err(format!("--policy {spec}: give NAME=FILE, or `random`")),
        };
        let policy = match &file {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                policy_from_bytes::<E>(&bytes, &device)
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => {
                device.seed(args.shared.seed);
                fresh_policy::<E>(&device)
            }
        };
        let returns = pollster::block_on(evaluate::<E>(
            &policy,
            &tasks,
            args.updates,
            &config,
            args.shared.seed,
        ))?;
        if let Some(update) = returns.iter().position(|r| !r.mean.is_finite()) {
            return Err(format!(
                "policy {name} diverged after {update} update(s) at inner rate {}: try a \
                 smaller --inner-lr (nothing was written)",
                config.inner_lr
            ));
        }
        let trained = file.as_deref().and_then(catalogued);
        if let Some(entry) = trained.as_ref().filter(|e| e.inner_lr != config.inner_lr) {
            println!(
                "note: {name} was meta-trained for updates at {}, evaluated at {}",
                entry.inner_lr, config.inner_lr
            );
        }
        let shown: Vec<String> = returns
            .iter()
            .map(|r| format!("{:.3}±{:.3}", r.mean, r.ci95))
            .collect();
        println!(
            "policy={name} env={} tasks={} returns={}",
            E::NAME,
            tasks.len(),
            shown.join(",")
        );
        if let Some(path) = &args.results {
            let line = RlLine {
                env: E::NAME.into(),
                policy: name.clone(),
                algorithm: trained.as_ref().map(|e| e.algorithm.clone()),
                file: file.as_ref().map(|p| p.display().to_string()),
                tasks: tasks.len(),
                trajectories: args.shared.trajectories,
                inner_lr: config.inner_lr,
                returns: returns
                    .iter()
                    .map(|r| RlPoint {
                        mean: r.mean,
                        ci95: r.ci95,
                    })
                    .collect(),
                training: trained.map(|e| e.measured),
                command: super::command_line(),
                commit: results::git_commit(),
                machine: results::machine(super::backend()),
                date: results::today(),
            };
            append_line(
                path,
                &serde_json::to_string(&line).expect("a result line serialises"),
            )?;
        }
        rows.push((name, returns));
    }
    println!(
        "\nmean return on {} held-out {} tasks ({} trajectories each), by policy-gradient updates:",
        tasks.len(),
        E::NAME,
        args.shared.trajectories
    );
    for (name, returns) in rows {
        let cells: Vec<String> = returns
            .iter()
            .map(|r| format!("{:>10.3} ± {:<7.3}", r.mean, r.ci95))
            .collect();
        println!("{name:<12} {}", cells.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `rl …` as typed on the command line.
    #[derive(Debug, Parser)]
    struct Line {
        #[command(subcommand)]
        command: RlCommand,
    }

    fn run_line(args: &str) -> Result<(), String> {
        let line = Line::try_parse_from(std::iter::once("rl").chain(args.split_whitespace()))
            .map_err(|e| e.to_string())?;
        run(&line.command)
    }

    #[test]
    fn settings_that_cannot_learn_are_refused_with_a_message() {
        for (args, expected) in [
            (
                "meta-train --algo reptile --inner-steps 0 --steps 1",
                "inner steps",
            ),
            (
                "meta-train --algo maml --inner-steps 2 --steps 1",
                "one inner step",
            ),
            ("meta-train --trajectories 1 --steps 1", "2 trajectories"),
            ("meta-train --inner-lr=-1 --steps 1", "inner rate"),
            (
                "eval --policy random --trajectories 1 --tasks 2",
                "2 trajectories",
            ),
            ("eval --policy random --inner-lr 0 --tasks 2", "inner rate"),
        ] {
            let error = run_line(args).expect_err(args);
            assert!(error.contains(expected), "{args}: {error}");
        }
    }

    /// A rate that makes the policy diverge is reported, and nothing is written.
    #[test]
    fn a_diverging_evaluation_writes_no_result() {
        let dir = std::env::temp_dir().join(format!("rl-diverge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let results = dir.join("rl.jsonl");
        let error = run_line(&format!(
            "eval --policy random --inner-lr 1e30 --tasks 2 --updates 2 --trajectories 4 --results {}",
            results.display()
        ))
        .expect_err("a rate of 1e30 diverges");
        assert!(error.contains("diverged"), "{error}");
        assert!(!results.exists(), "a result line was written");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
