//! Few-shot benchmark protocols: which classes and images each phase may use.
//!
//! **P1, novel digits.** Meta-training draws tasks from digits 0–4 of the MNIST train split
//! (optionally with rotated copies as extra classes); meta-testing draws 5-way tasks from digits
//! 5–9 of the MNIST test split, so test classes and test images are both unseen. Periodic
//! validation draws tasks from digits 0–4 of the *test* split: unseen images of the training
//! classes, so no test class is ever used to choose a checkpoint.

use super::ImageSet;
use super::episode::ClassPool;

/// Class pools and the classes each phase may draw tasks from.
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
}

/// P1 from MNIST's train and test splits; `rotations` adds 90°/180°/270° copies of the
/// training digits as 15 more training classes.
pub fn p1(train: &ImageSet, test: &ImageSet, rotations: bool) -> Protocol {
    let digits = |range: std::ops::Range<usize>| range.collect::<Vec<_>>();
    let train_pool = ClassPool::from_labels(train);
    let (train_pool, train_classes) = if rotations {
        // Rotation r of digit d becomes class 4d + r.
        (train_pool.with_rotations(), digits(0..20))
    } else {
        (train_pool, digits(0..5))
    };
    let test_pool = ClassPool::from_labels(test);
    Protocol {
        train_pool,
        train_classes,
        val_pool: test_pool.clone(),
        val_classes: digits(0..5),
        test_pool,
        test_classes: digits(5..10),
    }
}
