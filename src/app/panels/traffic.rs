//! The Traffic side tab: messages per second and bytes per second in each direction, plotted from the tab's
//! `TrafficBins` (`tab/traffic.rs`).

use crate::app::tab::ConnTab;
use egui::RichText;

pub(crate) fn ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    tab.traffic.update(&tab.log);
    let bins = &tab.traffic;
    if bins.bins.is_empty() {
        ui.label(RichText::new("No traffic yet.").weak());
        return;
    }
    let peak = |c: usize| bins.bins.iter().map(|b| b[c]).fold(0.0, f64::max);
    ui.label(format!(
        "peak: {:.0} msg/s sent, {:.0} msg/s received, {:.0} B/s sent, {:.0} B/s received",
        peak(0),
        peak(1),
        peak(2),
        peak(3)
    ));
    ui.strong("Messages per second");
    egui_plot::Plot::new("msgs-per-second")
        .height(160.0)
        .x_axis_label("seconds")
        .allow_scroll(false)
        .legend(egui_plot::Legend::default())
        .show(ui, |plot| {
            plot.line(egui_plot::Line::new("sent", bins.series(0)));
            plot.line(egui_plot::Line::new("received", bins.series(1)));
        });
    ui.strong("Bytes per second");
    egui_plot::Plot::new("bytes-per-second")
        .height(160.0)
        .x_axis_label("seconds")
        .allow_scroll(false)
        .legend(egui_plot::Legend::default())
        .show(ui, |plot| {
            plot.line(egui_plot::Line::new("sent", bins.series(2)));
            plot.line(egui_plot::Line::new("received", bins.series(3)));
        });
}
