//! A server tab's rules, as a form: the route selection expression, then each rule in order — on or off, its
//! name, when it fires (a route key, a message matching a matcher, a connect with conditions, a close), what it
//! does (one row per action, each with its own fields), and whether the next matching rule runs too. Every
//! change is written back to the rules' RON text, which the RON view edits directly.

use crate::model::mock::{
    Audience, ConnectCondition, Fault, HeaderValue, MockRules, Rule, Then, When,
};
use crate::model::session::Matcher;
use egui::RichText;

/// The form over `rules`; true when something changed.
pub(crate) fn form_ui(rules: &mut MockRules, enabled: bool, ui: &mut egui::Ui) -> bool {
    let before = rules.clone();
    ui.add_enabled_ui(enabled, |ui| {
        ui.horizontal(|ui| {
            let label = ui.label("Route selection");
            ui.add(
                egui::TextEdit::singleline(&mut rules.route_selection)
                    .hint_text("$request.body.action (empty: every message takes $default)")
                    .desired_width(300.0),
            )
            .labelled_by(label.id)
            .on_hover_text("Where a message's route key is read: a JSON path into the message");
            if ui
                .button("+ Rule")
                .on_hover_text("A rule at the end: on the $default route, doing nothing yet")
                .clicked()
            {
                rules.rules.push(Rule {
                    name: format!("rule {}", rules.rules.len() + 1),
                    ..Default::default()
                });
            }
        });
        if rules.rules.is_empty() {
            ui.label(
                RichText::new(
                    "No rules: every client is accepted and nothing is answered. + Rule adds one.",
                )
                .weak(),
            );
        }
        let n = rules.rules.len();
        let mut moved: Option<(usize, isize)> = None;
        let mut removed = None;
        for (i, rule) in rules.rules.iter_mut().enumerate() {
            ui.push_id(("mock-rule", i), |ui| {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    rule_ui(rule, i, ui);
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(i > 0, egui::Button::new("Up").small())
                            .clicked()
                        {
                            moved = Some((i, -1));
                        }
                        if ui
                            .add_enabled(i + 1 < n, egui::Button::new("Down").small())
                            .clicked()
                        {
                            moved = Some((i, 1));
                        }
                        if ui.small_button("Remove rule").clicked() {
                            removed = Some(i);
                        }
                    });
                });
            });
        }
        if let Some((i, by)) = moved {
            let j = (i as isize + by) as usize;
            rules.rules.swap(i, j);
        }
        if let Some(i) = removed {
            rules.rules.remove(i);
        }
    });
    *rules != before
}

fn rule_ui(rule: &mut Rule, i: usize, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut rule.enabled, format!("{}.", i + 1))
            .on_hover_text("On: the rule runs; off: it is skipped");
        let label = ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut rule.name).desired_width(140.0))
            .labelled_by(label.id);
        let label = ui.label("When");
        let kind = when_kind(&rule.when);
        let mut picked = kind;
        egui::ComboBox::from_id_salt("when")
            .selected_text(WHEN_NAMES[kind])
            .show_ui(ui, |ui| {
                for (k, name) in WHEN_NAMES.iter().enumerate() {
                    ui.selectable_value(&mut picked, k, *name);
                }
            })
            .response
            .labelled_by(label.id);
        if picked != kind {
            rule.when = match picked {
                0 => When::Route(String::new()),
                1 => When::Message(Matcher::Contains(String::new())),
                2 => When::Connect(ConnectCondition::default()),
                _ => When::Close,
            };
        }
        if let When::Route(key) = &mut rule.when {
            let label = ui.label("route key");
            ui.add(
                egui::TextEdit::singleline(key)
                    .hint_text("join, sendmessage, $default")
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
        }
        ui.checkbox(&mut rule.and_continue, "continue")
            .on_hover_text("After this rule, the next matching rule runs too");
    });
    match &mut rule.when {
        When::Message(m) => matcher_ui(m, ui),
        When::Connect(c) => connect_ui(c, ui),
        When::Route(_) | When::Close => {}
    }
    ui.label(RichText::new("Then").weak());
    let mut moved: Option<(usize, isize)> = None;
    let mut removed = None;
    let n = rule.then.len();
    for (k, then) in rule.then.iter_mut().enumerate() {
        ui.push_id(("then", k), |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.add_space(12.0);
                then_ui(then, ui);
                if ui
                    .add_enabled(k > 0, egui::Button::new("up").small())
                    .clicked()
                {
                    moved = Some((k, -1));
                }
                if ui
                    .add_enabled(k + 1 < n, egui::Button::new("down").small())
                    .clicked()
                {
                    moved = Some((k, 1));
                }
                if ui
                    .small_button("x")
                    .on_hover_text("Remove this action")
                    .clicked()
                {
                    removed = Some(k);
                }
            });
        });
    }
    if let Some((k, by)) = moved {
        rule.then.swap(k, (k as isize + by) as usize);
    }
    if let Some(k) = removed {
        rule.then.remove(k);
    }
    ui.horizontal(|ui| {
        ui.add_space(12.0);
        if ui
            .small_button("+ Action")
            .on_hover_text("Add an action: reply, send, join, delay, close, stream, refuse, fault…")
            .clicked()
        {
            rule.then.push(Then::Reply(String::new()));
        }
    });
}

