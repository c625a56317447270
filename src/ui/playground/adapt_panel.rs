//! The Playground's adaptation: choosing the network, the inner loop's steps and rate, Adapt
//! and the 1-shot challenge, each compared network's progress, time, loss curve and accuracy;
//! and the predictions for a drawing, side by side.

use super::Playground;
use super::comparison::{COLORS, Panel, RunView};
use crate::model::catalog::WeightsEntry;
use crate::playground::adapt::argmax;
use crate::playground::compare::{FINE_TUNE_LR, FINE_TUNE_STEPS};
use crate::playground::gallery::GalleryKind;
use crate::ui::chart::{LineChart, Series};
use crate::ui::i18n::{t, t_string, tu_string, use_i18n};
use crate::ui::jobs::Runner;
use crate::ui::language::fill;
use crate::ui::messages;
use crate::ui::widgets::NumberField;
use leptos::prelude::*;

/// The meta-trained network the page starts with: one whose inner loop starts from the
/// prototype output layer (it serves any number of classes), if the catalogue has one.
fn default_choice(entries: &[WeightsEntry]) -> Option<String> {
    entries
        .iter()
        .find(|e| e.inner.as_ref().is_some_and(|i| i.proto_head))
        .or(entries.first())
        .map(|e| e.file.clone())
}

