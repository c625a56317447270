//! The drawing pad: pointer input (mouse, touch, pen) on a canvas, strokes kept for undo, a
//! picture opened from a file as the alternative to drawing, and the MNIST-style 28×28 image
//! the network will see, recomputed after every change.

use crate::playground::preprocess::{DrawingError, ink_of_picture, to_mnist};
use crate::ui::i18n::{t_string, use_i18n};
use crate::ui::widgets::context_2d;
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, ImageData, PointerEvent};

/// Side of the drawing canvas in canvas pixels (ten per MNIST pixel).
pub const PAD_SIDE: u32 = 280;
/// Stroke width in canvas pixels: about two MNIST pixels, like a pen on paper scanned by NIST.
const INK_WIDTH: f64 = 20.0;

type Stroke = Vec<(f64, f64)>;

/// The pad's state, shared with the page (keyboard shortcuts, buttons).
#[derive(Clone, Copy)]
pub struct Pad {
    strokes: RwSignal<Vec<Stroke>>,
    /// A picture opened instead of drawing (ink, `PAD_SIDE`² values), under the strokes.
    picture: RwSignal<Option<Vec<u8>>>,
    /// What the network would see, or why the drawing cannot be used.
    pub image: RwSignal<Result<Vec<u8>, DrawingError>>,
    canvas: NodeRef<Canvas>,
}

impl Default for Pad {
    fn default() -> Self {
        Self {
            strokes: RwSignal::new(Vec::new()),
            picture: RwSignal::new(None),
            image: RwSignal::new(Err(DrawingError::Empty)),
            canvas: NodeRef::new(),
        }
    }
}

impl Pad {
    /// Number of strokes drawn, an opened picture counting as one.
    pub fn stroke_count(&self) -> usize {
        self.strokes.with(Vec::len) + usize::from(self.picture.with(Option::is_some))
    }

    /// Removes every stroke and the picture.
    pub fn clear(&self) {
        self.strokes.set(Vec::new());
        self.picture.set(None);
        self.repaint();
    }

    /// Removes the last stroke, or the picture once no stroke is left.
    pub fn undo(&self) {
        if self.strokes.with_untracked(Vec::is_empty) {
            self.picture.set(None);
        }
        self.strokes.update(|s| {
            s.pop();
        });
        self.repaint();
    }

    /// Puts the picture in `file` on the pad in place of the drawing, scaled to fit.
    pub async fn open_picture(&self, file: &web_sys::File) -> Result<(), String> {
        let name = file.name();
        let unreadable =
            |_| format!("{name} could not be read as a picture (PNG, JPEG, GIF, WebP or SVG)");
        let window = web_sys::window().ok_or("no window")?;
        let bitmap: web_sys::ImageBitmap = JsFuture::from(
            window
                .create_image_bitmap_with_blob(file)
                .map_err(unreadable)?,
        )
        .await
        .map_err(unreadable)?
        .unchecked_into();
        let canvas: web_sys::HtmlCanvasElement = window
            .document()
            .ok_or("no document")?
            .create_element("canvas")
            .map_err(|e| format!("{e:?}"))?
            .unchecked_into();
        canvas.set_width(PAD_SIDE);
        canvas.set_height(PAD_SIDE);
        let ctx = context_2d(&canvas).ok_or("no 2D canvas")?;
        let side = f64::from(PAD_SIDE);
        let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
        if w < 1.0 || h < 1.0 {
            return Err(format!("{name} is an empty picture"));
        }
        let scale = (side / w).min(side / h);
        let (dw, dh) = (w * scale, h * scale);
        let (dx, dy) = ((side - dw) / 2.0, (side - dh) / 2.0);
        ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, dx, dy, dw, dh)
            .map_err(unreadable)?;
        // The picture's own pixels (whole ones), not the bands beside it.
        let region = (
            dx.ceil() as usize,
            dy.ceil() as usize,
            dw.floor() as usize,
            dh.floor() as usize,
        );
        let rgba = ctx
            .get_image_data(0.0, 0.0, side, side)
            .map_err(|e| format!("{name}: {e:?}"))?
            .data();
        self.strokes.set(Vec::new());
        self.picture
            .set(Some(ink_of_picture(&rgba, PAD_SIDE as usize, region)));
        self.repaint();
        Ok(())
    }

    /// Redraws every stroke and recomputes the network's input.
    fn repaint(&self) {
        let Some(canvas) = self.canvas.get_untracked() else {
            return;
        };
        let Some(ctx) = context_2d(&canvas) else {
            return;
        };
        let side = f64::from(PAD_SIDE);
        ctx.clear_rect(0.0, 0.0, side, side);
        if let Some(picture) = self.picture.get_untracked() {
            // Black ink with the picture's ink as alpha, so strokes and picture read alike.
            let rgba: Vec<u8> = picture.iter().flat_map(|&ink| [0, 0, 0, ink]).collect();
            if let Ok(data) =
                ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), PAD_SIDE, PAD_SIDE)
            {
                let _ = ctx.put_image_data(&data, 0.0, 0.0);
            }
        }
        ctx.set_line_width(INK_WIDTH);
        ctx.set_line_cap("round");
        ctx.set_line_join("round");
        ctx.set_stroke_style_str("#000");
        ctx.set_fill_style_str("#000");
        self.strokes.with_untracked(|strokes| {
            for stroke in strokes {
                draw_stroke(&ctx, stroke);
            }
        });
        self.image.set(read_ink(&ctx));
    }

    fn point(&self, ev: &PointerEvent) -> (f64, f64) {
        let scale = self.canvas.get_untracked().map_or(1.0, |c| {
            f64::from(PAD_SIDE) / f64::from(c.client_width().max(1))
        });
        (
            f64::from(ev.offset_x()) * scale,
            f64::from(ev.offset_y()) * scale,
        )
    }
}

