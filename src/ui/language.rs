//! The app's languages, English and Simplified Chinese: texts live in `locales/<locale>.json`,
//! and leptos_i18n checks every key at compile time. The first language comes from the URL
//! (`?lang=en|zh`, for embeds), else from the person's last choice in this browser, else from
//! the browser's languages; the picker in the header switches at once, in place.

use super::i18n::{Locale, t_string, use_i18n};
use super::widgets::local_storage;
use crate::backend::Fallback;
use crate::params::Problem;
use leptos::prelude::*;
use leptos_i18n::{I18nContext, Locale as _};

const STORAGE_KEY: &str = "fewshot-lab.lang";

fn parse(name: &str) -> Option<Locale> {
    Locale::get_all()
        .iter()
        .copied()
        .find(|l| l.as_str() == name)
}

/// Switches to the language the URL or the person's last choice asks for, if any.
pub fn apply_chosen_language() {
    let chosen = super::query_param("lang")
        .or_else(|| local_storage()?.get_item(STORAGE_KEY).ok().flatten())
        .and_then(|name| parse(&name));
    if let Some(locale) = chosen {
        let i18n = use_i18n();
        // Now, for texts made while the page is built, and again after leptos_i18n's own
        // effect, which sets the browser's language once mounted.
        i18n.set_locale(locale);
        Effect::new(move |_| i18n.set_locale(locale));
    }
}

/// The page's language, as leptos_i18n last set it on `<html lang>`: for messages made where
/// no reactive context reaches (downloads, storage, the workers' start).
pub fn page_locale() -> Locale {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|html| html.get_attribute("lang"))
        .and_then(|lang| parse(&lang))
        .unwrap_or_default()
}

/// Puts `lang` in the page's address (so reloads and share links keep it) without reloading.
fn remember(locale: Locale) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(STORAGE_KEY, locale.as_str());
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(url) = web_sys::Url::new(&window.location().href().unwrap_or_default()) else {
        return;
    };
    url.search_params().set("lang", locale.as_str());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url.href()));
    }
}

/// `text` with each `{name}` replaced by its value: for messages made in event handlers, where
/// leptos_i18n's `{{ name }}` interpolation (views only, in this set-up) does not reach.
pub fn fill(text: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
    values.iter().fold(text.to_string(), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), &value.to_string())
    })
}

/// Why a setting was not used as written, in the person's language (tracked: a view showing it
/// re-words it when the language changes).
pub fn problem_text(i18n: I18nContext<Locale>, problem: &Problem) -> String {
    match problem {
        Problem::NotANumber {
            name,
            text,
            default,
        } => fill(
            t_string!(i18n, setting_not_a_number),
            &[("name", name), ("text", text), ("default", default)],
        ),
        Problem::Outside {
            name,
            text,
            low,
            high,
            clamped,
        } => fill(
            t_string!(i18n, setting_outside),
            &[
                ("name", name),
                ("text", text),
                ("low", low),
                ("high", high),
                ("clamped", clamped),
            ],
        ),
    }
}

/// Why the app runs on the CPU, in the person's language.
pub fn fallback_text(i18n: I18nContext<Locale>, fallback: &Fallback) -> String {
    match fallback {
        Fallback::Asked => t_string!(i18n, backend_chosen_cpu).to_string(),
        Fallback::Unavailable(reason) => {
            fill(t_string!(i18n, backend_unavailable), &[("reason", reason)])
        }
        Fallback::InitFailed(error) => fill(t_string!(i18n, backend_failed), &[("error", error)]),
        Fallback::SlowerAdapter {
            adapter,
            gpu_ms,
            cpu_ms,
        } => fill(
            t_string!(i18n, backend_slower_adapter),
            &[
                ("adapter", adapter),
                ("gpu", &format!("{gpu_ms:.0}")),
                ("cpu", &format!("{cpu_ms:.0}")),
            ],
        ),
        Fallback::LostAdapting(reason) => fill(
            t_string!(i18n, backend_lost_adapting),
            &[("reason", reason)],
        ),
        Fallback::LostTraining(reason) => fill(
            t_string!(i18n, backend_lost_training),
            &[("reason", reason)],
        ),
    }
}

/// Each language by its own name.
fn own_name(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "English",
        Locale::zh => "中文",
    }
}

/// The language picker.
#[component]
pub fn LanguagePicker() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <select id="language" class="language" aria-label=move || t_string!(i18n, language)
            on:change=move |ev| {
                if let Some(locale) = parse(&event_target_value(&ev)) {
                    i18n.set_locale(locale);
                    remember(locale);
                }
            }>
            {Locale::get_all().iter().map(|&locale| view! {
                <option value=locale.as_str() selected=move || i18n.get_locale() == locale>{own_name(locale)}</option>
            }).collect_view()}
        </select>
    }
}
