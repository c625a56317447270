//! Which networks the Playground compares, and how each adapts — chosen so that they differ in
//! one thing at a time, and labelled with exactly that.
//!
//! *New symbols*: the chosen meta-trained network, the same architecture with random features,
//! and the plain MNIST classifier of that architecture (digit classification, no
//! meta-training), all adapted by the same procedure — the meta-trained network's own inner
//! loop from the catalogue, with the steps and rate the page sets. *My handwriting*: the plain
//! digit classifier with no adaptation, the same classifier fine-tuned on the person's digits,
//! and the network meta-trained for handwriting styles with its own inner loop.
//!
//! The 1-shot challenge splits a gallery into one example per class to adapt on and every
//! other example to test on, so each network gets an accuracy, not just one prediction.

use super::adapt::Procedure;
use super::gallery::Gallery;
use crate::data::ImageSet;
use crate::meta::inner::InnerLoop;
use crate::model::catalog::{Catalog, WeightsEntry};
use crate::model::{Architecture, Backbone};

/// Where a compared network's weights come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file of the weights catalogue.
    File(Box<WeightsEntry>),
    /// A fresh random initialisation (seeded, so every run compares the same network).
    Random {
        /// Its backbone and layer sizes.
        architecture: Architecture,
        /// Width of its output layer.
        classes: usize,
    },
}

/// What makes a compared network different: the caption of its results. `Display` gives it in
/// English; the browser words it in the person's language.
#[derive(Debug, Clone, PartialEq)]
pub enum Label {
    /// The chosen meta-trained network.
    MetaTrained {
        /// Its meta-learning algorithm.
        algorithm: String,
        /// Its network.
        backbone: Architecture,
    },
    /// The same architecture, randomly initialised.
    RandomFeatures {
        /// The network.
        backbone: Architecture,
    },
    /// The same architecture trained to classify digits, not meta-trained.
    ClassifierFeatures {
        /// The network.
        backbone: Architecture,
    },
    /// The digit classifier, not adapted.
    Classifier {
        /// The network.
        backbone: Architecture,
    },
    /// The digit classifier fine-tuned on the person's digits.
    FineTuned {
        /// The network.
        backbone: Architecture,
    },
    /// A network meta-trained for handwriting styles.
    Handwriting {
        /// Its meta-learning algorithm.
        algorithm: String,
        /// Its network.
        backbone: Architecture,
    },
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MetaTrained {
                algorithm,
                backbone,
            } => write!(
                f,
                "meta-trained features ({algorithm}, {})",
                backbone.describe()
            ),
            Self::RandomFeatures { backbone } => {
                write!(f, "random features ({}, no training)", backbone.describe())
            }
            Self::ClassifierFeatures { backbone } => write!(
                f,
                "digit-classifier features ({}, no meta-training)",
                backbone.describe()
            ),
            Self::Classifier { backbone } => {
                write!(
                    f,
                    "MNIST classifier ({}), no adaptation",
                    backbone.describe()
                )
            }
            Self::FineTuned { backbone } => write!(
                f,
                "MNIST classifier ({}), fine-tuned on your digits",
                backbone.describe()
            ),
            Self::Handwriting {
                algorithm,
                backbone,
            } => write!(
                f,
                "meta-trained for handwriting ({algorithm}, {})",
                backbone.describe()
            ),
        }
    }
}

/// One network of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Contender {
    /// What makes it different, shown on its results.
    pub label: Label,
    /// Where its weights come from.
    pub source: Source,
    /// How it adapts.
    pub procedure: Procedure,
}

/// Adam settings of whole-network fine-tuning (the classifier baseline).
pub const FINE_TUNE_LR: f64 = 1e-3;

/// The inner loop `entry` was meta-trained with, with the page's `steps` and `lr`; networks
/// without one (prototypical networks) adapt like Proto-MAML's head-only loop.
pub fn inner_loop(entry: &WeightsEntry, steps: usize, lr: f64) -> InnerLoop {
    let catalogued = entry
        .inner
        .clone()
        .unwrap_or_else(|| InnerLoop::new().with_head_only(true).with_proto_head(true));
    InnerLoop {
        steps,
        lr,
        ..catalogued
    }
}

/// The classifier of `architecture` in `catalog`.
fn classifier(catalog: &Catalog, architecture: Architecture) -> Option<&WeightsEntry> {
    catalog
        .entries
        .iter()
        .find(|e| e.algorithm == "classifier" && e.architecture() == architecture)
}

