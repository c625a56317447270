//! How the tasks of one phase are drawn: from which classes, in which label order, with which
//! augmentation. Meta-training, validation and testing each draw through a [`Tasks`], so a
//! protocol's choices (say, "every test task is someone else's handwriting") hold everywhere.

use super::augment::jitter;
use super::episode::{ClassPool, Episode, EpisodeError, EpisodeSpec};
use super::style::{Style, style_each};
use crate::rng::Rng;

/// Label order and augmentation of drawn tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskDraw {
    /// Keep the chosen classes in the order of the class list (with all ten digits: label =
    /// digit) instead of a random label permutation.
    pub fixed_order: bool,
    /// Shift each image by up to this many pixels per axis.
    pub jitter: usize,
    /// Which random handwriting styles the images are written in.
    pub styles: Styles,
}

/// Random handwriting styles ([`Style`]) for drawn tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Styles {
    /// The images as they are.
    #[default]
    None,
    /// One style per task: every image of a task in the same hand.
    PerTask,
    /// One style per image: every image in its own hand, support and query alike.
    PerImage,
}

/// Tasks of one shape drawn from some classes of a pool.
#[derive(Debug, Clone, Copy)]
pub struct Tasks<'a> {
    /// The images.
    pub pool: &'a ClassPool,
    /// The classes tasks may use.
    pub classes: &'a [usize],
    /// The task shape.
    pub spec: EpisodeSpec,
    /// Label order and augmentation.
    pub draw: TaskDraw,
}

impl Tasks<'_> {
    /// Draws one task.
    pub fn sample(&self, rng: &mut Rng) -> Result<Episode, EpisodeError> {
        let mut task =
            self.pool
                .sample_ordered(self.classes, self.spec, self.draw.fixed_order, rng)?;
        match self.draw.styles {
            Styles::None => {}
            Styles::PerTask => {
                let style = Style::random(rng);
                style.apply_to(&mut task.support);
                style.apply_to(&mut task.query);
            }
            Styles::PerImage => {
                style_each(&mut task.support, rng);
                style_each(&mut task.query, rng);
            }
        }
        jitter(&mut task.support, self.draw.jitter, rng);
        jitter(&mut task.query, self.draw.jitter, rng);
        Ok(task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::synthetic_images;

    #[test]
    fn fixed_order_keeps_digit_labels_and_styles_change_every_image() {
        let pool = ClassPool::from_labels(&synthetic_images(200, 1));
        let digits: Vec<usize> = (0..10).collect();
        let spec = EpisodeSpec {
            way: 10,
            shot: 2,
            query: 1,
        };
        let plain = Tasks {
            pool: &pool,
            classes: &digits,
            spec,
            draw: TaskDraw {
                fixed_order: true,
                ..TaskDraw::default()
            },
        };
        let task = plain.sample(&mut Rng::new(4)).unwrap();
        assert_eq!(task.classes, digits);
        let styled = Tasks {
            draw: TaskDraw {
                fixed_order: true,
                styles: Styles::PerTask,
                jitter: 0,
            },
            ..plain
        };
        let styled_task = styled.sample(&mut Rng::new(4)).unwrap();
        assert_eq!(styled_task.support.labels, task.support.labels);
        assert_ne!(styled_task.support.pixels, task.support.pixels);
        let each = Tasks {
            draw: TaskDraw {
                fixed_order: true,
                styles: Styles::PerImage,
                jitter: 0,
            },
            ..plain
        };
        let each_task = each.sample(&mut Rng::new(4)).unwrap();
        assert_eq!(each_task.support.labels, task.support.labels);
        assert_ne!(each_task.support.pixels, task.support.pixels);
        assert_ne!(each_task.support.pixels, styled_task.support.pixels);
        let random = Tasks {
            draw: TaskDraw::default(),
            ..plain
        };
        let orders: Vec<Vec<usize>> = (0..5)
            .map(|seed| random.sample(&mut Rng::new(seed)).unwrap().classes)
            .collect();
        assert!(orders.iter().any(|o| *o != digits), "labels are permuted");
    }
}
