//! The Playground page, the app's front door: draw symbols, adapt the meta-trained network to
//! them in the browser, and compare it with a network that learned nothing across tasks.
//!
//! Two modes. *New symbols*: name 2–10 classes, draw a few examples of each, adapt, then draw a
//! test symbol: the meta-learned network is shown next to the same network adapted from a
//! random initialisation. *My handwriting*: the same with digits, next to the plain MNIST
//! classifier. Galleries are saved in browser storage after every change and can be exported
//! and imported as JSON; the maths is in [`crate::playground`].

pub(super) mod pad;
mod storage;

use super::chart::{LineChart, Series};
use super::train_page::yield_to_page;
use super::weights;
use crate::backend::{Backend, BackendKind};
use crate::bench::now_ms;
use crate::data::ImageSet;
use crate::model::Network;
use crate::model::catalog::{Catalog, WeightsEntry};
use crate::playground::adapt::{AdaptError, Adaptation, Start, argmax, probabilities};
use crate::playground::gallery::{CLASS_RANGE, Gallery};
use leptos::prelude::*;
use pad::{DrawingPad, Pad, Thumb};

/// Which kind of classes the person teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Symbols,
    Digits,
}

impl Mode {
    fn key(self) -> &'static str {
        match self {
            Mode::Symbols => "symbols",
            Mode::Digits => "digits",
        }
    }

    fn fresh_gallery(self) -> Gallery {
        match self {
            Mode::Symbols => Gallery::new(&["★", "●", "▲"]),
            Mode::Digits => Gallery::new(&["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]),
        }
    }
}

/// One side of the before/after comparison: a title and probabilities per class name.
#[derive(Debug, Clone, PartialEq)]
struct Panel {
    title: String,
    names: Vec<String>,
    probabilities: Vec<f32>,
}

/// What the adaptation panel shows.
#[derive(Debug, Clone, Default, PartialEq)]
struct AdaptView {
    running: bool,
    done: bool,
    step: usize,
    steps: usize,
    meta_losses: Vec<(f64, f64)>,
    baseline_losses: Vec<(f64, f64)>,
    milliseconds: Option<f64>,
    support_accuracy: Option<f64>,
    /// Gallery version the models were adapted to.
    version: u32,
    names: Vec<String>,
}

/// The networks adapted to the current gallery.
struct Adapted {
    meta: Adaptation,
    baseline: Option<Adaptation>,
}

fn number_param<T: std::str::FromStr>(name: &str, default: T) -> T {
    super::query_param(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The Playground page.
#[component]
pub fn PlaygroundPage(
    /// Device to adapt on.
    backend: Backend,
    /// Called when the GPU fails mid-adaptation, so the app can fall back to the CPU.
    on_device_lost: impl Fn(String) + Send + Sync + 'static,
) -> impl IntoView {
    let device = backend.device.clone();
    let is_gpu = backend.kind == BackendKind::WebGpu;
    let on_device_lost = StoredValue::new(on_device_lost);

    let mode = RwSignal::new(Mode::Symbols);
    let message = RwSignal::new(None::<String>);
    let load_gallery = move |m: Mode| match storage::load(m.key()) {
        Some(Ok(gallery)) => gallery,
        Some(Err(e)) => {
            message.set(Some(format!(
                "The saved {} gallery could not be read ({e}); starting a new one. The old one stays in storage until you change this one.",
                m.key()
            )));
            m.fresh_gallery()
        }
        None => m.fresh_gallery(),
    };
    let gallery = RwSignal::new(load_gallery(Mode::Symbols));
    let version = RwSignal::new(0u32);
    let selected = RwSignal::new(0usize);
    let pad = Pad::default();

    // Every change is saved at once.
    let edit = move |change: &mut dyn FnMut(&mut Gallery) -> Result<(), String>| {
        let mut next = gallery.get_untracked();
        match change(&mut next) {
            Ok(()) => {
                if let Err(e) = storage::save(mode.get_untracked().key(), &next) {
                    message.set(Some(e));
                }
                gallery.set(next);
                version.update(|v| *v += 1);
            }
            Err(e) => message.set(Some(e)),
        }
    };

    // Weights: the catalogue, the chosen meta-trained network and the plain classifier.
    let catalog = RwSignal::new(None::<Result<Catalog, String>>);
    let choice = RwSignal::new(None::<String>);
    let models = StoredValue::new_local(Vec::<(String, Network)>::new());
    let weights_status = RwSignal::new(String::from("Loading the weights catalogue…"));
    let loading = RwSignal::new(true);
    let load_device = device.clone();
    let ensure_loaded = move |entry: WeightsEntry| {
        let device = load_device.clone();
        async move {
            if let Some(model) = models.with_value(|m| {
                m.iter()
                    .find(|(f, _)| *f == entry.file)
                    .map(|(_, m)| m.clone())
            }) {
                return Ok(model);
            }
            weights_status.set(format!(
                "Loading {} ({:.1} MB)…",
                entry.file,
                entry.bytes as f64 / 1e6
            ));
            let model = weights::load(&entry, &device).await?;
            models.update_value(|m| m.push((entry.file.clone(), model.clone())));
            weights_status.set(format!("Loaded {}.", entry.file));
            Ok::<_, String>(model)
        }
    };
    let meta_entries = move || {
        catalog.with(|c| match c {
            Some(Ok(c)) => c
                .entries
                .iter()
                .filter(|e| e.protocol == "digits" && !e.algorithm.contains("rates"))
                .cloned()
                .collect(),
            _ => Vec::new(),
        })
    };
    let classifier_entry = move || {
        catalog.with(|c| match c {
            Some(Ok(c)) => c
                .entries
                .iter()
                .find(|e| e.algorithm == "classifier")
                .cloned(),
            _ => None,
        })
    };
    let chosen_entry = move || {
        let file = choice.get();
        meta_entries()
            .into_iter()
            .find(|e| Some(&e.file) == file.as_ref())
    };
    {
        let ensure_loaded = ensure_loaded.clone();
        leptos::task::spawn_local(async move {
            match weights::catalog().await {
                Ok(found) => {
                    let first = found
                        .entries
                        .iter()
                        .find(|e| e.protocol == "digits" && e.algorithm == "protonet")
                        .or_else(|| found.entries.iter().find(|e| e.protocol == "digits"))
                        .cloned();
                    catalog.set(Some(Ok(found)));
                    match first {
                        Some(entry) => {
                            choice.set(Some(entry.file.clone()));
                            if let Err(e) = ensure_loaded(entry.clone()).await {
                                weights_status.set(e);
                            }
                        }
                        None => weights_status
                            .set("The catalogue lists no meta-trained network.".into()),
                    }
                }
                Err(e) => {
                    weights_status.set(e.clone());
                    catalog.set(Some(Err(e)));
                }
            }
            loading.set(false);
        });
    }

    let steps = RwSignal::new(number_param("steps", 10usize));
    let learning_rate = RwSignal::new(number_param("inner_lr", 0.5f64));
    let view_state = RwSignal::new(AdaptView::default());
    let adapted = StoredValue::new_local(None::<Adapted>);
    let generation = StoredValue::new(0u32);
    let prediction = RwSignal::new(None::<(Panel, Panel)>);

    let adapt_device = device.clone();
    let ensure_for_adapt = ensure_loaded.clone();
    let adapt = move || {
        let gallery_now = gallery.get_untracked();
        if !gallery_now.missing().is_empty() {
            return;
        }
        let Some(entry) = chosen_entry() else {
            message.set(Some("No meta-trained network is loaded yet.".into()));
            return;
        };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        let device = adapt_device.clone();
        let ensure_loaded = ensure_for_adapt.clone();
        let names: Vec<String> = gallery_now.classes.iter().map(|c| c.name.clone()).collect();
        let total = steps.get_untracked();
        let lr = learning_rate.get_untracked();
        let with_baseline = mode.get_untracked() == Mode::Symbols;
        view_state.set(AdaptView {
            running: true,
            steps: total,
            version: version.get_untracked(),
            names: names.clone(),
            ..AdaptView::default()
        });
        prediction.set(None);
        message.set(None);
        leptos::task::spawn_local(async move {
            let outcome: Result<(), AdaptError> = async {
                let features = ensure_loaded(entry.clone())
                    .await
                    .map_err(AdaptError::Device)?;
                let support = gallery_now.support_set();
                let way = names.len();
                let started = now_ms();
                let adaptation =
                    |start| Adaptation::new(start, &features, &support, way, total, lr, &device);
                let mut meta = adaptation(Start::MetaLearned);
                let mut baseline = with_baseline.then(|| adaptation(Start::RandomInit));
                while !meta.finished() {
                    let loss = meta.step().await?;
                    let baseline_loss = match baseline.as_mut() {
                        Some(b) => Some(b.step().await?),
                        None => None,
                    };
                    if generation.get_value() != mine {
                        return Ok(()); // a newer Adapt click took over
                    }
                    view_state.update(|v| {
                        v.step += 1;
                        v.meta_losses.push((v.step as f64, f64::from(loss)));
                        if let Some(l) = baseline_loss {
                            v.baseline_losses.push((v.step as f64, f64::from(l)));
                        }
                    });
                    yield_to_page().await;
                }
                let accuracy = meta.support_accuracy().await?;
                let elapsed = now_ms() - started;
                if generation.get_value() == mine {
                    view_state.update(|v| {
                        v.running = false;
                        v.done = true;
                        v.milliseconds = Some(elapsed);
                        v.support_accuracy = Some(accuracy);
                    });
                    adapted.set_value(Some(Adapted { meta, baseline }));
                }
                Ok(())
            }
            .await;
            if generation.get_value() != mine {
                return;
            }
            if let Err(error) = outcome {
                view_state.update(|v| v.running = false);
                match error {
                    AdaptError::Device(reason) if is_gpu => {
                        on_device_lost.with_value(|lost| lost(reason));
                    }
                    other => message.set(Some(other.to_string())),
                }
            }
        });
    };

    let ensure_for_predict = ensure_loaded.clone();
    let predict = move || {
        let image = match pad.image.get_untracked() {
            Ok(image) => image,
            Err(e) => {
                message.set(Some(e.to_string()));
                return;
            }
        };
        let names = view_state.with_untracked(|v| v.names.clone());
        let Some(Adapted { meta, baseline }) = adapted.try_update_value(Option::take).flatten()
        else {
            message.set(Some(
                "Adapt first: the network has not seen your examples yet.".into(),
            ));
            return;
        };
        let current_mode = mode.get_untracked();
        let classifier = classifier_entry();
        let ensure_loaded = ensure_for_predict.clone();
        let checkpoint = choice.get_untracked().unwrap_or_default();
        leptos::task::spawn_local(async move {
            let test = ImageSet {
                labels: vec![0],
                pixels: image,
            };
            let outcome: Result<(Panel, Panel), String> = async {
                let adapted_panel = Panel {
                    title: format!("Meta-learned ({checkpoint}), adapted"),
                    names: names.clone(),
                    probabilities: meta.probabilities(&test).await.map_err(|e| e.to_string())?[0]
                        .clone(),
                };
                let other = match (current_mode, &baseline, classifier) {
                    (Mode::Symbols, Some(b), _) => Panel {
                        title: "Random init, same steps (no meta-learning)".into(),
                        names: names.clone(),
                        probabilities: b.probabilities(&test).await.map_err(|e| e.to_string())?[0]
                            .clone(),
                    },
                    (_, _, Some(entry)) => {
                        let model = ensure_loaded(entry).await?;
                        Panel {
                            title: "Plain MNIST classifier (no adaptation)".into(),
                            names: (0..10).map(|d| d.to_string()).collect(),
                            probabilities: probabilities(&model, &test, &test)
                                .await
                                .map_err(|e| e.to_string())?[0]
                                .clone(),
                        }
                    }
                    _ => return Err("no network to compare with".into()),
                };
                Ok(match current_mode {
                    Mode::Symbols => (adapted_panel, other),
                    Mode::Digits => (other, adapted_panel),
                })
            }
            .await;
            adapted.set_value(Some(Adapted { meta, baseline }));
            match outcome {
                Ok(panels) => prediction.set(Some(panels)),
                Err(e) => message.set(Some(e)),
            }
        });
    };

    let add_drawing = move || match pad.image.get_untracked() {
        Ok(image) => {
            let class = selected.get_untracked();
            edit(&mut |g: &mut Gallery| g.add(class, image.clone()).map_err(|e| e.to_string()));
            pad.clear();
        }
        Err(e) => message.set(Some(e.to_string())),
    };

    let switch_mode = move |next: Mode| {
        if next != mode.get_untracked() {
            mode.set(next);
            gallery.set(load_gallery(next));
            version.update(|v| *v += 1);
            selected.set(0);
            view_state.set(AdaptView::default());
            prediction.set(None);
            adapted.set_value(None);
        }
    };

    // Keyboard shortcuts (not while typing in a field).
    let adapt_key = adapt.clone();
    let predict_key = predict.clone();
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|e| match e.tag_name().as_str() {
                // A ticked checkbox keeps the focus; the keys should still reach the pad.
                "INPUT" => !matches!(
                    e.get_attribute("type").as_deref(),
                    Some("checkbox" | "radio" | "button" | "file")
                ),
                tag => matches!(tag, "SELECT" | "TEXTAREA"),
            });
        if typing || ev.alt_key() || ev.meta_key() {
            return;
        }
        let key = ev.key();
        match key.as_str() {
            "z" if ev.ctrl_key() => pad.undo(),
            "u" | "Backspace" => pad.undo(),
            "Escape" | "c" => pad.clear(),
            "Enter" => add_drawing(),
            "a" => adapt_key(),
            "p" => predict_key(),
            digit if digit.len() == 1 && digit.as_bytes()[0].is_ascii_digit() => {
                let n = usize::from(digit.as_bytes()[0] - b'0');
                let index = if n == 0 { 9 } else { n - 1 };
                if index < gallery.with_untracked(|g| g.classes.len()) {
                    selected.set(index);
                }
            }
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || handle.remove());

    let import_input = NodeRef::<leptos::html::Input>::new();
    let on_import = move |_| {
        let Some(input) = import_input.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            match storage::import(&input).await {
                Ok(imported) => {
                    edit(&mut |g: &mut Gallery| {
                        *g = imported.clone();
                        Ok(())
                    });
                    selected.set(0);
                    message.set(Some(format!(
                        "Imported {} classes.",
                        gallery.with_untracked(|g| g.classes.len())
                    )));
                }
                Err(e) => message.set(Some(format!(
                    "Import failed, your gallery is unchanged: {e}"
                ))),
            }
            input.set_value("");
        });
    };

    let missing = move || {
        gallery.with(|g| {
            g.missing()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        })
    };
    let adapt_blocked = move || {
        let missing = missing();
        if !missing.is_empty() {
            Some(format!(
                "Draw at least one example of: {}",
                missing.join(", ")
            ))
        } else if chosen_entry().is_none() {
            Some("Waiting for the meta-trained weights…".into())
        } else {
            None
        }
    };
    let stale = move || view_state.with(|v| v.done && v.version != version.get());
    let loss_series = Signal::derive(move || {
        view_state.with(|v| {
            let mut series = vec![Series {
                name: "meta-learned",
                color: "#2b8a3e",
                points: v.meta_losses.clone(),
                dots: false,
            }];
            if !v.baseline_losses.is_empty() {
                series.push(Series {
                    name: "random init",
                    color: "#e8590c",
                    points: v.baseline_losses.clone(),
                    dots: false,
                });
            }
            series
        })
    });
    let adapt_click = adapt.clone();
    let predict_click = predict.clone();

    view! {
        <section class="page playground">
            <h2>"Playground: teach the network new symbols from a few drawings"</h2>
            <p class="explain">
                "The network was meta-trained to learn new classes from a handful of examples. Draw a few "
                "examples of each class, press Adapt, then draw a test symbol and press Predict."
            </p>
            <div class="modes" role="tablist">
                <button id="mode-symbols" role="tab" aria-selected=move || (mode.get() == Mode::Symbols).to_string()
                    class:active=move || mode.get() == Mode::Symbols on:click=move |_| switch_mode(Mode::Symbols)>"New symbols"</button>
                <button id="mode-digits" role="tab" aria-selected=move || (mode.get() == Mode::Digits).to_string()
                    class:active=move || mode.get() == Mode::Digits on:click=move |_| switch_mode(Mode::Digits)>"My handwriting"</button>
            </div>
            {move || message.get().map(|m| view! {
                <p id="playground-message" class="notice" role="status">{m}
                    <button class="link" on:click=move |_| message.set(None)>"dismiss"</button></p>
            })}
            <div class="workbench">
                <div class="drawing">
                    <DrawingPad pad=pad />
                    <div class="controls">
                        <button id="undo-button" on:click=move |_| pad.undo() disabled=move || pad.stroke_count() == 0>"Undo stroke"</button>
                        <button id="clear-button" on:click=move |_| pad.clear() disabled=move || pad.stroke_count() == 0>"Clear"</button>
                    </div>
                    <p class="shortcuts">"Keys: Enter add to class · 1–9, 0 pick class · U or Ctrl+Z undo · C or Esc clear · A adapt · P predict"</p>
                </div>
                <div class="network-view">
                    <p class="muted">"What the network sees (28×28):"</p>
                    <Thumb pixels=Signal::derive(move || pad.image.get().ok()) class="preview" />
                    <p id="drawing-status" class="muted">{move || match pad.image.get() {
                        Ok(_) => "ready".to_string(),
                        Err(e) => e.to_string(),
                    }}</p>
                    <label class="field">"Add to class"
                        <select id="class-select" on:change=move |ev| {
                            if let Ok(i) = event_target_value(&ev).parse() { selected.set(i) }
                        } prop:value=move || selected.get().to_string()>
                            {move || gallery.with(|g| g.classes.iter().enumerate().map(|(i, c)| {
                                let label = format!("{} · {}", i + 1, c.name);
                                view! { <option value=i.to_string()>{label}</option> }
                            }).collect_view())}
                        </select>
                    </label>
                    <button id="add-button" class="primary" on:click=move |_| add_drawing()
                        disabled=move || pad.image.with(Result::is_err)>"Add example"</button>
                    <p class="muted">"After adapting, draw a new symbol to test:"</p>
                    <button id="predict-button" class="primary" on:click=move |_| predict_click()
                        disabled=move || !view_state.with(|v| v.done) || pad.image.with(Result::is_err)>"Predict"</button>
                </div>
            </div>
            {move || prediction.get().map(|(left, right)| view! {
                <div class="comparison">
                    <Bars panel=left id="left-panel" />
                    <Bars panel=right id="right-panel" />
                </div>
            })}

            <h3>"Your classes"</h3>
            <GalleryView gallery=gallery mode=mode edit=edit selected=selected />

            <h3>"Adapt"</h3>
            <form class="settings" on:submit=|ev| ev.prevent_default()>
                <label class="field" for="checkpoint">"Meta-trained network"
                    <select id="checkpoint" on:change=move |ev| choice.set(Some(event_target_value(&ev)))>
                        {move || meta_entries().into_iter().map(|e| {
                            let selected_now = choice.get().as_deref() == Some(e.file.as_str());
                            let label = format!("{} ({})", e.algorithm, e.file);
                            view! { <option value=e.file.clone() selected=selected_now>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label class="field" for="steps">"Inner steps"
                    <input id="steps" type="number" min="0" max="100" prop:value=move || steps.get().to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<usize>() { steps.set(v.min(100)) } } />
                </label>
                <label class="field" for="inner-lr">"Inner learning rate"
                    <input id="inner-lr" type="number" step="any" min="0" prop:value=move || learning_rate.get().to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<f64>() { learning_rate.set(v) } } />
                </label>
            </form>
            <p id="weights-status" class="muted">
                {move || loading.get().then(|| view! { <progress class="busy"></progress>" " })}
                {move || weights_status.get()}
            </p>
            <div class="controls">
                <button id="adapt-button" class="primary" on:click=move |_| adapt_click()
                    disabled=move || adapt_blocked().is_some()>
                    {move || if view_state.with(|v| v.running) { "Restart adaptation" } else { "Adapt" }}
                </button>
                <span id="adapt-hint" class="muted">{move || adapt_blocked()}</span>
                {move || stale().then(|| view! { <span class="warn">"Your classes changed since adapting — adapt again."</span> })}
            </div>
            <div class="progress-row">
                <progress id="adapt-progress" max="1" value=move || view_state.with(|v| if v.steps == 0 { f64::from(u8::from(v.done)) } else { v.step as f64 / v.steps as f64 })></progress>
                <span id="adapt-status">{move || view_state.with(|v| match (v.running, v.done) {
                    (true, _) => format!("step {}/{}", v.step, v.steps),
                    (false, true) => format!(
                        "adapted in {:.0} ms · support accuracy {:.0} %",
                        v.milliseconds.unwrap_or(0.0),
                        100.0 * v.support_accuracy.unwrap_or(0.0)
                    ),
                    _ => "not adapted yet".into(),
                })}</span>
            </div>
            <LineChart series=loss_series x_label="inner step" title="support loss per step" />

            <h3>"Keep your work"</h3>
            <p class="muted">"Your classes and drawings are saved in this browser after every change."</p>
            <div class="controls">
                <button id="export-button" on:click=move |_| {
                    let name = format!("fewshot-lab-{}.json", mode.get_untracked().key());
                    if let Err(e) = storage::export(&gallery.get_untracked(), &name) { message.set(Some(e)) }
                }>"Export…"</button>
                <label class="button-like" for="import-file">"Import…"</label>
                <input id="import-file" class="visually-hidden" type="file" accept=".json,application/json"
                    node_ref=import_input on:change=on_import />
                <button id="new-gallery-button" on:click=move |_| {
                    let m = mode.get_untracked();
                    edit(&mut |g: &mut Gallery| { *g = m.fresh_gallery(); Ok(()) });
                }>"Start over"</button>
            </div>
        </section>
    }
}

/// Adds digit class `name` (in digit order) or removes it if it has no examples.
fn toggle_digit(gallery: &mut Gallery, name: &str) -> Result<(), String> {
    match gallery.classes.iter().position(|c| c.name == name) {
        Some(i) if !gallery.classes[i].examples.is_empty() => Err(format!(
            "Digit {name} still has examples: delete them first."
        )),
        Some(_) if gallery.classes.len() <= *CLASS_RANGE.start() => {
            Err("Teach at least two digits.".into())
        }
        Some(i) => {
            gallery.classes.remove(i);
            Ok(())
        }
        None => {
            let at = gallery
                .classes
                .iter()
                .take_while(|c| c.name.as_str() < name)
                .count();
            let class = crate::playground::gallery::SymbolClass {
                name: name.into(),
                examples: Vec::new(),
            };
            gallery.classes.insert(at, class);
            Ok(())
        }
    }
}

/// Probability bars for one network's prediction.
#[component]
fn Bars(panel: Panel, id: &'static str) -> impl IntoView {
    let best = argmax(&panel.probabilities);
    let predicted = panel.names.get(best).cloned().unwrap_or_default();
    let rows = panel
        .names
        .iter()
        .zip(&panel.probabilities)
        .enumerate()
        .map(|(i, (name, p))| {
            let width = format!("width: {:.1}%", 100.0 * p);
            view! {
                <div class="bar-row" class:best=i == best>
                    <span class="bar-name">{name.clone()}</span>
                    <span class="bar"><span class="fill" style=width></span></span>
                    <span class="bar-value">{format!("{:.0} %", 100.0 * p)}</span>
                </div>
            }
        })
        .collect_view();
    let shown = predicted.clone();
    view! {
        <div class="bars" id=id data-predicted=predicted>
            <h4>{panel.title}</h4>
            <p class="prediction">"Prediction: "<strong class="predicted">{shown}</strong></p>
            {rows}
        </div>
    }
}

/// The classes with their examples: rename, add or remove classes, delete or move examples.
#[component]
fn GalleryView(
    gallery: RwSignal<Gallery>,
    mode: RwSignal<Mode>,
    edit: impl Fn(&mut dyn FnMut(&mut Gallery) -> Result<(), String>) + Copy + Send + Sync + 'static,
    selected: RwSignal<usize>,
) -> impl IntoView {
    let class_count = move || gallery.with(|g| g.classes.len());
    let gallery_full = move || class_count() >= *CLASS_RANGE.end();
    let gallery_minimal = move || class_count() <= *CLASS_RANGE.start();
    view! {
        <div id="gallery" class="gallery">
            {move || {
                let classes = gallery.get().classes;
                let names: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
                classes.into_iter().enumerate().map(|(class, c)| {
                    let names = names.clone();
                    let count = c.examples.len();
                    let examples = c.examples.into_iter().enumerate().map(|(index, pixels)| {
                        let names = names.clone();
                        view! {
                            <figure class="example">
                                <Thumb pixels=Signal::derive(move || Some(pixels.clone())) class="thumb" />
                                <button class="delete" title="Delete this example" aria-label="Delete this example"
                                    on:click=move |_| edit(&mut |g: &mut Gallery| { g.remove(class, index); Ok(()) })>"×"</button>
                                <select class="relabel" title="Move to another class" on:change=move |ev| {
                                    if let Ok(to) = event_target_value(&ev).parse::<usize>() && to != class {
                                        edit(&mut |g: &mut Gallery| g.relabel(class, index, to).map_err(|e| e.to_string()));
                                    }
                                }>
                                    {names.iter().enumerate().map(|(i, n)| view! {
                                        <option value=i.to_string() selected=i == class>{n.clone()}</option>
                                    }).collect_view()}
                                </select>
                            </figure>
                        }
                    }).collect_view();
                    view! {
                        <div class="class-row" class:selected=move || selected.get() == class data-count=count>
                            <div class="class-head">
                                {move || if mode.get() == Mode::Symbols {
                                    view! {
                                        <input class="class-name" aria-label="Class name" maxlength="12" prop:value=c.name.clone()
                                            on:change=move |ev| {
                                                let name = event_target_value(&ev);
                                                edit(&mut |g: &mut Gallery| { g.classes[class].name = name.clone(); Ok(()) });
                                            } />
                                    }.into_any()
                                } else {
                                    view! { <span class="class-name digit">{c.name.clone()}</span> }.into_any()
                                }}
                                <span class="count">{format!("{count} example{}", if count == 1 { "" } else { "s" })}</span>
                                <button class="link" on:click=move |_| selected.set(class)>"draw for this class"</button>
                            </div>
                            <div class="examples">{examples}</div>
                        </div>
                    }
                }).collect_view()
            }}
            {move || (mode.get() == Mode::Symbols).then(|| view! {
                <div class="controls">
                    <button id="add-class-button" disabled=gallery_full
                        on:click=move |_| edit(&mut |g: &mut Gallery| {
                            let name = ["◆", "✚", "♥", "☾", "☀", "♪", "⬟"][g.classes.len().saturating_sub(3) % 7];
                            g.classes.push(crate::playground::gallery::SymbolClass { name: name.into(), examples: Vec::new() });
                            Ok(())
                        })>"Add a class"</button>
                    <button id="remove-class-button" disabled=gallery_minimal
                        on:click=move |_| edit(&mut |g: &mut Gallery| {
                            match g.classes.last() {
                                Some(last) if !last.examples.is_empty() => Err(format!("Class {} still has examples: delete them first.", last.name)),
                                _ => { g.classes.pop(); Ok(()) }
                            }
                        })>"Remove the last class"</button>
                </div>
            })}
            {move || (mode.get() == Mode::Digits).then(|| view! {
                <fieldset class="digit-picker">
                    <legend>"Digits to teach"</legend>
                    {(0..10u8).map(|digit| {
                        let name = digit.to_string();
                        let taught = {
                            let name = name.clone();
                            move || gallery.with(|g| g.classes.iter().any(|c| c.name == name))
                        };
                        view! {
                            <label class="digit-choice">
                                <input type="checkbox" prop:checked=taught on:change=move |_| {
                                    let name = name.clone();
                                    edit(&mut |g: &mut Gallery| toggle_digit(g, &name));
                                } />
                                {digit.to_string()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            })}
        </div>
    }
}
