//! Result files and the README tables rendered from them.
//!
//! `fewshot-lab eval --results FILE` appends one JSON line per evaluated method (a
//! [`ResultLine`]: what was evaluated, how it was trained, the accuracy, and the commit,
//! machine and date of the run); `meta-train --curve FILE` one [`CurvePoint`] per validation;
//! `bench --results FILE` one [`BenchLine`] per figure; `rl eval --results FILE` one
//! [`RlLine`] per policy; `evolve --results FILE` one [`EvolveLine`] per search;
//! `scripts/load-size` one [`LoadLine`] per measured web build; `scripts/long-tasks` one
//! [`TaskLine`] per work (meta-training, the Playground's adaptation) and backend the browser
//! tests ran.
//! `fewshot-lab results` renders them into the README between markers —
//! `<!-- results:PROTOCOL -->`, `<!-- curve:PROTOCOL-ALGO -->` (the last run's learning curve),
//! `<!-- runs:NAME,NAME… -->` (the last runs of several curves side by side),
//! `<!-- bench:FILE-STEM -->`,
//! `<!-- rl:ENV -->`, `<!-- evolve:PROTOCOL -->`, `<!-- load:web -->`, `<!-- tasks:web -->`,
//! each closed by the same
//! marker with a `/` — and a test
//! renders them again and fails when the README differs. When a cell was measured more than
//! once, the last line wins.

use crate::meta::inner::InnerLoop;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One evaluated cell: a method on a protocol's N-way K-shot test tasks (or other tasks, which
/// `protocol` names: `p1-validation`, a data set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultLine {
    /// Protocol or data set (`p1`, `p2`, `style-shift`, …).
    pub protocol: String,
    /// Learner (`maml`, `protonet`, `scratch`, …).
    pub algorithm: String,
    /// Backbone of the network.
    pub backbone: String,
    /// How the network adapted, for learners with an inner loop.
    #[serde(default)]
    pub inner: Option<InnerLoop>,
    /// Soft k-means rounds on each task's query set, for transductive predictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transductive: Option<usize>,
    /// Largest shift, in pixels per axis, of the support copies that enlarged each support set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_shifts: Option<usize>,
    /// Largest shift, in pixels per axis, of the query copies averaged into each query's
    /// feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_shifts: Option<usize>,
    /// Whether every feature was square-rooted (sign kept) first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub power_features: bool,
    /// Whether every feature was centred on the mean support feature and scaled to unit length.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub centred_unit_features: bool,
    /// Classes per task.
    pub way: usize,
    /// Support images per class.
    pub shot: usize,
    /// Mean query accuracy.
    pub accuracy: f64,
    /// Half-width of its 95 % confidence interval.
    pub ci95: f64,
    /// Test tasks.
    pub episodes: usize,
    /// Meta-training steps behind the weights (none for baselines without training).
    #[serde(default)]
    pub meta_steps: Option<usize>,
    /// Minutes of meta-training behind the weights.
    #[serde(default)]
    pub train_minutes: Option<f64>,
    /// The weights file evaluated.
    #[serde(default)]
    pub weights: Option<String>,
    /// The command that evaluated it.
    pub command: String,
    /// Git commit of the code.
    pub commit: String,
    /// The machine and backend.
    pub machine: String,
    /// Date of the run (UTC, YYYY-MM-DD).
    pub date: String,
}

impl ResultLine {
    /// The row this line belongs to: the method, its backbone and, when it has one, a short
    /// account of its inner loop — what differs between rows.
    pub fn row_label(&self) -> String {
        let mut label = format!("{} ({}", self.algorithm, self.backbone);
        if let Some(inner) = &self.inner {
            let layers = if inner.head_only {
                "head only"
            } else {
                "all layers"
            };
            let head = if inner.proto_head {
                ", prototype head"
            } else {
                ""
            };
            label += &format!(", {} × {} {layers}{head}", inner.steps, inner.lr);
        }
        if let Some(rounds) = self.transductive {
            let rounds = counted(rounds, "soft k-means round");
            label += &format!(", transductive: {rounds} on the query set");
        }
        if let Some(pixels) = self.support_shifts {
            let pixels = counted(pixels, "pixel");
            label += &format!(", support set enlarged by every shift of up to {pixels}");
        }
        if let Some(pixels) = self.query_shifts {
            let pixels = counted(pixels, "pixel");
            label += &format!(", each query the mean feature of its shifts of up to {pixels}");
        }
        if self.power_features {
            label += ", square-rooted features";
        }
        if self.centred_unit_features {
            label += ", features centred on the support mean, unit length";
        }
        label += ")";
        if let Some(weights) = &self.weights {
            // An ensemble's files are joined by " + ".
            let files: Vec<String> = weights
                .split(" + ")
                .map(|path| format!("`{}`", path.rsplit('/').next().unwrap_or(path)))
                .collect();
            label += &format!(" {}", files.join(" + "));
        }
        label
    }

    /// The column this line belongs to.
    pub fn column(&self) -> (usize, usize) {
        (self.way, self.shot)
    }
}

/// `count` and `noun`, plural unless the count is one: "1 pixel", "2 pixels".
fn counted(count: usize, noun: &str) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {noun}{plural}")
}

