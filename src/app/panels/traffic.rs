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
        "peak: {:.0} msg/s sent, {:.0} msg/s received, {} sent, {} received",
        peak(0),
        peak(1),
        format_rate(peak(2)),
        format_rate(peak(3))
    ));
    ui.strong("Messages per second");
    egui_plot::Plot::new("msgs-per-second")
        .height(160.0)
        .x_axis_label("seconds")
        .y_axis_label("messages/s")
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
        .y_axis_label("bytes/s")
        .y_axis_formatter(|mark, _| format_rate(mark.value))
        .allow_scroll(false)
        .legend(egui_plot::Legend::default())
        .show(ui, |plot| {
            plot.line(egui_plot::Line::new("sent", bins.series(2)));
            plot.line(egui_plot::Line::new("received", bins.series(3)));
            if bins.compressed {
                // permessage-deflate: what the messages weigh on the wire, beside what they hold.
                plot.line(egui_plot::Line::new(
                    "sent on the wire",
                    bins.wire_series(0),
                ));
                plot.line(egui_plot::Line::new(
                    "received on the wire",
                    bins.wire_series(1),
                ));
            }
        });
}

/// A byte rate in decimal units, as network tools print it: `512 B/s`, `6.4 kB/s`, `6.4 MB/s`, `1.2 GB/s`.
pub fn format_rate(bytes_per_second: f64) -> String {
    let v = bytes_per_second.max(0.0);
    if v < 1_000.0 {
        format!("{v:.0} B/s")
    } else if v < 1_000_000.0 {
        format!("{:.1} kB/s", v / 1_000.0)
    } else if v < 1_000_000_000.0 {
        format!("{:.1} MB/s", v / 1_000_000.0)
    } else {
        format!("{:.1} GB/s", v / 1_000_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_read_with_units() {
        assert_eq!(super::format_rate(512.0), "512 B/s");
        assert_eq!(super::format_rate(6_400_010.0), "6.4 MB/s");
        assert_eq!(super::format_rate(12_345.0), "12.3 kB/s");
        assert_eq!(super::format_rate(2.5e9), "2.5 GB/s");
    }
}
