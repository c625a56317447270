//! Widgets and helpers every page shares: checked number fields and URL settings, 28×28 image
//! thumbnails, a cancellation token for long async work, yielding to the page between steps of
//! it, file downloads, and a watch on long main-thread tasks.

use super::i18n::Locale;
use super::i18n::{t, t_string, use_i18n};
use super::language::problem_text;
use crate::data::IMAGE_SIDE;
use crate::params::{Number, Problem, read};
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use std::ops::RangeInclusive;
use std::sync::Arc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// Lets the browser run other work (input, painting) before the next step.
pub async fn yield_to_page() {
    sleep_ms(0).await;
}

/// The browser's local storage, where it offers one (not in some private modes).
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Waits `ms` milliseconds without blocking the page.
pub async fn sleep_ms(ms: i32) {
    // Through the global object: this also runs in the compute worker, which has no window.
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = super::worker::set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// A note for the person, worded when shown: a view showing it words it again when the page's
/// language changes.
pub type Note = Arc<dyn Fn() -> String + Send + Sync>;

/// A URL setting as a page uses it.
pub struct UrlSetting<T> {
    /// The value to use.
    pub value: T,
    /// Why it differs from the URL's, when it does.
    pub message: Option<Note>,
}

/// URL setting `name` (as `?name=value`), checked against `range`; a bad value is clamped or
/// replaced by `default`, and the setting says so. Call it while a page is built (it reads the
/// page's language).
pub fn url_number<T: Number>(name: &str, default: T, range: RangeInclusive<T>) -> UrlSetting<T> {
    let reading = read(name, super::query_param(name).as_deref(), default, range);
    UrlSetting {
        value: reading.value,
        message: reading.problem.map(|p| {
            let i18n = use_i18n();
            Arc::new(move || problem_text(i18n, &p)) as Note
        }),
    }
}

/// Notes about URL settings that were changed, if any, in the page's language.
#[component]
pub fn SettingNotes(notes: Vec<Note>) -> impl IntoView {
    (!notes.is_empty()).then(|| {
        view! {
            <ul class="notice setting-notes" role="status">
                {notes.into_iter().map(|note| view! { <li>{move || note()}</li> }).collect_view()}
            </ul>
        }
    })
}

/// A labelled number input bound to `value`, checked against `range`: a bad entry is clamped
/// or reverted, with a note under the field saying so.
#[component]
pub fn NumberField<T>(
    /// The field's name, in the page's language.
    #[prop(into)]
    label: Signal<&'static str>,
    id: &'static str,
    value: RwSignal<T>,
    range: RangeInclusive<T>,
) -> impl IntoView
where
    T: Number + Send + Sync + 'static,
{
    let i18n: I18nContext<Locale> = use_i18n();
    let note = RwSignal::new(None::<Problem>);
    let (min, max) = (range.start().to_string(), range.end().to_string());
    view! {
        <label class="field" for=id>
            <span>{label}</span>
            <input id=id type="number" step="any" min=min max=max
                prop:value=move || value.get().to_string()
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    let reading = read(
                        label.get_untracked(),
                        Some(&text),
                        value.get_untracked(),
                        range.clone(),
                    );
                    value.set(reading.value);
                    note.set(reading.problem);
                } />
            {move || note.get().map(|p| view! { <span class="field-note" role="status">{move || problem_text(i18n, &p)}</span> })}
        </label>
    }
}

/// Cancels async work that a newer action replaced: each action takes a [`Ticket`] with
/// [`Cancel::begin`]; anything that invalidates running work calls [`Cancel::cancel`], and
/// the work checks [`Ticket::live`] before each step and before writing any result.
#[derive(Clone, Copy)]
pub struct Cancel(StoredValue<u64>);

/// One action's claim on the page: live until a newer action begins or someone cancels.
#[derive(Clone, Copy)]
pub struct Ticket {
    token: StoredValue<u64>,
    id: u64,
}

impl Default for Cancel {
    fn default() -> Self {
        Self(StoredValue::new(0))
    }
}

impl Cancel {
    /// Cancels whatever runs and returns the new action's ticket.
    pub fn begin(&self) -> Ticket {
        self.cancel();
        Ticket {
            token: self.0,
            id: self.0.get_value(),
        }
    }

    /// Cancels whatever runs.
    pub fn cancel(&self) {
        self.0.update_value(|id| *id += 1);
    }
}

impl Ticket {
    /// True until a newer action began, the work was cancelled or its page is gone.
    pub fn live(&self) -> bool {
        self.token.try_get_value() == Some(self.id)
    }
}

