//! A list that scrolls by row number instead of by pixel.
//!
//! egui's `ScrollArea` keeps the content height and offset in `f32` pixels: at 20 px a row, a million rows is 20M px,
//! past the 2^24 where `f32` still has whole pixels, so the last rows can no longer be reached or drawn in place
//! (it breaks near ~930k rows). Here the position is a row number in `f64`, the scrollbar maps its track onto that
//! number, and only the rows in view are laid out, so the millionth row costs what the first does.

use egui::{Rect, Sense, pos2, vec2};

/// Where the list is scrolled to.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowScroll {
    /// The row at the top of the view; the fraction is how far it is scrolled out.
    pub top: f64,
}

/// Smallest scrollbar thumb, so it stays grabbable over a million rows.
const MIN_THUMB: f32 = 24.0;

impl RowScroll {
    /// Lays out the rows of `total` that are in view, filling the space left in `ui`.
    ///
    /// `follow` keeps the last row in view as rows arrive; scrolling up by hand turns it off and scrolling back to
    /// the bottom turns it on again, as a terminal does. `add_row` draws one row into a child `Ui` whose rect is
    /// the row's.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        total: usize,
        row_height: f32,
        follow: &mut bool,
        mut add_row: impl FnMut(&mut egui::Ui, usize),
    ) {
        let size = ui.available_size();
        let (outer, _) = ui.allocate_exact_size(size, Sense::hover());
        let bar_width = bar_width(ui);
        let list = Rect::from_min_max(outer.min, pos2(outer.max.x - bar_width, outer.max.y));
        let bar = Rect::from_min_max(pos2(outer.max.x - bar_width + 2.0, outer.min.y), outer.max);
        let in_view = f64::from(list.height() / row_height).max(1.0);
        let max_top = (total as f64 - in_view).max(0.0);

        let mut moved_by_user =
            self.scroll_by_keys_and_wheel(ui, outer, row_height, in_view, max_top);

        let thumb_height = if total == 0 {
            bar.height()
        } else {
            (bar.height() * (in_view / total as f64).min(1.0) as f32)
                .clamp(MIN_THUMB.min(bar.height()), bar.height())
        };
        let track = (bar.height() - thumb_height).max(0.0);
        let bar_response = ui.interact(
            bar,
            ui.scope_id().with("row-scrollbar"),
            Sense::click_and_drag(),
        );
        if (bar_response.dragged() || bar_response.clicked())
            && let Some(pointer) = bar_response.interact_pointer_pos()
            && track > 0.0
        {
            let fraction = ((pointer.y - bar.min.y - thumb_height / 2.0) / track).clamp(0.0, 1.0);
            self.top = f64::from(fraction) * max_top;
            moved_by_user = true;
        }

        if moved_by_user {
            self.top = self.top.clamp(0.0, max_top);
            *follow = self.top >= max_top - 1e-6;
        }
        if *follow {
            self.top = max_top;
        }
        self.top = self.top.clamp(0.0, max_top);

        let first = self.top.floor() as usize;
        let offset = ((self.top - first as f64) * f64::from(row_height)) as f32;
        let clip = list.intersect(ui.clip_rect());
        let rows = in_view.ceil() as usize + 1;
        for (i, row) in (first..total).take(rows).enumerate() {
            let rect = Rect::from_min_size(
                pos2(list.min.x, list.min.y - offset + i as f32 * row_height),
                vec2(list.width(), row_height),
            );
            let mut child = ui.new_child(
                egui::UiBuilder::new()
                    .max_rect(rect)
                    .id_salt(("row", row))
                    .layout(egui::Layout::top_down(egui::Align::Min)),
            );
            child.set_clip_rect(clip);
            add_row(&mut child, row);
        }

        if max_top > 0.0 {
            self.paint_thumb(ui, bar, thumb_height, track, max_top, &bar_response);
        }
    }

    /// Scrolls by the mouse wheel, and by Page Up/Down, Home and End unless a text field has the focus, while the
    /// pointer is over `outer`. True when that moved the list.
    fn scroll_by_keys_and_wheel(
        &mut self,
        ui: &mut egui::Ui,
        outer: Rect,
        row_height: f32,
        in_view: f64,
        max_top: f64,
    ) -> bool {
        let mut moved_by_user = false;
        if ui.rect_contains_pointer(outer) {
            let wheel = ui.input(|i| i.smooth_scroll_delta.y);
            if wheel != 0.0 {
                self.top -= f64::from(wheel / row_height);
                moved_by_user = true;
                ui.ctx().input_mut(|i| i.smooth_scroll_delta.y = 0.0);
            }
            let typing = ui.memory(|m| m.focused().is_some());
            if !typing {
                let (page_up, page_down, home, end) = ui.input(|i| {
                    (
                        i.key_pressed(egui::Key::PageUp),
                        i.key_pressed(egui::Key::PageDown),
                        i.key_pressed(egui::Key::Home),
                        i.key_pressed(egui::Key::End),
                    )
                });
                let page = (in_view - 1.0).max(1.0);
                for (pressed, to) in [
                    (page_up, self.top - page),
                    (page_down, self.top + page),
                    (home, 0.0),
                    (end, max_top),
                ] {
                    if pressed {
                        self.top = to;
                        moved_by_user = true;
                    }
                }
            }
        }
        moved_by_user
    }

    /// Paints the scrollbar's track and its thumb, shaded by how the bar is being used.
    fn paint_thumb(
        &self,
        ui: &egui::Ui,
        bar: Rect,
        thumb_height: f32,
        track: f32,
        max_top: f64,
        bar_response: &egui::Response,
    ) {
        let visuals = ui.visuals();
        let thumb_top = bar.min.y + (self.top / max_top) as f32 * track;
        let thumb =
            Rect::from_min_size(pos2(bar.min.x, thumb_top), vec2(bar.width(), thumb_height));
        let style = if bar_response.dragged() {
            &visuals.widgets.active
        } else if bar_response.hovered() {
            &visuals.widgets.hovered
        } else {
            &visuals.widgets.inactive
        };
        ui.painter().rect_filled(bar, 4.0, visuals.extreme_bg_color);
        ui.painter().rect_filled(thumb, 4.0, style.bg_fill);
    }
}