const WHEN_NAMES: [&str; 4] = ["on a route", "on a message", "on connect", "on close"];

fn when_kind(w: &When) -> usize {
    match w {
        When::Route(_) => 0,
        When::Message(_) => 1,
        When::Connect(_) => 2,
        When::Close => 3,
    }
}

const MATCHER_NAMES: [&str; 6] = [
    "equals",
    "contains",
    "regex",
    "JSON subset",
    "JSON path",
    "bytes (hex)",
];

fn matcher_ui(m: &mut Matcher, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.add_space(12.0);
        let kind = match m {
            Matcher::Equals(_) => 0,
            Matcher::Contains(_) => 1,
            Matcher::Regex(_) => 2,
            Matcher::JsonSubset(_) => 3,
            Matcher::JsonPath { .. } => 4,
            _ => 5,
        };
        let mut picked = kind;
        let label = ui.label("message");
        egui::ComboBox::from_id_salt("matcher")
            .selected_text(MATCHER_NAMES[kind])
            .show_ui(ui, |ui| {
                for (k, name) in MATCHER_NAMES.iter().enumerate() {
                    ui.selectable_value(&mut picked, k, *name);
                }
            })
            .response
            .labelled_by(label.id);
        if picked != kind {
            *m = match picked {
                0 => Matcher::Equals(String::new()),
                1 => Matcher::Contains(String::new()),
                2 => Matcher::Regex(String::new()),
                3 => Matcher::JsonSubset(String::new()),
                4 => Matcher::JsonPath {
                    path: "$.".into(),
                    equals: String::new(),
                },
                _ => Matcher::Bytes(String::new()),
            };
        }
        match m {
            Matcher::JsonPath { path, equals } | Matcher::Decoded { path, equals } => {
                let label = ui.label("path");
                ui.add(egui::TextEdit::singleline(path).desired_width(140.0))
                    .labelled_by(label.id);
                let label = ui.label("equals (JSON)");
                ui.add(egui::TextEdit::singleline(equals).desired_width(140.0))
                    .labelled_by(label.id);
            }
            Matcher::Close(_) => {}
            Matcher::Equals(s)
            | Matcher::Contains(s)
            | Matcher::Regex(s)
            | Matcher::JsonSubset(s)
            | Matcher::Bytes(s)
            | Matcher::Reply(s) => {
                let label = ui.label("value");
                ui.add(egui::TextEdit::singleline(s).desired_width(260.0))
                    .labelled_by(label.id);
            }
        }
    });
}

fn connect_ui(c: &mut ConnectCondition, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.add_space(12.0);
        let label = ui.label("path");
        ui.add(
            egui::TextEdit::singleline(&mut c.path)
                .hint_text("any")
                .desired_width(120.0),
        )
        .labelled_by(label.id);
        let label = ui.label("subprotocol offered");
        ui.add(
            egui::TextEdit::singleline(&mut c.subprotocol)
                .hint_text("any")
                .desired_width(120.0),
        )
        .labelled_by(label.id);
    });
    pairs_ui("header", &mut c.headers, ui);
    pairs_ui("query parameter", &mut c.query, ui);
}

/// Name / value rows (an empty value: present with any value), with add and remove.
fn pairs_ui(what: &str, pairs: &mut Vec<HeaderValue>, ui: &mut egui::Ui) {
    let mut removed = None;
    for (k, pair) in pairs.iter_mut().enumerate() {
        ui.push_id((what, k), |ui| {
            ui.horizontal(|ui| {
                ui.add_space(12.0);
                let label = ui.label(what);
                ui.add(egui::TextEdit::singleline(&mut pair.name).desired_width(120.0))
                    .labelled_by(label.id);
                let label = ui.label("=");
                ui.add(
                    egui::TextEdit::singleline(&mut pair.value)
                        .hint_text("any value")
                        .desired_width(160.0),
                )
                .labelled_by(label.id);
                if ui.small_button("x").clicked() {
                    removed = Some(k);
                }
            });
        });
    }
    if let Some(k) = removed {
        pairs.remove(k);
    }
    ui.horizontal(|ui| {
        ui.add_space(12.0);
        if ui.small_button(format!("+ {what}")).clicked() {
            pairs.push(HeaderValue::default());
        }
    });
}

