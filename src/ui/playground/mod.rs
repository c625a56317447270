//! The Playground page, the app's front door: draw symbols (or load a sample set), adapt
//! networks to them in the browser, and compare networks that differ in one thing at a time.
//!
//! Two modes. *New symbols*: the meta-trained network against the same architecture with
//! random features and with plain digit-classifier features, all adapted by the meta-trained
//! network's own inner loop. *My handwriting*: the plain digit classifier as it is, fine-tuned
//! on the person's digits, and meta-trained for handwriting styles. The maths is in
//! [`crate::playground`]; this module wires the page's state to the components:
//! [`pad`] (drawing), [`gallery_view`] (classes, samples, keeping work), [`adapt_panel`]
//! (networks, adapting, results), with [`comparison`] running the networks and [`networks`]
//! loading them.

mod adapt_panel;
mod comparison;
mod gallery_view;
mod networks;
pub(super) mod pad;
mod remote;
mod storage;

use super::i18n::{Locale, t, t_string, tu_string, use_i18n};
use super::language::fill;
use super::messages;
use super::share::{Shared, fragment_param, share_settings};
use super::widgets::{Cancel, Note, SettingNotes, Thumb, url_number};
use crate::backend::{Backend, BackendKind};
use crate::model::stored::STORED_PREFIX;
use crate::playground::compare::{self, Contender};
use crate::playground::gallery::{Gallery, GalleryError, GalleryKind};
use crate::playground::link;
use adapt_panel::{AdaptPanel, PredictionAnnouncer, Predictions};
use comparison::{Comparison, Panel, Setting, Stop};
use gallery_view::{GalleryView, KeepYourWork, SampleSets};
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use networks::Networks;
use pad::{DrawingPad, Pad};

/// Everything the Playground's components share.
#[derive(Clone, Copy)]
struct Playground {
    kind: RwSignal<GalleryKind>,
    gallery: RwSignal<Gallery>,
    /// Bumped by every change of the gallery's classes or examples.
    version: RwSignal<u32>,
    /// Bumped by every change the person makes (what gets saved; loading a gallery is not one).
    edits: RwSignal<u32>,
    /// The gallery before the last change that threw work away, and what that change was.
    undo: RwSignal<Option<(String, Gallery)>>,
    /// The latest message for the person (results of actions, refusals).
    message: RwSignal<Option<String>>,
    /// Why the gallery could not be saved, while it cannot (never hidden by other messages).
    save_error: RwSignal<Option<String>>,
    pad: Pad,
    networks: Networks,
    /// File of the chosen meta-trained network (New symbols).
    choice: RwSignal<Option<String>>,
    steps: RwSignal<usize>,
    learning_rate: RwSignal<f64>,
    /// The page's URL set the inner loop; the catalogue's values do not replace it.
    url_inner_loop: bool,
    /// The mode whose gallery came from the page's link: it is kept apart from the person's
    /// own gallery of that mode, which stays untouched.
    linked: Option<GalleryKind>,
    comparison: Comparison,
    prediction: RwSignal<Option<Vec<Panel>>>,
    cancel: Cancel,
    /// The page's language, for messages made in event handlers.
    i18n: I18nContext<Locale>,
}

impl Playground {
    /// Cancels running work and forgets results that no longer fit the gallery.
    fn invalidate(&self) {
        self.cancel.cancel();
        self.comparison.stop();
        self.prediction.set(None);
    }

    /// Applies `change` to the gallery (and saves it); a refused change leaves it as it was,
    /// with a message. A change ends what Undo could undo: it would throw this change away.
    fn edit(&self, change: impl FnOnce(&mut Gallery) -> Result<(), GalleryError>) {
        let mut next = self.gallery.get_untracked();
        match change(&mut next) {
            Ok(()) => {
                self.invalidate();
                self.undo.set(None);
                self.gallery.set(next);
                self.version.update(|v| *v += 1);
                self.edits.update(|e| *e += 1);
            }
            Err(e) => self
                .message
                .set(Some(messages::gallery_error(self.i18n, &e))),
        }
    }