/// One validation during meta-training: a point of a learning curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Learner.
    pub algorithm: String,
    /// Backbone.
    pub backbone: String,
    /// Protocol.
    pub protocol: String,
    /// Git commit of the code.
    pub commit: String,
    /// The machine and backend.
    pub machine: String,
    /// Meta-steps done.
    pub step: usize,
    /// Seconds since the run started.
    pub seconds: f64,
    /// Validation accuracy.
    pub val_accuracy: f64,
    /// Half-width of its 95 % confidence interval.
    pub val_ci95: f64,
    /// Validation tasks' way.
    pub val_way: usize,
    /// Shots.
    pub shot: usize,
    /// File name of the network the run saves, which names its curve (runs recorded before
    /// this field existed are named by protocol and algorithm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
}

impl CurvePoint {
    /// The name a README marker gives this point's curve: the saved network's file stem
    /// (`p2-anil`), or `PROTOCOL-ALGORITHM` for a run that saved none.
    pub fn curve_name(&self) -> String {
        match &self.weights {
            Some(file) => file.trim_end_matches(".bpk").to_string(),
            None => format!("{}-{}", self.protocol, self.algorithm),
        }
    }
}

/// One benchmark figure with where it was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchLine {
    /// What was measured.
    pub bench: String,
    /// Backend label.
    pub backend: String,
    /// Adapter description.
    pub adapter: String,
    /// Batch size.
    pub batch: usize,
    /// The task measured, for meta-learning figures.
    pub setting: String,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// Repetitions it summarises.
    pub repeats: usize,
    /// Git commit of the code.
    pub commit: String,
    /// The machine.
    pub machine: String,
    /// Date of the run (UTC).
    pub date: String,
}

/// A mean return with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RlPoint {
    /// Mean over tasks.
    pub mean: f64,
    /// Half-width of its 95 % confidence interval.
    pub ci95: f64,
}

/// One policy evaluated on held-out tasks of a family, after 0, 1, 2, … updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RlLine {
    /// Task family.
    pub env: String,
    /// The policy's name in the evaluation.
    pub policy: String,
    /// How it was trained (from its catalogue entry), if it was.
    pub algorithm: Option<String>,
    /// Its file, if any.
    pub file: Option<String>,
    /// Held-out tasks.
    pub tasks: usize,
    /// Trajectories per task and update.
    pub trajectories: usize,
    /// Learning rate of each update.
    pub inner_lr: f64,
    /// Mean return before any update, then after each.
    pub returns: Vec<RlPoint>,
    /// What its training measured (from its catalogue entry).
    pub training: Option<String>,
    /// The command that evaluated it.
    pub command: String,
    /// Git commit of the code.
    pub commit: String,
    /// The machine and backend.
    pub machine: String,
    /// Date of the run (UTC).
    pub date: String,
}

/// Everything under `results/`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    /// Evaluated cells (`fewshot*.jsonl`).
    pub lines: Vec<ResultLine>,
    /// Learning curves (`curves.jsonl`).
    pub curves: Vec<CurvePoint>,
    /// Benchmark figures by file stem (`bench-*.jsonl`).
    pub bench: Vec<(String, Vec<BenchLine>)>,
    /// Reinforcement-learning evaluations (`rl*.jsonl`).
    pub rl: Vec<RlLine>,
    /// Evolutionary searches (`evolve*.jsonl`).
    pub evolve: Vec<EvolveLine>,
    /// Download sizes of the web build (`load*.jsonl`).
    pub load: Vec<LoadLine>,
    /// The page's longest main-thread tasks while meta-training (`long-tasks*.jsonl`).
    pub tasks: Vec<TaskLine>,
}

/// Parses JSON lines (blank lines are skipped).
pub fn parse_lines<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// Parses a results file (one JSON object per line; blank lines are skipped).
pub fn parse(text: &str) -> Result<Vec<ResultLine>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// The markdown table of `protocol`'s lines: one row per method, one column per N-way K-shot
/// setting, accuracy ± 95 % CI in %, and the meta-training steps and minutes behind each row.
pub fn table(lines: &[ResultLine], protocol: &str) -> String {
    let lines: Vec<&ResultLine> = lines.iter().filter(|l| l.protocol == protocol).collect();
    if lines.is_empty() {
        return "(no results yet)\n".into();
    }
    let columns: BTreeSet<(usize, usize)> = lines.iter().map(|l| l.column()).collect();
    // A row is one network: its label, and the weights it was evaluated from.
    let key = |l: &ResultLine| (l.row_label(), l.weights.clone());
    let mut rows: Vec<(String, Option<String>)> = Vec::new();
    for line in &lines {
        if !rows.contains(&key(line)) {
            rows.push(key(line));
        }
    }
    let cell = |row: &(String, Option<String>), column: (usize, usize)| {
        lines
            .iter()
            .rev()
            .find(|l| &key(l) == row && l.column() == column)
            .copied()
    };
    let mut out = String::from("| method |");
    for (way, shot) in &columns {
        out += &format!(" {way}-way {shot}-shot |");
    }
    out += " meta-training |\n|---|";
    out += &"---|".repeat(columns.len() + 1);
    out += "\n";
    for row in &rows {
        out += &format!("| {} |", row.0);
        let mut training = None;
        for &column in &columns {
            match cell(row, column) {
                Some(l) => {
                    out += &format!(" {:.2} ± {:.2} |", 100.0 * l.accuracy, 100.0 * l.ci95);
                    training = training.or(l.meta_steps.zip(l.train_minutes));
                }
                None => out += " – |",
            }
        }
        out += &match training {
            Some((steps, minutes)) => format!(" {steps} steps, {minutes:.0} min |\n"),
            None => " – |\n".to_string(),
        };
    }
    out
}

