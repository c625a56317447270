//! The app's texts (`locales/<locale>.json`, compiled into the web app by leptos_i18n): every
//! language has every key, with the same placeholders, and Chinese texts are translated — the
//! failure lists the keys to fix.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

fn texts(locale: &str) -> Map<String, Value> {
    let path = format!("{}/locales/{locale}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => map,
        other => panic!("{path} is not a JSON object of texts: {other:?}"),
    }
}

/// The placeholders of a text: leptos_i18n's `{{ name }}` and the `{name}` of messages filled
/// in event handlers.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let inner = rest[start..].trim_start_matches('{');
        let Some(end) = inner.find('}') else { break };
        found.insert(inner[..end].trim().to_string());
        rest = &inner[end..];
    }
    found
}

#[test]
fn every_language_has_every_key_with_the_same_placeholders() {
    let english = texts("en");
    let chinese = texts("zh");
    let missing: Vec<&String> = english
        .keys()
        .filter(|k| !chinese.contains_key(*k))
        .collect();
    let extra: Vec<&String> = chinese
        .keys()
        .filter(|k| !english.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "keys without a Chinese text: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "Chinese keys English does not have: {extra:?}"
    );
    let mismatched: Vec<&String> = english
        .iter()
        .filter(|(key, en)| {
            let zh = &chinese[*key];
            placeholders(en.as_str().unwrap_or("")) != placeholders(zh.as_str().unwrap_or(""))
        })
        .map(|(key, _)| key)
        .collect();
    assert!(mismatched.is_empty(), "placeholders differ: {mismatched:?}");
}

#[test]
fn every_chinese_text_is_translated() {
    // Chinese characters, or Chinese (full-width) punctuation for texts that are only a pattern
    // around placeholders.
    let chinese = |c: char| {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
            || ('\u{3000}'..='\u{303f}').contains(&c)
            || ('\u{ff00}'..='\u{ffef}').contains(&c)
    };
    let english = texts("en");
    let untranslated: Vec<String> = texts("zh")
        .into_iter()
        .filter(|(key, text)| {
            let text = text.as_str().unwrap_or("");
            Some(text) == english.get(key).and_then(Value::as_str) || !text.chars().any(chinese)
        })
        .map(|(key, _)| key)
        .collect();
    assert!(untranslated.is_empty(), "untranslated: {untranslated:?}");
}

#[test]
fn both_placeholder_forms_are_found() {
    let names = placeholders("step {{ n }} of {total}; {{count}}");
    assert_eq!(
        names,
        BTreeSet::from(["n".into(), "total".into(), "count".into()])
    );
}
