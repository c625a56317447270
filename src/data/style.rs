//! Handwriting styles: the distortions that make one person's digits look unlike MNIST's.
//!
//! A [`Style`] is one writer: a slant (shear), a size, a small rotation, a pen that is thinner or
//! thicker, sharper or blurrier, and a smooth elastic wobble (Simard et al., 2003). The
//! style-shift protocol draws one per task and applies it to every image of that task, support
//! and query alike — a task is "someone else's handwriting"; [`style_each`] draws one per image.
//! Meta-training on styled tasks teaches a network to adapt to a new hand from a few examples;
//! the style-shift test set applies the same kind of styles, from other random draws, to unseen
//! MNIST test digits.

use super::glyphs::uniform;
use super::{IMAGE_PIXELS, IMAGE_SIDE, ImageSet};
use crate::rng::Rng;

/// One writer's style.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    /// Horizontal shear: x moves by `shear · (y − centre)`.
    pub shear: f32,
    /// Scale about the centre.
    pub scale: f32,
    /// Rotation in radians.
    pub rotation: f32,
    /// −1 thins the strokes (erosion), +1 thickens them (dilation), 0 leaves them.
    pub thickness: i8,
    /// Blur the strokes (3×3 binomial filter).
    pub blur: bool,
    /// Elastic displacement field, `[y][x]` of (dx, dy) in pixels, on a coarse 5×5 grid.
    pub wobble: [[(f32, f32); 5]; 5],
}

impl Style {
    /// A random writer: shear ±0.5, scale 0.75–1.15, rotation ±15°, thinner / same / thicker
    /// pen, blurred half of the time, an elastic wobble of up to 2 pixels.
    pub fn random(rng: &mut Rng) -> Self {
        let shear = uniform(rng, -0.5, 0.5);
        let scale = uniform(rng, 0.75, 1.15);
        let rotation = uniform(rng, -0.26, 0.26);
        let thickness = rng.below(3) as i8 - 1;
        let blur = rng.below(2) == 1;
        let mut wobble = [[(0.0, 0.0); 5]; 5];
        for row in &mut wobble {
            for point in row.iter_mut() {
                *point = (uniform(rng, -2.0, 2.0), uniform(rng, -2.0, 2.0));
            }
        }
        Self {
            shear,
            scale,
            rotation,
            thickness,
            blur,
            wobble,
        }
    }

    /// `image` written in this style.
    pub fn apply(&self, image: &[u8]) -> Vec<u8> {
        let mut out = self.warp(image);
        if self.thickness != 0 {
            out = morph(&out, self.thickness > 0);
        }
        if self.blur {
            out = blur(&out);
        }
        out
    }

    /// Every image of `set` written in this style.
    pub fn apply_to(&self, set: &mut ImageSet) {
        for image in set.pixels.chunks_mut(IMAGE_PIXELS) {
            let styled = self.apply(image);
            image.copy_from_slice(&styled);
        }
    }

    /// The elastic displacement at pixel (x, y): the coarse grid, bilinearly interpolated.
    fn displacement(&self, x: f32, y: f32) -> (f32, f32) {
        let cell = (IMAGE_SIDE - 1) as f32 / 4.0;
        let (gx, gy) = ((x / cell).clamp(0.0, 3.999), (y / cell).clamp(0.0, 3.999));
        let (ix, iy) = (gx as usize, gy as usize);
        let (fx, fy) = (gx - ix as f32, gy - iy as f32);
        let lerp =
            |a: (f32, f32), b: (f32, f32), t: f32| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        let top = lerp(self.wobble[iy][ix], self.wobble[iy][ix + 1], fx);
        let bottom = lerp(self.wobble[iy + 1][ix], self.wobble[iy + 1][ix + 1], fx);
        lerp(top, bottom, fy)
    }

    /// The geometric part: each output pixel samples the input at the inverse of shear, scale
    /// and rotation about the centre, moved by the wobble (bilinear sampling).
    fn warp(&self, image: &[u8]) -> Vec<u8> {
        let centre = (IMAGE_SIDE as f32 - 1.0) / 2.0;
        let (sin, cos) = self.rotation.sin_cos();
        let mut out = vec![0u8; IMAGE_PIXELS];
        for y in 0..IMAGE_SIDE {
            for x in 0..IMAGE_SIDE {
                let (dx, dy) = self.displacement(x as f32, y as f32);
                let (u, v) = (x as f32 - centre + dx, y as f32 - centre + dy);
                // Undo the rotation, then the scale, then the shear.
                let (u, v) = (cos * u + sin * v, -sin * u + cos * v);
                let (u, v) = (u / self.scale, v / self.scale);
                let u = u - self.shear * v;
                out[y * IMAGE_SIDE + x] = sample(image, u + centre, v + centre);
            }
        }
        out
    }
}

/// Every image of `set` written in its own random style (one writer per image).
pub fn style_each(set: &mut ImageSet, rng: &mut Rng) {
    for image in set.pixels.chunks_mut(IMAGE_PIXELS) {
        let styled = Style::random(rng).apply(image);
        image.copy_from_slice(&styled);
    }
}

/// Bilinear sample of `image` at (x, y); outside the frame is background.
fn sample(image: &[u8], x: f32, y: f32) -> u8 {
    let pixel = |px: i32, py: i32| {
        if (0..IMAGE_SIDE as i32).contains(&px) && (0..IMAGE_SIDE as i32).contains(&py) {
            f32::from(image[py as usize * IMAGE_SIDE + px as usize])
        } else {
            0.0
        }
    };
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i32, y0 as i32);
    let top = pixel(x0, y0) * (1.0 - fx) + pixel(x0 + 1, y0) * fx;
    let bottom = pixel(x0, y0 + 1) * (1.0 - fx) + pixel(x0 + 1, y0 + 1) * fx;
    (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
}

