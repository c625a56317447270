//! Few-shot episodes: N-way K-shot tasks with Q query images per class.
//!
//! A [`ClassPool`] holds images grouped by class. [`ClassPool::sample`] draws one task from a
//! given list of allowed classes (so a protocol's train / validation / test class split is
//! respected by construction): `way` distinct classes in random order — the order is the
//! task's label permutation — then `shot + query` distinct images of each, the first `shot`
//! for the support set and the rest for the query set, so the two never share an image.
//! Everything is drawn from the caller's [`Rng`], so a seed fixes the whole sequence.
//! [`ClassPool::with_rotations`] makes new classes by rotating every class by 90°, 180° and
//! 270°, as is done for Omniglot, and [`ClassPool::with_mirrors`] by mirroring every class; use
//! them for meta-training pools only.

use super::{IMAGE_PIXELS, IMAGE_SIDE, ImageSet};
use crate::rng::Rng;

/// Shape of a few-shot task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EpisodeSpec {
    /// Classes per task (N).
    pub way: usize,
    /// Labelled examples per class (K).
    pub shot: usize,
    /// Query images per class (Q).
    pub query: usize,
}

/// Why an episode cannot be drawn.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EpisodeError {
    /// Fewer allowed classes than the task's way.
    #[error("a {way}-way task needs {way} classes, only {available} are allowed")]
    TooFewClasses {
        /// Classes the task needs.
        way: usize,
        /// Classes allowed.
        available: usize,
    },
    /// A class with fewer images than shot + query.
    #[error("class {class} has {available} images, a task needs {needed} of each class")]
    TooFewImages {
        /// The class.
        class: usize,
        /// Images it has.
        available: usize,
        /// shot + query.
        needed: usize,
    },
    /// A class id outside the pool.
    #[error("class {0} is not in the pool")]
    UnknownClass(usize),
}

/// One task: a labelled support set to adapt on and a query set to evaluate on.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// `way · shot` images, labels `0..way`.
    pub support: ImageSet,
    /// `way · query` images, labels `0..way`.
    pub query: ImageSet,
    /// Pool class behind each task label: `classes[label]`.
    pub classes: Vec<usize>,
}

/// Images grouped by class, the population episodes are drawn from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassPool {
    pixels: Vec<u8>,
    members: Vec<Vec<usize>>,
}

/// `image` rotated by 90° clockwise.
fn rotate_quarter(image: &[u8]) -> Vec<u8> {
    let mut out = vec![0; IMAGE_PIXELS];
    for row in 0..IMAGE_SIDE {
        for col in 0..IMAGE_SIDE {
            out[col * IMAGE_SIDE + (IMAGE_SIDE - 1 - row)] = image[row * IMAGE_SIDE + col];
        }
    }
    out
}

/// `image` mirrored left to right.
fn mirror(image: &[u8]) -> Vec<u8> {
    image
        .chunks(IMAGE_SIDE)
        .flat_map(|row| row.iter().rev().copied())
        .collect()
}

impl ClassPool {
    /// A pool whose classes are the labels of `set` (class `c` = label `c`).
    pub fn from_labels(set: &ImageSet) -> Self {
        let classes = set
            .labels
            .iter()
            .map(|&l| usize::from(l) + 1)
            .max()
            .unwrap_or(0);
        let mut members = vec![Vec::new(); classes];
        for (index, &label) in set.labels.iter().enumerate() {
            members[usize::from(label)].push(index);
        }
        Self {
            pixels: set.pixels.clone(),
            members,
        }
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.members.len()
    }

    /// Number of images of `class`.
    pub fn class_size(&self, class: usize) -> usize {
        self.members.get(class).map_or(0, Vec::len)
    }

