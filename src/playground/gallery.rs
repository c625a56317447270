//! The support set a person builds in the playground: named classes, each with its drawn
//! examples (already preprocessed to 28×28), the class new drawings go to, and a JSON form for
//! browser storage, export and import.
//!
//! The gallery owns every rule, so no click can break it: the selected class always exists
//! (removing or unticking it moves the selection), names and counts have limits, and a digit
//! gallery keeps all ten digits with their drawings — unticking a digit leaves it out of the
//! task without deleting anything. Import checks everything and either returns a whole
//! gallery or a clear error, so a bad file never replaces the current one.

use crate::data::{IMAGE_PIXELS, ImageSet};
use serde::{Deserialize, Serialize};

/// Fewest and most classes a task may have.
pub const CLASS_RANGE: std::ops::RangeInclusive<usize> = 2..=10;
/// Most examples kept per class.
pub const MAX_EXAMPLES: usize = 10;
/// Longest class name, in characters.
pub const MAX_NAME_CHARS: usize = 24;
/// Largest gallery file accepted for import, in bytes (ten full classes take about 250 KB).
pub const MAX_FILE_BYTES: usize = 1_000_000;
/// Format tag written into every saved gallery.
pub const FORMAT: &str = "fewshot-lab.gallery.v1";

/// What a gallery's classes are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GalleryKind {
    /// Made-up symbols the person names.
    #[default]
    Symbols,
    /// The ten digits, in the person's handwriting.
    Digits,
}

impl GalleryKind {
    /// Short name (storage keys, messages).
    pub fn key(self) -> &'static str {
        match self {
            Self::Symbols => "symbols",
            Self::Digits => "digits",
        }
    }
}

/// One class: a name (text or emoji) and its examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolClass {
    /// What the person called it.
    pub name: String,
    /// 28×28 images, 0 = background, 255 = ink.
    pub examples: Vec<Vec<u8>>,
    /// Part of the task (digit galleries untick digits instead of deleting them).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The classes and examples of one playground session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gallery {
    format: String,
    /// Symbols or digits.
    #[serde(default)]
    pub kind: GalleryKind,
    /// The classes, in label order.
    classes: Vec<SymbolClass>,
    /// The class new drawings go to (an index of an active class).
    #[serde(default)]
    selected: usize,
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
    #[error("a task needs 2 to 10 classes, this would have {0}")]
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
    /// A name that is empty, too long or already taken.
    #[error("{0}")]
    BadName(NameProblem),
    /// A file too large to be a gallery.
    #[error("the file is {0} bytes; a gallery file is at most {MAX_FILE_BYTES}")]
    TooLarge(usize),
    /// An operation on something that is not there (a stale click).
    #[error("that example or class no longer exists")]
    Gone,
    /// An operation the gallery's kind does not allow.
    #[error("{0}")]
    NotForKind(KindRule),
}

/// What is wrong with a class name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    /// Nothing but spaces.
    #[error("a class needs a name")]
    Empty,
    /// Longer than [`MAX_NAME_CHARS`].
    #[error("a class name is at most {MAX_NAME_CHARS} characters")]
    TooLong,
    /// Another class has it.
    #[error("there is already a class `{0}`")]
    Taken(String),
}

/// An edit one kind of gallery does not allow, and what to do instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KindRule {
    /// Adding a class to the ten digits.
    #[error("digit galleries have the ten digits")]
    TenDigits,
    /// Removing a digit.
    #[error("untick a digit to leave it out")]
    UntickDigit,
    /// Renaming a digit.
    #[error("digits keep their names")]
    DigitNames,
    /// Unticking a symbol class.
    #[error("remove a symbol class instead")]
    RemoveSymbol,
}

impl Gallery {
    /// A symbol gallery with the given class names and no examples.
    pub fn new(names: &[&str]) -> Self {
        Self {
            format: FORMAT.into(),
            kind: GalleryKind::Symbols,
            classes: names
                .iter()
                .map(|name| SymbolClass {
                    name: (*name).into(),
                    examples: Vec::new(),
                    active: true,
                })
                .collect(),
            selected: 0,
        }
    }

    /// A digit gallery: all ten digits, every one ticked, no examples.
    pub fn digits() -> Self {
        let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        Self {
            kind: GalleryKind::Digits,
            ..Self::new(&refs)
        }
    }

    /// The starting gallery of `kind`.
    pub fn fresh(kind: GalleryKind) -> Self {
        match kind {
            GalleryKind::Symbols => Self::new(&["★", "●", "▲"]),
            GalleryKind::Digits => Self::digits(),
        }
    }

