//! Symbols drawn as strokes, by imaginary hands: the renderer behind the Playground's sample
//! sets and the synthetic glyph classes meta-training can add.
//!
//! A symbol is a few polylines in the unit box. Every rendering is that symbol by another
//! hand — each point moved a little, the whole slanted, stretched and turned a little, a
//! thinner or thicker pen — drawn anti-aliased on a large canvas and put through the same
//! MNIST-style preprocessing as a person's drawing. A *glyph* is a random symbol: two or three
//! strokes, each a smooth random curve or a straight line, so a few hundred glyphs are a few
//! hundred classes of stroke shapes that no digit resembles on purpose.

use super::IMAGE_PIXELS;
use crate::playground::preprocess::to_mnist;
use crate::rng::Rng;

/// A symbol's strokes: polylines of points in the unit box (y down).
pub type Strokes = Vec<Vec<(f32, f32)>>;

/// Side of the canvas symbols are rendered on before preprocessing.
const CANVAS: usize = 96;

/// A uniform draw from `[low, high)` (20 random bits: the sequence every seeded style, glyph
/// and sample set was drawn with).
pub fn uniform(rng: &mut Rng, low: f32, high: f32) -> f32 {
    low + (high - low) * (rng.below(1 << 20) as f32 / (1 << 20) as f32)
}

/// Distance from `p` to the segment `a`–`b`.
fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length = dx * dx + dy * dy;
    let t = if length > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    (x * x + y * y).sqrt()
}

/// `strokes` drawn by a random hand, as a 28×28 MNIST-style image (`None` if nothing shows).
pub fn render(strokes: &Strokes, rng: &mut Rng) -> Option<Vec<u8>> {
    let (shear, stretch, turn) = (
        uniform(rng, -0.25, 0.25),
        uniform(rng, 0.85, 1.15),
        uniform(rng, -0.2, 0.2),
    );
    let (sin, cos) = turn.sin_cos();
    let pen = uniform(rng, 6.0, 10.0);
    let scale = CANVAS as f32 * 0.7;
    // A smooth wobble of the whole drawing (two random waves per axis), so a hand moves
    // neighbouring points together instead of jittering each one.
    let waves: Vec<(f32, f32, f32)> = (0..4)
        .map(|_| {
            (
                uniform(rng, 1.0, 4.0),
                uniform(rng, 0.0, 6.3),
                uniform(rng, -0.03, 0.03),
            )
        })
        .collect();
    let wobble = |along: f32, wave: &[(f32, f32, f32)]| -> f32 {
        wave.iter()
            .map(|&(frequency, phase, size)| size * (frequency * along + phase).sin())
            .sum()
    };
    let moved: Strokes = strokes
        .iter()
        .map(|stroke| {
            stroke
                .iter()
                .map(|&(x, y)| {
                    let (x, y) = (x + wobble(y, &waves[..2]), y + wobble(x, &waves[2..]));
                    let (x, y) = ((x - 0.5) * stretch + shear * (y - 0.5), y - 0.5);
                    let (x, y) = (cos * x - sin * y, sin * x + cos * y);
                    (
                        x * scale + CANVAS as f32 / 2.0,
                        y * scale + CANVAS as f32 / 2.0,
                    )
                })
                .collect()
        })
        .collect();
    let mut ink = vec![0u8; CANVAS * CANVAS];
    for (i, pixel) in ink.iter_mut().enumerate() {
        let p = ((i % CANVAS) as f32 + 0.5, (i / CANVAS) as f32 + 0.5);
        let distance = moved
            .iter()
            .flat_map(|s| s.windows(2).map(move |w| segment_distance(p, w[0], w[1])))
            .fold(f32::INFINITY, f32::min);
        *pixel = (255.0 * (pen / 2.0 + 0.5 - distance).clamp(0.0, 1.0)) as u8;
    }
    to_mnist(&ink, CANVAS, CANVAS).ok()
}

/// A random glyph: two or three strokes, each a straight line or a smooth curve through three
/// to five random points (Catmull-Rom), inside the unit box.
pub fn random_glyph(rng: &mut Rng) -> Strokes {
    let strokes = 2 + rng.below(2);
    (0..strokes)
        .map(|_| {
            let points = if rng.below(3) == 0 {
                2
            } else {
                3 + rng.below(3)
            };
            let controls: Vec<(f32, f32)> = (0..points)
                .map(|_| (uniform(rng, 0.05, 0.95), uniform(rng, 0.05, 0.95)))
                .collect();
            smooth(&controls)
        })
        .collect()
}

/// A Catmull-Rom curve through `controls`, eight segments between each pair.
fn smooth(controls: &[(f32, f32)]) -> Vec<(f32, f32)> {
    if controls.len() < 3 {
        return controls.to_vec();
    }
    let at = |i: isize| controls[i.clamp(0, controls.len() as isize - 1) as usize];
    let mut out = Vec::new();
    for i in 0..controls.len() as isize - 1 {
        let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
        for k in 0..8 {
            let t = k as f32 / 8.0;
            let blend = |a: f32, b: f32, c: f32, d: f32| {
                0.5 * ((2.0 * b)
                    + (-a + c) * t
                    + (2.0 * a - 5.0 * b + 4.0 * c - d) * t * t
                    + (-a + 3.0 * b - 3.0 * c + d) * t * t * t)
            };
            out.push((blend(p0.0, p1.0, p2.0, p3.0), blend(p0.1, p1.1, p2.1, p3.1)));
        }
    }
    out.push(*controls.last().expect("three or more points"));
    out
}

/// `classes` random glyphs, `per_class` renderings each (one list of images per glyph);
/// seeded.
pub fn glyph_images(classes: usize, per_class: usize, seed: u64) -> Vec<Vec<Vec<u8>>> {
    let mut rng = Rng::new(seed);
    (0..classes)
        .map(|_| {
            let glyph = random_glyph(&mut rng);
            (0..per_class)
                .map(|_| render(&glyph, &mut rng).unwrap_or_else(|| vec![0; IMAGE_PIXELS]))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_are_seeded_visible_and_differ_between_hands() {
        let a = glyph_images(3, 2, 7);
        assert_eq!(a, glyph_images(3, 2, 7));
        for class in &a {
            assert_eq!(class.len(), 2);
            assert_ne!(class[0], class[1], "two hands, two renderings");
            let ink: u32 = class[0].iter().map(|&p| u32::from(p)).sum();
            assert!(ink > 255 * 15, "a visible glyph");
        }
        assert_ne!(a[0][0], a[1][0], "two glyphs, two shapes");
    }
}
