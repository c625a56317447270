//! Augmentation: small shifts of the ink — random ones for meta-training, so the learned
//! features care about a digit's shape rather than its exact position in the frame, and every
//! one of them for enlarging a support set at test time.

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

/// Every image of `set` followed by its copies shifted by every other offset of at most `max`
/// pixels per axis: (2·max + 1)² images for each, with its label, in the order of `set`.
pub fn with_all_shifts(set: &ImageSet, max: usize) -> ImageSet {
    let max = max as isize;
    let mut offsets = vec![(0, 0)];
    offsets.extend(
        (-max..=max)
            .flat_map(|dy| (-max..=max).map(move |dx| (dx, dy)))
            .filter(|&offset| offset != (0, 0)),
    );
    let mut shifted = ImageSet::default();
    for (index, &label) in set.labels.iter().enumerate() {
        for &(dx, dy) in &offsets {
            shifted.labels.push(label);
            shifted.pixels.extend(shift(set.image(index), dx, dy));
        }
    }
    shifted
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

    #[test]
    fn all_shifts_follow_each_image_in_order() {
        let mut set = ImageSet::default();
        for (label, at) in [(3u8, 14 * IMAGE_SIDE + 14), (7, 5 * IMAGE_SIDE + 9)] {
            let mut image = vec![0u8; IMAGE_PIXELS];
            image[at] = 255;
            set.labels.push(label);
            set.pixels.extend(image);
        }
        let shifted = with_all_shifts(&set, 1);
        assert_eq!(shifted.labels, [[3u8; 9], [7; 9]].concat());
        assert_eq!(shifted.image(0), set.image(0));
        assert_eq!(shifted.image(9), set.image(1));
        for (copy, original) in [(0..9, 14 * IMAGE_SIDE + 14), (9..18, 5 * IMAGE_SIDE + 9)] {
            let mut places: Vec<usize> = copy
                .map(|i| shifted.image(i).iter().position(|&p| p == 255).unwrap())
                .collect();
            places.sort();
            places.dedup();
            assert_eq!(places.len(), 9, "nine different offsets");
            for at in places {
                let (row, col) = (at / IMAGE_SIDE, at % IMAGE_SIDE);
                let (row0, col0) = (original / IMAGE_SIDE, original % IMAGE_SIDE);
                assert!(row.abs_diff(row0) <= 1 && col.abs_diff(col0) <= 1);
            }
        }
        assert_eq!(with_all_shifts(&set, 0), set);
    }
}
