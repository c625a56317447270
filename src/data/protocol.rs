//! Few-shot benchmark protocols: which classes and images each phase may use.
//!
//! **P1, novel digits.** Meta-training draws tasks from digits 0–4 of the MNIST train split
//! (optionally with rotated and mirrored copies as extra classes); meta-testing draws 5-way
//! tasks from digits 5–9 of the MNIST test split, so test classes and test images are both
//! unseen. Periodic validation draws tasks from digits 0–4 of the *test* split: unseen images of
//! the training classes, so no test class is ever used to choose a checkpoint.
//!
//! **P2, two-digit classes.** 100 classes "00"–"99"; an image of class "ab" is an image of digit
//! `a` and one of digit `b`, each shrunk to 14×14 and set side by side in the middle rows of a
//! 28×28 frame. The classes are shuffled with [`P2_SEED`] and split 64 / 16 / 20 into
//! meta-train / validation / meta-test classes ([`p2_class_split`]). Meta-training images are
//! composed from the MNIST train split, validation and meta-test images from the test split.
//!
//! **Style shift, someone else's handwriting.** Ten-way tasks over all ten digits with label =
//! digit, every task written in one random handwriting style ([`super::style`]): slant, size,
//! rotation, pen width, blur, elastic wobble. Meta-training draws from the MNIST train split;
//! validation from the even-numbered and meta-testing from the odd-numbered images of the test
//! split, so no test image or test style draw is ever seen before testing.

use super::episode::{ClassPool, EpisodeSpec};
use super::glyphs::glyph_images;
use super::tasks::{Styles, TaskDraw, Tasks};
use super::{IMAGE_PIXELS, IMAGE_SIDE, ImageSet};
use crate::rng::Rng;

/// Class pools and the classes each phase may draw tasks from.
#[derive(Clone)]
pub struct Protocol {
    /// Pool of meta-training images.
    pub train_pool: ClassPool,
    /// Classes of `train_pool` meta-training may use.
    pub train_classes: Vec<usize>,
    /// Pool of validation images.
    pub val_pool: ClassPool,
    /// Classes of `val_pool` validation uses.
    pub val_classes: Vec<usize>,
    /// Pool of meta-test images.
    pub test_pool: ClassPool,
    /// Classes of `test_pool` meta-testing uses.
    pub test_classes: Vec<usize>,
    /// Label order and augmentation of meta-training tasks.
    pub train_draw: TaskDraw,
    /// Label order and augmentation of validation and meta-test tasks.
    pub held_out_draw: TaskDraw,
}

impl Protocol {
    /// Meta-training on every class of `train_pool`; validation and meta-testing on the given
    /// classes of `held_out`.
    fn new(
        train_pool: ClassPool,
        held_out: ClassPool,
        val_classes: std::ops::Range<usize>,
        test_classes: std::ops::Range<usize>,
    ) -> Self {
        Self {
            train_classes: (0..train_pool.num_classes()).collect(),
            train_pool,
            val_pool: held_out.clone(),
            val_classes: val_classes.collect(),
            test_pool: held_out,
            test_classes: test_classes.collect(),
            train_draw: TaskDraw::default(),
            held_out_draw: TaskDraw::default(),
        }
    }

    /// Meta-training tasks of shape `spec`.
    pub fn train_tasks(&self, spec: EpisodeSpec) -> Tasks<'_> {
        Tasks {
            pool: &self.train_pool,
            classes: &self.train_classes,
            spec,
            draw: self.train_draw,
        }
    }

    /// Validation tasks of shape `spec` (narrowed to the validation classes when fewer).
    pub fn val_tasks(&self, spec: EpisodeSpec) -> Tasks<'_> {
        Tasks {
            pool: &self.val_pool,
            classes: &self.val_classes,
            spec: EpisodeSpec {
                way: spec.way.min(self.val_classes.len()),
                ..spec
            },
            draw: self.held_out_draw,
        }
    }

    /// Meta-test tasks of shape `spec`.
    pub fn test_tasks(&self, spec: EpisodeSpec) -> Tasks<'_> {
        Tasks {
            pool: &self.test_pool,
            classes: &self.test_classes,
            spec,
            draw: self.held_out_draw,
        }
    }
}