    /// Every class, ticked or not.
    pub fn classes(&self) -> &[SymbolClass] {
        &self.classes
    }

    /// Indices of the classes in the task, in label order.
    pub fn active(&self) -> Vec<usize> {
        (0..self.classes.len())
            .filter(|&i| self.classes[i].active)
            .collect()
    }

    /// The class new drawings go to.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// Makes `class` the one new drawings go to (ignored unless it is an active class).
    pub fn select(&mut self, class: usize) {
        if self.classes.get(class).is_some_and(|c| c.active) {
            self.selected = class;
        }
    }

    /// Moves the selection to an active class if it is not on one.
    fn fix_selection(&mut self) {
        if !self.classes.get(self.selected).is_some_and(|c| c.active) {
            let active = self.active();
            self.selected = active
                .iter()
                .copied()
                .find(|&i| i > self.selected)
                .or(active.last().copied())
                .unwrap_or(0);
        }
    }

    /// Adds `image` to the selected class.
    pub fn add(&mut self, image: Vec<u8>) -> Result<(), GalleryError> {
        self.fix_selection();
        let target = self
            .classes
            .get_mut(self.selected)
            .ok_or(GalleryError::Gone)?;
        if target.examples.len() >= MAX_EXAMPLES {
            return Err(GalleryError::ClassFull(target.name.clone()));
        }
        target.examples.push(image);
        Ok(())
    }

    /// Removes example `index` of class `class`.
    pub fn remove(&mut self, class: usize, index: usize) -> Result<Vec<u8>, GalleryError> {
        let examples = &mut self
            .classes
            .get_mut(class)
            .ok_or(GalleryError::Gone)?
            .examples;
        if index >= examples.len() {
            return Err(GalleryError::Gone);
        }
        Ok(examples.remove(index))
    }

    /// Moves example `index` of class `from` to class `to`.
    pub fn relabel(&mut self, from: usize, index: usize, to: usize) -> Result<(), GalleryError> {
        let target = self.classes.get(to).ok_or(GalleryError::Gone)?;
        if target.examples.len() >= MAX_EXAMPLES {
            return Err(GalleryError::ClassFull(target.name.clone()));
        }
        let image = self.remove(from, index)?;
        self.classes[to].examples.push(image);
        Ok(())
    }

