//! The Episode page (`?page=episode`): one few-shot task, opened up. It draws an N-way K-shot
//! episode from the MNIST test split, adapts the shipped meta-trained network to the support set step by step, and shows the support images, the
//! query images with their predicted labels before and after every inner step, and the support
//! loss and query accuracy per step.

use super::chart::{LineChart, Series};
use super::loader::{self, DataPool};
use super::playground::pad::Thumb;
use super::train_page::{NumberField, yield_to_page};
use super::weights;
use crate::backend::Backend;
use crate::data::episode::{ClassPool, Episode, EpisodeSpec};
use crate::playground::adapt::{Adaptation, Start, argmax};
use crate::rng::Rng;
use leptos::prelude::*;

/// What one run of the episode produced.
#[derive(Debug, Clone, Default, PartialEq)]
struct Trace {
    episode: Option<Episode>,
    /// Predicted label of every query image, before any step and after each.
    predictions: Vec<Vec<usize>>,
    /// Support loss before each step.
    losses: Vec<(f64, f64)>,
    /// Query accuracy before any step and after each.
    accuracy: Vec<(f64, f64)>,
    error: Option<String>,
    running: bool,
}

/// The Episode page.
#[component]
pub fn EpisodePage(
    /// Device to adapt on.
    backend: Backend,
) -> impl IntoView {
    let pool = DataPool::default();
    loader::start(pool);
    let device = backend.device.clone();
    let way = RwSignal::new(5usize);
    let shot = RwSignal::new(1usize);
    let steps = RwSignal::new(5usize);
    let learning_rate = RwSignal::new(0.5f64);
    let seed = StoredValue::new(1u64);
    let trace = RwSignal::new(Trace::default());

    let run = move |_| {
        let device = device.clone();
        let spec = EpisodeSpec {
            way: way.get_untracked().clamp(2, 10),
            shot: shot.get_untracked().clamp(1, 10),
            query: 3,
        };
        let (total, lr) = (steps.get_untracked().min(50), learning_rate.get_untracked());
        seed.update_value(|s| *s += 1);
        let mut rng = Rng::new(seed.get_value());
        let episode = pool.test.with_value(|test| {
            let digits: Vec<usize> = (0..10).collect();
            ClassPool::from_labels(test).sample(&digits, spec, &mut rng)
        });
        let episode = match episode {
            Ok(e) => e,
            Err(e) => {
                trace.set(Trace {
                    error: Some(e.to_string()),
                    ..Trace::default()
                });
                return;
            }
        };
        trace.set(Trace {
            episode: Some(episode.clone()),
            running: true,
            ..Trace::default()
        });
        leptos::task::spawn_local(async move {
            let outcome: Result<(), String> = async {
                let catalog = weights::catalog().await?;
                let entry = catalog
                    .entries
                    .iter()
                    .find(|e| e.protocol == "digits" && e.algorithm == "protonet")
                    .ok_or("the catalogue lists no meta-trained network")?;
                let features = weights::load(entry, &device).await?;
                let mut adaptation = Adaptation::new(
                    Start::MetaLearned,
                    &features,
                    &episode.support,
                    spec.way,
                    total,
                    lr,
                    &device,
                );
                loop {
                    let rows = adaptation
                        .probabilities(&episode.query)
                        .await
                        .map_err(|e| e.to_string())?;
                    let predicted: Vec<usize> = rows.iter().map(|p| argmax(p)).collect();
                    let correct = predicted
                        .iter()
                        .zip(&episode.query.labels)
                        .filter(|(p, l)| **p == usize::from(**l))
                        .count();
                    trace.update(|t| {
                        let step = t.predictions.len() as f64;
                        t.accuracy
                            .push((step, correct as f64 / predicted.len() as f64));
                        t.predictions.push(predicted);
                    });
                    if adaptation.finished() {
                        break;
                    }
                    let loss = adaptation.step().await.map_err(|e| e.to_string())?;
                    trace.update(|t| t.losses.push((t.losses.len() as f64, f64::from(loss))));
                    yield_to_page().await;
                }
                Ok(())
            }
            .await;
            trace.update(|t| {
                t.running = false;
                t.error = outcome.err();
            });
        });
    };

    let ready = move || pool.progress.with(|p| p.test_images > 0);
    let charts = Signal::derive(move || {
        trace.with(|t| {
            vec![
                Series {
                    name: "support loss",
                    color: "#d9480f",
                    points: t.losses.clone(),
                    dots: true,
                },
                Series {
                    name: "query accuracy",
                    color: "#2b8a3e",
                    points: t.accuracy.clone(),
                    dots: true,
                },
            ]
        })
    });
    view! {
        <section class="page episode">
            <h2>"One few-shot episode, step by step"</h2>
            <p class="explain">
                "An N-way K-shot task drawn from the MNIST test split (labels permuted: the task's label 0 can be any digit). "
                "The meta-trained network (digits-protonet, which saw other images of these digits) starts from its support "
                "prototypes, then takes SGD steps on the support set; each column shows what it predicts for the query "
                "images at that step, green when right."
            </p>
            <form class="settings" on:submit=|ev| ev.prevent_default()>
                <NumberField label="Way (2–10)" id="episode-way" value=way />
                <NumberField label="Shot" id="episode-shot" value=shot />
                <NumberField label="Inner steps" id="episode-steps" value=steps />
                <NumberField label="Inner learning rate" id="episode-lr" value=learning_rate />
            </form>
            <div class="controls">
                <button id="episode-button" class="primary" on:click=run
                    disabled=move || !ready() || trace.with(|t| t.running)>"New episode"</button>
                <span class="muted">{move || if ready() { String::new() } else { "Loading MNIST test images…".into() }}</span>
            </div>
            {move || trace.with(|t| t.error.clone()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || trace.get().episode.map(|episode| {
                let support = (0..episode.support.len()).map(|i| {
                    let pixels = episode.support.image(i).to_vec();
                    let label = episode.support.labels[i];
                    let digit = episode.classes[usize::from(label)];
                    view! {
                        <figure class="example">
                            <Thumb pixels=Signal::derive(move || Some(pixels.clone())) class="thumb" />
                            <figcaption>{format!("label {label} = {digit}")}</figcaption>
                        </figure>
                    }
                }).collect_view();
                let queries = (0..episode.query.len()).map(|i| {
                    let pixels = episode.query.image(i).to_vec();
                    let truth = usize::from(episode.query.labels[i]);
                    view! {
                        <tr>
                            <td><Thumb pixels=Signal::derive(move || Some(pixels.clone())) class="thumb" /></td>
                            <td>{truth}</td>
                            {move || trace.with(|t| t.predictions.iter().map(|p| {
                                let guess = p[i];
                                view! { <td class=if guess == truth { "right" } else { "wrong" }>{guess}</td> }
                            }).collect_view())}
                        </tr>
                    }
                }).collect_view();
                view! {
                    <h3>"Support set"</h3>
                    <div class="examples" id="episode-support">{support}</div>
                    <h3>"Query set: predicted label after each step"</h3>
                    <table class="trace" id="episode-trace">
                        <thead><tr><th>"image"</th><th>"label"</th>
                            {move || trace.with(|t| (0..t.predictions.len()).map(|s| view! { <th>{format!("step {s}")}</th> }).collect_view())}
                        </tr></thead>
                        <tbody>{queries}</tbody>
                    </table>
                }
            })}
            <LineChart series=charts x_label="inner step" y_range=(0.0, 2.0) title="support loss and query accuracy per step" />
        </section>
    }
}
