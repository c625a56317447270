//! Numbers a person types into a field or puts in a URL (`?steps=10&inner_lr=0.5`): parsed,
//! checked against a range and clamped into it, with a message saying what was changed and
//! why — never a panic, never a silent default.

use std::ops::RangeInclusive;

/// A value read from text, and what the reader had to say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading<T> {
    /// The value to use.
    pub value: T,
    /// Why the value differs from what was written, when it does.
    pub problem: Option<Problem>,
}

/// Why a written value was not used as written. `Display` says it in English; the browser
/// words it in the person's language from the same fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Not a number at all (or NaN, infinite): the default is used.
    NotANumber {
        /// The setting's name.
        name: String,
        /// What was written (quoted when it is not spelled as a number at all).
        text: String,
        /// The value used instead.
        default: String,
    },
    /// A number outside the allowed range: the nearest end is used.
    Outside {
        /// The setting's name.
        name: String,
        /// What was written.
        text: String,
        /// Smallest allowed value.
        low: String,
        /// Largest allowed value.
        high: String,
        /// The value used instead.
        clamped: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotANumber {
                name,
                text,
                default,
            } => write!(f, "{name} = {text} is not a number; using {default}."),
            Self::Outside {
                name,
                text,
                low,
                high,
                clamped,
            } => write!(
                f,
                "{name} = {text} is outside {low}–{high}; using {clamped}."
            ),
        }
    }
}

/// A number type a setting can hold.
pub trait Number: Copy + PartialOrd + std::fmt::Display + std::str::FromStr {
    /// True for values that are numbers at all (not NaN or infinite).
    fn is_usable(self) -> bool;
}

impl Number for usize {
    fn is_usable(self) -> bool {
        true
    }
}

impl Number for f64 {
    fn is_usable(self) -> bool {
        self.is_finite()
    }
}

/// Reads setting `name` from `text` (absent: `default`), clamped to `range`.
pub fn read<T: Number>(
    name: &str,
    text: Option<&str>,
    default: T,
    range: RangeInclusive<T>,
) -> Reading<T> {
    let Some(text) = text.map(str::trim) else {
        return Reading {
            value: default,
            problem: None,
        };
    };
    // `written` as the message shows it: quoted when it is not even a number's spelling.
    let not_a_number = |written: String| Reading {
        value: default,
        problem: Some(Problem::NotANumber {
            name: name.into(),
            text: written,
            default: default.to_string(),
        }),
    };
    match text.parse::<T>() {
        Ok(value) if !value.is_usable() => not_a_number(text.into()),
        Ok(value) if value < *range.start() || value > *range.end() => {
            let clamped = if value < *range.start() {
                *range.start()
            } else {
                *range.end()
            };
            Reading {
                value: clamped,
                problem: Some(Problem::Outside {
                    name: name.into(),
                    text: text.into(),
                    low: range.start().to_string(),
                    high: range.end().to_string(),
                    clamped: clamped.to_string(),
                }),
            }
        }
        Ok(value) => Reading {
            value,
            problem: None,
        },
        Err(_) => not_a_number(format!("{text:?}")),
    }
}

/// True when `target` (an origin, `scheme://host[:port]`) is the page's own `origin`, or
/// one of the comma-separated `allowed` origins a build opted in to.
pub fn origin_allowed(origin: &str, target: &str, allowed: &str) -> bool {
    target == origin
        || allowed
            .split(',')
            .map(str::trim)
            .any(|a| !a.is_empty() && a == target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_own_origin_or_an_opted_in_one_is_allowed() {
        let own = "https://course.example";
        assert!(origin_allowed(own, own, ""));
        assert!(!origin_allowed(own, "https://evil.example", ""));
        assert!(!origin_allowed(own, "https://evil.example", " , "));
        assert!(origin_allowed(
            own,
            "https://cdn.example",
            "https://a.example, https://cdn.example"
        ));
        assert!(!origin_allowed(
            own,
            "https://cdn.example.evil",
            "https://cdn.example"
        ));
    }

    #[test]
    fn good_values_pass_and_absent_ones_take_the_default() {
        assert_eq!(read("steps", Some("12"), 10usize, 0..=100).value, 12);
        assert_eq!(
            read("steps", None, 10usize, 0..=100),
            Reading {
                value: 10,
                problem: None
            }
        );
        assert_eq!(read("lr", Some(" 0.5 "), 0.1, 0.0..=10.0).value, 0.5);
    }

    #[test]
    fn bad_values_are_clamped_or_replaced_with_the_reason() {
        let zero = read("repeats", Some("0"), 5usize, 1..=100);
        assert_eq!(zero.value, 1);
        assert_eq!(
            zero.problem.unwrap().to_string(),
            "repeats = 0 is outside 1–100; using 1."
        );
        let negative = read("inner_lr", Some("-1"), 0.5, 0.0..=10.0);
        assert_eq!(negative.value, 0.0);
        assert!(negative.problem.is_some());
        let nan = read("inner_lr", Some("NaN"), 0.5, 0.0..=10.0);
        assert_eq!(nan.value, 0.5);
        assert_eq!(
            nan.problem.unwrap().to_string(),
            "inner_lr = NaN is not a number; using 0.5."
        );
        let text = read("epochs", Some("two"), 2usize, 1..=50);
        assert_eq!(text.value, 2);
        assert_eq!(
            text.problem.unwrap().to_string(),
            "epochs = \"two\" is not a number; using 2."
        );
        assert_eq!(
            read("batch", Some("-3"), 32usize, 1..=512).value,
            32,
            "not a count"
        );
        assert_eq!(read("steps", Some("100000"), 10usize, 0..=100).value, 100);
    }
}
