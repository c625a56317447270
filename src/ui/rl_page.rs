//! The meta-RL page (`?page=rl`): a policy that adapts to a new goal in a few updates, drawn.
//!
//! Click anywhere in an arena to set a goal. Three policies — meta-trained with MAML, pre-trained
//! on all goals (no meta-learning), and a random initialisation — each take three
//! policy-gradient updates on their own trajectories towards that goal, the same way; their
//! trajectories before adaptation and after each update are drawn in their arena, and their
//! returns per update charted. *Meta-train here* trains a first-order MAML policy on this page,
//! with its return per meta-step charted live, and puts it in the first arena (re-run on the
//! current goal). A second section does the
//! same for bandits, with regret curves.

use super::chart::{LineChart, Series};
use super::i18n::{Locale, t, t_string, tu_string, use_i18n};
use super::loader::fetch_bytes;
use super::widgets::{context_2d, yield_to_page};
use crate::backend::Backend;
use crate::model::catalog::{Catalog, Listed};
use crate::rl::bandit::Bandit;
use crate::rl::env::TaskFamily;
use crate::rl::learn::{RlAlgo, RlConfig, RlTrainer, Round, fresh_policy, rounds};
use crate::rl::point::PointNav;
use crate::rl::policy::Policy;
use crate::rl::{PolicyEntry, policy_from_bytes};
use crate::rng::Rng;
use burn::tensor::Device;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos_i18n::I18nContext;

/// Where the shipped policies are served from, relative to the page.
const POLICIES_URL: &str = "static/policies";
/// Updates after the first round.
const UPDATES: usize = 3;
/// Trajectories per round (the updates learn from them).
const TRAJECTORIES: usize = 20;
/// Trajectories drawn per round.
const DRAWN: usize = 4;
/// Colour of each round: before adaptation, then after 1, 2, 3 updates.
const ROUND_COLORS: [&str; 4] = ["#adb5bd", "#1c7ed6", "#e8590c", "#2b8a3e"];
/// Colour of each compared policy in the charts (meta-trained, pre-trained, random), apart from
/// the round colours.
const POLICY_COLORS: [&str; 3] = ["#862e9c", "#e64980", "#495057"];
/// Half-width of the arena, in task units.
const ARENA: f32 = 0.6;
/// Side of an arena canvas in pixels.
const ARENA_PX: f64 = 240.0;
/// Seed of the random-initialisation policy.
const RANDOM_SEED: u64 = 77;

/// The compared policies, by name (or why one could not be loaded).
type Compared = Vec<(String, Result<Policy, String>)>;

/// One policy's run on the current goal.
#[derive(Debug, Clone, Default, PartialEq)]
struct Run {
    /// Its rounds (before adaptation, then after each update).
    rounds: Vec<Round>,
    error: Option<String>,
}

/// The catalogue of the shipped policies.
async fn policy_catalog() -> Result<Catalog<PolicyEntry>, String> {
    let text = fetch_bytes(&format!("{POLICIES_URL}/manifest.json")).await?;
    Catalog::<PolicyEntry>::parse(&String::from_utf8_lossy(&text)).map_err(|e| e.to_string())
}

/// Downloads a shipped policy and checks it against its catalogue entry.
async fn load_policy<E: TaskFamily>(
    catalog: &Catalog<PolicyEntry>,
    file: &str,
    device: &Device,
) -> Result<Policy, String> {
    let entry = catalog
        .entry(file)
        .ok_or_else(|| format!("the policy catalogue lists no {file}"))?;
    let bytes = fetch_bytes(&format!("{POLICIES_URL}/{file}")).await?;
    entry.verify(&bytes).map_err(|e| e.to_string())?;
    policy_from_bytes::<E>(&bytes, device).map_err(|e| format!("{file}: {e}"))
}

/// The three compared policies of family `E`: meta-trained, pre-trained, random.
async fn policies<E: TaskFamily>(device: &Device, i18n: I18nContext<Locale>) -> Compared {
    let random = {
        device.seed(RANDOM_SEED);
        fresh_policy::<E>(device)
    };
    let catalog = policy_catalog().await;
    let mut compared = Compared::new();
    for (title, algorithm) in [
        (tu_string!(i18n, rl_meta_trained), "maml"),
        (tu_string!(i18n, rl_pretrained), "pretrained"),
    ] {
        let file = format!("{}-{algorithm}.bpk", E::NAME);
        let policy = match &catalog {
            Ok(catalog) => load_policy::<E>(catalog, &file, device).await,
            Err(e) => Err(e.clone()),
        };
        compared.push((title.into(), policy));
    }
    compared.push((tu_string!(i18n, rl_random).into(), Ok(random)));
    compared
}

