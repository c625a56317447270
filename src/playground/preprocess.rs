//! MNIST-style preprocessing of a drawing, as MNIST itself was made (LeCun et al.): crop to the
//! ink's bounding box, scale it to fit a 20×20 box keeping its aspect ratio (area-averaged, so
//! edges come out anti-aliased), then place it in a 28×28 frame so that its centre of mass sits
//! at the frame's centre. The result is what the network sees.

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};

/// Side of the box the ink is scaled to fit.
pub const INK_BOX: usize = 20;

/// Ink below this value (out of 255) counts as background when finding the bounding box.
const INK_THRESHOLD: u8 = 32;

/// Why a drawing cannot be fed to the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawingError {
    /// No ink, or too little to be a symbol.
    #[error("the drawing is empty or too small — draw a bigger symbol")]
    Empty,
    /// The buffer does not match the stated size.
    #[error("a {width}×{height} drawing needs {expected} pixels, got {got}")]
    WrongSize {
        /// Stated width.
        width: usize,
        /// Stated height.
        height: usize,
        /// width × height.
        expected: usize,
        /// Pixels received.
        got: usize,
    },
}

/// A 28×28 MNIST-style image (0 = background, 255 = ink) from a `width`×`height` ink map.
pub fn to_mnist(ink: &[u8], width: usize, height: usize) -> Result<Vec<u8>, DrawingError> {
    if ink.len() != width * height {
        return Err(DrawingError::WrongSize {
            width,
            height,
            expected: width * height,
            got: ink.len(),
        });
    }
    let (left, top, right, bottom) = bounding_box(ink, width).ok_or(DrawingError::Empty)?;
    let (box_w, box_h) = (right - left, bottom - top);
    // A dot or a speck is not a symbol: at least 2 % of the canvas side on its long axis.
    if box_w.max(box_h) * 50 < width.max(height) {
        return Err(DrawingError::Empty);
    }
    // Source pixels per output pixel, the same on both axes; the short side may end in a
    // partly covered pixel.
    let step = box_w.max(box_h) as f64 / INK_BOX as f64;
    let out_w = ((box_w as f64 / step).ceil() as usize).clamp(1, INK_BOX);
    let out_h = ((box_h as f64 / step).ceil() as usize).clamp(1, INK_BOX);
    let scaled = area_resample(ink, width, (left, top, box_w, box_h), step, (out_w, out_h));
    Ok(centre_by_mass(&scaled, out_w, out_h))
}

/// The ink of a picture drawn on a `width`-wide RGBA canvas inside `region` (left, top, width,
/// height; outside it, where a picture that does not fill the pad leaves bands, there is no
/// ink): dark strokes on a light background, or light strokes on a dark one (a photo of a
/// blackboard). Transparent pixels are white paper. The background's tone is the median of the
/// region (paper in a photo is grey, not white) and is taken away, so only strokes remain. The
/// ink map then goes through [`to_mnist`].
pub fn ink_of_picture(
    rgba: &[u8],
    width: usize,
    (left, top, region_w, region_h): (usize, usize, usize, usize),
) -> Vec<u8> {
    let darkness = |p: &[u8]| {
        let luminance = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
        (255.0 - luminance) * f64::from(p[3]) / 255.0
    };
    let inside = |index: usize| {
        let (x, y) = (index % width, index / width);
        (left..left + region_w).contains(&x) && (top..top + region_h).contains(&y)
    };
    let mut tones: Vec<f64> = (rgba.chunks_exact(4).enumerate())
        .filter(|(i, _)| inside(*i))
        .map(|(_, p)| darkness(p))
        .collect();
    if tones.is_empty() {
        return vec![0; rgba.len() / 4];
    }
    tones.sort_by(f64::total_cmp);
    let background = tones[tones.len() / 2];
    // Light strokes on a dark background count their lightness as ink.
    let inverted = background > 127.5;
    let background = if inverted {
        255.0 - background
    } else {
        background
    };
    let scale = 255.0 / (255.0 - background).max(1.0);
    (rgba.chunks_exact(4).enumerate())
        .map(|(i, p)| {
            if !inside(i) {
                return 0;
            }
            let d = if inverted {
                255.0 - darkness(p)
            } else {
                darkness(p)
            };
            ((d - background).max(0.0) * scale).round().min(255.0) as u8
        })
        .collect()
}