/// Renderings of each synthetic glyph class.
const GLYPH_IMAGES: usize = 60;
/// Seed of the synthetic glyphs.
const GLYPH_SEED: u64 = 17;

/// Extra meta-training classes made by transforming the training classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtraClasses {
    /// Add 90°/180°/270° rotations of every training class.
    pub rotations: bool,
    /// Add a left-right mirror of every (rotated) training class.
    pub mirrors: bool,
    /// Add half-and-half chimeras of every pair of training classes (before rotations).
    pub chimeras: bool,
    /// Add this many synthetic glyph classes (random stroke symbols, [`super::glyphs`]), after
    /// every other extra class.
    pub glyphs: usize,
}

impl ExtraClasses {
    /// `pool` with the extra classes (with rotations, class `c` becomes class `4c`).
    fn apply(self, mut pool: ClassPool) -> ClassPool {
        if self.chimeras {
            pool = pool.with_chimeras(500, 11);
        }
        if self.rotations {
            pool = pool.with_rotations();
        }
        if self.mirrors {
            pool = pool.with_mirrors();
        }
        if self.glyphs > 0 {
            pool = pool.with_classes(&glyph_images(self.glyphs, GLYPH_IMAGES, GLYPH_SEED));
        }
        pool
    }
}

/// P1 from MNIST's train and test splits.
pub fn p1(train: &ImageSet, test: &ImageSet, extra: ExtraClasses) -> Protocol {
    let training_digits = ImageSet {
        labels: train.labels.iter().copied().filter(|&l| l < 5).collect(),
        pixels: train
            .pixels
            .chunks(IMAGE_PIXELS)
            .zip(&train.labels)
            .filter(|(_, l)| **l < 5)
            .flat_map(|(image, _)| image.iter().copied())
            .collect(),
    };
    let train_pool = extra.apply(ClassPool::from_labels(&training_digits));
    Protocol::new(train_pool, ClassPool::from_labels(test), 0..5, 5..10)
}

/// **Digits**, for the playground: meta-training on all ten digits of the train split (plus any
/// extra classes), validation and testing on the ten digits of the test split. Its test tasks
/// measure adaptation to new images of known classes — a person's own handwriting, say.
pub fn digits(train: &ImageSet, test: &ImageSet, extra: ExtraClasses) -> Protocol {
    let train_pool = extra.apply(ClassPool::from_labels(train));
    Protocol::new(train_pool, ClassPool::from_labels(test), 0..10, 0..10)
}

/// **Style shift** from MNIST's train and test splits; `extra` adds classes to meta-training
/// only (the CLI refuses them: tasks labelled by digit have no place for other classes).
pub fn style_shift(train: &ImageSet, test: &ImageSet, extra: ExtraClasses) -> Protocol {
    let (even, odd): (Vec<usize>, Vec<usize>) = (0..test.len()).partition(|i| i % 2 == 0);
    let subset = |indices: &[usize]| {
        let mut set = ImageSet::default();
        for &i in indices {
            set.labels.push(test.labels[i]);
            set.pixels.extend_from_slice(test.image(i));
        }
        ClassPool::from_labels(&set)
    };
    let draw = TaskDraw {
        fixed_order: true,
        styles: Styles::PerTask,
        jitter: 0,
    };
    let digits: Vec<usize> = (0..10).collect();
    let train_pool = extra.apply(ClassPool::from_labels(train));
    Protocol {
        train_classes: (0..train_pool.num_classes()).collect(),
        train_pool,
        val_pool: subset(&even),
        val_classes: digits.clone(),
        test_pool: subset(&odd),
        test_classes: digits,
        train_draw: draw,
        held_out_draw: draw,
    }
}

/// Seed of P2's class split and of the composition of its images.
pub const P2_SEED: u64 = 2;

/// Images composed per P2 class (for each split that uses the class).
pub const P2_IMAGES_PER_CLASS: usize = 300;

/// P2's classes (two-digit numbers 0–99) as (meta-train, validation, meta-test): 64 / 16 / 20.
pub fn p2_class_split() -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut classes: Vec<usize> = (0..100).collect();
    Rng::new(P2_SEED).shuffle(&mut classes);
    let test = classes.split_off(80);
    let val = classes.split_off(64);
    (classes, val, test)
}

