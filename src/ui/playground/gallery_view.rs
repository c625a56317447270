//! The Playground's gallery: the classes with their examples (rename, add or remove a class,
//! delete or move an example, tick digits), the sample sets, and keeping the work (export,
//! import, start over — each undoable).

use super::Playground;
use super::storage;
use crate::playground::gallery::{CLASS_RANGE, Gallery, GalleryKind};
use crate::ui::i18n::{t, t_string, tu_string, use_i18n};
use crate::ui::language::fill;
use crate::ui::loader::fetch_bytes;
use crate::ui::widgets::Thumb;
use leptos::prelude::*;

/// Where the sample sets are served from, relative to the page.
const SAMPLES_URL: &str = "static/samples";

/// The sample sets: file stem and title (made by `fewshot-lab samples`).
const SAMPLE_SETS: [(&str, &str); 5] = [
    ("shapes", "Shapes"),
    ("arrows", "Arrows"),
    ("greek", "Greek letters"),
    ("mirrored-digits", "Mirrored digits"),
    ("two-digit", "Two-digit numbers"),
];

/// Names offered for a new symbol class, in turn.
const NEW_NAMES: [&str; 8] = ["◆", "✚", "♥", "☾", "☀", "♪", "⬟", "♞"];

/// Buttons that load a ready-made gallery (an alternative to drawing).
#[component]
pub fn SampleSets(state: Playground) -> impl IntoView {
    let i18n = use_i18n();
    let shown_name = move |stem: &str| match stem {
        "shapes" => t_string!(i18n, pg_sample_shapes),
        "arrows" => t_string!(i18n, pg_sample_arrows),
        "greek" => t_string!(i18n, pg_sample_greek),
        "mirrored-digits" => t_string!(i18n, pg_sample_mirrored),
        _ => t_string!(i18n, pg_sample_two_digit),
    };
    let loading = RwSignal::new(None::<&'static str>);
    let load = move |stem: &'static str, title: &'static str| {
        loading.set(Some(title));
        leptos::task::spawn_local(async move {
            let fetched = fetch_bytes(&format!("{SAMPLES_URL}/{stem}.json")).await;
            loading.set(None);
            let parsed = fetched.and_then(|bytes| {
                Gallery::from_json(&String::from_utf8_lossy(&bytes)).map_err(|e| e.to_string())
            });
            match parsed {
                Ok(gallery) => {
                    state.switch_mode(GalleryKind::Symbols);
                    let title = shown_name(stem);
                    state.replace(
                        gallery,
                        &fill(tu_string!(i18n, pg_loaded_sample), &[("title", &title)]),
                    );
                }
                Err(e) => state.message.set(Some(fill(
                    tu_string!(i18n, pg_sample_failed),
                    &[("title", &shown_name(stem)), ("error", &e)],
                ))),
            }
        });
    };
    view! {
        <div class="samples">
            <span class="muted">{t!(i18n, pg_samples_start)}" "</span>
            {SAMPLE_SETS.iter().map(|&(stem, title)| view! {
                <button class="sample" id=format!("sample-{stem}") on:click=move |_| load(stem, title)
                    disabled=move || loading.get().is_some()>{move || shown_name(stem)}</button>
            }).collect_view()}
            {move || loading.get().map(|_| view! { <span class="muted">" "{t!(i18n, pg_loading)}</span> })}
        </div>
    }
}

/// One example: its thumbnail, a delete button and a class picker to move it.
#[component]
fn Example(state: Playground, class: usize, index: usize, pixels: Vec<u8>) -> impl IntoView {
    let i18n = use_i18n();
    let names: Vec<(usize, String)> = state.gallery.with_untracked(|g| {
        g.active()
            .into_iter()
            .map(|i| (i, g.classes()[i].name.clone()))
            .collect()
    });
    let own = names
        .iter()
        .find(|(i, _)| *i == class)
        .map_or_else(String::new, |(_, n)| n.clone());
    view! {
        <figure class="example">
            <Thumb pixels=Signal::derive(move || Some(pixels.clone())) class="thumb"
                label=fill(t_string!(i18n, pg_example_label), &[("n", &(index + 1)), ("class", &own)]) />
            <button class="delete" title=move || t_string!(i18n, pg_delete_example) aria-label=fill(t_string!(i18n, pg_delete_example_label), &[("n", &(index + 1)), ("class", &own)])
                on:click=move |_| state.edit(|g| g.remove(class, index).map(drop))>"×"</button>
            <select class="relabel" title=move || t_string!(i18n, pg_move_example) aria-label=move || t_string!(i18n, pg_move_example) on:change=move |ev| {
                if let Ok(to) = event_target_value(&ev).parse::<usize>() && to != class {
                    state.edit(|g| g.relabel(class, index, to));
                }
            }>
                {names.into_iter().map(|(i, n)| view! {
                    <option value=i.to_string() selected=i == class>{n}</option>
                }).collect_view()}
            </select>
        </figure>
    }
}

/// The classes with their examples.
#[component]
pub fn GalleryView(state: Playground) -> impl IntoView {
    let i18n = use_i18n();
    let gallery = state.gallery;
    let is_symbols = move || gallery.with(|g| g.kind == GalleryKind::Symbols);
    let class_count = move || gallery.with(|g| g.classes().len());
    let full = move || class_count() >= *CLASS_RANGE.end();
    let rows = move || {
        let g = gallery.get();
        g.active()
            .into_iter()
            .map(|class| {
                let c = g.classes()[class].clone();
                let count = c.examples.len();
                let selected = move || gallery.with(|g| g.selected() == class);
                let name_field = if g.kind == GalleryKind::Symbols {
                    view! {
                        <input class="class-name" aria-label=move || t_string!(i18n, pg_class_name) prop:value=c.name.clone()
                            on:change=move |ev| {
                                let name = event_target_value(&ev);
                                state.edit(|g| g.rename(class, &name));
                            } />
                        <button class="link remove-class" title=move || t_string!(i18n, pg_remove_class)
                            disabled=move || class_count() <= *CLASS_RANGE.start()
                            on:click=move |_| state.remove_class(class)>{t!(i18n, pg_remove)}</button>
                    }
                    .into_any()
                } else {
                    view! { <span class="class-name digit">{c.name.clone()}</span> }.into_any()
                };
                let examples = c
                    .examples
                    .into_iter()
                    .enumerate()
                    .map(|(index, pixels)| view! { <Example state=state class=class index=index pixels=pixels /> })
                    .collect_view();
                view! {
                    <div class="class-row" class:selected=selected data-count=count>
                        <div class="class-head">
                            {name_field}
                            <span class="count">{t!(i18n, pg_examples, count = move || count)}</span>
                            <button class="link" on:click=move |_| state.select(class)>{t!(i18n, pg_draw_for_class)}</button>
                        </div>
                        <div class="examples">{examples}</div>
                    </div>
                }
            })
            .collect_view()
    };
    view! {
        <div id="gallery" class="gallery">
            {rows}
            {move || is_symbols().then(|| view! {
                <div class="controls">
                    <button id="add-class-button" disabled=full
                        on:click=move |_| {
                            let taken = gallery.with_untracked(|g| g.names());
                            let name = NEW_NAMES.iter().find(|n| !taken.iter().any(|t| t == *n)).copied().unwrap_or("new");
                            state.edit(|g| g.add_class(name));
                        }>{t!(i18n, pg_add_class)}</button>
                </div>
            })}
            {move || (!is_symbols()).then(|| view! { <DigitPicker state=state /> })}
        </div>
    }
}

/// Which digits to teach; unticking one keeps its drawings.
#[component]
fn DigitPicker(state: Playground) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <fieldset class="digit-picker">
            <legend>{t!(i18n, pg_digits_legend)}</legend>
            {(0..10usize).map(|digit| {
                let ticked = move || state.gallery.with(|g| g.classes().get(digit).is_some_and(|c| c.active));
                view! {
                    <label class="digit-choice">
                        <input type="checkbox" prop:checked=ticked on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            state.edit(|g| g.set_active(digit, on));
                        } />
                        {digit.to_string()}
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

/// Export, import and start over.
#[component]
pub fn KeepYourWork(state: Playground) -> impl IntoView {
    let i18n = use_i18n();
    let import_input = NodeRef::<leptos::html::Input>::new();
    let on_import = move |_| {
        let Some(input) = import_input.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            match storage::import(&input).await {
                Ok(imported) => {
                    let kind = imported.kind;
                    let count = imported.names().len();
                    if kind != state.kind.get_untracked() {
                        state.switch_mode(kind);
                    }
                    let mode = super::mode_name(i18n, kind);
                    let what = fill(
                        tu_string!(i18n, pg_imported),
                        &[("mode", &mode), ("count", &count)],
                    );
                    state.replace(imported, &what);
                }
                Err(e) => state.message.set(Some(fill(
                    tu_string!(i18n, pg_import_failed),
                    &[("error", &e)],
                ))),
            }
            input.set_value("");
        });
    };
    view! {
        <h3>{t!(i18n, pg_keep_work)}</h3>
        <p class="muted">{t!(i18n, pg_saved_hint)}</p>
        <div class="controls">
            <button id="export-button" on:click=move |_| {
                let gallery = state.gallery.get_untracked();
                let name = format!("fewshot-lab-{}.json", gallery.kind.key());
                if let Err(e) = storage::export(&gallery, &name) { state.message.set(Some(e)) }
            }>{t!(i18n, pg_export)}</button>
            <label class="button-like" for="import-file">{t!(i18n, pg_import)}</label>
            <input id="import-file" class="visually-hidden" type="file" accept=".json,application/json"
                node_ref=import_input on:change=on_import />
            <button id="new-gallery-button" on:click=move |_| {
                let kind = state.kind.get_untracked();
                state.replace(Gallery::fresh(kind), tu_string!(i18n, pg_started_over));
            }>{t!(i18n, pg_start_over)}</button>
        </div>
    }
}