    fn image(&self, index: usize) -> &[u8] {
        &self.pixels[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }

    /// Four times the classes: class `c` rotated by `r`·90° becomes class `4c + r`.
    pub fn with_rotations(&self) -> Self {
        let mut pool = Self::default();
        for members in &self.members {
            let mut turned: Vec<Vec<u8>> =
                members.iter().map(|&i| self.image(i).to_vec()).collect();
            for _ in 0..4 {
                let start = pool.pixels.len() / IMAGE_PIXELS;
                pool.members.push((start..start + turned.len()).collect());
                for image in &mut turned {
                    pool.pixels.extend_from_slice(image);
                    *image = rotate_quarter(image);
                }
            }
        }
        pool
    }

    /// Twice the classes: class `c` mirrored left to right becomes class `c + n` (n classes).
    pub fn with_mirrors(&self) -> Self {
        let mut pool = self.clone();
        for members in &self.members {
            let start = pool.pixels.len() / IMAGE_PIXELS;
            for &index in members {
                let mirrored = mirror(self.image(index));
                pool.pixels.extend_from_slice(&mirrored);
            }
            pool.members.push((start..start + members.len()).collect());
        }
        pool
    }

    /// Adds a new class for every ordered pair of distinct classes `(a, b)` and each of two
    /// cuts: the top half of an image of `a` over the bottom half of one of `b`, and the left
    /// half of `a` beside the right half of `b`; `per_class` images each, drawn with `seed`.
    /// New shapes made of familiar strokes, for meta-training pools with few classes.
    pub fn with_chimeras(&self, per_class: usize, seed: u64) -> Self {
        let half = IMAGE_SIDE / 2;
        let cuts: [fn(usize, usize) -> bool; 2] = [|row, _| row < 14, |_, col| col < 14];
        debug_assert_eq!(half, 14);
        let mut rng = Rng::new(seed);
        let mut pool = self.clone();
        let classes = self.num_classes();
        for first_from_a in cuts {
            for a in 0..classes {
                for b in (0..classes).filter(|&b| b != a) {
                    let start = pool.pixels.len() / IMAGE_PIXELS;
                    for _ in 0..per_class {
                        let image_a = self.image(self.members[a][rng.below(self.members[a].len())]);
                        let image_b = self.image(self.members[b][rng.below(self.members[b].len())]);
                        pool.pixels.extend((0..IMAGE_PIXELS).map(|i| {
                            let (row, col) = (i / IMAGE_SIDE, i % IMAGE_SIDE);
                            if first_from_a(row, col) {
                                image_a[i]
                            } else {
                                image_b[i]
                            }
                        }));
                    }
                    pool.members.push((start..start + per_class).collect());
                }
            }
        }
        pool
    }

    /// Adds one class per list of `images` (28×28 each), after the existing classes.
    pub fn with_classes(&self, images: &[Vec<Vec<u8>>]) -> Self {
        let mut pool = self.clone();
        for class in images {
            let start = pool.pixels.len() / IMAGE_PIXELS;
            for image in class {
                pool.pixels.extend_from_slice(image);
            }
            pool.members.push((start..start + class.len()).collect());
        }
        pool
    }

    /// Draws one task from the classes in `allowed`, in a random label order.
    pub fn sample(
        &self,
        allowed: &[usize],
        spec: EpisodeSpec,
        rng: &mut Rng,
    ) -> Result<Episode, EpisodeError> {
        self.sample_ordered(allowed, spec, false, rng)
    }

    /// Draws one task from the classes in `allowed`; with `fixed_order` the chosen classes keep
    /// their order in `allowed` (label = rank: with all ten digits, label = digit), else their
    /// order is random.
    pub fn sample_ordered(
        &self,
        allowed: &[usize],
        spec: EpisodeSpec,
        fixed_order: bool,
        rng: &mut Rng,
    ) -> Result<Episode, EpisodeError> {
        if let Some(&class) = allowed.iter().find(|&&c| c >= self.num_classes()) {
            return Err(EpisodeError::UnknownClass(class));
        }
        if allowed.len() < spec.way {
            return Err(EpisodeError::TooFewClasses {
                way: spec.way,
                available: allowed.len(),
            });
        }
        let needed = spec.shot + spec.query;
        let mut classes = allowed.to_vec();
        partial_shuffle(&mut classes, spec.way, rng);
        classes.truncate(spec.way);
        if fixed_order {
            classes.sort_by_key(|c| allowed.iter().position(|a| a == c));
        }
        let mut episode = Episode {
            support: ImageSet::default(),
            query: ImageSet::default(),
            classes,
        };
        for (label, &class) in episode.classes.iter().enumerate() {
            let mut members = self.members[class].clone();
            if members.len() < needed {
                return Err(EpisodeError::TooFewImages {
                    class,
                    available: members.len(),
                    needed,
                });
            }
            partial_shuffle(&mut members, needed, rng);
            for (n, &index) in members[..needed].iter().enumerate() {
                let target = if n < spec.shot {
                    &mut episode.support
                } else {
                    &mut episode.query
                };
                target.labels.push(label as u8);
                target.pixels.extend_from_slice(self.image(index));
            }
        }
        Ok(episode)
    }
}

/// Moves `count` uniformly chosen distinct items to the front of `items`.
fn partial_shuffle<T>(items: &mut [T], count: usize, rng: &mut Rng) {
    for i in 0..count.min(items.len()) {
        let j = i + rng.below(items.len() - i);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten classes of 30 images; every image is unique (its first two bytes encode its index).
    fn pool() -> ClassPool {
        let mut set = ImageSet::default();
        for index in 0..300usize {
            set.labels.push((index % 10) as u8);
            let mut image = vec![0u8; IMAGE_PIXELS];
            image[0] = (index / 256) as u8;
            image[1] = (index % 256) as u8;
            set.pixels.extend(image);
        }
        ClassPool::from_labels(&set)
    }

    fn id(image: &[u8]) -> usize {
        usize::from(image[0]) * 256 + usize::from(image[1])
    }

    #[test]
    fn episodes_respect_way_shot_query_split_and_disjointness() {
        let pool = pool();
        let spec = EpisodeSpec {
            way: 5,
            shot: 3,
            query: 4,
        };
        let allowed = [1, 3, 5, 7, 9, 0];
        let mut rng = Rng::new(9);
        for _ in 0..50 {
            let episode = pool.sample(&allowed, spec, &mut rng).unwrap();
            let mut classes = episode.classes.clone();
            classes.sort_unstable();
            classes.dedup();
            assert_eq!(classes.len(), 5, "classes must be distinct");
            assert!(episode.classes.iter().all(|c| allowed.contains(c)));
            for label in 0..5u8 {
                assert_eq!(
                    episode
                        .support
                        .labels
                        .iter()
                        .filter(|&&l| l == label)
                        .count(),
                    3
                );
                assert_eq!(
                    episode.query.labels.iter().filter(|&&l| l == label).count(),
                    4
                );
            }
            let support: Vec<usize> = (0..episode.support.len())
                .map(|i| id(episode.support.image(i)))
                .collect();
            let query: Vec<usize> = (0..episode.query.len())
                .map(|i| id(episode.query.image(i)))
                .collect();
            assert!(
                support.iter().all(|s| !query.contains(s)),
                "support and query overlap"
            );
            // Each image belongs to the pool class its task label stands for.
            for (i, &image) in support.iter().enumerate() {
                assert_eq!(
                    image % 10,
                    episode.classes[usize::from(episode.support.labels[i])]
                );
            }
        }
    }

    #[test]
    fn same_seed_same_episode_and_labels_are_permuted() {
        let pool = pool();
        let spec = EpisodeSpec {
            way: 5,
            shot: 1,
            query: 2,
        };
        let allowed: Vec<usize> = (0..10).collect();
        let draw = |seed| pool.sample(&allowed, spec, &mut Rng::new(seed)).unwrap();
        assert_eq!(draw(4), draw(4));
        let orders: std::collections::HashSet<Vec<usize>> =
            (0..20).map(|s| draw(s).classes).collect();
        assert!(
            orders.len() > 10,
            "class-to-label assignment should vary between tasks"
        );
    }

    #[test]
    fn impossible_tasks_are_refused() {
        let pool = pool();
        let mut rng = Rng::new(1);
        assert_eq!(
            pool.sample(
                &[0, 1],
                EpisodeSpec {
                    way: 3,
                    shot: 1,
                    query: 1
                },
                &mut rng
            ),
            Err(EpisodeError::TooFewClasses {
                way: 3,
                available: 2
            })
        );
        assert!(matches!(
            pool.sample(
                &[0, 1],
                EpisodeSpec {
                    way: 2,
                    shot: 20,
                    query: 11
                },
                &mut rng
            ),
            Err(EpisodeError::TooFewImages {
                available: 30,
                needed: 31,
                ..
            })
        ));
        assert_eq!(
            pool.sample(
                &[0, 12],
                EpisodeSpec {
                    way: 2,
                    shot: 1,
                    query: 1
                },
                &mut rng
            ),
            Err(EpisodeError::UnknownClass(12))
        );
    }

    #[test]
    fn rotations_make_four_classes_per_class() {
        let mut set = ImageSet::default();
        let mut image = vec![0u8; IMAGE_PIXELS];
        image[0] = 255; // top-left corner
        set.labels.push(0);
        set.pixels.extend(&image);
        let rotated = ClassPool::from_labels(&set).with_rotations();
        assert_eq!(rotated.num_classes(), 4);
        let corner = |class: usize| {
            let image = rotated.image(rotated.members[class][0]);
            image.iter().position(|&p| p == 255).unwrap()
        };
        let last = IMAGE_SIDE - 1;
        assert_eq!(corner(0), 0); // unrotated
        assert_eq!(corner(1), last); // 90° clockwise: top-right
        assert_eq!(corner(2), IMAGE_PIXELS - 1); // 180°: bottom-right
        assert_eq!(corner(3), last * IMAGE_SIDE); // 270°: bottom-left
    }

    #[test]
    fn mirrors_double_the_classes() {
        let mut set = ImageSet::default();
        let mut image = vec![0u8; IMAGE_PIXELS];
        image[1] = 255; // second pixel of the top row
        set.labels.extend([0, 1]);
        set.pixels.extend(&image);
        set.pixels.extend(&image);
        let mirrored = ClassPool::from_labels(&set).with_mirrors();
        assert_eq!(mirrored.num_classes(), 4);
        let ink = |class: usize| {
            let image = mirrored.image(mirrored.members[class][0]);
            image.iter().position(|&p| p == 255).unwrap()
        };
        assert_eq!((ink(0), ink(1)), (1, 1));
        assert_eq!((ink(2), ink(3)), (IMAGE_SIDE - 2, IMAGE_SIDE - 2));
    }
}
