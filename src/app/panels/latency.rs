//! The Latency side tab: round-trip times of our pings (min, median, p95 and max) and a plot over time. The
//! numbers come from the tab's `LatencyCache` (`tab/latency.rs`).

use crate::app::action::Action;
use crate::app::tab::ConnTab;
use crate::app::tab::latency::MAX_PLOTTED;
use egui::RichText;

pub(crate) fn ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let cache = &mut tab.caches.latency;
    cache.refresh(&tab.log);
    ui.horizontal(|ui| {
        ui.strong("Ping round-trip times");
        if ui
            .button("Ping now")
            .on_hover_text("Send a ping and time its pong")
            .clicked()
        {
            actions.push(Action::Ping);
        }
    });
    match cache.stats {
        None => {
            ui.label(
                RichText::new("No pongs yet: press Ping now, or set a ping interval under Options > Keepalive.")
                    .weak(),
            );
            return;
        }
        Some([min, median, p95, max]) => {
            ui.label(format!(
                "{} pongs · min {min:.2} ms · median {median:.2} ms · p95 {p95:.2} ms · max {max:.2} ms",
                cache.points.len()
            ));
        }
    }
    let skip = cache.points.len().saturating_sub(MAX_PLOTTED);
    let points: Vec<[f64; 2]> = cache.points.iter().skip(skip).map(|(_, p)| *p).collect();
    if skip > 0 {
        ui.label(RichText::new(format!("plotting the newest {MAX_PLOTTED}")).weak());
    }
    egui_plot::Plot::new("rtt-plot")
        .height(220.0)
        .x_axis_label("seconds")
        .y_axis_label("RTT (ms)")
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(egui_plot::Line::new("RTT", points.clone()));
            plot.points(egui_plot::Points::new("pongs", points).radius(2.5));
        });
}
