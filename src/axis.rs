//! Chart axes: round-number ticks and short labels. The browser's charts (`ui::chart`) draw
//! with them; they live outside `ui` so that they are tested natively.

/// About five round tick values covering `[low, high]`.
pub fn ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(1e-9);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// `value` as a tick or summary label: thousands as `k` (with a decimal where a tick needs one),
/// whole numbers bare, others to two significant digits (at most six decimals).
pub fn label(value: f64) -> String {
    if value.abs() >= 1000.0 && value % 1000.0 == 0.0 {
        format!("{:.0}k", value / 1000.0)
    } else if value.abs() >= 1000.0 {
        format!("{:.1}k", value / 1000.0)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        // Two significant digits (up to six decimals), so that small values (a loss near zero)
        // stay apart.
        let decimals = (1 - value.abs().log10().floor() as i32).clamp(2, 6) as usize;
        format!("{value:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_about_five_round_values_inside_the_range() {
        let unit = ticks(0.0, 1.0);
        let fifths = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
        assert_eq!(unit.len(), fifths.len());
        assert!(unit.iter().zip(fifths).all(|(a, b)| (a - b).abs() < 1e-12));
        let ticks = ticks(3.0, 977.0);
        assert_eq!(ticks, vec![200.0, 400.0, 600.0, 800.0]);
        // An empty range still gets a tick, not an endless or empty list.
        assert_eq!(super::ticks(2.0, 2.0), vec![2.0]);
    }

    #[test]
    fn labels_keep_two_significant_digits() {
        // Losses below 0.02 were all labelled 0.01 or 0.00 with two fixed decimals.
        assert_eq!(label(0.0123), "0.012");
        assert_eq!(label(0.0149), "0.015");
        assert_eq!(label(0.004), "0.0040");
        assert_eq!(label(0.5), "0.50");
        assert_eq!(label(12.25), "12.25");
        assert_eq!(label(1e-9), "0.000000");
    }

    #[test]
    fn whole_numbers_and_thousands_are_short() {
        assert_eq!(label(5.0), "5");
        assert_eq!(label(-40.0), "-40");
        assert_eq!(label(3000.0), "3k");
        assert_eq!(label(12_400.0), "12.4k");
        // Ticks every 500 were labelled 1k, 2k, 2k, 3k.
        let labels: Vec<String> = ticks(0.0, 2500.0).into_iter().map(label).collect();
        assert_eq!(labels, ["0", "500", "1k", "1.5k", "2k", "2.5k"]);
    }
}