    /// Makes `class` the one new drawings go to (changes no result).
    fn select(&self, class: usize) {
        self.gallery.update(|g| g.select(class));
        self.edits.update(|e| *e += 1);
    }

    /// Replaces the gallery, keeping the old one for Undo.
    fn replace(&self, next: Gallery, what: &str) {
        let previous = self.gallery.get_untracked();
        self.edit(|g| {
            *g = next;
            Ok(())
        });
        self.undo.set(Some((what.into(), previous)));
    }

    /// Removes symbol class `class` with its examples (undoable).
    fn remove_class(&self, class: usize) {
        let mut next = self.gallery.get_untracked();
        match next.remove_class(class) {
            Ok(removed) => {
                let what = fill(
                    tu_string!(self.i18n, pg_removed_class),
                    &[("name", &removed.name)],
                );
                self.replace(next, &what)
            }
            Err(e) => self
                .message
                .set(Some(messages::gallery_error(self.i18n, &e))),
        }
    }

    /// Puts back the gallery from before the last replacing change.
    fn undo_last(&self) {
        if let Some((what, previous)) = self.undo.get_untracked() {
            self.edit(|g| {
                *g = previous;
                Ok(())
            });
            self.undo.set(None);
            let undone = fill(tu_string!(self.i18n, pg_undone), &[("what", &what)]);
            self.message.set(Some(undone));
        }
    }

    /// Switches to the other mode's gallery (each mode keeps its own).
    fn switch_mode(&self, kind: GalleryKind) {
        if kind == self.kind.get_untracked() {
            return;
        }
        self.invalidate();
        self.comparison.clear();
        self.undo.set(None);
        self.kind.set(kind);
        let (gallery, note) = load_gallery(self.i18n, kind, &self.storage_key(kind));
        self.gallery.set(gallery);
        self.version.update(|v| *v += 1);
        self.message.set(note);
    }

    /// Adds the pad's drawing to the selected class and clears the pad.
    fn add_drawing(&self) {
        match self.pad.image.get_untracked() {
            Ok(image) => {
                self.edit(|g| g.add(image));
                self.pad.clear();
            }
            Err(e) => self
                .message
                .set(Some(messages::drawing_error(self.i18n, &e))),
        }
    }

    /// Why Adapt cannot run now, if it cannot.
    fn adapt_blocked(&self) -> Option<String> {
        let missing: Vec<String> = self
            .gallery
            .with(|g| g.missing().iter().map(|s| s.to_string()).collect());
        let i18n = self.i18n;
        if !missing.is_empty() {
            Some(fill(
                t_string!(i18n, pg_missing_examples),
                &[("names", &missing.join(", "))],
            ))
        } else if self.networks.catalog.with(|c| c.is_none()) {
            Some(t_string!(i18n, pg_waiting_catalogue).into())
        } else if self.contenders().is_empty() {
            Some(t_string!(i18n, pg_no_network).into())
        } else {
            None
        }
    }

    /// Why Predict cannot run now, if it cannot.
    fn predict_blocked(&self) -> Option<String> {
        let (view, i18n) = (self.comparison.view, self.i18n);
        if view.with(|v| v.running) {
            Some(t_string!(i18n, pg_wait_adapt).into())
        } else if view.with(|v| v.predicting) {
            Some(t_string!(i18n, pg_predicting).into())
        } else if !view.with(|v| v.done) {
            Some(t_string!(i18n, pg_adapt_first).into())
        } else if view.with(|v| v.version) != self.version.get() {
            Some(t_string!(i18n, pg_stale).into())
        } else {
            self.pad
                .image
                .with(|i| i.as_ref().err().map(|e| messages::drawing_error(i18n, e)))
        }
    }

    /// Where the gallery of `kind` is stored.
    fn storage_key(&self, kind: GalleryKind) -> String {
        if self.linked == Some(kind) {
            linked_key(kind)
        } else {
            kind.key().to_string()
        }
    }