/// Draws the arena: the goal, then every round's first trajectories in its colour.
fn draw_arena(canvas: &web_sys::HtmlCanvasElement, goal: Option<(f32, f32)>, rounds: &[Round]) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let px = |v: f32| f64::from((v + ARENA) / (2.0 * ARENA)) * ARENA_PX;
    ctx.clear_rect(0.0, 0.0, ARENA_PX, ARENA_PX);
    ctx.set_stroke_style_str("#dee2e6");
    ctx.stroke_rect(px(-0.5), px(-0.5), px(0.5) - px(-0.5), px(0.5) - px(-0.5));
    ctx.set_fill_style_str("#212529");
    ctx.fill_rect(px(0.0) - 2.0, px(0.0) - 2.0, 4.0, 4.0);
    for (round, color) in rounds.iter().zip(ROUND_COLORS) {
        ctx.set_stroke_style_str(color);
        ctx.set_line_width(1.5);
        let steps = round.alive.len() / TRAJECTORIES;
        for trajectory in 0..DRAWN.min(TRAJECTORIES) {
            ctx.begin_path();
            ctx.move_to(px(0.0), px(0.0));
            for t in 0..steps {
                let at = t * TRAJECTORIES + trajectory;
                if round.alive[at] < 0.5 {
                    break;
                }
                let (x, y) = (round.observations[2 * at], round.observations[2 * at + 1]);
                ctx.line_to(px(x), px(y));
            }
            ctx.stroke();
        }
    }
    if let Some((x, y)) = goal {
        ctx.set_fill_style_str("#c92a2a");
        ctx.begin_path();
        let _ = ctx.arc(px(x), px(y), 5.0, 0.0, std::f64::consts::TAU);
        ctx.fill();
    }
}

