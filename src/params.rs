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
    pub message: Option<String>,
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
            message: None,
        };
    };
    match text.parse::<T>() {
        Ok(value) if !value.is_usable() => Reading {
            value: default,
            message: Some(format!("{name} = {text} is not a number; using {default}.")),
        },
        Ok(value) if value < *range.start() || value > *range.end() => {
            let clamped = if value < *range.start() {
                *range.start()
            } else {
                *range.end()
            };
            Reading {
                value: clamped,
                message: Some(format!(
                    "{name} = {text} is outside {}–{}; using {clamped}.",
                    range.start(),
                    range.end()
                )),
            }
        }
        Ok(value) => Reading {
            value,
            message: None,
        },
        Err(_) => Reading {
            value: default,
            message: Some(format!(
                "{name} = {text:?} is not a number; using {default}."
            )),
        },
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
                message: None
            }
        );
        assert_eq!(read("lr", Some(" 0.5 "), 0.1, 0.0..=10.0).value, 0.5);
    }

    #[test]
    fn bad_values_are_clamped_or_replaced_with_a_message() {
        let zero = read("repeats", Some("0"), 5usize, 1..=100);
        assert_eq!(zero.value, 1);
        assert!(zero.message.unwrap().contains("outside 1–100"));
        let negative = read("inner_lr", Some("-1"), 0.5, 0.0..=10.0);
        assert_eq!(negative.value, 0.0);
        assert!(negative.message.is_some());
        let nan = read("inner_lr", Some("NaN"), 0.5, 0.0..=10.0);
        assert_eq!(nan.value, 0.5);
        assert!(nan.message.unwrap().contains("not a number"));
        let text = read("epochs", Some("two"), 2usize, 1..=50);
        assert_eq!(text.value, 2);
        assert!(text.message.is_some());
        assert_eq!(
            read("batch", Some("-3"), 32usize, 1..=512).value,
            32,
            "not a count"
        );
        assert_eq!(read("steps", Some("100000"), 10usize, 0..=100).value, 100);
    }
}