fn draw_stroke(ctx: &CanvasRenderingContext2d, stroke: &[(f64, f64)]) {
    match stroke {
        [] => {}
        [(x, y)] => {
            ctx.begin_path();
            let _ = ctx.arc(*x, *y, INK_WIDTH / 2.0, 0.0, std::f64::consts::TAU);
            ctx.fill();
        }
        [(x0, y0), rest @ ..] => {
            ctx.begin_path();
            ctx.move_to(*x0, *y0);
            for (x, y) in rest {
                ctx.line_to(*x, *y);
            }
            ctx.stroke();
        }
    }
}

/// The canvas's ink (its alpha channel) preprocessed like MNIST.
fn read_ink(ctx: &CanvasRenderingContext2d) -> Result<Vec<u8>, DrawingError> {
    let side = f64::from(PAD_SIDE);
    let Ok(data) = ctx.get_image_data(0.0, 0.0, side, side) else {
        return Err(DrawingError::Empty);
    };
    let rgba = data.data();
    let ink: Vec<u8> = rgba.chunks(4).map(|p| p[3]).collect();
    to_mnist(&ink, PAD_SIDE as usize, PAD_SIDE as usize)
}

/// The canvas a person draws on.
#[component]
pub fn DrawingPad(pad: Pad) -> impl IntoView {
    let i18n = use_i18n();
    let drawing = StoredValue::new(false);
    let down = move |ev: PointerEvent| {
        ev.prevent_default();
        if let Some(canvas) = pad.canvas.get_untracked() {
            let _ = canvas.set_pointer_capture(ev.pointer_id());
        }
        drawing.set_value(true);
        let point = pad.point(&ev);
        pad.strokes.update(|s| s.push(vec![point]));
        pad.repaint();
    };
    let moved = move |ev: PointerEvent| {
        if !drawing.get_value() {
            return;
        }
        ev.prevent_default();
        let point = pad.point(&ev);
        pad.strokes.update(|s| {
            if let Some(stroke) = s.last_mut() {
                stroke.push(point);
            }
        });
        if let (Some(canvas), Some(last)) = (
            pad.canvas.get_untracked(),
            pad.strokes.with_untracked(|s| s.last().cloned()),
        ) && let Some(ctx) = context_2d(&canvas)
        {
            // Draw just the newest segment while the pointer moves; a full repaint follows.
            ctx.set_line_width(INK_WIDTH);
            ctx.set_line_cap("round");
            ctx.set_stroke_style_str("#000");
            draw_stroke(&ctx, &last[last.len().saturating_sub(2)..]);
        }
    };
    let up = move |_: PointerEvent| {
        if drawing.get_value() {
            drawing.set_value(false);
            pad.repaint();
        }
    };
    view! {
        <canvas id="pad" class="pad" node_ref=pad.canvas width=PAD_SIDE height=PAD_SIDE
            aria-label=move || t_string!(i18n, pg_pad_label)
            on:pointerdown=down on:pointermove=moved on:pointerup=up on:pointercancel=up></canvas>
    }
}
