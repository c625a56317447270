//! Share / Embed: a link that reopens the current page with its settings, and a copy-paste
//! `<iframe>` snippet for course pages. Each page registers what its link carries with
//! [`share_settings`]; the App's header and embed bar show the [`ShareButton`].

use super::i18n::{t, t_string, tu_string, use_i18n};
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// What a page puts in its share link: URL settings, and a note on anything left out.
#[derive(Clone, Default)]
pub struct Shared {
    /// `(URL parameter, value)` pairs the page reads back on opening.
    pub settings: Vec<(&'static str, String)>,
    /// `(name, value)` pairs put after `#`: what the person made (a gallery), which browsers
    /// never send to the server, so it stays out of server and CDN logs.
    pub fragment: Vec<(&'static str, String)>,
    /// Why something the person made is not in the link, if it is not.
    pub note: Option<String>,
}

type Provider = Arc<dyn Fn() -> Shared + Send + Sync>;

/// The current page's settings, as the page last registered them.
#[derive(Clone, Copy)]
struct ShareContext(StoredValue<Option<Provider>>);

/// Makes [`share_settings`] available to the pages below.
pub fn provide_share_context() {
    provide_context(ShareContext(StoredValue::new(None)));
}

/// Registers what the current page's share link carries (read when the person asks for it).
pub fn share_settings(settings: impl Fn() -> Shared + Send + Sync + 'static) {
    if let Some(context) = use_context::<ShareContext>() {
        context.0.set_value(Some(Arc::new(settings)));
    }
}

/// What the current page's link carries now.
pub fn current_settings() -> Shared {
    use_context::<ShareContext>()
        .and_then(|c| c.0.get_value())
        .map(|settings| settings())
        .unwrap_or_default()
}

/// The address that opens `page` (its `?page=` value; none for the Playground) with `shared`'s
/// settings, in embed mode if `embed`; `lang` is kept so an embed stays in its language.
pub fn view_link(page: Option<&str>, shared: &Shared, embed: bool) -> Option<String> {
    let location = web_sys::window()?.location();
    let base = format!("{}{}", location.origin().ok()?, location.pathname().ok()?);
    let params = web_sys::UrlSearchParams::new().ok()?;
    if let Some(page) = page {
        params.append("page", page);
    }
    for (name, value) in &shared.settings {
        params.append(name, value);
    }
    if let Some(lang) = super::query_param("lang") {
        params.append("lang", &lang);
    }
    if embed {
        params.append("embed", "1");
    }
    let query = String::from(params.to_string());
    let mut link = if query.is_empty() {
        base
    } else {
        format!("{base}?{query}")
    };
    if !shared.fragment.is_empty() {
        let fragment = web_sys::UrlSearchParams::new().ok()?;
        for (name, value) in &shared.fragment {
            fragment.append(name, value);
        }
        link += &format!("#{}", String::from(fragment.to_string()));
    }
    Some(link)
}

/// The value of `name` after the page address's `#`, if present.
pub fn fragment_param(name: &str) -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    web_sys::UrlSearchParams::new_with_str(hash.trim_start_matches('#'))
        .ok()?
        .get(name)
}

/// An `<iframe>` element showing `link`, sized for a course page.
fn iframe_snippet(link: &str) -> String {
    let src = link.replace('&', "&amp;").replace('"', "&quot;");
    format!(
        "<iframe src=\"{src}\" width=\"640\" height=\"480\" style=\"border:0;max-width:100%\" \
         title=\"Few-Shot Lab\" loading=\"lazy\"></iframe>"
    )
}

/// The links offered when the panel opens.
#[derive(Clone)]
struct Links {
    link: String,
    snippet: String,
    note: Option<String>,
}

/// The *Share / Embed* button and its panel: the link and the `<iframe>` snippet, each with
/// a Copy button.
#[component]
pub fn ShareButton(
    /// The page's `?page=` value (none for the Playground).
    page: Option<&'static str>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let links = RwSignal::new(None::<Links>);
    let copied = RwSignal::new(None::<String>);
    let toggle = move |_| {
        if !open.get_untracked() {
            let shared = current_settings();
            links.set(
                view_link(page, &shared, false)
                    .zip(view_link(page, &shared, true))
                    .map(|(link, embed)| Links {
                        link,
                        snippet: iframe_snippet(&embed),
                        note: shared.note,
                    }),
            );
        }
        copied.set(None);
        open.update(|o| *o = !*o);
    };
    view! {
        <div class="share">
            <button id="share-button" aria-expanded=move || open.get().to_string()
                aria-controls="share-panel" on:click=toggle>{t!(i18n, share_button)}</button>
            <Show when=move || open.get()>
                <div id="share-panel" class="share-panel" role="group" aria-label=move || t_string!(i18n, share_panel)>
                    {move || links.get().map(|l| view! {
                        <label for="share-link">{t!(i18n, share_link)}</label>
                        <div class="copy-row">
                            <input id="share-link" readonly prop:value=l.link.clone() />
                            <CopyButton field="share-link" what=Signal::derive(move || t_string!(i18n, copy_link)) text=l.link copied=copied />
                        </div>
                        <label for="embed-code">{t!(i18n, share_embed)}</label>
                        <div class="copy-row">
                            <textarea id="embed-code" readonly rows="3" prop:value=l.snippet.clone()></textarea>
                            <CopyButton field="embed-code" what=Signal::derive(move || t_string!(i18n, copy_embed)) text=l.snippet copied=copied />
                        </div>
                        {l.note.map(|n| view! { <p id="share-note" class="notice">{n}</p> })}
                    })}
                    <p class="muted" role="status">{move || copied.get()}</p>
                </div>
            </Show>
        </div>
    }
}

/// Copies `text` to the clipboard; where the browser refuses (some iframes), selects the
/// field `field` and says how to copy it by hand.
#[component]
fn CopyButton(
    field: &'static str,
    /// What the button copies, for screen readers ("Copy the link").
    what: Signal<&'static str>,
    text: String,
    copied: RwSignal<Option<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let text = StoredValue::new(text);
    let copy = move |_| {
        leptos::task::spawn_local(async move {
            let message = match copy_to_clipboard(&text.get_value()).await {
                Ok(()) => tu_string!(i18n, copied).to_string(),
                Err(why) => {
                    select_field(field);
                    format!("{} ({why})", tu_string!(i18n, copy_by_hand))
                }
            };
            copied.set(Some(message));
        });
    };
    view! { <button class="copy" aria-label=what on:click=copy>{t!(i18n, copy)}</button> }
}

async fn copy_to_clipboard(text: &str) -> Result<(), String> {
    let navigator = web_sys::window().ok_or("no window")?.navigator();
    let has_clipboard =
        js_sys::Reflect::get(&navigator, &"clipboard".into()).is_ok_and(|c| !c.is_undefined());
    if !has_clipboard {
        return Err("this page has no clipboard access".into());
    }
    JsFuture::from(navigator.clipboard().write_text(text))
        .await
        .map(|_| ())
        .map_err(|_| "the browser refused the clipboard".into())
}

fn select_field(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id));
    if let Some(input) = element
        .as_ref()
        .and_then(|e| e.dyn_ref::<web_sys::HtmlInputElement>())
    {
        input.select();
    } else if let Some(area) =
        element.and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
    {
        area.select();
    }
}
