//! Sample sets: ready-made galleries, so a visitor can try the comparison before drawing
//! anything (and an alternative to freehand drawing).
//!
//! Symbol sets are drawn as strokes by imaginary hands ([`crate::data::glyphs`]). The digit sets
//! come from MNIST test images: mirrored digits (a mirrored 7 is a new symbol) and
//! two-digit numbers (as in protocol P2). `fewshot-lab samples` writes them to
//! `static/samples/` as gallery files, which the Playground loads on demand.

use super::gallery::{Gallery, MAX_EXAMPLES};
use crate::data::ImageSet;
use crate::data::glyphs::{Strokes, render};
use crate::data::protocol::two_digit_images;
use crate::rng::Rng;

/// A symbol: its name and its strokes.
struct Symbol {
    name: &'static str,
    strokes: Strokes,
}

/// A polyline through `points`.
fn line(points: &[(f32, f32)]) -> Vec<(f32, f32)> {
    points.to_vec()
}

/// An ellipse (or arc) of `turns` full turns from angle `start`, centred at (cx, cy).
fn arc(cx: f32, cy: f32, rx: f32, ry: f32, start: f32, turns: f32) -> Vec<(f32, f32)> {
    let steps = (32.0 * turns.abs()).ceil() as usize;
    (0..=steps)
        .map(|i| {
            let angle = start + std::f32::consts::TAU * turns * i as f32 / steps as f32;
            (cx + rx * angle.cos(), cy + ry * angle.sin())
        })
        .collect()
}

fn shapes() -> Vec<Symbol> {
    vec![
        Symbol {
            name: "●",
            strokes: vec![arc(0.5, 0.5, 0.4, 0.4, 0.0, 1.0)],
        },
        Symbol {
            name: "▲",
            strokes: vec![line(&[(0.5, 0.1), (0.9, 0.85), (0.1, 0.85), (0.5, 0.1)])],
        },
        Symbol {
            name: "■",
            strokes: vec![line(&[
                (0.15, 0.15),
                (0.85, 0.15),
                (0.85, 0.85),
                (0.15, 0.85),
                (0.15, 0.15),
            ])],
        },
        Symbol {
            name: "★",
            strokes: vec![line(&[
                (0.5, 0.05),
                (0.78, 0.9),
                (0.06, 0.37),
                (0.94, 0.37),
                (0.22, 0.9),
                (0.5, 0.05),
            ])],
        },
        Symbol {
            name: "✕",
            strokes: vec![
                line(&[(0.15, 0.15), (0.85, 0.85)]),
                line(&[(0.85, 0.15), (0.15, 0.85)]),
            ],
        },
        Symbol {
            name: "♡",
            strokes: vec![line(&[
                (0.5, 0.9),
                (0.1, 0.45),
                (0.12, 0.2),
                (0.3, 0.1),
                (0.5, 0.3),
                (0.7, 0.1),
                (0.88, 0.2),
                (0.9, 0.45),
                (0.5, 0.9),
            ])],
        },
    ]
}

fn arrows() -> Vec<Symbol> {
    let arrow = |name, tip: (f32, f32), tail: (f32, f32), wing_a: (f32, f32), wing_b| Symbol {
        name,
        strokes: vec![line(&[tail, tip]), line(&[wing_a, tip, wing_b])],
    };
    vec![
        arrow("↑", (0.5, 0.1), (0.5, 0.9), (0.25, 0.35), (0.75, 0.35)),
        arrow("↓", (0.5, 0.9), (0.5, 0.1), (0.25, 0.65), (0.75, 0.65)),
        arrow("←", (0.1, 0.5), (0.9, 0.5), (0.35, 0.25), (0.35, 0.75)),
        arrow("→", (0.9, 0.5), (0.1, 0.5), (0.65, 0.25), (0.65, 0.75)),
        arrow("↗", (0.85, 0.15), (0.15, 0.85), (0.5, 0.15), (0.85, 0.5)),
    ]
}

fn greek() -> Vec<Symbol> {
    vec![
        Symbol {
            name: "α",
            strokes: vec![line(&[
                (0.9, 0.3),
                (0.7, 0.7),
                (0.45, 0.8),
                (0.2, 0.7),
                (0.15, 0.5),
                (0.3, 0.3),
                (0.5, 0.3),
                (0.7, 0.5),
                (0.9, 0.8),
            ])],
        },
        Symbol {
            name: "λ",
            strokes: vec![
                line(&[(0.25, 0.1), (0.8, 0.9)]),
                line(&[(0.5, 0.45), (0.2, 0.9)]),
            ],
        },
        Symbol {
            name: "π",
            strokes: vec![
                line(&[(0.1, 0.25), (0.9, 0.2)]),
                line(&[(0.35, 0.22), (0.3, 0.85)]),
                line(&[(0.68, 0.21), (0.72, 0.85)]),
            ],
        },
        Symbol {
            name: "Σ",
            strokes: vec![line(&[
                (0.85, 0.15),
                (0.2, 0.15),
                (0.55, 0.5),
                (0.2, 0.85),
                (0.85, 0.85),
            ])],
        },
        Symbol {
            name: "Ω",
            strokes: vec![
                arc(0.5, 0.45, 0.35, 0.35, 2.2, 0.85),
                line(&[(0.1, 0.85), (0.33, 0.85), (0.3, 0.72)]),
                line(&[(0.9, 0.85), (0.67, 0.85), (0.7, 0.72)]),
            ],
        },
    ]
}