const THEN_NAMES: [&str; 12] = [
    "reply",
    "reply binary (hex)",
    "send to",
    "join group",
    "leave group",
    "leave every group",
    "set value",
    "delay",
    "close",
    "stream",
    "refuse upgrade",
    "fault",
];

fn then_kind(t: &Then) -> usize {
    match t {
        Then::Reply(_) => 0,
        Then::ReplyBinary(_) => 1,
        Then::Send { .. } => 2,
        Then::Join(_) => 3,
        Then::Leave(_) => 4,
        Then::LeaveAll => 5,
        Then::Set { .. } => 6,
        Then::Delay(_) => 7,
        Then::Close { .. } => 8,
        Then::Stream { .. } => 9,
        Then::Refuse { .. } => 10,
        Then::Fault(_) => 11,
    }
}

fn new_then(kind: usize) -> Then {
    match kind {
        0 => Then::Reply(String::new()),
        1 => Then::ReplyBinary(String::new()),
        2 => Then::Send {
            to: Audience::All,
            text: String::new(),
        },
        3 => Then::Join("{{request.body.room}}".into()),
        4 => Then::Leave("{{request.body.room}}".into()),
        5 => Then::LeaveAll,
        6 => Then::Set {
            name: "user".into(),
            value: "{{request.body.user}}".into(),
        },
        7 => Then::Delay(500),
        8 => Then::Close {
            code: 4000,
            reason: String::new(),
        },
        9 => Then::Stream {
            count: 10,
            interval_ms: 1000,
            text: "tick {{counter}}".into(),
        },
        10 => Then::Refuse {
            status: 403,
            body: "{\"message\":\"Forbidden\"}".into(),
        },
        _ => Then::Fault(Fault::Drop),
    }
}

fn text_field(label: &str, text: &mut String, width: f32, hint: &str, ui: &mut egui::Ui) {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .hint_text(hint)
            .desired_width(width),
    )
    .labelled_by(l.id);
}

fn then_ui(then: &mut Then, ui: &mut egui::Ui) {
    let kind = then_kind(then);
    let mut picked = kind;
    egui::ComboBox::from_id_salt("then-kind")
        .selected_text(THEN_NAMES[kind])
        .show_ui(ui, |ui| {
            for (k, name) in THEN_NAMES.iter().enumerate() {
                ui.selectable_value(&mut picked, k, *name);
            }
        });
    if picked != kind {
        *then = new_then(picked);
    }
    match then {
        Then::Reply(text) => text_field("text", text, 320.0, "{\"echo\":{{request.body}}}", ui),
        Then::ReplyBinary(hex) => text_field("hex", hex, 240.0, "de ad be ef", ui),
        Then::Send { to, text } => {
            audience_ui(to, ui);
            text_field("text", text, 260.0, "{{request.body.text}}", ui);
        }
        Then::Join(group) | Then::Leave(group) => {
            text_field("group", group, 180.0, "{{request.body.room}}", ui)
        }
        Then::LeaveAll => {}
        Then::Set { name, value } => {
            text_field("name", name, 100.0, "user", ui);
            text_field("value", value, 200.0, "{{request.body.user}}", ui);
        }
        Then::Delay(ms) => {
            let l = ui.label("ms");
            ui.add(egui::DragValue::new(ms).range(0..=600_000))
                .labelled_by(l.id);
        }
        Then::Close { code, reason } => {
            let l = ui.label("code");
            ui.add(egui::DragValue::new(code).range(1000..=4999))
                .labelled_by(l.id);
            text_field("reason", reason, 160.0, "", ui);
        }
        Then::Stream {
            count,
            interval_ms,
            text,
        } => {
            let l = ui.label("count");
            ui.add(egui::DragValue::new(count).range(1..=1_000_000))
                .labelled_by(l.id);
            let l = ui.label("every ms");
            ui.add(egui::DragValue::new(interval_ms).range(0..=600_000))
                .labelled_by(l.id);
            text_field("text", text, 200.0, "tick {{counter}}", ui);
        }
        Then::Refuse { status, body } => {
            let l = ui.label("status");
            ui.add(egui::DragValue::new(status).range(400..=599))
                .labelled_by(l.id);
            text_field("body", body, 220.0, "", ui);
        }
        Then::Fault(fault) => fault_ui(fault, ui),
    }
}

