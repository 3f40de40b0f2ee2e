//! Round-trip times of our pings: min, median, p95 and max, and a plot over time.

use super::state::Action;
use super::tab::ConnTab;
use crate::model::MessageKind;
use egui::RichText;

/// Min, median, p95 and max of `samples` (milliseconds); `None` when empty.
pub fn rtt_stats(samples: &[f64]) -> Option<[f64; 4]> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    Some([sorted[0], at(0.5), at(0.95), sorted[sorted.len() - 1]])
}

pub(super) fn ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    // (seconds since the first entry, rtt ms) for every pong that answered one of our pings.
    let first_at = tab.log.get(0).map(|e| e.at());
    let mut points = Vec::new();
    for i in 0..tab.log.len() {
        let Some(entry) = tab.log.get(i) else { break };
        if entry.kind != MessageKind::Pong {
            continue;
        }
        if let (Some(rtt), Some(first)) = (entry.rtt(), first_at) {
            let x = entry
                .at()
                .duration_since(first)
                .unwrap_or_default()
                .as_secs_f64();
            points.push([x, rtt.as_secs_f64() * 1000.0]);
        }
    }
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
    let samples: Vec<f64> = points.iter().map(|p| p[1]).collect();
    match rtt_stats(&samples) {
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
                samples.len()
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::rtt_stats;

    #[test]
    fn percentiles() {
        assert_eq!(rtt_stats(&[]), None);
        assert_eq!(rtt_stats(&[2.0]), Some([2.0, 2.0, 2.0, 2.0]));
        let samples: Vec<f64> = (1..=100).map(f64::from).rev().collect();
        assert_eq!(rtt_stats(&samples), Some([1.0, 51.0, 95.0, 100.0]));
    }
}
