//! What the outer loop learned, drawn: the first convolution's filters before and after
//! meta-training, and Meta-SGD's learned inner rates per parameter tensor.

use super::chart::{LineChart, Series};
use super::i18n::{t, t_string, use_i18n};
use super::widgets::context_2d;
use crate::meta::params::ParamVec;
use crate::model::Network;
use burn::tensor::Tensor;
use leptos::html::Canvas;
use leptos::prelude::*;

/// Side of one 3×3 filter on the canvas, in pixels.
const CELL: f64 = 8.0;
/// Filters per row.
const PER_ROW: usize = 16;
/// Weights per filter of the first convolution (one input channel, 3×3).
const FILTER: usize = 9;

/// Reads `tensor` back from the device.
async fn read(tensor: Tensor<1>) -> Result<Vec<f32>, String> {
    tensor
        .into_data_async()
        .await
        .map(|d| d.iter::<f32>().collect())
        .map_err(|e| format!("reading from the device failed: {e:?}"))
}

/// The first convolution's weights of `model` (one 3×3 filter per channel).
pub async fn first_filters(model: &Network) -> Result<Vec<f32>, String> {
    let values = ParamVec::values(model);
    let first = values
        .parts()
        .first()
        .cloned()
        .ok_or("the network has no parameters")?;
    read(first).await
}

/// The mean learned rate of each parameter tensor of Meta-SGD's `rates`.
pub async fn mean_rates(rates: &Network) -> Result<Vec<f64>, String> {
    let mut means = Vec::new();
    for part in ParamVec::values(rates).parts() {
        means.push(f64::from(read(part.clone().mean()).await?[0]));
    }
    Ok(means)
}

/// Draws `weights` as 3×3 filters, blue for negative and red for positive, scaled by `scale`.
fn draw_filters(canvas: &web_sys::HtmlCanvasElement, weights: &[f32], scale: f32) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    ctx.clear_rect(
        0.0,
        0.0,
        f64::from(canvas.width()),
        f64::from(canvas.height()),
    );
    for (index, filter) in weights.chunks(FILTER).enumerate() {
        let (x0, y0) = (
            (index % PER_ROW) as f64 * (3.0 * CELL + 4.0),
            (index / PER_ROW) as f64 * (3.0 * CELL + 4.0),
        );
        for (k, w) in filter.iter().enumerate() {
            let v = (w / scale).clamp(-1.0, 1.0);
            let fade = (255.0 * (1.0 - v.abs())) as u8;
            let color = if v >= 0.0 {
                format!("rgb(255,{fade},{fade})")
            } else {
                format!("rgb({fade},{fade},255)")
            };
            ctx.set_fill_style_str(&color);
            ctx.fill_rect(
                x0 + (k % 3) as f64 * CELL,
                y0 + (k / 3) as f64 * CELL,
                CELL,
                CELL,
            );
        }
    }
}

/// One set of filters on a canvas.
#[component]
fn FilterGrid(weights: Signal<Vec<f32>>, scale: Signal<f32>, id: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let (weights, scale) = (weights.get(), scale.get());
        if let Some(canvas) = canvas.get() {
            draw_filters(&canvas, &weights, scale);
        }
    });
    let width = PER_ROW as f64 * (3.0 * CELL + 4.0);
    // As many rows as the filters need (four at the standard 64 channels).
    let height = move || {
        weights.with(|w| w.len().div_ceil(FILTER * PER_ROW).max(1)) as f64 * (3.0 * CELL + 4.0)
    };
    view! {
        <canvas node_ref=canvas id=id class="filters" width=width height=height
            data-filters=move || weights.with(|w| w.len() / FILTER)
            role="img" aria-label=move || t_string!(i18n, learned_filters_label)></canvas>
    }
}

/// The first layer's filters before and after meta-training, on one colour scale, and
/// Meta-SGD's learned rates when there are any.
#[component]
pub fn Learned(
    /// Filters of the learner before its first meta-step.
    before: Signal<Vec<f32>>,
    /// Filters of the best validated network.
    after: Signal<Vec<f32>>,
    /// Meta-SGD's mean learned rate per parameter tensor (empty for other learners).
    rates: Signal<Vec<f64>>,
    /// The rate every parameter started from.
    start_rate: Signal<f64>,
) -> impl IntoView {
    let i18n = use_i18n();
    let scale = Signal::derive(move || {
        let largest = |w: &Vec<f32>| w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        before.with(largest).max(after.with(largest)).max(1e-6)
    });
    let rate_series = Signal::derive(move || {
        let points: Vec<(f64, f64)> =
            rates.with(|r| r.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect());
        let last = points.len().saturating_sub(1) as f64;
        vec![
            Series {
                name: t_string!(i18n, learned_mean_rate).into(),
                color: "#862e9c",
                points,
                dots: true,
            },
            Series {
                name: t_string!(i18n, learned_starting_rate).into(),
                color: "#adb5bd",
                points: vec![(0.0, start_rate.get()), (last, start_rate.get())],
                dots: false,
            },
        ]
    });
    view! {
        <h3>{t!(i18n, learned_heading)}</h3>
        <div class="learned">
            <figure>
                <FilterGrid weights=before scale=scale id="filters-before" />
                <figcaption class="muted">{t!(i18n, learned_before)}</figcaption>
            </figure>
            <figure>
                <FilterGrid weights=after scale=scale id="filters-after" />
                <figcaption class="muted">{t!(i18n, learned_after)}</figcaption>
            </figure>
        </div>
        {move || rates.with(|r| !r.is_empty()).then(|| view! {
            <LineChart series=rate_series x_label=Signal::derive(move || t_string!(i18n, learned_tensor_axis))
                title=Signal::derive(move || t_string!(i18n, learned_rates_chart)) />
        })}
    }
}