/// Networks for *New symbols* on a `way`-class task: `meta` (a meta-trained entry) against
/// random features and classifier features of the same architecture, all with `meta`'s inner
/// loop at `steps` × `lr`. When `meta`'s learned output layer is narrower than the task, every
/// network starts from the prototype layer instead, so they still start alike.
pub fn for_symbols(
    catalog: &Catalog,
    meta: &WeightsEntry,
    way: usize,
    steps: usize,
    lr: f64,
) -> Vec<Contender> {
    let mut inner = inner_loop(meta, steps, lr);
    inner.proto_head |= way > meta.classes;
    let procedure = Procedure::Inner(inner);
    let architecture = meta.architecture();
    let mut contenders = vec![
        Contender {
            label: Label::MetaTrained {
                algorithm: meta.algorithm.clone(),
                backbone: architecture,
            },
            source: Source::File(Box::new(meta.clone())),
            procedure: procedure.clone(),
        },
        Contender {
            label: Label::RandomFeatures {
                backbone: architecture,
            },
            source: Source::Random {
                architecture,
                classes: meta.classes,
            },
            procedure: procedure.clone(),
        },
    ];
    // Only a classifier of the very same architecture: otherwise the comparison would be
    // about layer sizes too.
    if let Some(entry) = classifier(catalog, architecture) {
        contenders.push(Contender {
            label: Label::ClassifierFeatures {
                backbone: architecture,
            },
            source: Source::File(Box::new(entry.clone())),
            procedure,
        });
    }
    contenders
}

/// Adam steps of whole-network fine-tuning in the handwriting comparison.
pub const FINE_TUNE_STEPS: usize = 20;

/// Networks for *My handwriting*, all of one architecture (that of the networks meta-trained
/// for handwriting styles, else the reference CNN): the plain digit classifier as it is and
/// fine-tuned with [`FINE_TUNE_STEPS`] Adam steps, and each network meta-trained for styles
/// with its own inner loop.
pub fn for_digits(catalog: &Catalog) -> Vec<Contender> {
    let styled: Vec<&WeightsEntry> = catalog
        .entries
        .iter()
        .filter(|e| e.protocol == "style-shift")
        .collect();
    let architecture = styled
        .first()
        .map_or(Backbone::Reference.into(), |e| e.architecture());
    let Some(base) = classifier(catalog, architecture) else {
        return Vec::new();
    };
    let mut contenders = vec![
        Contender {
            label: Label::Classifier {
                backbone: architecture,
            },
            source: Source::File(Box::new(base.clone())),
            procedure: Procedure::FineTune {
                steps: 0,
                lr: FINE_TUNE_LR,
            },
        },
        Contender {
            label: Label::FineTuned {
                backbone: architecture,
            },
            source: Source::File(Box::new(base.clone())),
            procedure: Procedure::FineTune {
                steps: FINE_TUNE_STEPS,
                lr: FINE_TUNE_LR,
            },
        },
    ];
    for entry in styled
        .into_iter()
        .filter(|e| e.architecture() == architecture)
    {
        if let Some(inner) = &entry.inner {
            contenders.push(Contender {
                label: Label::Handwriting {
                    algorithm: entry.algorithm.clone(),
                    backbone: architecture,
                },
                source: Source::File(Box::new(entry.clone())),
                procedure: Procedure::Inner(inner.clone()),
            });
        }
    }
    contenders
}