/// Network choice, settings, Adapt, and the results of each compared network.
#[component]
pub fn AdaptPanel(
    state: Playground,
    adapt: impl Fn(bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let networks = state.networks;
    // Once the catalogue is in, choose a network and take its inner loop's settings.
    Effect::new(move |_| {
        let entries = networks.symbol_networks();
        let known = state.choice.with_untracked(|choice| {
            choice
                .as_ref()
                .is_some_and(|file| entries.iter().any(|e| &e.file == file))
        });
        if known || entries.is_empty() {
            return;
        }
        if let Some(asked) = state.choice.get_untracked() {
            state.message.set(Some(fill(
                tu_string!(i18n, pg_unknown_net),
                &[("asked", &asked)],
            )));
        }
        state.choice.set(default_choice(&entries));
    });
    Effect::new(move |_| {
        let file = state.choice.get();
        if state.url_inner_loop {
            return;
        }
        let entry = networks
            .symbol_networks()
            .into_iter()
            .find(|e| Some(&e.file) == file.as_ref());
        // The catalogued inner loop's steps and rate (none for prototypical networks: 5 × 0.5).
        if let Some(entry) = entry {
            let (steps, lr) = entry.inner.map_or((5, 0.5), |i| (i.steps, i.lr));
            state.steps.set(steps);
            state.learning_rate.set(lr);
        }
    });
    let view = state.comparison.view;
    let running = move || view.with(|v| v.running);
    let stale = move || view.with(|v| v.done && v.version != state.version.get());
    let blocked = move || state.adapt_blocked();
    let is_symbols = move || state.kind.get() == GalleryKind::Symbols;
    let loss_series = Signal::derive(move || {
        view.with(|v| {
            v.runs
                .iter()
                .zip(COLORS.iter().cycle())
                .map(|(run, color)| Series {
                    name: messages::label(i18n, &run.label),
                    color,
                    points: run.losses.clone(),
                    dots: false,
                })
                .collect()
        })
    });
    view! {
        <h3>{t!(i18n, pg_adapt_heading)}</h3>
        {move || is_symbols().then(|| view! {
            <form class="settings" on:submit=|ev| ev.prevent_default()>
                <label class="field" for="checkpoint">{t!(i18n, pg_network)}
                    <select id="checkpoint" on:change=move |ev| state.choice.set(Some(event_target_value(&ev)))>
                        {move || networks.symbol_networks().into_iter().map(|e| {
                            let chosen = state.choice.get().as_deref() == Some(e.file.as_str());
                            let label = format!("{} · {} ({})", e.algorithm, messages::architecture(i18n, &e.architecture()), e.file);
                            view! { <option value=e.file.clone() selected=chosen translate="no">{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <NumberField label=Signal::derive(move || t_string!(i18n, pg_inner_steps)) id="steps" value=state.steps range=0..=100 />
                <NumberField label=Signal::derive(move || t_string!(i18n, pg_inner_lr)) id="inner-lr" value=state.learning_rate range=0.0..=10.0 />
            </form>
        })}
        {move || (!is_symbols()).then(|| view! {
            <p class="muted">{move || fill(
                t_string!(i18n, pg_digits_compared),
                &[("steps", &FINE_TUNE_STEPS), ("lr", &FINE_TUNE_LR)],
            )}</p>
        })}
        <p id="weights-status" class="muted">
            {move || networks.busy.get().then(|| view! { <progress class="busy"></progress>" " })}
            {move || networks.status.get()}
        </p>
        <div class="controls">
            <button id="adapt-button" class="primary" on:click=move |_| adapt(false)
                disabled=move || blocked().is_some()>
                {move || if running() { t_string!(i18n, pg_restart) } else { t_string!(i18n, pg_adapt) }}
            </button>
            <button id="challenge-button" on:click=move |_| adapt(true) disabled=move || blocked().is_some()
                title=move || t_string!(i18n, pg_challenge_title)>{t!(i18n, pg_challenge)}</button>
            <span id="adapt-hint" class="muted">{blocked}</span>
            {move || stale().then(|| view! { <span class="warn">{t!(i18n, pg_stale)}</span> })}
        </div>
        {move || view.with(|v| v.notice.clone()).map(|n| view! { <p id="adapt-notice" class="notice">{n}</p> })}
        <div id="runs" class="runs" data-runner=move || view.with(|v| v.runner.map(Runner::name))>
            {move || view.get().runs.into_iter().zip(COLORS.iter().cycle()).enumerate()
                .map(|(i, (run, color))| view! { <RunRow run=run color=color index=i /> })
                .collect_view()}
        </div>
        {move || view.with(|v| v.challenge).map(|n| view! {
            <p id="challenge-summary" class="muted">{t!(i18n, pg_challenge_summary, n = move || n)}</p>
        })}
        <LineChart series=loss_series x_label=Signal::derive(move || t_string!(i18n, pg_inner_step))
            title=Signal::derive(move || t_string!(i18n, pg_loss_chart)) />
    }
}

/// One compared network: what it is, how it adapts, its progress and results.
#[component]
fn RunRow(run: RunView, color: &'static str, index: usize) -> impl IntoView {
    let i18n = use_i18n();
    let (done, total) = run.steps;
    let (error, milliseconds) = (run.error.clone(), run.milliseconds);
    let (support_accuracy, test_accuracy) = (run.support_accuracy, run.test_accuracy);
    let status = move || match (&error, milliseconds) {
        (Some(e), _) => e.clone(),
        (None, Some(ms)) => {
            let support = support_accuracy.map_or(String::new(), |a| {
                let accuracy = format!("{:.0}", 100.0 * a);
                fill(
                    t_string!(i18n, run_support_accuracy),
                    &[("accuracy", &accuracy)],
                )
            });
            let test = test_accuracy.map_or(String::new(), |a| {
                let accuracy = format!("{:.1}", 100.0 * a);
                fill(
                    t_string!(i18n, run_heldout_accuracy),
                    &[("accuracy", &accuracy)],
                )
            });
            let ms = format!("{ms:.0}");
            fill(t_string!(i18n, run_adapted_in), &[("ms", &ms)]) + &support + &test
        }
        (None, None) => fill(
            t_string!(i18n, run_step),
            &[("done", &done), ("total", &total)],
        ),
    };
    let accuracy = run.test_accuracy.map(|a| a.to_string());
    let ms = run.milliseconds.map(|m| format!("{m:.0}"));
    let progress = if total == 0 {
        f64::from(u8::from(run.milliseconds.is_some()))
    } else {
        done as f64 / total as f64
    };
    let (label, procedure) = (run.label.clone(), run.procedure.clone());
    view! {
        <div class="run" id=format!("run-{index}") data-label=run.label.to_string() data-test-accuracy=accuracy data-ms=ms>
            <span class="swatch" style=format!("background: {color}")></span>
            <div class="run-text">
                <strong class="run-label">{move || messages::label(i18n, &label)}</strong>
                <span class="muted run-procedure">{move || messages::procedure(i18n, &procedure)}</span>
                <span class="run-status">{status}</span>
            </div>
            <progress max="1" value=progress></progress>
        </div>
    }
}

/// Every network's prediction for the drawing, side by side.
#[component]
pub fn Predictions(panels: Vec<Panel>) -> impl IntoView {
    view! {
        <div class="comparison" id="predictions">
            {panels.into_iter().enumerate().map(|(i, panel)| view! { <Bars panel=panel index=i /> }).collect_view()}
        </div>
    }
}

/// A live region, present from the start so screen readers announce each new prediction.
#[component]
pub fn PredictionAnnouncer(panels: Signal<Option<Vec<Panel>>>) -> impl IntoView {
    let i18n = use_i18n();
    let spoken = move || {
        panels.with(|panels| {
            panels.as_ref().map(|panels| {
                let each: Vec<String> = panels
                    .iter()
                    .map(|p| format!("{}: {}", messages::label(i18n, &p.title), p.predicted()))
                    .collect();
                fill(
                    t_string!(i18n, pg_predictions),
                    &[("each", &each.join("; "))],
                )
            })
        })
    };
    view! { <p id="prediction-announcer" class="visually-hidden" aria-live="polite">{spoken}</p> }
}

/// Probability bars for one network's prediction.
#[component]
fn Bars(panel: Panel, index: usize) -> impl IntoView {
    let best = argmax(&panel.probabilities);
    let predicted = panel.predicted().to_string();
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
    let title = panel.title.clone();
    let i18n = use_i18n();
    view! {
        <div class="bars" id=format!("panel-{index}") data-predicted=predicted data-title=panel.title.to_string()>
            <h4>{move || messages::label(i18n, &title)}</h4>
            <p class="prediction">{t!(i18n, pg_prediction)}" "<strong class="predicted">{shown}</strong></p>
            {rows}
        </div>
    }
}