/// `(left, top, right, bottom)` (exclusive) of the pixels at or above the ink threshold.
fn bounding_box(ink: &[u8], width: usize) -> Option<(usize, usize, usize, usize)> {
    let mut found: Option<(usize, usize, usize, usize)> = None;
    for (index, _) in ink.iter().enumerate().filter(|(_, v)| **v >= INK_THRESHOLD) {
        let (x, y) = (index % width, index / width);
        found = Some(match found {
            None => (x, y, x + 1, y + 1),
            Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x + 1), b.max(y + 1)),
        });
    }
    found
}

/// The crop `(left, top, w, h)` of `ink` resampled to `out_w`×`out_h` output pixels of `step`
/// source pixels each, by averaging the source area under each output pixel (partial pixels
/// weighted by their overlap; area outside the crop counts as background).
fn area_resample(
    ink: &[u8],
    width: usize,
    (left, top, w, h): (usize, usize, usize, usize),
    step: f64,
    (out_w, out_h): (usize, usize),
) -> Vec<f64> {
    let (sx, sy) = (step, step);
    let overlap = |start: f64, end: f64, cell: usize| {
        (end.min(cell as f64 + 1.0) - start.max(cell as f64)).max(0.0)
    };
    let mut out = vec![0.0; out_w * out_h];
    for oy in 0..out_h {
        let (y0, y1) = (oy as f64 * sy, (oy + 1) as f64 * sy);
        for ox in 0..out_w {
            let (x0, x1) = (ox as f64 * sx, (ox + 1) as f64 * sx);
            let mut sum = 0.0;
            for y in y0.floor() as usize..(y1.ceil() as usize).min(h) {
                let wy = overlap(y0, y1, y);
                for x in x0.floor() as usize..(x1.ceil() as usize).min(w) {
                    let value = f64::from(ink[(top + y) * width + left + x]);
                    sum += value * wy * overlap(x0, x1, x);
                }
            }
            out[oy * out_w + ox] = sum / (sx * sy);
        }
    }
    out
}