/// The width the list's scrollbar takes from its rows.
pub fn bar_width(ui: &egui::Ui) -> f32 {
    ui.spacing().scroll.bar_width.max(8.0) + 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(
        scroll: &mut RowScroll,
        follow: &mut bool,
        total: usize,
        events: Vec<egui::Event>,
    ) -> Vec<usize> {
        frame_rects(scroll, follow, total, events)
            .into_iter()
            .map(|(row, _)| row)
            .collect()
    }

    /// One frame of a 400 x 220 view; returns each drawn row with the rect it was given.
    fn frame_rects(
        scroll: &mut RowScroll,
        follow: &mut bool,
        total: usize,
        events: Vec<egui::Event>,
    ) -> Vec<(usize, Rect)> {
        let ctx = egui::Context::default();
        let mut drawn = Vec::new();
        let input = egui::RawInput {
            screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), vec2(400.0, 220.0))),
            events,
            ..Default::default()
        };
        ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                scroll.show(ui, total, 20.0, follow, |ui, row| {
                    drawn.push((row, ui.max_rect()));
                });
            });
        })
        .drop_without_applying_deltas();
        drawn
    }

    #[test]
    fn the_last_of_two_million_rows_is_drawn_in_place() {
        // The tail of a 100-row list is where f32 pixels are exact: the tail of two million rows must be drawn at
        // the same places, to the hundredth of a pixel.
        let (mut short, mut long) = (RowScroll::default(), RowScroll::default());
        let expected = frame_rects(&mut short, &mut true, 100, vec![]);
        let drawn = frame_rects(&mut long, &mut true, 2_000_000, vec![]);
        assert_eq!(drawn.last().map(|(row, _)| *row), Some(1_999_999));
        assert!(
            drawn.len() <= 12,
            "only the rows in view are laid out: {}",
            drawn.len()
        );
        assert_eq!(drawn.len(), expected.len());
        for ((row, rect), (short_row, want)) in drawn.iter().zip(&expected) {
            assert_eq!(row - 1_999_900, *short_row);
            assert!(
                (rect.min.y - want.min.y).abs() < 0.01 && (rect.max.y - want.max.y).abs() < 0.01,
                "row {row} at {rect:?}, expected {want:?}"
            );
        }
        // The view is scrolled to a fraction of a row (the view is not a whole number of rows high), and that
        // fraction survives at two million.
        assert!(short.top.fract() > 0.01, "{}", short.top);
        assert!(
            (long.top - 1_999_900.0 - short.top).abs() < 1e-6,
            "{} vs {}",
            long.top,
            short.top
        );
    }

    #[test]
    fn home_stops_following_and_end_starts_again() {
        let mut scroll = RowScroll { top: 500.0 };
        let mut follow = false;
        let drawn = frame(&mut scroll, &mut follow, 1000, vec![]);
        assert_eq!(
            drawn.first(),
            Some(&500),
            "without follow the view stays where it was"
        );
        let key = |key| egui::Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: egui::Modifiers::NONE,
        };
        let pointer = egui::Event::PointerMoved(pos2(100.0, 100.0));
        frame(
            &mut scroll,
            &mut follow,
            1000,
            vec![pointer.clone(), key(egui::Key::End)],
        );
        assert!(follow, "reaching the bottom resumes following");
        let drawn = frame(
            &mut scroll,
            &mut follow,
            1000,
            vec![pointer, key(egui::Key::Home)],
        );
        assert!(!follow);
        assert_eq!(drawn.first(), Some(&0));
    }
}