/// Every run of curve `name`, in the order recorded: a run starts where the step count falls
/// back.
fn runs_of<'a>(curves: &'a [CurvePoint], name: &str) -> Vec<Vec<&'a CurvePoint>> {
    let mut runs: Vec<Vec<&CurvePoint>> = Vec::new();
    for point in curves.iter().filter(|c| c.curve_name() == name) {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|last| last.step < point.step) => run.push(point),
            _ => runs.push(vec![point]),
        }
    }
    runs
}

/// The last runs of the curves `names` (comma-separated) side by side, one column each: the
/// validation accuracy and minutes at each meta-step every one of them validated at (at most
/// twelve such steps, the last included).
pub fn runs_table(curves: &[CurvePoint], names: &str) -> String {
    let runs: Vec<(&str, Vec<&CurvePoint>)> = names
        .split(',')
        .filter_map(|name| runs_of(curves, name).pop().map(|run| (name, run)))
        .collect();
    let Some((_, first)) = runs.first() else {
        return "(no learning curve recorded)\n".into();
    };
    let steps: Vec<usize> = first
        .iter()
        .map(|p| p.step)
        .filter(|step| {
            runs.iter()
                .all(|(_, run)| run.iter().any(|p| p.step == *step))
        })
        .collect();
    let stride = steps.len().div_ceil(12).max(1);
    let mut out = String::from("| meta-step |");
    for (name, run) in &runs {
        out += &format!(" {name} (commit {}) |", run[0].commit);
    }
    out += &format!("\n|---|{}\n", "---|".repeat(runs.len()));
    for (i, step) in steps.iter().enumerate() {
        if i % stride != 0 && i + 1 != steps.len() {
            continue;
        }
        out += &format!("| {step} |");
        for (_, run) in &runs {
            if let Some(p) = run.iter().find(|p| p.step == *step) {
                out += &format!(
                    " {:.2} ± {:.2} ({:.0} min) |",
                    100.0 * p.val_accuracy,
                    100.0 * p.val_ci95,
                    p.seconds / 60.0
                );
            }
        }
        out += "\n";
    }
    let (way, shot, backbone, machine) = (
        first[0].val_way,
        first[0].shot,
        &first[0].backbone,
        &first[0].machine,
    );
    let machines = if runs.iter().all(|(_, run)| run[0].machine == *machine) {
        format!("on {machine}")
    } else {
        let each: Vec<String> = runs
            .iter()
            .map(|(name, run)| format!("{name} on {}", run[0].machine))
            .collect();
        each.join("; ")
    };
    out += &format!(
        "\nValidation accuracy ({way}-way {shot}-shot, {backbone}), % ± 95 % CI (minutes of meta-training), {machines}.\n"
    );
    out
}

/// The last run's learning curve of `name` (`PROTOCOL-ALGORITHM`): at most twelve
/// validations (the first, the best, the last and evenly spaced others), with steps, time and
/// the machine.
pub fn curve_table(curves: &[CurvePoint], name: &str) -> String {
    let runs = runs_of(curves, name);
    let Some(run) = runs.last() else {
        return "(no learning curve recorded)\n".into();
    };
    let Some(last) = run.last() else {
        return "(no learning curve recorded)\n".into();
    };
    let best = (0..run.len())
        .max_by(|&a, &b| run[a].val_accuracy.total_cmp(&run[b].val_accuracy))
        .unwrap_or(0);
    let stride = run.len().div_ceil(10).max(1);
    let mut out = format!(
        "Validation ({}-way {}-shot, {}) on {}, commit {}:\n\n| meta-step | minutes | validation accuracy |\n|---|---|---|\n",
        last.val_way, last.shot, last.backbone, last.machine, last.commit
    );
    for (i, point) in run.iter().enumerate() {
        if i % stride == 0 || i == best || i + 1 == run.len() {
            let mark = if i == best { " (best)" } else { "" };
            out += &format!(
                "| {} | {:.0} | {:.2} ± {:.2}{mark} |\n",
                point.step,
                point.seconds / 60.0,
                100.0 * point.val_accuracy,
                100.0 * point.val_ci95
            );
        }
    }
    out
}

