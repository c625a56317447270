//! Augmentation for meta-training: small random shifts of the ink, so the learned features
//! care about a digit's shape rather than its exact position in the frame.

use super::{IMAGE_PIXELS, IMAGE_SIDE, ImageSet};
use crate::rng::Rng;

/// `image` moved `dx` pixels right and `dy` down; what leaves the frame is lost, what enters
/// it is background.
pub fn shift(image: &[u8], dx: isize, dy: isize) -> Vec<u8> {
    let side = IMAGE_SIDE as isize;
    let mut out = vec![0; IMAGE_PIXELS];
    for row in 0..side {
        for col in 0..side {
            let (from_row, from_col) = (row - dy, col - dx);
            if (0..side).contains(&from_row) && (0..side).contains(&from_col) {
                out[(row * side + col) as usize] = image[(from_row * side + from_col) as usize];
            }
        }
    }
    out
}

/// Shifts every image of `set` by its own random offset of at most `max` pixels per axis.
pub fn jitter(set: &mut ImageSet, max: usize, rng: &mut Rng) {
    if max == 0 {
        return;
    }
    let max = max as isize;
    let mut offset = || rng.below(2 * max as usize + 1) as isize - max;
    for image in set.pixels.chunks_mut(IMAGE_PIXELS) {
        let (dx, dy) = (offset(), offset());
        let moved = shift(image, dx, dy);
        image.copy_from_slice(&moved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_moves_ink_and_drops_what_leaves_the_frame() {
        let mut image = vec![0u8; IMAGE_PIXELS];
        image[IMAGE_SIDE + 1] = 9; // row 1, column 1
        image[IMAGE_PIXELS - 1] = 7; // bottom-right corner
        let moved = shift(&image, 2, -1);
        assert_eq!(moved[3], 9); // row 0, column 3
        assert_eq!(moved.iter().filter(|&&p| p != 0).count(), 1);
    }

    #[test]
    fn jitter_keeps_labels_and_stays_within_max() {
        let mut set = ImageSet::default();
        let mut image = vec![0u8; IMAGE_PIXELS];
        image[14 * IMAGE_SIDE + 14] = 255;
        for label in 0..20u8 {
            set.labels.push(label % 2);
            set.pixels.extend(&image);
        }
        let labels = set.labels.clone();
        jitter(&mut set, 2, &mut Rng::new(3));
        assert_eq!(set.labels, labels);
        let mut moved = 0;
        for image in set.pixels.chunks(IMAGE_PIXELS) {
            let at = image.iter().position(|&p| p == 255).unwrap();
            let (row, col) = (at / IMAGE_SIDE, at % IMAGE_SIDE);
            assert!(row.abs_diff(14) <= 2 && col.abs_diff(14) <= 2);
            moved += usize::from(at != 14 * IMAGE_SIDE + 14);
        }
        assert!(moved > 10, "most images should move");
    }
}