/// One policy's arena: click to set the goal, trajectories drawn per round.
#[component]
fn Arena(
    title: String,
    index: usize,
    goal: RwSignal<Option<(f32, f32)>>,
    run: Signal<Run>,
) -> impl IntoView {
    let i18n = use_i18n();
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let (goal, run) = (goal.get(), run.get());
        if let Some(canvas) = canvas.get() {
            draw_arena(&canvas, goal, &run.rounds);
        }
    });
    let click = move |ev: web_sys::MouseEvent| {
        let scale = canvas
            .get_untracked()
            .map_or(1.0, |c| ARENA_PX / f64::from(c.client_width().max(1)));
        let to_task = |p: i32| {
            let v = (f64::from(p) * scale / ARENA_PX) as f32 * 2.0 * ARENA - ARENA;
            v.clamp(-0.5, 0.5)
        };
        goal.set(Some((to_task(ev.offset_x()), to_task(ev.offset_y()))));
    };
    let returns = move || {
        run.with(|r| {
            r.rounds
                .iter()
                .map(|round| format!("{:.1}", round.mean_return))
                .collect::<Vec<_>>()
                .join(" → ")
        })
    };
    let data_returns = move || {
        run.with(|r| {
            r.rounds
                .iter()
                .map(|round| round.mean_return.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    view! {
        <figure class="arena" id=format!("arena-{index}") data-returns=data_returns
            data-rounds=move || run.with(|r| r.rounds.len())>
            <figcaption><strong>{title}</strong></figcaption>
            <canvas node_ref=canvas width=ARENA_PX height=ARENA_PX class="arena-canvas" on:click=click
                role="img" aria-label=move || t_string!(i18n, rl_arena_label)></canvas>
            <span class="muted">{t!(i18n, rl_return)}" "{returns}</span>
            {move || run.with(|r| r.error.clone()).map(|e| view! { <span class="error">{e}</span> })}
        </figure>
    }
}

/// The meta-RL page.
#[component]
pub fn RlPage(
    /// Device the policies run on.
    backend: Backend,
) -> impl IntoView {
    let i18n = use_i18n();
    let device = StoredValue::new_local(backend.device.clone().autodiff());
    let goal = RwSignal::new(None::<(f32, f32)>);
    let compared = StoredValue::new_local(Compared::new());
    let names = RwSignal::new(Vec::<String>::new());
    let runs = RwSignal::new(Vec::<Run>::new());
    let failed = RwSignal::new(None::<String>);
    let busy = RwSignal::new(true);
    let generation = StoredValue::new(0u64);
    leptos::task::spawn_local(async move {
        let loaded = policies::<PointNav>(&device.get_value(), i18n).await;
        names.set(loaded.iter().map(|(n, _)| n.clone()).collect());
        runs.set(vec![Run::default(); loaded.len()]);
        let failures: Vec<String> = loaded
            .iter()
            .filter_map(|(n, p)| p.as_ref().err().map(|e| format!("{n}: {e}")))
            .collect();
        failed.set((!failures.is_empty()).then(|| failures.join("; ")));
        compared.set_value(loaded);
        busy.set(false);
    });

    // Bumped when a compared policy is replaced, so the arenas adapt again.
    let replaced = RwSignal::new(0u64);
    // A new goal (or policy): every policy adapts to it, one after the other.
    Effect::new(move |_| {
        replaced.track();
        let Some((x, y)) = goal.get() else { return };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        busy.set(true);
        runs.update(|r| r.iter_mut().for_each(|run| *run = Run::default()));
        leptos::task::spawn_local(async move {
            let count = compared.with_value(Vec::len);
            for index in 0..count {
                let policy = compared.with_value(|c| c[index].1.clone());
                let outcome = match policy {
                    Ok(policy) => {
                        let mut rng = Rng::new(mine);
                        let lr = PointNav::INNER_LR;
                        rounds::<PointNav>(&policy, &[x, y], UPDATES, TRAJECTORIES, lr, &mut rng)
                            .await
                    }
                    Err(e) => Err(e),
                };
                if generation.get_value() != mine {
                    return; // a newer goal took over
                }
                runs.update(|r| {
                    r[index] = match outcome {
                        Ok(rounds) => Run {
                            rounds,
                            error: None,
                        },
                        Err(e) => Run {
                            rounds: Vec::new(),
                            error: Some(e),
                        },
                    }
                });
                yield_to_page().await;
            }
            busy.set(false);
        });
    });

    let chart = Signal::derive(move || {
        names.with(|names| {
            runs.with(|runs| {
                names
                    .iter()
                    .zip(runs)
                    .zip(POLICY_COLORS)
                    .map(|((name, run), color)| Series {
                        name: name.clone(),
                        color,
                        points: run
                            .rounds
                            .iter()
                            .enumerate()
                            .map(|(u, r)| (u as f64, f64::from(r.mean_return)))
                            .collect(),
                        dots: false,
                    })
                    .collect()
            })
        })
    });

    view! {
        <section class="page rl">
            <h2>{t!(i18n, rl_title)}</h2>
            <p class="explain">{t!(i18n, rl_explain)}</p>
            <p id="rl-status" class="muted" role="status">
                {move || busy.get().then(|| view! { <progress class="busy"></progress>" " })}
                {move || match (busy.get(), failed.get()) {
                    (true, _) => t_string!(i18n, rl_loading).to_string(),
                    (false, Some(failures)) => failures,
                    (false, None) => t_string!(i18n, rl_click_goal).to_string(),
                }}
            </p>
            <div class="arenas">
                {move || names.get().into_iter().enumerate().map(|(index, title)| {
                    let run = Signal::derive(move || runs.with(|r| r.get(index).cloned().unwrap_or_default()));
                    view! { <Arena title=title index=index goal=goal run=run /> }
                }).collect_view()}
            </div>
            <LineChart series=chart x_label=Signal::derive(move || t_string!(i18n, rl_updates))
                title=Signal::derive(move || t_string!(i18n, rl_return_chart)) />
            <MetaTrainHere device=device compared=compared names=names replaced=replaced />
            <BanditRegret device=device />
        </section>
    }
}

/// Steps of meta-training on the page.
const STEPS_HERE: usize = 30;

/// Meta-trains a point-navigation policy with FOMAML on `device`, charting the return of
/// each meta-step into `curve`; stops with a message on a read failure or divergence.
async fn train_here(device: &Device, curve: RwSignal<Vec<(f64, f64)>>) -> Result<Policy, String> {
    device.seed(5);
    let config = RlConfig::for_family::<PointNav>()
        .with_meta_batch(10)
        .with_trajectories(10)
        .with_outer_lr(1e-2);
    let mut trainer = RlTrainer::new(RlAlgo::Fomaml, fresh_policy::<PointNav>(device), config, 5)?;
    for step in 1..=STEPS_HERE {
        let value = trainer
            .step::<PointNav>()
            .into_data_async()
            .await
            .map_err(|e| format!("reading from the device failed at step {step}: {e:?}"))?;
        let value = value.iter::<f32>().next().unwrap_or(f32::NAN);
        if !value.is_finite() {
            return Err(format!("meta-training diverged at step {step}"));
        }
        curve.update(|c| c.push((step as f64, f64::from(value))));
        yield_to_page().await;
    }
    Ok(trainer.policy().clone())
}

/// Meta-trains a policy on this page and puts it in the first arena (bumping `replaced`, so the
/// arenas adapt to the current goal again); on failure the arenas keep their policies and the reason is shown.
#[component]
fn MetaTrainHere(
    device: StoredValue<Device, LocalStorage>,
    compared: StoredValue<Compared, LocalStorage>,
    names: RwSignal<Vec<String>>,
    replaced: RwSignal<u64>,
) -> impl IntoView {
    let i18n = use_i18n();
    let curve = RwSignal::new(Vec::<(f64, f64)>::new());
    let running = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let start = move |_| {
        running.set(true);
        curve.set(Vec::new());
        failure.set(None);
        leptos::task::spawn_local(async move {
            match train_here(&device.get_value(), curve).await {
                Ok(policy) => {
                    compared.update_value(|c| {
                        if let Some(first) = c.first_mut() {
                            *first = (tu_string!(i18n, rl_trained_here).into(), Ok(policy));
                        }
                    });
                    names.update(|n| {
                        if let Some(first) = n.first_mut() {
                            *first = tu_string!(i18n, rl_trained_here).into();
                        }
                    });
                    replaced.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(format!("{e}; the arenas keep their policies."))),
            }
            running.set(false);
        });
    };
    let series = Signal::derive(move || {
        vec![Series {
            name: t_string!(i18n, rl_return_after_update).into(),
            color: POLICY_COLORS[0],
            points: curve.get(),
            dots: false,
        }]
    });
    view! {
        <h3>{t!(i18n, rl_train_heading)}</h3>
        <p class="muted">{t!(i18n, rl_train_explain, steps = move || STEPS_HERE)}</p>
        <div class="controls">
            <button id="rl-train-button" class="primary" on:click=start disabled=move || running.get()>{t!(i18n, rl_train_button)}</button>
        </div>
        {move || failure.get().map(|e| view! { <p id="rl-train-error" class="error" role="alert">{e}</p> })}
        <LineChart series=series x_label=Signal::derive(move || t_string!(i18n, rl_meta_step))
            title=Signal::derive(move || t_string!(i18n, rl_train_chart)) />
    }
}

/// Bandits the regret is averaged over.
const BANDITS: usize = 20;
/// Seed of the bandits and of every policy's pulls (the same for each policy).
const BANDIT_SEED: u64 = 31;

/// Mean regret of `policy` over `tasks` before and after each update: how much less than the
/// best arm each pull earns.
async fn bandit_regret(policy: &Policy, tasks: &[Vec<f32>]) -> Result<[f64; UPDATES + 1], String> {
    let mut rng = Rng::new(BANDIT_SEED);
    let mut regret = [0.0f64; UPDATES + 1];
    for task in tasks {
        let best = task.iter().copied().fold(0.0f32, f32::max);
        let lr = Bandit::INNER_LR;
        let rounds = rounds::<Bandit>(policy, task, UPDATES, TRAJECTORIES, lr, &mut rng).await?;
        for (slot, round) in regret.iter_mut().zip(&rounds) {
            *slot += f64::from(best - round.mean_return) / tasks.len() as f64;
        }
        yield_to_page().await;
    }
    Ok(regret)
}

/// Regret per update on bandits, for the three policies (each on the same bandits and pulls).
#[component]
fn BanditRegret(device: StoredValue<Device, LocalStorage>) -> impl IntoView {
    let series = RwSignal::new(Vec::<Series>::new());
    let i18n = use_i18n();
    let done = RwSignal::new(false);
    let missing = RwSignal::new(Vec::<String>::new());
    leptos::task::spawn_local(async move {
        let device = device.get_value();
        let compared = policies::<Bandit>(&device, i18n).await;
        let mut rng = Rng::new(BANDIT_SEED);
        let tasks: Vec<Vec<f32>> = (0..BANDITS)
            .map(|_| Bandit::sample_task(&mut rng))
            .collect();
        for ((name, policy), color) in compared.into_iter().zip(POLICY_COLORS) {
            let regret = match policy {
                Ok(policy) => bandit_regret(&policy, &tasks).await,
                Err(e) => Err(e),
            };
            match regret {
                Ok(regret) => series.update(|s| {
                    s.push(Series {
                        name,
                        color,
                        points: regret
                            .iter()
                            .enumerate()
                            .map(|(u, r)| (u as f64, *r))
                            .collect(),
                        dots: false,
                    })
                }),
                Err(e) => missing.update(|m| m.push(format!("{name}: {e}"))),
            }
        }
        done.set(true);
    });
    let status = move || {
        if !done.get() {
            return t!(i18n, rl_measuring_regret, count = move || BANDITS).into_any();
        }
        let not_shown = missing.with(|m| {
            (!m.is_empty()).then(|| format!(" {} {}", t_string!(i18n, rl_not_shown), m.join("; ")))
        });
        view! { {t!(i18n, rl_regret_explained, count = move || BANDITS)}{not_shown} }.into_any()
    };
    view! {
        <h3>{t!(i18n, rl_bandits_heading)}</h3>
        <p id="bandit-status" class="muted" role="status">{status}</p>
        <div id="bandit-regret" data-series=move || series.with(Vec::len)>
            <LineChart series=Signal::derive(move || series.get()) x_label=Signal::derive(move || t_string!(i18n, rl_updates))
                title=Signal::derive(move || t_string!(i18n, rl_regret_chart)) />
        </div>
    }
}