/// The figures of benchmark file `name`: one row per figure and setting, one column per
/// backend, and the machine and commit below.
pub fn bench_table(bench: &[(String, Vec<BenchLine>)], name: &str) -> String {
    let Some((_, lines)) = bench.iter().find(|(stem, _)| stem == name) else {
        return format!("(no results/{name}.jsonl)\n");
    };
    let mut columns: Vec<(String, String)> = Vec::new();
    let mut rows: Vec<(String, String, usize)> = Vec::new();
    for line in lines {
        let column = (line.backend.clone(), line.adapter.clone());
        if !columns.contains(&column) {
            columns.push(column);
        }
        let row = (line.bench.clone(), line.setting.clone(), line.batch);
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
    let mut out = String::from("| figure | batch |");
    for (backend, adapter) in &columns {
        out += &format!(" {backend} ({adapter}) |");
    }
    out += "\n|---|---|";
    out += &"---|".repeat(columns.len());
    out += "\n";
    for (bench, setting, batch) in &rows {
        let label = if setting.is_empty() {
            bench.clone()
        } else {
            format!("{bench}: {setting}")
        };
        out += &format!("| {label} | {batch} |");
        for (backend, adapter) in &columns {
            let cell = lines.iter().rev().find(|l| {
                (&l.bench, &l.setting, l.batch) == (bench, setting, *batch)
                    && (&l.backend, &l.adapter) == (backend, adapter)
            });
            out += &match cell {
                Some(l) => format!(" {} {} |", significant(l.value), l.unit),
                None => " – |".into(),
            };
        }
        out += "\n";
    }
    let mut sources: Vec<String> = Vec::new();
    for line in lines {
        let source = format!("{}, commit {}, {}", line.machine, line.commit, line.date);
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    out += &format!("\nMeasured on {}.\n", sources.join("; and on "));
    out
}

/// The evaluations of family `env`: one row per policy (the last evaluation of each), one
/// column per number of updates, mean return ± 95 % CI.
pub fn rl_table(lines: &[RlLine], env: &str) -> String {
    let lines: Vec<&RlLine> = lines.iter().filter(|l| l.env == env).collect();
    let Some(last) = lines.last() else {
        return "(no results yet)\n".into();
    };
    let updates = lines.iter().map(|l| l.returns.len()).max().unwrap_or(0);
    let mut out = String::from("| policy |");
    for u in 0..updates {
        out += &format!(" {} |", counted(u, "update"));
    }
    out += " training |\n|---|";
    out += &"---|".repeat(updates + 1);
    out += "\n";
    let mut names: Vec<&str> = Vec::new();
    for line in &lines {
        if !names.contains(&line.policy.as_str()) {
            names.push(&line.policy);
        }
    }
    for name in names {
        let line = lines
            .iter()
            .rev()
            .find(|l| l.policy == name)
            .expect("listed");
        out += &format!("| {name} |");
        for u in 0..updates {
            out += &match line.returns.get(u) {
                Some(p) => format!(" {:.2} ± {:.2} |", p.mean, p.ci95),
                None => " – |".into(),
            };
        }
        out += &format!(" {} |\n", line.training.as_deref().unwrap_or("–"));
    }
    out += &format!(
        "\n{} held-out tasks, {} trajectories per task and update, updates at {}; {}, commit {}, {}.\n",
        last.tasks, last.trajectories, last.inner_lr, last.machine, last.commit, last.date
    );
    out
}

/// One learner of an evolutionary search, meta-trained again and tested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvolveEntry {
    /// Its `meta-train` flags.
    pub settings: String,
    /// Its fitness: validation accuracy after the budget.
    pub validation: f64,
    /// Test accuracy (5-way 1-shot unless the command said otherwise).
    pub test: f64,
    /// Half-width of its 95 % confidence interval.
    pub test_ci95: f64,
}

/// The outcome of `fewshot-lab evolve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvolveLine {
    /// Protocol searched on.
    pub protocol: String,
    /// Meta-training tasks per individual.
    pub budget: usize,
    /// Individuals per generation.
    pub population: usize,
    /// Generations.
    pub generations: usize,
    /// Individuals meta-trained.
    pub evaluated: usize,
    /// Best fitness per generation.
    pub best_per_generation: Vec<f64>,
    /// The fittest individual.
    pub best: EvolveEntry,
    /// The fittest of the hand-picked defaults (one per algorithm, in the first generation).
    pub default: EvolveEntry,
    /// Test tasks behind each test accuracy.
    pub test_episodes: usize,
    /// Minutes the whole search took.
    pub minutes: f64,
    /// The command that reproduces it.
    pub command: String,
    /// Commit of the binary.
    pub commit: String,
    /// Machine and backend.
    pub machine: String,
    /// Date of the run.
    pub date: String,
}

/// The last search on `protocol`: the evolved settings beside the best hand-picked default.
pub fn evolve_table(lines: &[EvolveLine], protocol: &str) -> String {
    let Some(line) = lines.iter().rev().find(|l| l.protocol == protocol) else {
        return "(no results yet)\n".into();
    };
    let row = |name: &str, e: &EvolveEntry| {
        format!(
            "| {name} | `{}` | {:.2} | {:.2} ± {:.2} |\n",
            e.settings,
            100.0 * e.validation,
            100.0 * e.test,
            100.0 * e.test_ci95
        )
    };
    let history: Vec<String> = line
        .best_per_generation
        .iter()
        .map(|f| format!("{:.1}", 100.0 * f))
        .collect();
    format!(
        "| learner | settings | validation % (fitness) | test % ({} tasks) |\n|---|---|---|---|\n{}{}\n\
         Budget {} meta-training tasks per learner; {} generations of {} ({} learners; the run that \
         finished the search took {:.0} minutes); best validation per generation {}. {}, commit {}, {}.\n",
        line.test_episodes,
        row("evolved", &line.best),
        row("best hand-picked default", &line.default),
        line.budget,
        line.generations,
        line.population,
        line.evaluated,
        line.minutes,
        history.join(" → "),
        line.machine,
        line.commit,
        line.date
    )
}

/// One file (or data folder) of the web build and its size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadFile {
    /// Path inside the build (`dist/`).
    pub file: String,
    /// Bytes over the network (gzip -9 for the app; data as stored).
    pub bytes: u64,
    /// Data the service worker stores in the background after the first view (the rest is
    /// fetched only when a page needs it).
    #[serde(default)]
    pub offline_copy: bool,
}