/// Dilation (`thicker`) or erosion of `image` with a 3×3 cross.
fn morph(image: &[u8], thicker: bool) -> Vec<u8> {
    let side = IMAGE_SIDE as i32;
    let at = |x: i32, y: i32| {
        if (0..side).contains(&x) && (0..side).contains(&y) {
            image[(y * side + x) as usize]
        } else {
            0
        }
    };
    let mut out = vec![0u8; IMAGE_PIXELS];
    for y in 0..side {
        for x in 0..side {
            let cross = [
                at(x, y),
                at(x - 1, y),
                at(x + 1, y),
                at(x, y - 1),
                at(x, y + 1),
            ];
            out[(y * side + x) as usize] = if thicker {
                cross.into_iter().max().unwrap_or(0)
            } else {
                cross.into_iter().min().unwrap_or(0)
            };
        }
    }
    out
}

/// `image` smoothed by the 3×3 binomial filter [1 2 1]ᵀ[1 2 1] / 16.
fn blur(image: &[u8]) -> Vec<u8> {
    let side = IMAGE_SIDE as i32;
    let at = |x: i32, y: i32| {
        if (0..side).contains(&x) && (0..side).contains(&y) {
            u32::from(image[(y * side + x) as usize])
        } else {
            0
        }
    };
    let mut out = vec![0u8; IMAGE_PIXELS];
    for y in 0..side {
        for x in 0..side {
            let mut sum = 0;
            for (dy, wy) in [(-1, 1), (0, 2), (1, 1)] {
                for (dx, wx) in [(-1, 1), (0, 2), (1, 1)] {
                    sum += wy * wx * at(x + dx, y + dy);
                }
            }
            out[(y * side + x) as usize] = ((sum + 8) / 16) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vertical bar 4 pixels wide, 16 tall, in the middle.
    fn bar() -> Vec<u8> {
        let mut image = vec![0u8; IMAGE_PIXELS];
        for y in 6..22 {
            for x in 12..16 {
                image[y * IMAGE_SIDE + x] = 255;
            }
        }
        image
    }

    fn plain() -> Style {
        Style {
            shear: 0.0,
            scale: 1.0,
            rotation: 0.0,
            thickness: 0,
            blur: false,
            wobble: [[(0.0, 0.0); 5]; 5],
        }
    }

    fn ink(image: &[u8]) -> u32 {
        image.iter().map(|&p| u32::from(p)).sum()
    }

    #[test]
    fn the_plain_style_changes_nothing() {
        assert_eq!(plain().apply(&bar()), bar());
    }

    #[test]
    fn thickness_and_scale_change_the_ink_as_expected() {
        let thick = Style {
            thickness: 1,
            ..plain()
        }
        .apply(&bar());
        let thin = Style {
            thickness: -1,
            ..plain()
        }
        .apply(&bar());
        assert!(ink(&thick) > ink(&bar()) && ink(&thin) < ink(&bar()));
        let small = Style {
            scale: 0.5,
            ..plain()
        }
        .apply(&bar());
        let ratio = f64::from(ink(&small)) / f64::from(ink(&bar()));
        assert!(
            (ratio - 0.25).abs() < 0.06,
            "half the size, a quarter of the ink: {ratio}"
        );
        // Blur keeps the ink (up to rounding) but spreads it.
        let blurred = Style {
            blur: true,
            ..plain()
        }
        .apply(&bar());
        let spread = |image: &[u8]| image.iter().filter(|&&p| p > 0).count();
        assert!(spread(&blurred) > spread(&bar()));
        assert!((f64::from(ink(&blurred)) / f64::from(ink(&bar())) - 1.0).abs() < 0.02);
    }

    #[test]
    fn shear_slants_the_bar() {
        let slanted = Style {
            shear: 0.5,
            ..plain()
        }
        .apply(&bar());
        let centre_of_row = |y: usize| {
            let row = &slanted[y * IMAGE_SIDE..(y + 1) * IMAGE_SIDE];
            let total: f64 = row.iter().map(|&p| f64::from(p)).sum();
            row.iter()
                .enumerate()
                .map(|(x, &p)| x as f64 * f64::from(p))
                .sum::<f64>()
                / total
        };
        // x grows with y: the bottom of the bar is 0.5 · 12 = 6 pixels right of its top.
        let slant = centre_of_row(19) - centre_of_row(7);
        assert!((slant - 6.0).abs() < 1.0, "slant {slant}");
    }

    #[test]
    fn random_styles_are_seeded_and_differ() {
        let a = Style::random(&mut Rng::new(1));
        assert_eq!(a, Style::random(&mut Rng::new(1)));
        assert_ne!(a, Style::random(&mut Rng::new(2)));
        let styled = a.apply(&bar());
        assert_ne!(styled, bar());
        assert!(ink(&styled) > 0);
    }

    #[test]
    fn style_each_writes_every_image_in_its_own_hand() {
        let mut set = ImageSet::default();
        for _ in 0..3 {
            set.labels.push(1);
            set.pixels.extend(bar());
        }
        style_each(&mut set, &mut Rng::new(5));
        let images: Vec<&[u8]> = set.pixels.chunks(IMAGE_PIXELS).collect();
        assert_eq!(set.labels, [1, 1, 1]);
        assert!(images.iter().all(|image| ink(image) > 0 && *image != bar()));
        assert_ne!(images[0], images[1]);
        assert_ne!(images[1], images[2]);
    }
}
