//! The Episode page (`?page=episode`): one few-shot task, opened up. It draws an N-way K-shot
//! episode from the MNIST test split and adapts two meta-trained networks to its support set
//! step by step — plain MAML (a learned output layer, every layer adapted) and the
//! prototype-head variant (output layer set from the support prototypes, head-only steps) —
//! showing for each the query images' predicted labels before and after every inner step, and
//! its support loss and query accuracy per step.

use super::chart::{LineChart, Series};
use super::i18n::{Locale, t, t_string, use_i18n};
use super::language::fill;
use super::loader::{self, DataPool};
use super::messages;
use super::share::{Shared, share_settings};
use super::weights;
use super::widgets::{Note, NumberField, SettingNotes, Thumb, url_number, yield_to_page};
use crate::backend::Backend;
use crate::data::episode::{ClassPool, Episode, EpisodeSpec};
use crate::model::Architecture;
use crate::model::catalog::WeightsEntry;
use crate::playground::adapt::{Adaptation, Procedure, argmax};
use crate::rng::Rng;
use leptos::prelude::*;
use leptos_i18n::I18nContext;

/// The networks shown, by file: plain MAML first, then the prototype-head variant.
const NETWORKS: [&str; 2] = ["digits-maml.bpk", "digits-anil.bpk"];

/// What one network did on the episode.
#[derive(Debug, Clone, Default, PartialEq)]
struct Trace {
    /// The network and how it adapts.
    title: Option<TraceTitle>,
    /// Predicted label of every query image, before any step and after each.
    predictions: Vec<Vec<usize>>,
    /// Support loss before each step.
    losses: Vec<(f64, f64)>,
    /// Query accuracy before any step and after each.
    accuracy: Vec<(f64, f64)>,
}

/// What a trace shows: the network, how it adapts, and the steps it was meta-trained for when
/// the page takes another number.
#[derive(Debug, Clone, PartialEq)]
struct TraceTitle {
    algorithm: String,
    network: Architecture,
    procedure: Procedure,
    trained_for: Option<usize>,
}

impl TraceTitle {
    fn shown(&self, i18n: I18nContext<Locale>) -> String {
        let procedure = messages::procedure(i18n, &self.procedure);
        let title = fill(
            t_string!(i18n, ep_trace_title),
            &[
                ("algorithm", &self.algorithm),
                ("backbone", &messages::architecture(i18n, &self.network)),
                ("procedure", &procedure),
            ],
        );
        let trained = self.trained_for.map_or(String::new(), |steps| {
            fill(t_string!(i18n, ep_trained_for), &[("steps", &steps)])
        });
        title + &trained
    }
}

/// The episode and both traces.
#[derive(Debug, Clone, Default, PartialEq)]
struct EpisodeRun {
    episode: Option<Episode>,
    traces: Vec<Trace>,
    error: Option<String>,
    running: bool,
}

/// Adapts `entry`'s network to `episode` for `steps` steps with its own inner loop, recording
/// the trace as the `index`-th of `run`.
async fn trace_network(
    entry: WeightsEntry,
    episode: &Episode,
    steps: usize,
    backend: &Backend,
    run: RwSignal<EpisodeRun>,
    index: usize,
) -> Result<(), String> {
    let inner = entry
        .inner
        .clone()
        .ok_or_else(|| format!("{} records no inner loop", entry.file))?;
    let trained_for = (steps != inner.steps).then_some(inner.steps);
    let procedure = Procedure::Inner(crate::meta::inner::InnerLoop { steps, ..inner });
    run.update(|r| {
        r.traces[index].title = Some(TraceTitle {
            algorithm: entry.algorithm.clone(),
            network: entry.architecture(),
            procedure: procedure.clone(),
            trained_for,
        })
    });
    let network = weights::load(&entry, &backend.device).await?;
    let rows: Vec<usize> = (0..episode.classes.len()).collect();
    let mut adaptation = Adaptation::new(
        &network,
        &procedure,
        &episode.support,
        &rows,
        &backend.device,
    );
    loop {
        let probabilities = adaptation
            .probabilities(&episode.query)
            .await
            .map_err(|e| e.to_string())?;
        let predicted: Vec<usize> = probabilities.iter().map(|p| argmax(p)).collect();
        let correct = predicted
            .iter()
            .zip(&episode.query.labels)
            .filter(|(p, l)| **p == usize::from(**l))
            .count();
        run.update(|r| {
            let t = &mut r.traces[index];
            let step = t.predictions.len() as f64;
            t.accuracy
                .push((step, correct as f64 / predicted.len() as f64));
            t.predictions.push(predicted);
        });
        if adaptation.finished() {
            return Ok(());
        }
        let loss = adaptation.step().await.map_err(|e| e.to_string())?;
        run.update(|r| {
            let t = &mut r.traces[index];
            t.losses.push((t.losses.len() as f64, f64::from(loss)));
        });
        yield_to_page().await;
    }
}