/// What a first visit downloads before the app is interactive, and what pages fetch later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadLine {
    /// HTML, JavaScript, WebAssembly and CSS: the first view.
    pub initial: Vec<LoadFile>,
    /// The budget for the first view, in bytes.
    pub budget: u64,
    /// Data fetched by the pages that use it, by folder of `static/`.
    pub on_demand: Vec<LoadFile>,
    /// The command that measured it.
    pub command: String,
    /// Commit measured.
    pub commit: String,
    /// Machine that built it.
    pub machine: String,
    /// Date of the measurement.
    pub date: String,
}

/// The last measured web build: the first view's files against the budget, then the data.
pub fn load_table(lines: &[LoadLine]) -> String {
    let Some(line) = lines.last() else {
        return "(no results yet)\n".into();
    };
    let size = |bytes: u64| {
        if bytes < 100_000 {
            format!("{:.1} KB", bytes as f64 / 1e3)
        } else {
            format!("{:.2} MB", bytes as f64 / 1e6)
        }
    };
    let total: u64 = line.initial.iter().map(|f| f.bytes).sum();
    let mut out = String::from("| download | size | when |\n|---|---|---|\n");
    for file in &line.initial {
        out += &format!(
            "| `{}` | {} (gzip) | first view |\n",
            file.file,
            size(file.bytes)
        );
    }
    out += &format!(
        "| **first view, total** | **{}** (budget {}) | before the app is interactive |\n",
        size(total),
        size(line.budget)
    );
    for file in &line.on_demand {
        let when = if file.offline_copy {
            "in the background after the first view (the offline copy), or when a page needs it"
        } else {
            "when a page needs it"
        };
        out += &format!("| `{}` | {} | {when} |\n", file.file, size(file.bytes));
    }
    out + &format!(
        "\n`{}`, commit {}, {}, {}.\n",
        line.command, line.commit, line.machine, line.date
    )
}

/// The page's longest main-thread task while the browser tests ran some work from the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskLine {
    /// What ran: `meta-training` (the meta-train page; lines before this field existed),
    /// `training` (the Train page), `adaptation` (the Playground adapting its networks to a
    /// sample set, then predicting) or `whole-network adaptation` (*My handwriting*:
    /// fine-tuning the digit classifier).
    #[serde(default = "meta_training")]
    pub work: String,
    /// `cpu` or `webgpu` (the browser's software adapter in the tests).
    pub backend: String,
    /// Where the work ran: `worker` or `page`.
    pub runner: String,
    /// Milliseconds per step of the work: per meta-step; per training step; per adaptation of
    /// the meta-trained network, or per fine-tuning of the digit classifier.
    pub ms_per_step: f64,
    /// The longest main-thread task meanwhile (0: none over the browser's 50 ms threshold).
    pub longest_task_ms: f64,
    /// The command that measured it.
    pub command: String,
    /// Commit measured.
    pub commit: String,
    /// Machine and browser.
    pub machine: String,
    /// Date of the measurement.
    pub date: String,
}

fn meta_training() -> String {
    "meta-training".into()
}

/// The last measurement per work and backend: the time of one step of the work beside the
/// longest main-thread task, and every measurement's command, commit and machine.
pub fn task_table(lines: &[TaskLine]) -> String {
    let mut latest: Vec<&TaskLine> = Vec::new();
    for line in lines.iter().rev() {
        if !latest
            .iter()
            .any(|l| l.backend == line.backend && l.work == line.work)
        {
            latest.insert(0, line);
        }
    }
    if latest.is_empty() {
        return "(no results yet)\n".into();
    }
    let mut out = String::from(
        "| work | backend | runs in | time | longest main-thread task |\n|---|---|---|---|---|\n",
    );
    let mut sources: Vec<String> = Vec::new();
    for line in &latest {
        let longest = if line.longest_task_ms == 0.0 {
            "none over 50 ms".to_string()
        } else {
            format!("{} ms", significant(line.longest_task_ms))
        };
        let step = match line.work.as_str() {
            "meta-training" => "per meta-step",
            "training" => "per training step",
            "whole-network adaptation" => "to fine-tune the digit classifier",
            _ => "to adapt the meta-trained network",
        };
        out += &format!(
            "| {} | {} | the {} | {} ms {step} | {longest} |\n",
            line.work,
            line.backend,
            line.runner,
            significant(line.ms_per_step)
        );
        let source = format!(
            "`{}`, commit {}, {}, {}",
            line.command, line.commit, line.machine, line.date
        );
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    out + &format!("\n{}.\n", sources.join("; "))
}

/// `value` with three significant digits (no more than the measurement carries).
fn significant(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// `readme` with every marked section (see the module documentation) rendered from `results`.
pub fn render_readme(readme: &str, results: &Results) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = readme;
    while let Some(start) = rest.find("<!-- ") {
        let open_end = rest[start..].find(" -->").ok_or("an unclosed marker")? + start;
        let marker = &rest[start + "<!-- ".len()..open_end];
        let Some((kind, name)) = marker.split_once(':').filter(|(k, _)| {
            matches!(
                *k,
                "results" | "curve" | "runs" | "bench" | "rl" | "evolve" | "load" | "tasks"
            )
        }) else {
            out += &rest[..open_end + " -->".len()];
            rest = &rest[open_end + " -->".len()..];
            continue;
        };
        let closing = format!("<!-- /{kind}:{name} -->");
        let end = rest[open_end..]
            .find(&closing)
            .ok_or_else(|| format!("no {closing} after the {kind}:{name} marker"))?
            + open_end;
        out += &rest[..open_end + " -->".len()];
        out += "\n";
        out += &match kind {
            "results" => table(&results.lines, name),
            "curve" => curve_table(&results.curves, name),
            "runs" => runs_table(&results.curves, name),
            "rl" => rl_table(&results.rl, name),
            "evolve" => evolve_table(&results.evolve, name),
            "load" => load_table(&results.load),
            "tasks" => task_table(&results.tasks),
            _ => bench_table(&results.bench, name),
        };
        out += &closing;
        rest = &rest[end + closing.len()..];
    }
    out += rest;
    Ok(out)
}

/// The commit this binary was built from (with `+` when the tree had uncommitted changes).
pub fn git_commit() -> String {
    env!("FEWSHOT_COMMIT").to_string()
}

/// The CPU model and core count of this machine, and the backend that ran the maths.
pub fn machine(backend: &crate::backend::Backend) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{cpu}, {cores} cores; {} backend: {}",
        backend.kind.label(),
        backend.adapter
    )
}