    /// What a share link of the Playground carries: the mode, the network and its inner
    /// loop, and the gallery where it fits in a link.
    fn shared(&self) -> Shared {
        let kind = self.kind.get_untracked();
        let mut settings = vec![("mode", kind.key().to_string())];
        if kind == GalleryKind::Symbols {
            // A network kept in this browser is not in the visitor's: the link leaves it out.
            let shipped = self
                .choice
                .get_untracked()
                .filter(|f| !f.starts_with(STORED_PREFIX));
            settings.extend(shipped.map(|file| ("net", file)));
            settings.push(("steps", self.steps.get_untracked().to_string()));
            settings.push(("inner_lr", self.learning_rate.get_untracked().to_string()));
        }
        let gallery = self.gallery.get_untracked();
        let (mut fragment, mut note) = (Vec::new(), None);
        if gallery.classes().iter().any(|c| !c.examples.is_empty()) {
            match link::to_link_text(&gallery) {
                Ok(text) => fragment.push(("gallery", text)),
                Err(why) => {
                    note = Some(fill(
                        tu_string!(self.i18n, pg_link_without_drawings),
                        &[("why", &why)],
                    ))
                }
            }
        }
        Shared {
            settings,
            fragment,
            note,
        }
    }

    /// The networks this mode compares.
    fn contenders(&self) -> Vec<Contender> {
        let Some(catalog) = self.networks.catalog_now() else {
            return Vec::new();
        };
        match self.kind.get() {
            GalleryKind::Symbols => {
                let file = self.choice.get();
                let chosen = self
                    .networks
                    .symbol_networks()
                    .into_iter()
                    .find(|e| Some(&e.file) == file.as_ref());
                let way = self.gallery.with(|g| g.active().len());
                chosen.map_or_else(Vec::new, |meta| {
                    let (steps, lr) = (self.steps.get(), self.learning_rate.get());
                    compare::for_symbols(&catalog, &meta, way, steps, lr)
                })
            }
            GalleryKind::Digits => compare::for_digits(&catalog),
        }
    }
}

/// The stored gallery of `kind` (under `key`), or a fresh one (with a note if the stored one
/// was damaged).
fn load_gallery(
    i18n: I18nContext<Locale>,
    kind: GalleryKind,
    key: &str,
) -> (Gallery, Option<String>) {
    match storage::load(key) {
        Some(Ok(gallery)) if gallery.kind == kind => (gallery, None),
        Some(Ok(_)) | None => (Gallery::fresh(kind), None),
        Some(Err(e)) => (
            Gallery::fresh(kind),
            Some(fill(
                tu_string!(i18n, pg_damaged_saved),
                &[("mode", &mode_name(i18n, kind)), ("error", &e)],
            )),
        ),
    }
}

/// What the person calls the gallery of `kind`, in their language.
pub(super) fn mode_name(i18n: I18nContext<Locale>, kind: GalleryKind) -> &'static str {
    match kind {
        GalleryKind::Symbols => tu_string!(i18n, mode_symbols_gallery),
        GalleryKind::Digits => tu_string!(i18n, mode_digits_gallery),
    }
}