/// A gallery of `symbols`, `per_class` examples each, drawn with `seed`.
fn stroke_gallery(symbols: &[Symbol], per_class: usize, seed: u64) -> Gallery {
    let mut rng = Rng::new(seed);
    let names: Vec<&str> = symbols.iter().map(|s| s.name).collect();
    let mut gallery = Gallery::new(&names);
    for (class, symbol) in symbols.iter().enumerate() {
        gallery.select(class);
        for _ in 0..per_class {
            let image = render(&symbol.strokes, &mut rng).expect("a sample symbol has ink");
            gallery.add(image).expect("at most MAX_EXAMPLES per class");
        }
    }
    gallery.select(0);
    gallery
}

/// A gallery of images of `set` by label: class k is named `names[k]`.
fn image_gallery(set: &ImageSet, names: &[String], per_class: usize) -> Gallery {
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut gallery = Gallery::new(&refs);
    for index in 0..set.len() {
        let class = usize::from(set.labels[index]);
        if gallery.classes()[class].examples.len() < per_class {
            gallery.select(class);
            gallery
                .add(set.image(index).to_vec())
                .expect("checked above");
        }
    }
    gallery.select(0);
    gallery
}

/// Digits mirrored left to right: new symbols made of familiar strokes (the shipped networks
/// meta-trained on rotated digits, never on mirrored ones).
fn mirrored_digits(test: &ImageSet, per_class: usize) -> Gallery {
    use crate::data::IMAGE_SIDE;
    let digits = [2u8, 3, 4, 7, 9];
    let mut set = ImageSet::default();
    for (label, &digit) in digits.iter().enumerate() {
        let members = (0..test.len()).filter(|&i| test.labels[i] == digit);
        for index in members.take(per_class) {
            let image = test.image(index);
            set.labels.push(label as u8);
            set.pixels.extend(
                image
                    .chunks(IMAGE_SIDE)
                    .flat_map(|row| row.iter().rev().copied()),
            );
        }
    }
    let names: Vec<String> = digits.iter().map(|d| format!("mirrored {d}")).collect();
    image_gallery(&set, &names, per_class)
}

/// Every sample set: (file stem, title, gallery). `test` is MNIST's test split.
pub fn all(test: &ImageSet) -> Vec<(&'static str, &'static str, Gallery)> {
    let per_class = MAX_EXAMPLES;
    let numbers = [17, 23, 38, 59, 84];
    let names: Vec<String> = numbers.iter().map(|n| format!("{n:02}")).collect();
    let two_digit = two_digit_images(test, &numbers, 7);
    vec![
        ("shapes", "Shapes", stroke_gallery(&shapes(), per_class, 1)),
        ("arrows", "Arrows", stroke_gallery(&arrows(), per_class, 2)),
        (
            "greek",
            "Greek letters",
            stroke_gallery(&greek(), per_class, 3),
        ),
        (
            "mirrored-digits",
            "Mirrored digits",
            mirrored_digits(test, per_class),
        ),
        (
            "two-digit",
            "Two-digit numbers",
            image_gallery(&two_digit, &names, per_class),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::synthetic_images;

    #[test]
    fn stroke_sets_are_full_valid_galleries_of_distinct_drawings() {
        for (symbols, seed) in [(shapes(), 1), (arrows(), 2), (greek(), 3)] {
            let gallery = stroke_gallery(&symbols, 4, seed);
            let json = gallery.to_json();
            let read = Gallery::from_json(&json).unwrap();
            assert_eq!(read, gallery);
            for class in gallery.classes() {
                assert_eq!(class.examples.len(), 4);
                assert_ne!(class.examples[0], class.examples[1], "every hand differs");
                let ink: u32 = class.examples[0].iter().map(|&p| u32::from(p)).sum();
                assert!(ink > 255 * 20, "{}: a visible drawing", class.name);
            }
        }
    }

    #[test]
    fn digit_sets_take_their_images_from_the_given_split() {
        let test = synthetic_images(400, 3);
        for (_, _, gallery) in all(&test).into_iter().skip(3) {
            assert_eq!(gallery.classes().len(), 5);
            assert!(gallery.classes().iter().all(|c| !c.examples.is_empty()));
        }
    }
}