    /// `name` trimmed, if it is a usable new name for class `except` (or a new class).
    fn check_name(&self, name: &str, except: Option<usize>) -> Result<String, GalleryError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(GalleryError::BadName(NameProblem::Empty));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(GalleryError::BadName(NameProblem::TooLong));
        }
        let taken = self
            .classes
            .iter()
            .enumerate()
            .any(|(i, c)| Some(i) != except && c.name == name);
        if taken {
            return Err(GalleryError::BadName(NameProblem::Taken(name.to_string())));
        }
        Ok(name.to_string())
    }

    /// Adds a new symbol class and selects it.
    pub fn add_class(&mut self, name: &str) -> Result<(), GalleryError> {
        if self.kind == GalleryKind::Digits {
            return Err(GalleryError::NotForKind(KindRule::TenDigits));
        }
        if self.classes.len() >= *CLASS_RANGE.end() {
            return Err(GalleryError::ClassCount(self.classes.len() + 1));
        }
        let name = self.check_name(name, None)?;
        self.classes.push(SymbolClass {
            name,
            examples: Vec::new(),
            active: true,
        });
        self.selected = self.classes.len() - 1;
        Ok(())
    }

    /// Removes symbol class `class` and its examples (the page offers an undo).
    pub fn remove_class(&mut self, class: usize) -> Result<SymbolClass, GalleryError> {
        if self.kind == GalleryKind::Digits {
            return Err(GalleryError::NotForKind(KindRule::UntickDigit));
        }
        if class >= self.classes.len() {
            return Err(GalleryError::Gone);
        }
        if self.classes.len() <= *CLASS_RANGE.start() {
            return Err(GalleryError::ClassCount(self.classes.len() - 1));
        }
        let removed = self.classes.remove(class);
        if self.selected > class {
            self.selected -= 1;
        }
        self.fix_selection();
        Ok(removed)
    }

    /// Renames symbol class `class`.
    pub fn rename(&mut self, class: usize, name: &str) -> Result<(), GalleryError> {
        if self.kind == GalleryKind::Digits {
            return Err(GalleryError::NotForKind(KindRule::DigitNames));
        }
        let name = self.check_name(name, Some(class))?;
        self.classes.get_mut(class).ok_or(GalleryError::Gone)?.name = name;
        Ok(())
    }

    /// Ticks or unticks digit `class`; its drawings stay either way.
    pub fn set_active(&mut self, class: usize, active: bool) -> Result<(), GalleryError> {
        if self.kind == GalleryKind::Symbols {
            return Err(GalleryError::NotForKind(KindRule::RemoveSymbol));
        }
        if class >= self.classes.len() {
            return Err(GalleryError::Gone);
        }
        let count = self.active().len();
        if !active && self.classes[class].active && count <= *CLASS_RANGE.start() {
            return Err(GalleryError::ClassCount(count - 1));
        }
        self.classes[class].active = active;
        self.fix_selection();
        Ok(())
    }

    /// Names of the active classes, in label order.
    pub fn names(&self) -> Vec<String> {
        self.active()
            .into_iter()
            .map(|i| self.classes[i].name.clone())
            .collect()
    }

    /// Names of the active classes that still have no example (adaptation needs one of each).
    pub fn missing(&self) -> Vec<&str> {
        self.active()
            .into_iter()
            .filter(|&i| self.classes[i].examples.is_empty())
            .map(|i| self.classes[i].name.as_str())
            .collect()
    }

    /// True when every active class has an example.
    pub fn ready(&self) -> bool {
        self.missing().is_empty()
    }

    /// Every example of the active classes as a support set, labelled 0.. in label order and
    /// grouped by class.
    pub fn support_set(&self) -> ImageSet {
        let mut set = ImageSet::default();
        for (label, class) in self.active().into_iter().enumerate() {
            for image in &self.classes[class].examples {
                set.labels.push(label as u8);
                set.pixels.extend(image);
            }
        }
        set
    }

    /// The same gallery keeping only the first `shots` examples of each class (the 1-shot
    /// challenge uses one).
    pub fn with_shots(&self, shots: usize) -> Self {
        let mut out = self.clone();
        for class in &mut out.classes {
            class.examples.truncate(shots);
        }
        out
    }

    /// The gallery as JSON (for storage and export).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a gallery always serialises")
    }

    /// A gallery read back from [`Gallery::to_json`] output, checked in full.
    pub fn from_json(text: &str) -> Result<Self, GalleryError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(GalleryError::TooLarge(text.len()));
        }
        let mut gallery: Self =
            serde_json::from_str(text).map_err(|e| GalleryError::NotAGallery(e.to_string()))?;
        if gallery.format != FORMAT {
            return Err(GalleryError::WrongFormat(gallery.format));
        }
        match gallery.kind {
            // Symbol classes are never unticked (they are removed instead).
            GalleryKind::Symbols => gallery.classes.iter_mut().for_each(|c| c.active = true),
            GalleryKind::Digits => {
                let in_order = gallery.classes.len() == 10
                    && (gallery.classes.iter().enumerate()).all(|(d, c)| c.name == d.to_string());
                if !in_order {
                    return Err(GalleryError::NotAGallery(
                        "a digit gallery has the ten digits 0–9, in order".into(),
                    ));
                }
            }
        }
        let count = gallery.active().len();
        if !CLASS_RANGE.contains(&count) {
            return Err(GalleryError::ClassCount(count));
        }
        for (i, class) in gallery.classes.iter().enumerate() {
            gallery.check_name(&class.name, Some(i))?;
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
        gallery.fix_selection();
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
        gallery.add(image(1)).unwrap();
        gallery.add(image(2)).unwrap();
        gallery.select(2);
        gallery.add(image(3)).unwrap();
        assert_eq!(gallery.missing(), ["○"]);
        gallery.relabel(0, 1, 1).unwrap();
        assert!(gallery.ready());
        assert_eq!(gallery.remove(2, 0), Ok(image(3)));
        assert_eq!(gallery.remove(2, 0), Err(GalleryError::Gone));
        gallery.add(image(4)).unwrap();
        let support = gallery.support_set();
        assert_eq!(support.labels, [0, 1, 2]);
        assert_eq!(
            support.image(1)[0],
            2,
            "the relabelled example moved with its pixels"
        );
        gallery.select(1);
        for _ in 1..MAX_EXAMPLES {
            gallery.add(image(5)).unwrap();
        }
        assert_eq!(
            gallery.add(image(6)),
            Err(GalleryError::ClassFull("○".into()))
        );
        assert_eq!(gallery.with_shots(1).support_set().len(), 3);
    }

    /// Removing the selected (last) class, then drawing, once indexed a class that no longer
    /// existed and crashed the app.
    #[test]
    fn removing_the_selected_class_moves_the_selection() {
        let mut gallery = Gallery::new(&["a", "b", "c", "d"]);
        gallery.select(3);
        gallery.remove_class(3).unwrap();
        assert_eq!(gallery.selected(), 2);
        gallery.add(image(1)).unwrap();
        assert_eq!(gallery.classes()[2].examples.len(), 1);
        gallery.select(0);
        gallery.remove_class(0).unwrap();
        assert_eq!(gallery.selected(), 0);
        assert_eq!(gallery.names(), ["b", "c"]);
        assert_eq!(gallery.remove_class(0), Err(GalleryError::ClassCount(1)));
        assert_eq!(gallery.remove_class(7), Err(GalleryError::Gone));
    }

    /// Unticking the selected digit, then drawing, crashed too; and it must not delete drawings.
    #[test]
    fn unticking_a_digit_keeps_its_drawings_and_moves_the_selection() {
        let mut gallery = Gallery::digits();
        gallery.select(9);
        gallery.add(image(9)).unwrap();
        gallery.set_active(9, false).unwrap();
        assert_ne!(gallery.selected(), 9);
        gallery.add(image(8)).unwrap();
        assert_eq!(
            gallery.classes()[9].examples.len(),
            1,
            "unticking deletes nothing"
        );
        assert_eq!(gallery.names().len(), 9);
        gallery.select(9);
        assert_ne!(
            gallery.selected(),
            9,
            "an unticked digit cannot be selected"
        );
        for d in 2..9 {
            gallery.set_active(d, false).unwrap();
        }
        assert_eq!(
            gallery.set_active(1, false),
            Err(GalleryError::ClassCount(1))
        );
        gallery.set_active(9, true).unwrap();
        assert_eq!(gallery.names(), ["0", "1", "9"]);
        assert_eq!(
            gallery.support_set().labels,
            [2],
            "label = rank among ticked digits"
        );
    }

    #[test]
    fn names_have_limits() {
        let mut gallery = Gallery::new(&["a", "b"]);
        assert!(matches!(
            gallery.add_class("  "),
            Err(GalleryError::BadName(_))
        ));
        assert!(matches!(
            gallery.add_class("a"),
            Err(GalleryError::BadName(_))
        ));
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(matches!(
            gallery.add_class(&long),
            Err(GalleryError::BadName(_))
        ));
        gallery.add_class(" ♞ ").unwrap();
        assert_eq!(gallery.names(), ["a", "b", "♞"]);
        assert_eq!(gallery.selected(), 2);
        gallery.rename(0, "α").unwrap();
        assert!(matches!(
            gallery.rename(1, "α"),
            Err(GalleryError::BadName(_))
        ));
        for n in 0..7 {
            gallery.add_class(&n.to_string()).unwrap();
        }
        assert_eq!(
            gallery.add_class("one more"),
            Err(GalleryError::ClassCount(11))
        );
        assert!(matches!(
            Gallery::digits().add_class("x"),
            Err(GalleryError::NotForKind(_))
        ));
    }

    #[test]
    fn json_round_trips_with_kind_and_selection() {
        let mut gallery = Gallery::new(&["a", "b"]);
        gallery.select(1);
        gallery.add(image(9)).unwrap();
        assert_eq!(Gallery::from_json(&gallery.to_json()), Ok(gallery));
        let mut digits = Gallery::digits();
        digits.set_active(3, false).unwrap();
        let read = Gallery::from_json(&digits.to_json()).unwrap();
        assert_eq!(read.kind, GalleryKind::Digits);
        assert_eq!(read.names().len(), 9);
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
        let twins = Gallery::new(&["a", "a"]).to_json();
        assert!(matches!(err(&twins), GalleryError::BadName(_)));
        let huge = " ".repeat(MAX_FILE_BYTES + 1);
        assert_eq!(err(&huge), GalleryError::TooLarge(MAX_FILE_BYTES + 1));
        // A hand-edited file cannot untick symbol classes, nor reorder or rename digits.
        let hidden = Gallery::new(&["a", "b"])
            .to_json()
            .replace("\"active\":true", "\"active\":false");
        assert_eq!(Gallery::from_json(&hidden).unwrap().names(), ["a", "b"]);
        let swapped = Gallery::digits().to_json().replacen("\"0\"", "\"x\"", 1);
        assert!(matches!(err(&swapped), GalleryError::NotAGallery(_)));
        // A stored selection pointing nowhere is mended, not trusted.
        let stale = Gallery::new(&["a", "b"])
            .to_json()
            .replace("\"selected\":0", "\"selected\":9");
        assert_eq!(Gallery::from_json(&stale).unwrap().selected(), 1);
    }
}