const AUDIENCE_NAMES: [&str; 5] = [
    "this client",
    "every client",
    "every other client",
    "a group",
    "a connection id",
];

fn audience_ui(to: &mut Audience, ui: &mut egui::Ui) {
    let kind = match to {
        Audience::Me => 0,
        Audience::All => 1,
        Audience::Others => 2,
        Audience::Group(_) => 3,
        Audience::Connection(_) => 4,
    };
    let mut picked = kind;
    egui::ComboBox::from_id_salt("audience")
        .selected_text(AUDIENCE_NAMES[kind])
        .show_ui(ui, |ui| {
            for (k, name) in AUDIENCE_NAMES.iter().enumerate() {
                ui.selectable_value(&mut picked, k, *name);
            }
        });
    if picked != kind {
        *to = match picked {
            0 => Audience::Me,
            1 => Audience::All,
            2 => Audience::Others,
            3 => Audience::Group("{{request.body.room}}".into()),
            _ => Audience::Connection("{{request.body.to}}".into()),
        };
    }
    match to {
        Audience::Group(g) => text_field("group", g, 140.0, "{{request.body.room}}", ui),
        Audience::Connection(c) => text_field("id", c, 140.0, "{{request.body.to}}", ui),
        _ => {}
    }
}

/// Every fault a rule can do, with its default parameters.
fn all_faults() -> [Fault; 12] {
    [
        Fault::DelayUpgrade(2000),
        Fault::WrongAccept,
        Fault::UnofferedSubprotocol("not-offered".into()),
        Fault::Drop,
        Fault::StopReading,
        Fault::PingThenDeaf,
        Fault::BadUtf8,
        Fault::Rsv1,
        Fault::MaskedFrame,
        Fault::OversizedControl,
        Fault::Fragment(16),
        Fault::Drip {
            bytes: 1,
            interval_ms: 100,
        },
    ]
}

fn fault_name(f: &Fault) -> &'static str {
    match f {
        Fault::DelayUpgrade(_) => "delay the 101",
        Fault::WrongAccept => "wrong Sec-WebSocket-Accept",
        Fault::UnofferedSubprotocol(_) => "select a subprotocol not offered",
        Fault::Drop => "drop without a close frame",
        Fault::StopReading => "stop reading",
        Fault::PingThenDeaf => "ping, then never answer pings",
        Fault::BadUtf8 => "text that is not UTF-8",
        Fault::Rsv1 => "a frame with RSV1",
        Fault::MaskedFrame => "a masked frame",
        Fault::OversizedControl => "an oversized ping",
        Fault::Fragment(_) => "fragment every message",
        Fault::Drip { .. } => "drip bytes slowly",
    }
}

fn fault_ui(fault: &mut Fault, ui: &mut egui::Ui) {
    let current = fault_name(fault);
    let mut picked: Option<Fault> = None;
    egui::ComboBox::from_id_salt("fault")
        .selected_text(current)
        .show_ui(ui, |ui| {
            for f in all_faults() {
                let name = fault_name(&f);
                if ui.selectable_label(name == current, name).clicked() && name != current {
                    picked = Some(f);
                }
            }
        });
    if let Some(f) = picked {
        *fault = f;
    }
    match fault {
        Fault::DelayUpgrade(ms) => {
            let l = ui.label("ms");
            ui.add(egui::DragValue::new(ms).range(0..=600_000))
                .labelled_by(l.id);
        }
        Fault::UnofferedSubprotocol(p) => text_field("subprotocol", p, 120.0, "", ui),
        Fault::Fragment(n) => {
            let l = ui.label("bytes a frame");
            ui.add(egui::DragValue::new(n).range(1..=1 << 20))
                .labelled_by(l.id);
        }
        Fault::Drip { bytes, interval_ms } => {
            let l = ui.label("bytes");
            ui.add(egui::DragValue::new(bytes).range(1..=1 << 20))
                .labelled_by(l.id);
            let l = ui.label("every ms");
            ui.add(egui::DragValue::new(interval_ms).range(1..=60_000))
                .labelled_by(l.id);
        }
        _ => {}
    }
    if fault.is_upgrade() {
        ui.label(RichText::new("(in an on-connect rule)").weak().small());
    }
}