/// The 1-shot challenge on `gallery`: the first example of each active class to adapt on,
/// every other example to test on; refused with a reason unless every class has two or more.
pub fn one_shot_split(gallery: &Gallery) -> Result<(ImageSet, ImageSet), String> {
    let classes = gallery.classes();
    let active = gallery.active();
    let short: Vec<&str> = active
        .iter()
        .filter(|&&i| classes[i].examples.len() < 2)
        .map(|&i| classes[i].name.as_str())
        .collect();
    if !short.is_empty() {
        return Err(format!(
            "The 1-shot challenge adapts on one example per class and tests on the others: \
             draw a second example of {} (or load a sample set).",
            short.join(", ")
        ));
    }
    let (mut support, mut test) = (ImageSet::default(), ImageSet::default());
    for (label, &class) in active.iter().enumerate() {
        for (n, image) in classes[class].examples.iter().enumerate() {
            let set = if n == 0 { &mut support } else { &mut test };
            set.labels.push(label as u8);
            set.pixels.extend(image);
        }
    }
    Ok((support, test))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGE_PIXELS;

    fn entry(file: &str, algorithm: &str, protocol: &str, backbone: Backbone) -> WeightsEntry {
        WeightsEntry {
            file: file.into(),
            algorithm: algorithm.into(),
            protocol: protocol.into(),
            backbone,
            sizes: None,
            classes: 5,
            inner: Some(InnerLoop::new().with_steps(1).with_lr(0.4)),
            command: String::new(),
            measured: String::new(),
            bytes: 0,
            sha256: String::new(),
        }
    }

    fn catalog() -> Catalog {
        Catalog {
            entries: vec![
                WeightsEntry {
                    inner: None,
                    ..entry("mnist-cnn.bpk", "classifier", "mnist", Backbone::Reference)
                },
                WeightsEntry {
                    inner: None,
                    ..entry("mnist-conv4.bpk", "classifier", "mnist", Backbone::Conv4)
                },
                entry("digits-maml.bpk", "maml", "digits", Backbone::Conv4),
                entry("style-maml.bpk", "fomaml", "style-shift", Backbone::Conv4),
            ],
            ..Catalog::default()
        }
    }

    /// The three symbol networks differ only in where their features come from.
    #[test]
    fn symbol_contenders_share_one_procedure_and_one_architecture() {
        let catalog = catalog();
        let meta = catalog.entry("digits-maml.bpk").unwrap();
        let contenders = for_symbols(&catalog, meta, 4, 7, 0.2);
        assert_eq!(contenders.len(), 3);
        let procedure = &contenders[0].procedure;
        assert!(contenders.iter().all(|c| &c.procedure == procedure));
        assert_eq!(procedure.steps(), 7);
        // Wider than the meta-trained output layer: every network starts from prototypes.
        let wide = for_symbols(&catalog, meta, 6, 7, 0.2);
        assert!(
            wide.iter()
                .all(|c| matches!(&c.procedure, Procedure::Inner(i) if i.proto_head))
        );
        let backbones: Vec<Backbone> = contenders
            .iter()
            .map(|c| match &c.source {
                Source::File(e) => e.backbone,
                Source::Random { architecture, .. } => architecture.backbone,
            })
            .collect();
        assert_eq!(backbones, [Backbone::Conv4; 3]);
        assert!(contenders[1].label.to_string().contains("random"));
        assert!(contenders[2].label.to_string().contains("classifier"));
    }

    /// A network with other layer sizes than the shipped classifier's is compared with random
    /// features of its own sizes only: a classifier of other sizes would change two things.
    #[test]
    fn a_resized_network_is_compared_only_with_its_own_architecture() {
        let catalog = catalog();
        let narrow = Architecture {
            backbone: Backbone::Conv4,
            sizes: crate::model::Sizes {
                channels: 24,
                hidden: 24,
                spatial: false,
            },
        };
        let meta =
            entry("browser:p2-fomaml", "fomaml", "p2", Backbone::Conv4).with_architecture(narrow);
        let contenders = for_symbols(&catalog, &meta, 5, 5, 0.1);
        assert_eq!(contenders.len(), 2);
        assert!(matches!(
            contenders[1].source,
            Source::Random { architecture, .. } if architecture == narrow
        ));
        assert!(
            contenders[0]
                .label
                .to_string()
                .contains("conv4 (24 channels)")
        );
    }

    #[test]
    fn digit_contenders_are_the_classifier_as_is_fine_tuned_and_meta_trained() {
        let contenders = for_digits(&catalog());
        let labels: Vec<String> = contenders.iter().map(|c| c.label.to_string()).collect();
        assert_eq!(contenders.len(), 3, "{labels:?}");
        assert_eq!(contenders[0].procedure.steps(), 0);
        assert!(matches!(
            contenders[1].procedure,
            Procedure::FineTune { steps: 20, .. }
        ));
        assert!(matches!(contenders[2].procedure, Procedure::Inner(_)));
        // One architecture: the classifier of the style network's backbone.
        assert!(
            contenders
                .iter()
                .all(|c| c.label.to_string().contains("conv4")),
            "{labels:?}"
        );
        // Without a style network: the reference classifier, as it is and fine-tuned.
        let mut plain = catalog();
        plain.entries.retain(|e| e.protocol != "style-shift");
        let contenders = for_digits(&plain);
        assert_eq!(contenders.len(), 2);
        assert!(contenders[0].label.to_string().contains("reference"));
    }

    #[test]
    fn the_one_shot_challenge_keeps_one_example_per_class_for_adapting() {
        let mut gallery = Gallery::new(&["a", "b"]);
        gallery.add(vec![1; IMAGE_PIXELS]).unwrap();
        gallery.select(1);
        gallery.add(vec![2; IMAGE_PIXELS]).unwrap();
        assert!(one_shot_split(&gallery).unwrap_err().contains("a, b"));
        gallery.add(vec![3; IMAGE_PIXELS]).unwrap();
        gallery.select(0);
        gallery.add(vec![4; IMAGE_PIXELS]).unwrap();
        gallery.add(vec![5; IMAGE_PIXELS]).unwrap();
        let (support, test) = one_shot_split(&gallery).unwrap();
        assert_eq!(support.labels, [0, 1]);
        assert_eq!((support.image(0)[0], support.image(1)[0]), (1, 2));
        assert_eq!(test.labels, [0, 0, 1]);
    }
}