/// The Playground page.
#[component]
pub fn PlaygroundPage(
    /// Device to adapt on.
    backend: Backend,
    /// Called when the GPU fails mid-adaptation, so the app can fall back to the CPU.
    on_device_lost: impl Fn(String) + Send + Sync + 'static,
) -> impl IntoView {
    let steps_url = url_number("steps", 5usize, 0..=100);
    let lr_url = url_number("inner_lr", 0.5f64, 0.0..=10.0);
    let url_inner_loop =
        super::query_param("steps").is_some() || super::query_param("inner_lr").is_some();
    let notes: Vec<Note> = [steps_url.message, lr_url.message]
        .into_iter()
        .flatten()
        .collect();
    let i18n = use_i18n();
    let (kind, linked_gallery, link_note) = gallery_from_link(i18n);
    let linked = linked_gallery.as_ref().map(|g| g.kind);
    let (gallery, note) = match linked_gallery {
        Some(gallery) => (gallery, link_note),
        None => {
            let (gallery, note) = load_gallery(i18n, kind, kind.key());
            (gallery, link_note.or(note))
        }
    };
    let state = Playground {
        kind: RwSignal::new(kind),
        gallery: RwSignal::new(gallery),
        version: RwSignal::new(0),
        edits: RwSignal::new(0),
        undo: RwSignal::new(None),
        message: RwSignal::new(note),
        save_error: RwSignal::new(None),
        pad: Pad::default(),
        networks: Networks::start(i18n),
        choice: RwSignal::new(super::query_param("net")),
        steps: RwSignal::new(steps_url.value),
        learning_rate: RwSignal::new(lr_url.value),
        url_inner_loop,
        linked,
        comparison: Comparison::default(),
        prediction: RwSignal::new(None),
        cancel: Cancel::default(),
        i18n,
    };

    // Saving is one effect: every change the person makes is stored. A loaded gallery is not
    // saved back, so a damaged stored one stays until the person changes the new one.
    Effect::new(move |previous: Option<()>| {
        state.edits.track();
        if previous.is_some() {
            let gallery = state.gallery.get_untracked();
            let result = storage::save(&state.storage_key(gallery.kind), &gallery);
            state.save_error.set(result.err());
        }
    });

    share_settings(move || state.shared());

    let device = StoredValue::new_local(backend.device.clone());
    let backend_kind = backend.kind;
    let is_gpu = backend_kind != BackendKind::Cpu;
    let on_device_lost = StoredValue::new(on_device_lost);
    let stop = move |stop: Stop| match stop {
        Stop::Cancelled => {}
        Stop::Device(reason) if is_gpu => on_device_lost.with_value(|lost| lost(reason)),
        Stop::Device(reason) | Stop::Failed(reason) => state.message.set(Some(fill(
            tu_string!(i18n, pg_adaptation_failed),
            &[("reason", &reason)],
        ))),
        Stop::Worker(reason) => {
            // The predictions came from the networks the worker took with it.
            state.prediction.set(None);
            state.message.set(Some(fill(
                tu_string!(i18n, pg_worker_lost),
                &[("reason", &reason)],
            )));
        }
    };

    let worker_lost = Callback::new(move |reason| stop(Stop::Worker(reason)));
    let adapt = move |challenge: bool| {
        if let Some(reason) = state.adapt_blocked() {
            state.message.set(Some(reason));
            return;
        }
        let gallery = state.gallery.get_untracked();
        let (support, held_out) = if challenge {
            match compare::one_shot_split(&gallery) {
                Ok((support, test)) => (support, Some(test)),
                Err(reason) => {
                    state.message.set(Some(reason));
                    return;
                }
            }
        } else {
            (gallery.support_set(), None)
        };
        let rows = match gallery.kind {
            GalleryKind::Digits => gallery.active(),
            GalleryKind::Symbols => (0..gallery.active().len()).collect(),
        };
        let ticket = state.cancel.begin();
        state.prediction.set(None);
        state.message.set(None);
        let contenders = state.contenders();
        let setting = Setting {
            backend: backend_kind,
            device: device.get_value(),
            i18n,
            worker_lost,
        };
        leptos::task::spawn_local(async move {
            let outcome = state
                .comparison
                .run(
                    contenders,
                    gallery.names(),
                    state.version.get_untracked(),
                    support,
                    rows,
                    held_out,
                    state.networks,
                    setting,
                    ticket,
                )
                .await;
            if let Err(reason) = outcome {
                stop(reason);
            }
        });
    };

    let predict = move || {
        if let Some(reason) = state.predict_blocked() {
            state.message.set(Some(reason));
            return;
        }
        let Ok(drawing) = state.pad.image.get_untracked() else {
            return;
        };
        let ticket = state.cancel.begin();
        leptos::task::spawn_local(async move {
            match state.comparison.predict(drawing, ticket).await {
                Ok(panels) => state.prediction.set(Some(panels)),
                Err(reason) => stop(reason),
            }
        });
    };

    // Keyboard shortcuts (not while typing in a field); a disabled action is disabled here too.
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
        let pad = state.pad;
        match key.as_str() {
            "z" if ev.ctrl_key() => pad.undo(),
            "u" | "Backspace" => pad.undo(),
            "Escape" | "c" => pad.clear(),
            "Enter" => state.add_drawing(),
            // A disabled action says why instead of running (A restarts, like its button).
            "a" => match state.adapt_blocked() {
                Some(reason) => state.message.set(Some(reason)),
                None => adapt(false),
            },
            "p" => match state.predict_blocked() {
                Some(reason) => state.message.set(Some(reason)),
                None => predict(),
            },
            digit if digit.len() == 1 && digit.as_bytes()[0].is_ascii_digit() => {
                let n = usize::from(digit.as_bytes()[0] - b'0');
                let position = if n == 0 { 9 } else { n - 1 };
                let class = state
                    .gallery
                    .with_untracked(|g| g.active().get(position).copied());
                if let Some(class) = class {
                    state.select(class);
                }
            }
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || handle.remove());

    view! {
        <section class="page playground">
            <h2>{t!(i18n, pg_title)}</h2>
            <p class="explain">{t!(i18n, pg_explain)}</p>
            <SettingNotes notes=notes />
            <ModeTabs state=state />
            {move || state.save_error.get().map(|e| view! {
                <p id="save-error" class="error" role="alert">{t!(i18n, pg_not_saved)}" "{e}" "{t!(i18n, pg_export_to_keep)}</p>
            })}
            {move || state.message.get().map(|m| view! {
                <p id="playground-message" class="notice" role="status">{m}
                    <button class="link" on:click=move |_| state.message.set(None)>{t!(i18n, pg_dismiss)}</button></p>
            })}
            {move || state.undo.get().map(|(what, _)| view! {
                <p class="notice" role="status">{what}" "
                    <button id="undo-change" class="link" on:click=move |_| state.undo_last()>{t!(i18n, pg_undo)}</button></p>
            })}
            <Workbench state=state predict=predict />
            {move || state.prediction.get().map(|panels| view! { <Predictions panels=panels /> })}
            <PredictionAnnouncer panels=state.prediction.into() />
            <h3>{t!(i18n, pg_your_classes)}</h3>
            <SampleSets state=state />
            <GalleryView state=state />
            <AdaptPanel state=state adapt=adapt />
            <KeepYourWork state=state />
        </section>
    }
}