/// Today's date (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((seconds / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Every result file in `dir`: `curves.jsonl`, `bench-*.jsonl`, `long-tasks*.jsonl`, `load*.jsonl`,
/// `evolve*.jsonl`, `rl*.jsonl`, and every other
/// `*.jsonl` as evaluated cells, in file-name order.
pub fn read_results_dir(dir: &std::path::Path) -> Result<Results, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut results = Results::default();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let stem = file
            .file_stem()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned());
        let fail = |e: String| format!("{}: {e}", file.display());
        if stem == "curves" {
            results.curves.extend(parse_lines(&text).map_err(fail)?);
        } else if stem.starts_with("bench-") {
            results
                .bench
                .push((stem, parse_lines(&text).map_err(fail)?));
        } else if stem.starts_with("long-tasks") {
            results.tasks.extend(parse_lines(&text).map_err(fail)?);
        } else if stem.starts_with("load") {
            results.load.extend(parse_lines(&text).map_err(fail)?);
        } else if stem.starts_with("evolve") {
            results.evolve.extend(parse_lines(&text).map_err(fail)?);
        } else if stem.starts_with("rl") {
            results.rl.extend(parse_lines(&text).map_err(fail)?);
        } else {
            results.lines.extend(parse_lines(&text).map_err(fail)?);
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(algorithm: &str, way: usize, shot: usize, accuracy: f64) -> ResultLine {
        ResultLine {
            protocol: "p2".into(),
            algorithm: algorithm.into(),
            backbone: "conv4".into(),
            inner: None,
            transductive: None,
            support_shifts: None,
            query_shifts: None,
            power_features: false,
            centred_unit_features: false,
            way,
            shot,
            accuracy,
            ci95: 0.01,
            episodes: 600,
            meta_steps: Some(1000),
            train_minutes: Some(4.0),
            weights: None,
            command: "fewshot-lab eval …".into(),
            commit: "abc".into(),
            machine: "test".into(),
            date: "2026-11-26".into(),
        }
    }

    #[test]
    fn tables_have_a_row_per_method_and_the_last_measurement_wins() {
        let lines = vec![
            line("protonet", 5, 1, 0.9),
            line("protonet", 5, 5, 0.95),
            line("scratch", 5, 1, 0.5),
            line("protonet", 5, 1, 0.99),
        ];
        let table = table(&lines, "p2");
        assert!(table.contains("| 5-way 1-shot | 5-way 5-shot |"), "{table}");
        assert!(
            table
                .contains("| protonet (conv4) | 99.00 ± 1.00 | 95.00 ± 1.00 | 1000 steps, 4 min |"),
            "{table}"
        );
        assert!(
            table.contains("| scratch (conv4) | 50.00 ± 1.00 | – |"),
            "{table}"
        );
    }

    /// The same network evaluated transductively, with its support sets enlarged, with its
    /// queries averaged over shifts or with centred unit-length features (square-rooted first
    /// or not), is a row of its own, which says so; an ensemble's row names every file.
    #[test]
    fn evaluation_settings_have_their_own_rows() {
        let transductive = |rounds, accuracy| ResultLine {
            transductive: Some(rounds),
            ..line("protonet", 5, 1, accuracy)
        };
        let lines = vec![
            line("protonet", 5, 1, 0.8),
            transductive(1, 0.85),
            transductive(3, 0.9),
            ResultLine {
                support_shifts: Some(1),
                ..line("protonet", 5, 1, 0.82)
            },
            ResultLine {
                support_shifts: Some(1),
                query_shifts: Some(2),
                ..line("protonet", 5, 1, 0.83)
            },
            ResultLine {
                centred_unit_features: true,
                ..line("protonet", 5, 1, 0.835)
            },
            ResultLine {
                power_features: true,
                centred_unit_features: true,
                ..line("protonet", 5, 1, 0.837)
            },
            ResultLine {
                weights: Some("w/a.bpk + w/b.bpk".into()),
                backbone: "conv4 + conv4 (96 channels)".into(),
                ..line("protonet-ensemble", 5, 1, 0.84)
            },
        ];
        let table = table(&lines, "p2");
        for row in [
            "| protonet (conv4) | 80.00 ± 1.00 |",
            "| protonet (conv4, transductive: 1 soft k-means round on the query set) | 85.00",
            "| protonet (conv4, transductive: 3 soft k-means rounds on the query set) | 90.00",
            "| protonet (conv4, support set enlarged by every shift of up to 1 pixel) | 82.00",
            "| protonet (conv4, support set enlarged by every shift of up to 1 pixel, each query \
             the mean feature of its shifts of up to 2 pixels) | 83.00",
            "| protonet (conv4, features centred on the support mean, unit length) | 83.50",
            "| protonet (conv4, square-rooted features, features centred on the support mean, \
             unit length) | 83.70",
            "| protonet-ensemble (conv4 + conv4 (96 channels)) `a.bpk` + `b.bpk` | 84.00",
        ] {
            assert!(table.contains(row), "{row} in {table}");
        }
    }

    #[test]
    fn evolve_tables_show_the_last_search_beside_the_best_default() {
        let entry = |settings: &str, test: f64| EvolveEntry {
            settings: settings.into(),
            validation: 0.9,
            test,
            test_ci95: 0.006,
        };
        let search = |test: f64| EvolveLine {
            protocol: "p2".into(),
            budget: 400,
            population: 8,
            generations: 4,
            evaluated: 26,
            best_per_generation: vec![0.9, 0.93],
            best: entry("--algo protonet --meta-batch 1", test),
            default: entry("--algo protonet --meta-batch 4", 0.88),
            test_episodes: 600,
            minutes: 25.0,
            command: "fewshot-lab evolve".into(),
            commit: "abc".into(),
            machine: "test".into(),
            date: "2026-11-27".into(),
        };
        let table = evolve_table(&[search(0.5), search(0.91)], "p2");
        assert!(
            table.contains("| evolved | `--algo protonet --meta-batch 1` | 90.00 | 91.00 ± 0.60 |"),
            "{table}"
        );
        assert!(table.contains("| best hand-picked default |"), "{table}");
        assert!(table.contains("90.0 → 93.0"), "{table}");
        assert_eq!(evolve_table(&[search(0.9)], "p1"), "(no results yet)\n");
    }

    #[test]
    fn the_load_table_totals_the_first_view_against_its_budget() {
        let file = |file: &str, bytes| LoadFile {
            file: file.into(),
            bytes,
            offline_copy: false,
        };
        let line = LoadLine {
            initial: vec![file("app.wasm", 2_500_000), file("app.js", 20_000)],
            budget: 3_000_000,
            on_demand: vec![file("static/mnist", 11_000_000)],
            command: "scripts/load-size".into(),
            commit: "abc".into(),
            machine: "test".into(),
            date: "2026-11-27".into(),
        };
        let table = load_table(&[line]);
        assert!(
            table.contains("| **first view, total** | **2.52 MB** (budget 3.00 MB) |"),
            "{table}"
        );
        assert!(
            table.contains("| `static/mnist` | 11.00 MB | when a page needs it |"),
            "{table}"
        );
        assert_eq!(load_table(&[]), "(no results yet)\n");
    }

    #[test]
    fn the_task_table_keeps_the_last_measurement_per_work_and_backend() {
        let line = |backend: &str, runner: &str, longest| TaskLine {
            work: "meta-training".into(),
            backend: backend.into(),
            runner: runner.into(),
            ms_per_step: 412.4,
            longest_task_ms: longest,
            command: "scripts/long-tasks".into(),
            commit: "abc".into(),
            machine: "test".into(),
            date: "2026-11-27".into(),
        };
        let adaptation = TaskLine {
            work: "adaptation".into(),
            commit: "def".into(),
            ..line("cpu", "page", 230.0)
        };
        let fine_tuning = TaskLine {
            work: "whole-network adaptation".into(),
            ..line("cpu", "worker", 0.0)
        };
        let training = TaskLine {
            work: "training".into(),
            ..line("cpu", "worker", 0.0)
        };
        let table = task_table(&[
            line("cpu", "page", 420.0),
            adaptation,
            line("webgpu", "worker", 61.0),
            line("cpu", "worker", 0.0),
            fine_tuning,
            training,
        ]);
        assert!(table.starts_with("| work | backend |"), "{table}");
        assert!(
            table.contains(
                "| meta-training | webgpu | the worker | 412 ms per meta-step | 61.0 ms |"
            ),
            "{table}"
        );
        assert!(
            table.contains(
                "| meta-training | cpu | the worker | 412 ms per meta-step | none over 50 ms |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| adaptation | cpu | the page | 412 ms to adapt the meta-trained network | 230 ms |"),
            "{table}"
        );
        assert!(
            table.contains("| whole-network adaptation | cpu | the worker | 412 ms to fine-tune the digit classifier | none over 50 ms |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| training | cpu | the worker | 412 ms per training step | none over 50 ms |"
            ),
            "{table}"
        );
        assert!(
            !table.contains("| meta-training | cpu | the page"),
            "{table}"
        );
        assert!(
            table.contains("commit abc") && table.contains("commit def"),
            "{table}"
        );
        assert_eq!(task_table(&[]), "(no results yet)\n");
        // Lines written before `work` existed were all meta-training.
        let old: TaskLine = serde_json::from_str(
            r#"{"backend":"cpu","runner":"worker","ms_per_step":297,"longest_task_ms":0,"command":"c","commit":"x","machine":"m","date":"d"}"#,
        )
        .unwrap();
        assert_eq!(old.work, "meta-training");
    }

    #[test]
    fn readme_sections_are_replaced_between_markers() {
        let readme = "intro\n<!-- results:p2 -->\nold table\n<!-- /results:p2 -->\nend\n";
        let results = Results {
            lines: vec![line("protonet", 5, 1, 0.9)],
            ..Results::default()
        };
        let rendered = render_readme(readme, &results).unwrap();
        assert!(rendered.starts_with("intro\n<!-- results:p2 -->\n| method |"));
        assert!(rendered.ends_with("<!-- /results:p2 -->\nend\n"));
        assert!(!rendered.contains("old table"));
        assert!(render_readme("<!-- results:p2 -->", &Results::default()).is_err());
        let rl = render_readme(
            "<!-- rl:point -->\nold\n<!-- /rl:point -->",
            &Results::default(),
        );
        assert_eq!(
            rl.unwrap(),
            "<!-- rl:point -->\n(no results yet)\n<!-- /rl:point -->"
        );
        // Other comments are left alone.
        let plain = "<!-- a note -->\n";
        assert_eq!(render_readme(plain, &Results::default()).unwrap(), plain);
    }

    #[test]
    fn curves_are_named_by_their_network_or_by_protocol_and_algorithm() {
        let point = |step: usize, weights: Option<&str>| CurvePoint {
            algorithm: "fomaml".into(),
            backbone: "conv4".into(),
            protocol: "p2".into(),
            commit: "abc".into(),
            machine: "m".into(),
            step,
            seconds: 60.0 * step as f64,
            val_accuracy: step as f64 / 10.0,
            val_ci95: 0.01,
            val_way: 5,
            shot: 1,
            weights: weights.map(String::from),
        };
        let curves = [
            point(1, Some("p2-fomaml.bpk")),
            point(2, Some("p2-fomaml.bpk")),
            point(1, Some("p2-anil.bpk")),
        ];
        let fomaml = curve_table(&curves, "p2-fomaml");
        assert!(
            fomaml.contains("| 2 | 2 | 20.00 ± 1.00 (best) |"),
            "{fomaml}"
        );
        let anil = curve_table(&curves, "p2-anil");
        assert!(anil.contains("| 1 | 1 | 10.00 ± 1.00 (best) |"), "{anil}");
        assert!(!anil.contains("| 2 |"), "{anil}");
        // A run without a network file keeps the protocol-algorithm name.
        assert_eq!(point(3, None).curve_name(), "p2-fomaml");
        // The last runs of two curves side by side, at the steps both validated at.
        let runs = runs_table(&curves, "p2-fomaml,p2-anil");
        assert!(
            runs.contains("| meta-step | p2-fomaml (commit abc) | p2-anil (commit abc) |"),
            "{runs}"
        );
        assert!(
            runs.contains("| 1 | 10.00 ± 1.00 (1 min) | 10.00 ± 1.00 (1 min) |"),
            "{runs}"
        );
        assert!(!runs.contains("| 2 |"), "{runs}");
        assert!(
            runs.contains("CI (minutes of meta-training), on m."),
            "{runs}"
        );
        // Runs from different machines name each one's machine.
        let mut elsewhere = point(1, Some("p2-anil.bpk"));
        elsewhere.machine = "n".into();
        let runs = runs_table(&[curves[0].clone(), elsewhere], "p2-fomaml,p2-anil");
        assert!(runs.contains("p2-fomaml on m; p2-anil on n."), "{runs}");
    }

    #[test]
    fn rl_tables_show_the_last_evaluation_of_each_policy() {
        let rl = |policy: &str, mean: f64| RlLine {
            env: "point".into(),
            policy: policy.into(),
            algorithm: None,
            file: None,
            tasks: 100,
            trajectories: 20,
            inner_lr: 0.1,
            returns: vec![
                RlPoint { mean, ci95: 1.0 },
                RlPoint {
                    mean: mean / 2.0,
                    ci95: 0.5,
                },
            ],
            training: Some("steps=500".into()),
            command: "fewshot-lab rl eval".into(),
            commit: "abc".into(),
            machine: "m".into(),
            date: "2026-11-26".into(),
        };
        let lines = [rl("maml", -80.0), rl("random", -200.0), rl("maml", -60.0)];
        let table = rl_table(&lines, "point");
        assert!(
            table.starts_with("| policy | 0 updates | 1 update | training |\n"),
            "{table}"
        );
        assert!(
            table.contains("| maml | -60.00 ± 1.00 | -30.00 ± 0.50 | steps=500 |"),
            "{table}"
        );
        assert!(!table.contains("-80.00"), "{table}");
        assert!(table.contains("| random | -200.00 ± 1.00 |"), "{table}");
        assert_eq!(rl_table(&lines, "cart"), "(no results yet)\n");
    }

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_783), (2026, 11, 26));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    /// The README's tables are exactly what the committed result files render to.
    #[test]
    fn readme_tables_match_the_result_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let results = read_results_dir(&root.join("results")).unwrap();
        let rendered = render_readme(&readme, &results).unwrap();
        assert!(
            rendered == readme,
            "README.md differs from the tables rendered from results/: run `fewshot-lab results`"
        );
    }
}
