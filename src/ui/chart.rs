//! A small line chart drawn on a canvas: axes with round-number ticks, one line per series, a
//! legend below the plot (so it never covers a line), and the same data summarised in words for
//! screen readers.

use super::i18n::{Locale, t, t_string, use_i18n};
use crate::axis::{label, ticks};
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use web_sys::CanvasRenderingContext2d;

/// One line on a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// CSS colour.
    pub color: &'static str,
    /// Points `(x, y)`, in increasing x.
    pub points: Vec<(f64, f64)>,
    /// Mark each point with a dot as well (for series of a few points).
    pub dots: bool,
}

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 240.0;
const MARGIN_LEFT: f64 = 52.0;
const MARGIN_RIGHT: f64 = 12.0;
const MARGIN_TOP: f64 = 14.0;
const MARGIN_BOTTOM: f64 = 36.0;

fn draw(
    ctx: &CanvasRenderingContext2d,
    series: &[Series],
    (x_label, waiting): (&str, &str),
    y_range: Option<(f64, f64)>,
) {
    ctx.clear_rect(0.0, 0.0, WIDTH, HEIGHT);
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (x_min, x_max) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let (y_min, y_max) = y_range.unwrap_or_else(|| {
        let (lo, hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
        (lo.min(0.0), hi * 1.05)
    });
    let plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    ctx.set_font("11px system-ui, sans-serif");
    ctx.set_stroke_style_str("#8884");
    ctx.set_fill_style_str("#666");
    ctx.stroke_rect(MARGIN_LEFT, MARGIN_TOP, plot_w, plot_h);
    if !x_min.is_finite() || !y_min.is_finite() || !y_max.is_finite() {
        let _ = ctx.fill_text(waiting, MARGIN_LEFT + 10.0, MARGIN_TOP + 20.0);
        return;
    }
    let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };
    let y_max = if y_max > y_min { y_max } else { y_min + 1.0 };
    let sx = |x: f64| MARGIN_LEFT + (x - x_min) / (x_max - x_min) * plot_w;
    let sy = |y: f64| MARGIN_TOP + plot_h - (y - y_min) / (y_max - y_min) * plot_h;
    for y in ticks(y_min, y_max) {
        ctx.begin_path();
        ctx.move_to(MARGIN_LEFT, sy(y));
        ctx.line_to(MARGIN_LEFT + plot_w, sy(y));
        ctx.stroke();
        let _ = ctx.fill_text(&label(y), 6.0, sy(y) + 4.0);
    }
    ctx.set_text_align("center");
    for x in ticks(x_min, x_max) {
        let _ = ctx.fill_text(&label(x), sx(x), HEIGHT - MARGIN_BOTTOM + 16.0);
    }
    // Centred under the plot and squeezed to its width, so a long caption is never cut off.
    let x_middle = MARGIN_LEFT + plot_w / 2.0;
    let _ = ctx.fill_text_with_max_width(x_label, x_middle, HEIGHT - 6.0, plot_w);
    ctx.set_text_align("start");
    for s in series {
        ctx.set_stroke_style_str(s.color);
        ctx.set_fill_style_str(s.color);
        ctx.set_line_width(1.5);
        ctx.begin_path();
        for (j, &(x, y)) in s.points.iter().enumerate() {
            if s.dots {
                ctx.fill_rect(sx(x) - 3.0, sy(y) - 3.0, 6.0, 6.0);
            }
            if j == 0 {
                ctx.move_to(sx(x), sy(y));
            } else {
                ctx.line_to(sx(x), sy(y));
            }
        }
        ctx.stroke();
        ctx.set_line_width(1.0);
        ctx.set_stroke_style_str("#8884");
    }
}

/// One series in words: its first, last, lowest and highest values.
fn summary(i18n: I18nContext<Locale>, series: &Series, axis: &'static str) -> AnyView {
    let name = series.name.clone();
    let (Some(&(x0, y0)), Some(&(x1, y1))) = (series.points.first(), series.points.last()) else {
        return view! { {t!(i18n, chart_series_empty, name = move || name.clone())}" " }.into_any();
    };
    let (low, high) = (series.points.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, y)| {
            (lo.min(y), hi.max(y))
        });
    let count = series.points.len();
    let (from, to, first, last, low, high) = (
        label(x0),
        label(x1),
        label(y0),
        label(y1),
        label(low),
        label(high),
    );
    view! {
        {t!(i18n, chart_series, name = move || name.clone(), count = move || count, axis = move || axis,
            from = move || from.clone(), to = move || to.clone(), first = move || first.clone(),
            last = move || last.clone(), low = move || low.clone(), high = move || high.clone())}
        " "
    }
    .into_any()
}

/// A line chart that redraws whenever `series` changes.
#[component]
pub fn LineChart(
    /// The lines to draw.
    series: Signal<Vec<Series>>,
    /// Caption of the x axis.
    #[prop(into)]
    x_label: Signal<&'static str>,
    /// Fixed y range; derived from the data when `None`.
    #[prop(optional)]
    y_range: Option<(f64, f64)>,
    /// What the chart shows: its visible caption and its accessible name.
    #[prop(into)]
    title: Signal<&'static str>,
) -> impl IntoView {
    let i18n = use_i18n();
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let data = series.get();
        let Some(canvas) = canvas.get() else { return };
        let Some(ctx) = super::widgets::context_2d(&canvas) else {
            return;
        };
        let waiting = t_string!(i18n, chart_waiting);
        draw(&ctx, &data, (x_label.get(), waiting), y_range);
    });
    view! {
        <figure class="chart-figure">
            // What the chart shows, for sighted readers (the canvas says it to screen readers).
            <p class="chart-title muted" aria-hidden="true">{move || title.get()}</p>
            <canvas node_ref=canvas width=WIDTH height=HEIGHT class="chart" role="img" aria-label=title></canvas>
            // Which colour is which line, for sighted readers (the figcaption names each series).
            <ul class="chart-legend muted" aria-hidden="true">
                {move || series.get().into_iter().map(|s| view! {
                    <li><span class="chart-swatch" style:background-color=s.color></span>{s.name}</li>
                }).collect_view()}
            </ul>
            <figcaption class="visually-hidden">{move || {
                let data = series.get();
                if data.is_empty() {
                    return t!(i18n, chart_no_data).into_any();
                }
                data.iter().map(|s| summary(i18n, s, x_label.get())).collect_view().into_any()
            }}</figcaption>
        </figure>
    }
}