/// The mode the page's link asks for (`?mode=symbols|digits`), the gallery it carries
/// (`?gallery=`) if any, and a note for the person about that gallery.
fn gallery_from_link(i18n: I18nContext<Locale>) -> (GalleryKind, Option<Gallery>, Option<String>) {
    let asked = match super::query_param("mode").as_deref() {
        Some("digits") => GalleryKind::Digits,
        _ => GalleryKind::Symbols,
    };
    let Some(text) = fragment_param("gallery") else {
        return (asked, None, None);
    };
    match link::from_link_text(&text) {
        Ok(gallery) => {
            let gallery = linked_gallery(&text, gallery);
            let note = fill(
                tu_string!(i18n, pg_linked_gallery),
                &[
                    ("count", &gallery.classes().len()),
                    ("mode", &mode_name(i18n, gallery.kind)),
                ],
            );
            (gallery.kind, Some(gallery), Some(note))
        }
        Err(why) => (
            asked,
            None,
            Some(fill(
                tu_string!(i18n, pg_link_gallery_failed),
                &[("error", &messages::gallery_error(i18n, &why))],
            )),
        ),
    }
}

/// The gallery a link brought, kept apart from the person's own: the first time this link is
/// opened, as the link has it (and stored); on later visits of the same link, as the person
/// left it. A different link starts again from its own gallery.
fn linked_gallery(text: &str, from_link: Gallery) -> Gallery {
    let kind = from_link.kind;
    let key = linked_key(kind);
    let source = link::digest(text);
    if storage::linked_source(kind.key()).as_deref() == Some(source.as_str())
        && let Some(Ok(kept)) = storage::load(&key)
        && kept.kind == kind
    {
        return kept;
    }
    // A failed save is reported by the first save after an edit; the gallery is shown anyway.
    let _ = storage::save(&key, &from_link);
    storage::set_linked_source(kind.key(), &source);
    from_link
}

