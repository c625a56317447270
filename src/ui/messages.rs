//! What the core library reports, worded in the person's language: the captions of compared
//! networks, adaptation procedures, and why a drawing or a gallery change was refused. The
//! library keeps its English `Display` for the command line and tests.

use super::i18n::{Locale, t_string};
use super::language::fill;
use crate::model::Architecture;
use crate::playground::adapt::Procedure;
use crate::playground::compare::Label;
use crate::playground::gallery::{
    FORMAT, GalleryError, KindRule, MAX_EXAMPLES, MAX_FILE_BYTES, MAX_NAME_CHARS, NameProblem,
};
use crate::playground::preprocess::DrawingError;
use leptos_i18n::I18nContext;

type I18n = I18nContext<Locale>;

/// A network's backbone with the layer sizes that differ from its standard ones.
pub fn architecture(i18n: I18n, architecture: &Architecture) -> String {
    let (channels, hidden, spatial) = architecture.non_standard();
    let differs: Vec<String> = [
        channels.map(|n| fill(t_string!(i18n, arch_channels), &[("count", &n)])),
        hidden.map(|n| fill(t_string!(i18n, arch_hidden), &[("count", &n)])),
        spatial.then(|| t_string!(i18n, arch_spatial).to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let backbone = architecture.backbone;
    if differs.is_empty() {
        backbone.name().into()
    } else {
        fill(
            t_string!(i18n, arch_sized),
            &[
                ("backbone", &backbone.name()),
                ("sizes", &differs.join(t_string!(i18n, list_separator))),
            ],
        )
    }
}

/// A compared network's caption.
pub fn label(i18n: I18n, label: &Label) -> String {
    let network = |backbone| architecture(i18n, backbone);
    match label {
        Label::MetaTrained {
            algorithm,
            backbone,
        } => fill(
            t_string!(i18n, label_meta_trained),
            &[("algorithm", algorithm), ("backbone", &network(backbone))],
        ),
        Label::RandomFeatures { backbone } => fill(
            t_string!(i18n, label_random),
            &[("backbone", &network(backbone))],
        ),
        Label::ClassifierFeatures { backbone } => fill(
            t_string!(i18n, label_classifier_features),
            &[("backbone", &network(backbone))],
        ),
        Label::Classifier { backbone } => fill(
            t_string!(i18n, label_classifier),
            &[("backbone", &network(backbone))],
        ),
        Label::FineTuned { backbone } => fill(
            t_string!(i18n, label_fine_tuned),
            &[("backbone", &network(backbone))],
        ),
        Label::Handwriting {
            algorithm,
            backbone,
        } => fill(
            t_string!(i18n, label_handwriting),
            &[("algorithm", algorithm), ("backbone", &network(backbone))],
        ),
    }
}

/// How a network adapts.
pub fn procedure(i18n: I18n, procedure: &Procedure) -> String {
    match procedure {
        Procedure::Inner(inner) => {
            let head = if inner.proto_head {
                t_string!(i18n, procedure_prototype_head)
            } else {
                t_string!(i18n, procedure_learned_head)
            };
            let layers = if inner.head_only {
                t_string!(i18n, procedure_output_layer)
            } else {
                t_string!(i18n, procedure_every_layer)
            };
            fill(
                t_string!(i18n, procedure_inner),
                &[
                    ("head", &head),
                    ("steps", &inner.steps),
                    ("lr", &inner.lr),
                    ("layers", &layers),
                ],
            )
        }
        Procedure::FineTune { steps, lr } => fill(
            t_string!(i18n, procedure_fine_tune),
            &[("steps", steps), ("lr", lr)],
        ),
    }
}

/// Why a drawing cannot be used.
pub fn drawing_error(i18n: I18n, error: &DrawingError) -> String {
    match error {
        DrawingError::Empty => t_string!(i18n, drawing_empty).to_string(),
        DrawingError::WrongSize { .. } => error.to_string(),
    }
}

/// Why a gallery change or file was refused.
pub fn gallery_error(i18n: I18n, error: &GalleryError) -> String {
    match error {
        GalleryError::ClassCount(count) => {
            fill(t_string!(i18n, gallery_class_count), &[("count", count)])
        }
        GalleryError::ClassFull(class) => fill(
            t_string!(i18n, gallery_class_full),
            &[("class", class), ("max", &MAX_EXAMPLES)],
        ),
        GalleryError::TooLarge(bytes) => fill(
            t_string!(i18n, gallery_too_large),
            &[("bytes", bytes), ("max", &MAX_FILE_BYTES)],
        ),
        GalleryError::Gone => t_string!(i18n, gallery_gone).to_string(),
        GalleryError::BadName(NameProblem::Empty) => t_string!(i18n, gallery_name_empty).into(),
        GalleryError::BadName(NameProblem::TooLong) => fill(
            t_string!(i18n, gallery_name_too_long),
            &[("max", &MAX_NAME_CHARS)],
        ),
        GalleryError::BadName(NameProblem::Taken(name)) => {
            fill(t_string!(i18n, gallery_name_taken), &[("name", name)])
        }
        GalleryError::NotForKind(rule) => match rule {
            KindRule::TenDigits => t_string!(i18n, gallery_ten_digits),
            KindRule::UntickDigit => t_string!(i18n, gallery_untick_digit),
            KindRule::DigitNames => t_string!(i18n, gallery_digit_names),
            KindRule::RemoveSymbol => t_string!(i18n, gallery_remove_symbol),
        }
        .into(),
        GalleryError::BadExample { class, pixels } => fill(
            t_string!(i18n, gallery_bad_example),
            &[("class", class), ("pixels", pixels)],
        ),
        // The parser's own words carry the specifics (a line and column, a format name).
        GalleryError::NotAGallery(detail) => fill(
            t_string!(i18n, gallery_not_a_gallery),
            &[("detail", detail)],
        ),
        GalleryError::WrongFormat(format) => fill(
            t_string!(i18n, gallery_wrong_format),
            &[("format", format), ("expected", &FORMAT)],
        ),
    }
}