/// Offers `content` (a string or a `Uint8Array`) as a file download named `file_name`.
pub fn offer_download(content: &JsValue, mime: &str, file_name: &str) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_blob_sequence_and_options(&js_sys::Array::of1(content), &options)
            .map_err(|e| format!("cannot make the file: {e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| format!("cannot make the file: {e:?}"))?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(file_name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Where long work started from a page (meta-training, a search) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPhase {
    /// Not started, or reset.
    Idle,
    /// Working.
    Running,
    /// Paused by the person; resumes where it stopped.
    Paused,
    /// Finished (or stopped by an error).
    Done,
}

impl RunPhase {
    /// Pause ↔ resume; other phases stay as they are.
    pub fn toggled(self) -> Self {
        match self {
            Self::Running => Self::Paused,
            Self::Paused => Self::Running,
            other => other,
        }
    }

    /// Whether work is under way (running or paused).
    pub fn active(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }

    /// Lower-case name, for data attributes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Done => "done",
        }
    }
}

/// Start, Pause/Resume and Reset for long work in `phase` (ids `{id}-start`, `{id}-pause`,
/// `{id}-reset`); Start waits for `ready`; `children` adds buttons after them.
#[component]
pub fn RunButtons<S, R>(
    id: &'static str,
    /// The Start button's text, in the page's language.
    #[prop(into)]
    start_label: Signal<&'static str>,
    phase: RwSignal<RunPhase>,
    #[prop(into)] ready: Signal<bool>,
    on_start: S,
    on_reset: R,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView
where
    S: Fn(web_sys::MouseEvent) + 'static,
    R: Fn(web_sys::MouseEvent) + 'static,
{
    let i18n = use_i18n();
    let active = move || phase.get().active();
    view! {
        <div class="controls">
            <button id=format!("{id}-start") class="primary" on:click=on_start
                disabled=move || active() || !ready.get()>{start_label}</button>
            <button id=format!("{id}-pause") on:click=move |_| phase.update(|p| *p = p.toggled())
                disabled=move || !active()>
                {move || if phase.get() == RunPhase::Paused { t_string!(i18n, run_resume) } else { t_string!(i18n, run_pause) }}
            </button>
            <button id=format!("{id}-reset") on:click=on_reset
                disabled=move || phase.get() == RunPhase::Idle>{t!(i18n, run_reset)}</button>
            {children.map(|c| c())}
        </div>
    }
}

/// Watches the page's long main-thread tasks (over 50 ms: the browser's Long Tasks API) while it
/// lives, keeping the longest in a signal.
pub struct LongTasks {
    observer: web_sys::PerformanceObserver,
    _callback: Closure<dyn FnMut(web_sys::PerformanceObserverEntryList)>,
}

impl LongTasks {
    /// Starts watching, writing the longest task so far (ms) into `longest`; `None` where the
    /// browser does not report long tasks.
    pub fn watch(longest: RwSignal<f64>) -> Option<Self> {
        let callback = Closure::<dyn FnMut(web_sys::PerformanceObserverEntryList)>::new(
            move |list: web_sys::PerformanceObserverEntryList| {
                for entry in list.get_entries().iter() {
                    let duration = entry
                        .unchecked_into::<web_sys::PerformanceEntry>()
                        .duration();
                    longest.update(|l| *l = l.max(duration));
                }
            },
        );
        let observer = web_sys::PerformanceObserver::new(callback.as_ref().unchecked_ref()).ok()?;
        let types = js_sys::Array::of1(&JsValue::from_str("longtask"));
        let options = web_sys::PerformanceObserverInit::new(&types);
        observer.observe(&options);
        Some(Self {
            observer,
            _callback: callback,
        })
    }
}

impl Drop for LongTasks {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// The 2-D drawing context of `canvas`, if the browser gives one.
pub fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// Paints a 28×28 image (white ink on black, as MNIST is usually shown) on `canvas`.
fn paint(canvas: &HtmlCanvasElement, pixels: &[u8]) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let rgba: Vec<u8> = pixels.iter().flat_map(|&v| [v, v, v, 255]).collect();
    let side = IMAGE_SIDE as u32;
    if let Ok(data) =
        web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), side, side)
    {
        let _ = ctx.put_image_data(&data, 0.0, 0.0);
    }
}

/// A 28×28 image shown enlarged, pixel for pixel.
#[component]
pub fn Thumb(
    /// The image.
    #[prop(into)]
    pixels: Signal<Option<Vec<u8>>>,
    /// CSS class (sets the displayed size).
    class: &'static str,
    /// What it shows, for screen readers.
    #[prop(optional)]
    label: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        if let Some(element) = canvas.get() {
            let blank = vec![0; IMAGE_SIDE * IMAGE_SIDE];
            paint(&element, pixels.get().as_deref().unwrap_or(&blank));
        }
    });
    view! {
        <canvas class=class node_ref=canvas width=IMAGE_SIDE height=IMAGE_SIDE
            role="img" aria-label=label.unwrap_or_else(|| t_string!(i18n, thumb_default).to_string())></canvas>
    }
}