/// P2 from MNIST's train and test splits; `extra` adds classes to meta-training only.
///
/// Pool classes are positions in the class lists of [`p2_class_split`]: the meta-training pool
/// holds the 64 training numbers (then any extra classes), the held-out pool the 16 validation
/// numbers followed by the 20 test numbers.
pub fn p2(train: &ImageSet, test: &ImageSet, extra: ExtraClasses) -> Protocol {
    let (train_numbers, val_numbers, test_numbers) = p2_class_split();
    let train_pool = extra.apply(ClassPool::from_labels(&two_digit_images(
        train,
        &train_numbers,
        P2_SEED,
    )));
    let held_out: Vec<usize> = val_numbers.iter().chain(&test_numbers).copied().collect();
    let test_pool = ClassPool::from_labels(&two_digit_images(test, &held_out, P2_SEED + 1));
    let val = val_numbers.len();
    Protocol::new(train_pool, test_pool, 0..val, val..held_out.len())
}

/// [`P2_IMAGES_PER_CLASS`] images of each two-digit number in `numbers`, labelled with the
/// number's position in `numbers`, composed from randomly chosen digits of `source`.
pub fn two_digit_images(source: &ImageSet, numbers: &[usize], seed: u64) -> ImageSet {
    let mut by_digit: Vec<Vec<usize>> = vec![Vec::new(); 10];
    for (index, &label) in source.labels.iter().enumerate() {
        by_digit[usize::from(label)].push(index);
    }
    let mut rng = Rng::new(seed);
    let mut set = ImageSet::default();
    for (label, &number) in numbers.iter().enumerate() {
        for _ in 0..P2_IMAGES_PER_CLASS {
            let mut pick = |digit: usize| {
                let members = &by_digit[digit];
                source.image(members[rng.below(members.len())])
            };
            let (tens, units) = (pick(number / 10).to_vec(), pick(number % 10));
            set.pixels.extend(side_by_side(&tens, units));
            set.labels.push(label as u8);
        }
    }
    set
}

/// A 28×28 image holding `left` and `right`, each halved to 14×14, in its middle rows.
fn side_by_side(left: &[u8], right: &[u8]) -> Vec<u8> {
    const HALF: usize = IMAGE_SIDE / 2;
    let top = HALF / 2;
    let mut out = vec![0u8; IMAGE_PIXELS];
    for (image, first_col) in [(left, 0), (right, HALF)] {
        for row in 0..HALF {
            for col in 0..HALF {
                let at =
                    |r: usize, c: usize| u32::from(image[(2 * row + r) * IMAGE_SIDE + 2 * col + c]);
                let mean = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) / 4;
                out[(top + row) * IMAGE_SIDE + first_col + col] = mean as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p2_split_is_64_16_20_disjoint_and_fixed() {
        let (train, val, test) = p2_class_split();
        assert_eq!((train.len(), val.len(), test.len()), (64, 16, 20));
        let mut all: Vec<usize> = train.iter().chain(&val).chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(p2_class_split(), (train, val, test));
    }

    #[test]
    fn two_digit_images_put_each_digit_in_its_half() {
        // Digit 1 is a full white frame, digit 0 is black.
        let mut source = ImageSet::default();
        for digit in [0u8, 1] {
            source.labels.push(digit);
            source.pixels.extend(vec![255 * digit; IMAGE_PIXELS]);
        }
        let set = two_digit_images(&source, &[10, 1], 5);
        assert_eq!(set.len(), 2 * P2_IMAGES_PER_CLASS);
        let ten = set.image(0);
        let one = set.image(P2_IMAGES_PER_CLASS);
        assert_eq!(set.labels[P2_IMAGES_PER_CLASS], 1);
        let middle = 14 * IMAGE_SIDE;
        assert_eq!((ten[middle + 3], ten[middle + 20]), (255, 0)); // "10": ink left only
        assert_eq!((one[middle + 3], one[middle + 20]), (0, 255)); // "01": ink right only
        assert_eq!(ten[3], 0, "the top rows stay empty");
        assert_eq!(ten.iter().filter(|&&p| p == 255).count(), 14 * 14);
    }
}