/// The Episode page.
#[component]
pub fn EpisodePage(
    /// Device to adapt on.
    backend: Backend,
) -> impl IntoView {
    let i18n = use_i18n();
    let pool = DataPool::default();
    loader::start(pool);
    let way_url = url_number("way", 5usize, 2..=5);
    let shot_url = url_number("shot", 1usize, 1..=10);
    let steps_url = url_number("steps", 5usize, 0..=20);
    let notes: Vec<Note> = [way_url.message, shot_url.message, steps_url.message]
        .into_iter()
        .flatten()
        .collect();
    let way = RwSignal::new(way_url.value);
    let shot = RwSignal::new(shot_url.value);
    let steps = RwSignal::new(steps_url.value);
    share_settings(move || Shared {
        settings: vec![
            ("way", way.get_untracked().to_string()),
            ("shot", shot.get_untracked().to_string()),
            ("steps", steps.get_untracked().to_string()),
        ],
        fragment: Vec::new(),
        note: None,
    });
    let seed = StoredValue::new(1u64);
    let run = RwSignal::new(EpisodeRun::default());

    let start = move |_| {
        let backend = backend.clone();
        let spec = EpisodeSpec {
            way: way.get_untracked(),
            shot: shot.get_untracked(),
            query: 3,
        };
        let total = steps.get_untracked();
        seed.update_value(|s| *s += 1);
        let mut rng = Rng::new(seed.get_value());
        let episode = pool.test.with_value(|test| {
            let digits: Vec<usize> = (0..10).collect();
            ClassPool::from_labels(test).sample(&digits, spec, &mut rng)
        });
        let episode = match episode {
            Ok(e) => e,
            Err(e) => {
                run.set(EpisodeRun {
                    error: Some(e.to_string()),
                    ..EpisodeRun::default()
                });
                return;
            }
        };
        run.set(EpisodeRun {
            episode: Some(episode.clone()),
            traces: vec![Trace::default(); NETWORKS.len()],
            running: true,
            ..EpisodeRun::default()
        });
        leptos::task::spawn_local(async move {
            let outcome: Result<(), String> = async {
                let catalog = weights::catalog().await?;
                for (index, file) in NETWORKS.iter().enumerate() {
                    let entry = catalog
                        .entry(file)
                        .cloned()
                        .ok_or_else(|| format!("the weights catalogue lists no {file}"))?;
                    trace_network(entry, &episode, total, &backend, run, index).await?;
                }
                Ok(())
            }
            .await;
            run.update(|r| {
                r.running = false;
                r.error = outcome.err();
            });
        });
    };

    // Every shard in, so an episode depends on the seed alone (not on which shards arrived).
    let ready = move || pool.progress.with(|p| p.is_complete());
    let colors = [("#d9480f", "#2b8a3e"), ("#862e9c", "#1c7ed6")];
    let charts = Signal::derive(move || {
        run.with(|r| {
            r.traces
                .iter()
                .zip(colors)
                .enumerate()
                .flat_map(|(i, (t, (loss, accuracy)))| {
                    let name = if i == 0 {
                        t_string!(i18n, ep_plain_maml)
                    } else {
                        t_string!(i18n, ep_prototype_head)
                    };
                    [
                        Series {
                            name: format!("{name}: {}", t_string!(i18n, ep_support_loss)),
                            color: loss,
                            points: t.losses.clone(),
                            dots: true,
                        },
                        Series {
                            name: format!("{name}: {}", t_string!(i18n, ep_query_accuracy)),
                            color: accuracy,
                            points: t.accuracy.clone(),
                            dots: true,
                        },
                    ]
                })
                .collect()
        })
    });
    view! {
        <section class="page episode">
            <h2>{t!(i18n, ep_title)}</h2>
            <p class="explain">{t!(i18n, ep_explain)}</p>
            <SettingNotes notes=notes />
            <form class="settings" on:submit=|ev| ev.prevent_default()>
                <NumberField label=Signal::derive(move || t_string!(i18n, ep_way)) id="episode-way" value=way range=2..=5 />
                <NumberField label=Signal::derive(move || t_string!(i18n, ep_shot)) id="episode-shot" value=shot range=1..=10 />
                <NumberField label=Signal::derive(move || t_string!(i18n, pg_inner_steps)) id="episode-steps" value=steps range=0..=20 />
            </form>
            <div class="controls">
                <button id="episode-button" class="primary" on:click=start
                    disabled=move || !ready() || run.with(|r| r.running)>{t!(i18n, ep_new_episode)}</button>
                <span class="muted">{move || (!ready()).then(|| t_string!(i18n, ep_loading_mnist))}</span>
                {move || pool.progress.with(|p| p.error.clone()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </div>
            {move || run.with(|r| r.error.clone()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || run.with(|r| r.episode.clone()).map(|episode| view! {
                <h3>{t!(i18n, ep_support_set)}</h3>
                <SupportImages episode=episode.clone() />
                <div class="traces">
                    {(0..NETWORKS.len()).map(|index| view! {
                        <TraceTable episode=episode.clone() run=run index=index />
                    }).collect_view()}
                </div>
            })}
            <LineChart series=charts x_label=Signal::derive(move || t_string!(i18n, pg_inner_step)) y_range=(0.0, 2.0)
                title=Signal::derive(move || t_string!(i18n, ep_chart_title)) />
        </section>
    }
}

/// The support images with their task labels and digits.
#[component]
fn SupportImages(episode: Episode) -> impl IntoView {
    let i18n = use_i18n();
    let images = (0..episode.support.len())
        .map(|i| {
            let pixels = episode.support.image(i).to_vec();
            let label = episode.support.labels[i];
            let digit = episode.classes[usize::from(label)];
            view! {
                <figure class="example">
                    <Thumb pixels=Signal::derive(move || Some(pixels.clone())) class="thumb"
                        label=fill(t_string!(i18n, ep_support_image), &[("label", &label), ("digit", &digit)]) />
                    <figcaption>{t!(i18n, ep_support_caption, label = move || label, digit = move || digit)}</figcaption>
                </figure>
            }
        })
        .collect_view();
    view! { <div class="examples" id="episode-support">{images}</div> }
}

/// One network's predictions for every query image, step by step.
#[component]
fn TraceTable(episode: Episode, run: RwSignal<EpisodeRun>, index: usize) -> impl IntoView {
    let i18n = use_i18n();
    let trace = move || run.with(|r| r.traces.get(index).cloned().unwrap_or_default());
    let rows = (0..episode.query.len())
        .map(|i| {
            let pixels = episode.query.image(i).to_vec();
            let truth = usize::from(episode.query.labels[i]);
            view! {
                <tr>
                    <td><Thumb pixels=Signal::derive(move || Some(pixels.clone())) class="thumb"
                        label=fill(t_string!(i18n, ep_query_image), &[("label", &truth)]) /></td>
                    <td>{truth}</td>
                    {move || trace().predictions.iter().map(|p| {
                        let guess = p[i];
                        view! { <td class=if guess == truth { "right" } else { "wrong" }>{guess}</td> }
                    }).collect_view()}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="trace-block">
            <h3>{move || trace().title.map(|t| t.shown(i18n))}</h3>
            <table class="trace" id=format!("episode-trace-{index}")>
                <thead><tr><th>{t!(i18n, ep_image)}</th><th>{t!(i18n, ep_label)}</th>
                    {move || (0..trace().predictions.len()).map(|s| view! { <th>{t!(i18n, ep_step, n = move || s)}</th> }).collect_view()}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
