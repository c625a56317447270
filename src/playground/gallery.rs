//! The support set a person builds in the playground: named classes, each with its drawn
//! examples (already preprocessed to 28×28), plus a JSON form for browser storage, export and
//! import. Import checks everything and either returns a whole gallery or a clear error, so a
//! bad file never replaces the current one.

use crate::data::{IMAGE_PIXELS, ImageSet};
use serde::{Deserialize, Serialize};

/// Fewest and most classes a gallery may have.
pub const CLASS_RANGE: std::ops::RangeInclusive<usize> = 2..=10;
/// Most examples kept per class.
pub const MAX_EXAMPLES: usize = 10;
/// Format tag written into every saved gallery.
const FORMAT: &str = "fewshot-lab.gallery.v1";

/// One class: a name (text or emoji) and its examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolClass {
    /// What the person called it.
    pub name: String,
    /// 28×28 images, 0 = background, 255 = ink.
    pub examples: Vec<Vec<u8>>,
}

/// The classes and examples of one playground session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gallery {
    format: String,
    /// The classes, in label order.
    pub classes: Vec<SymbolClass>,
}

/// Why a gallery file was refused or an edit was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GalleryError {
    /// Not JSON, or not shaped like a gallery.
    #[error("not a Few-Shot Lab gallery file: {0}")]
    NotAGallery(String),
    /// A gallery from another format version.
    #[error("gallery format `{0}` is not supported (expected {FORMAT})")]
    WrongFormat(String),
    /// Too few or too many classes.
    #[error("a gallery needs 2 to 10 classes, this one has {0}")]
    ClassCount(usize),
    /// An example that is not a 28×28 image.
    #[error("class `{class}` has an example with {pixels} pixels instead of 784")]
    BadExample {
        /// The class name.
        class: String,
        /// Pixels found.
        pixels: usize,
    },
    /// A class already holds the most examples allowed.
    #[error("class `{0}` already has {MAX_EXAMPLES} examples")]
    ClassFull(String),
}

impl Gallery {
    /// A gallery with the given class names and no examples.
    pub fn new(names: &[&str]) -> Self {
        Self {
            format: FORMAT.into(),
            classes: names
                .iter()
                .map(|name| SymbolClass {
                    name: (*name).into(),
                    examples: Vec::new(),
                })
                .collect(),
        }
    }

    /// Adds `image` to class `class`.
    pub fn add(&mut self, class: usize, image: Vec<u8>) -> Result<(), GalleryError> {
        let target = &mut self.classes[class];
        if target.examples.len() >= MAX_EXAMPLES {
            return Err(GalleryError::ClassFull(target.name.clone()));
        }
        target.examples.push(image);
        Ok(())
    }

    /// Removes example `index` of class `class` and returns it.
    pub fn remove(&mut self, class: usize, index: usize) -> Vec<u8> {
        self.classes[class].examples.remove(index)
    }

    /// Moves example `index` of class `from` to class `to`.
    pub fn relabel(&mut self, from: usize, index: usize, to: usize) -> Result<(), GalleryError> {
        if self.classes[to].examples.len() >= MAX_EXAMPLES {
            return Err(GalleryError::ClassFull(self.classes[to].name.clone()));
        }
        let image = self.remove(from, index);
        self.classes[to].examples.push(image);
        Ok(())
    }

    /// Names of the classes that still have no example (adaptation needs one of each).
    pub fn missing(&self) -> Vec<&str> {
        self.classes
            .iter()
            .filter(|c| c.examples.is_empty())
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Every example as a support set, labelled with its class index and grouped by class.
    pub fn support_set(&self) -> ImageSet {
        let mut set = ImageSet::default();
        for (label, class) in self.classes.iter().enumerate() {
            for image in &class.examples {
                set.labels.push(label as u8);
                set.pixels.extend(image);
            }
        }
        set
    }

    /// The gallery as JSON (for storage and export).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a gallery always serialises")
    }

    /// A gallery read back from [`Gallery::to_json`] output, checked in full.
    pub fn from_json(text: &str) -> Result<Self, GalleryError> {
        let gallery: Self =
            serde_json::from_str(text).map_err(|e| GalleryError::NotAGallery(e.to_string()))?;
        if gallery.format != FORMAT {
            return Err(GalleryError::WrongFormat(gallery.format));
        }
        if !CLASS_RANGE.contains(&gallery.classes.len()) {
            return Err(GalleryError::ClassCount(gallery.classes.len()));
        }
        for class in &gallery.classes {
            if let Some(bad) = class.examples.iter().find(|e| e.len() != IMAGE_PIXELS) {
                return Err(GalleryError::BadExample {
                    class: class.name.clone(),
                    pixels: bad.len(),
                });
            }
            if class.examples.len() > MAX_EXAMPLES {
                return Err(GalleryError::ClassFull(class.name.clone()));
            }
        }
        Ok(gallery)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(value: u8) -> Vec<u8> {
        vec![value; IMAGE_PIXELS]
    }

    #[test]
    fn editing_keeps_counts_and_labels_right() {
        let mut gallery = Gallery::new(&["★", "○", "△"]);
        assert_eq!(gallery.missing(), ["★", "○", "△"]);
        gallery.add(0, image(1)).unwrap();
        gallery.add(0, image(2)).unwrap();
        gallery.add(2, image(3)).unwrap();
        assert_eq!(gallery.missing(), ["○"]);
        gallery.relabel(0, 1, 1).unwrap();
        assert!(gallery.missing().is_empty());
        assert_eq!(gallery.remove(2, 0), image(3));
        gallery.add(2, image(4)).unwrap();
        let support = gallery.support_set();
        assert_eq!(support.labels, [0, 1, 2]);
        assert_eq!(
            support.image(1)[0],
            2,
            "the relabelled example moved with its pixels"
        );
        for _ in 1..MAX_EXAMPLES {
            gallery.add(1, image(5)).unwrap();
        }
        assert_eq!(
            gallery.add(1, image(6)),
            Err(GalleryError::ClassFull("○".into()))
        );
    }

    #[test]
    fn json_round_trips() {
        let mut gallery = Gallery::new(&["a", "b"]);
        gallery.add(1, image(9)).unwrap();
        assert_eq!(Gallery::from_json(&gallery.to_json()), Ok(gallery));
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let err = |text: &str| Gallery::from_json(text).unwrap_err();
        assert!(matches!(err("{not json"), GalleryError::NotAGallery(_)));
        assert!(matches!(
            err(r#"{"classes": []}"#),
            GalleryError::NotAGallery(_)
        ));
        let wrong_format = r#"{"format": "other", "classes": []}"#;
        assert_eq!(err(wrong_format), GalleryError::WrongFormat("other".into()));
        let one_class = Gallery::new(&["only"]).to_json();
        assert_eq!(err(&one_class), GalleryError::ClassCount(1));
        let mut short = Gallery::new(&["a", "b"]);
        short.classes[0].examples.push(vec![0; 10]);
        let expected = GalleryError::BadExample {
            class: "a".into(),
            pixels: 10,
        };
        assert_eq!(err(&short.to_json()), expected);
    }
}