/// Where the gallery of `kind` that came from a link is stored.
fn linked_key(kind: GalleryKind) -> String {
    format!("{}.linked", kind.key())
}

/// The two modes, each with its own gallery.
#[component]
fn ModeTabs(state: Playground) -> impl IntoView {
    let i18n = use_i18n();
    let tab = move |kind: GalleryKind, id: &'static str, label: Signal<&'static str>| {
        view! {
            <button id=id role="tab" aria-selected=move || (state.kind.get() == kind).to_string()
                class:active=move || state.kind.get() == kind
                on:click=move |_| state.switch_mode(kind)>{label}</button>
        }
    };
    view! {
        <div class="modes" role="tablist">
            {tab(GalleryKind::Symbols, "mode-symbols", Signal::derive(move || t_string!(i18n, pg_mode_symbols)))}
            {tab(GalleryKind::Digits, "mode-digits", Signal::derive(move || t_string!(i18n, pg_mode_digits)))}
        </div>
    }
}

/// Opens a picture file on the pad: the alternative to drawing by hand.
#[component]
fn OpenPicture(state: Playground) -> impl IntoView {
    let open = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        input.set_value("");
        leptos::task::spawn_local(async move {
            if let Err(why) = state.pad.open_picture(&file).await {
                state.message.set(Some(why));
            }
        });
    };
    let i18n = use_i18n();
    view! {
        <label class="button-like" for="picture-input" title=move || t_string!(i18n, pg_open_picture_title)>
            {t!(i18n, pg_open_picture)}
            <input id="picture-input" class="visually-hidden" type="file" accept="image/*" on:change=open />
        </label>
    }
}

/// The pad, what the network sees, and the buttons that use the drawing.
#[component]
fn Workbench(
    state: Playground,
    predict: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let pad = state.pad;
    let status = move || match pad.image.get() {
        Ok(_) => t_string!(i18n, pg_ready).to_string(),
        Err(_) if pad.stroke_count() == 0 => t_string!(i18n, pg_draw_hint).to_string(),
        Err(e) => messages::drawing_error(i18n, &e),
    };
    view! {
        <div class="workbench">
            <div class="drawing">
                <DrawingPad pad=pad />
                <div class="controls">
                    <button id="undo-button" on:click=move |_| pad.undo() disabled=move || pad.stroke_count() == 0>{t!(i18n, pg_undo_stroke)}</button>
                    <button id="clear-button" on:click=move |_| pad.clear() disabled=move || pad.stroke_count() == 0>{t!(i18n, pg_clear)}</button>
                    <OpenPicture state=state />
                </div>
                <p class="shortcuts">{t!(i18n, pg_shortcuts)}</p>
            </div>
            <div class="network-view">
                <p class="muted">{t!(i18n, pg_network_sees)}</p>
                <Thumb pixels=Signal::derive(move || pad.image.get().ok()) class="preview"
                    label=t_string!(i18n, pg_network_sees_label).to_string() />
                <p id="drawing-status" class="muted" role="status">{status}</p>
                <label class="field">{t!(i18n, pg_add_to_class)}
                    <select id="class-select" on:change=move |ev| {
                        if let Ok(i) = event_target_value(&ev).parse() {
                            state.select(i);
                        }
                    } prop:value=move || state.gallery.with(|g| g.selected().to_string())>
                        {move || state.gallery.with(|g| g.active().into_iter().enumerate().map(|(n, i)| {
                            let label = format!("{} · {}", (n + 1) % 10, g.classes()[i].name);
                            view! { <option value=i.to_string()>{label}</option> }
                        }).collect_view())}
                    </select>
                </label>
                <button id="add-button" class="primary" on:click=move |_| state.add_drawing()
                    disabled=move || pad.image.with(Result::is_err)>{t!(i18n, pg_add_example)}</button>
                <p class="muted">{t!(i18n, pg_test_hint)}</p>
                <button id="predict-button" class="primary" on:click=move |_| predict()
                    disabled=move || state.predict_blocked().is_some()
                    title=move || state.predict_blocked().unwrap_or_default()>{t!(i18n, pg_predict)}</button>
            </div>
        </div>
    }
}