/// A 28×28 frame with `image` placed so its centre of mass is at the centre (kept inside).
fn centre_by_mass(image: &[f64], w: usize, h: usize) -> Vec<u8> {
    let total: f64 = image.iter().sum();
    let (mut cx, mut cy) = (0.0, 0.0);
    for (index, value) in image.iter().enumerate() {
        cx += (index % w) as f64 * value;
        cy += (index / w) as f64 * value;
    }
    let centre = (IMAGE_SIDE as f64 - 1.0) / 2.0;
    let place = |mass_centre: f64, size: usize| {
        let offset = (centre - mass_centre / total).round() as isize;
        offset.clamp(0, (IMAGE_SIDE - size) as isize) as usize
    };
    let (dx, dy) = (place(cx, w), place(cy, h));
    let mut frame = vec![0u8; IMAGE_PIXELS];
    for (index, value) in image.iter().enumerate() {
        let (x, y) = (index % w + dx, index / w + dy);
        frame[y * IMAGE_SIDE + x] = value.round().clamp(0.0, 255.0) as u8;
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `side`×`side` canvas with a filled rectangle of ink.
    fn canvas(side: usize, (x, y, w, h): (usize, usize, usize, usize)) -> Vec<u8> {
        let mut ink = vec![0u8; side * side];
        for row in y..y + h {
            for col in x..x + w {
                ink[row * side + col] = 255;
            }
        }
        ink
    }

    /// The whole of a 20×20 canvas.
    const WHOLE: (usize, usize, usize, usize) = (0, 0, 20, 20);

    /// A `side`×`side` RGBA picture of `background` with a `square` of `ink` colour.
    fn picture(
        side: usize,
        background: [u8; 4],
        ink: [u8; 4],
        square: (usize, usize, usize, usize),
    ) -> Vec<u8> {
        let inside = canvas(side, square);
        inside
            .iter()
            .flat_map(|&v| if v > 0 { ink } else { background })
            .collect()
    }

    #[test]
    fn a_picture_gives_its_strokes_as_ink_whether_dark_on_light_or_light_on_dark() {
        let square = (4, 6, 8, 5);
        let expected = canvas(20, square);
        let paper = picture(20, [255, 255, 255, 255], [0, 0, 0, 255], square);
        assert_eq!(ink_of_picture(&paper, 20, WHOLE), expected);
        let blackboard = picture(20, [0, 0, 0, 255], [255, 255, 255, 255], square);
        assert_eq!(ink_of_picture(&blackboard, 20, WHOLE), expected);
        // A transparent PNG with black strokes: transparency is background.
        let transparent = picture(20, [0, 0, 0, 0], [0, 0, 0, 255], square);
        assert_eq!(ink_of_picture(&transparent, 20, WHOLE), expected);
        // Photographed paper is grey: its tone is taken away, the strokes stay full ink.
        let grey_paper = picture(20, [190, 190, 190, 255], [20, 20, 20, 255], square);
        let ink = ink_of_picture(&grey_paper, 20, WHOLE);
        assert!(
            ink.iter()
                .zip(&expected)
                .all(|(&i, &e)| if e > 0 { i > 200 } else { i == 0 }),
            "{ink:?}"
        );
    }

    #[test]
    fn bands_around_a_dark_photo_are_not_ink() {
        // A wide blackboard photo on the pad: transparent bands above and below it.
        let mut rgba = picture(20, [10, 10, 10, 255], [250, 250, 250, 255], (4, 6, 8, 5));
        for pixel in rgba.chunks_exact_mut(4).take(20 * 4) {
            pixel.copy_from_slice(&[0, 0, 0, 0]);
        }
        let ink = ink_of_picture(&rgba, 20, (0, 4, 20, 16));
        assert!(ink[..20 * 4].iter().all(|&v| v == 0), "bands became ink");
        assert_eq!(ink.iter().filter(|&&v| v > 200).count(), 8 * 5);
    }

    /// (centre of mass x, y, ink bounding width, height) of a 28×28 image.
    fn describe(image: &[u8]) -> (f64, f64, usize, usize) {
        let total: f64 = image.iter().map(|&v| f64::from(v)).sum();
        let mass = |coord: fn(usize) -> usize| {
            image
                .iter()
                .enumerate()
                .map(|(i, &v)| coord(i) as f64 * f64::from(v))
                .sum::<f64>()
                / total
        };
        let (l, t, r, b) = bounding_box(image, IMAGE_SIDE).unwrap();
        (
            mass(|i| i % IMAGE_SIDE),
            mass(|i| i / IMAGE_SIDE),
            r - l,
            b - t,
        )
    }

    #[test]
    fn a_small_off_centre_stroke_ends_centred_and_mnist_sized() {
        // A tall thin bar in the top-left corner of a 280×280 canvas.
        let image = to_mnist(&canvas(280, (10, 20, 12, 60)), 280, 280).unwrap();
        let (cx, cy, w, h) = describe(&image);
        assert!(
            (cx - 13.5).abs() <= 0.6 && (cy - 13.5).abs() <= 0.6,
            "{cx}, {cy}"
        );
        assert_eq!(h, INK_BOX, "the long side fills the 20-pixel box");
        assert_eq!(w, 4, "aspect ratio kept: 12/60 of 20");
    }

    #[test]
    fn a_very_large_drawing_is_shrunk_to_the_box() {
        let image = to_mnist(&canvas(280, (0, 30, 280, 200)), 280, 280).unwrap();
        let (cx, cy, w, h) = describe(&image);
        assert_eq!(
            (w, h),
            (20, 15),
            "200/280 of 20 = 14.3 rows, the last one partly inked"
        );
        assert!((cx - 13.5).abs() <= 0.6 && (cy - 13.5).abs() <= 0.6);
    }

    #[test]
    fn edges_are_anti_aliased() {
        // 7 of 20 output columns' worth of width: the edge column is partly covered.
        let image = to_mnist(&canvas(100, (10, 10, 25, 80)), 100, 100).unwrap();
        assert!(
            image.iter().any(|&v| v > 0 && v < 255),
            "expected grey edge pixels"
        );
    }

    #[test]
    fn empty_and_tiny_drawings_are_refused() {
        assert_eq!(
            to_mnist(&[0; 100 * 100], 100, 100),
            Err(DrawingError::Empty)
        );
        assert_eq!(
            to_mnist(&canvas(280, (100, 100, 3, 3)), 280, 280),
            Err(DrawingError::Empty)
        );
        assert!(matches!(
            to_mnist(&[0; 10], 5, 5),
            Err(DrawingError::WrongSize { .. })
        ));
    }
}
