//! The protocol on top of WebSocket in the window: the picker in the connection bar, what was detected (and the
//! one click that turns the protocol's automatic part on), the composer's protocol forms (a Socket.IO event,
//! a GraphQL operation) and what is open (namespaces, subscriptions), each closable.

use crate::app::action::Action;
use crate::app::tab::ConnTab;
use crate::model::ConnState;
use crate::model::protocol::Protocol;
use egui::RichText;

/// The protocol picker. Choosing a protocol turns its automatic part on; `auto` decodes what it detects.
pub(crate) fn picker_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let choice = &mut tab.session.endpoint.protocol;
    let label = ui.label("Protocol");
    let before = choice.protocol;
    egui::ComboBox::from_id_salt("protocol-picker")
        .selected_text(display_name(choice.protocol))
        .width(150.0)
        .show_ui(ui, |ui| {
            for p in Protocol::ALL {
                ui.selectable_value(&mut choice.protocol, p, display_name(p))
                    .on_hover_text(describe(p));
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text("What the connection speaks on top of WebSocket");
    if choice.protocol != before {
        choice.automatic = choice.protocol != Protocol::Auto;
    }
}

/// The name shown for a protocol.
pub fn display_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Auto => "Auto-detect",
        Protocol::Raw => "Raw WebSocket",
        Protocol::SocketIo => "Socket.IO",
        Protocol::GraphqlTransportWs => "GraphQL (graphql-transport-ws)",
        Protocol::GraphqlWs => "GraphQL (legacy graphql-ws)",
        Protocol::Stomp => "STOMP",
        Protocol::Mqtt => "MQTT",
        Protocol::SignalR => "SignalR",
        Protocol::Phoenix => "Phoenix Channels",
        Protocol::ActionCable => "Action Cable",
    }
}

fn describe(p: Protocol) -> &'static str {
    match p {
        Protocol::Auto => {
            "Decode the protocol the server's subprotocol or the URL names; turn its handshake on in one click"
        }
        Protocol::Raw => "Plain RFC 6455 messages, nothing decoded",
        Protocol::SocketIo => {
            "Socket.IO 3/4 (Engine.IO 4; options: eio=3 for Socket.IO 2): connects namespaces, answers pings, acks"
        }
        Protocol::GraphqlTransportWs => {
            "The graphql-ws library's protocol: connection_init / ack, subscribe, ping / pong"
        }
        Protocol::GraphqlWs => {
            "subscriptions-transport-ws: connection_init / ack, start / stop, ka"
        }
        Protocol::Stomp => {
            "STOMP 1.0–1.2 (RabbitMQ, ActiveMQ, Spring): CONNECT / CONNECTED, heart-beats, SUBSCRIBE, SEND, receipts"
        }
        Protocol::Mqtt => {
            "MQTT 3.1.1 or 5 over WebSocket: CONNECT / CONNACK, PINGREQ, SUBSCRIBE, PUBLISH at QoS 0–2 with its acks"
        }
        Protocol::SignalR => {
            "ASP.NET Core SignalR hubs (JSON; MessagePack as an option): handshake, pings, invoke / stream / send"
        }
        Protocol::Phoenix => {
            "Phoenix Channels (vsn 2.0.0 arrays or 1.0.0): phx_join / phx_leave, pushes and replies, heartbeat"
        }
        Protocol::ActionCable => {
            "Rails Action Cable: welcome, pings, subscribe to a channel, perform actions"
        }
    }
}

/// What the connection speaks, in the connection bar; with the automatic part off, the one click that turns it
/// on.
pub(crate) fn status_ui(tab: &ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some(view) = &tab.protocol else { return };
    let Some(protocol) = view.protocol() else {
        if tab.session.endpoint.protocol.protocol == Protocol::Auto {
            ui.label(RichText::new(format!("Auto-detect: {}", view.reason)).weak());
            ui.separator();
        }
        return;
    };
    let name = display_name(protocol);
    if view.automatic {
        let version = match protocol {
            Protocol::SocketIo => format!(" (Engine.IO {})", view.version),
            Protocol::Stomp | Protocol::Mqtt if view.ready => format!(" {}", view.version),
            _ => String::new(),
        };
        let state = match (tab.conn_state, view.ready) {
            (ConnState::Closed | ConnState::Idle, _) => "",
            (_, true) => " · handshake complete",
            (_, false) => " · handshake…",
        };
        ui.label(RichText::new(format!("{name}{version}{state}")).strong())
            .on_hover_text(format!("why: {}", view.reason));
    } else {
        ui.label(format!("{name} detected ({}) · decoding only", view.reason));
        let button = ui
            .button(format!("Turn on {name} handshake & keep-alive"))
            .on_hover_text(
                "Reconnect speaking the protocol: its handshake, keep-alives and the composer's protocol \
                 messages. Remembered in the session.",
            );
        if button.clicked() {
            actions.push(Action::UseProtocol(protocol));
        }
    }
    ui.separator();
}

/// The composer's protocol form, when the connection speaks a protocol: a Socket.IO event or a GraphQL
/// operation, then what is open.
pub(crate) fn composer_ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some(protocol) = tab.protocol.as_ref().and_then(|v| v.protocol()) else {
        return;
    };
    let open = tab.conn_state == ConnState::Open;
    let form = &mut tab.composer.protocol;
    let mut emit = None;
    ui.horizontal(|ui| match protocol {
        Protocol::SocketIo => {
            let l = ui.label("Namespace");
            ui.add(egui::TextEdit::singleline(&mut form.namespace).desired_width(70.0))
                .labelled_by(l.id);
            let l = ui.label("Event");
            ui.add(egui::TextEdit::singleline(&mut form.event).desired_width(100.0))
                .labelled_by(l.id);
            let l = ui.label("Args (JSON)");
            ui.add(
                egui::TextEdit::singleline(&mut form.args)
                    .hint_text("[\"hi\", {\"n\": 1}]")
                    .font(egui::TextStyle::Monospace)
                    .desired_width(180.0),
            )
            .labelled_by(l.id)
            .on_hover_text(
                "A JSON list of arguments; bytes as {\"base64\":\"…\"} go as binary attachments",
            );
            ui.checkbox(&mut form.ack, "Expect ack");
            if ui
                .add_enabled(open, egui::Button::new("Emit"))
                .on_disabled_hover_text("Connect first")
                .clicked()
            {
                emit = Some(form.socketio_emit());
            }
        }
        Protocol::Stomp => stomp_form(ui, form, open, &mut emit),
        Protocol::SignalR => {
            let l = ui.label("Method");
            ui.add(egui::TextEdit::singleline(&mut form.signalr_method).desired_width(120.0))
                .labelled_by(l.id);
            let l = ui.label("Args (JSON)");
            ui.add(
                egui::TextEdit::singleline(&mut form.signalr_args)
                    .hint_text("[\"hi\", 1]")
                    .font(egui::TextStyle::Monospace)
                    .desired_width(180.0),
            )
            .labelled_by(l.id);
            for (kind, label, hover) in [
                ("invoke", "Invoke", "An invocation with an id: its completion is matched"),
                ("stream", "Stream", "A stream invocation: its items come until it completes"),
                ("send", "Send", "An invocation without an id: no completion comes"),
            ] {
                if ui
                    .add_enabled(open, egui::Button::new(label))
                    .on_hover_text(hover)
                    .on_disabled_hover_text("Connect first")
                    .clicked()
                {
                    emit = Some(form.signalr_emit(kind));
                }
            }
        }
        Protocol::Phoenix => {
            let l = ui.label("Topic");
            ui.add(egui::TextEdit::singleline(&mut form.phoenix_topic).desired_width(110.0))
                .labelled_by(l.id);
            let l = ui.label("Event");
            ui.add(egui::TextEdit::singleline(&mut form.phoenix_event).desired_width(80.0))
                .labelled_by(l.id);
            let l = ui.label("Payload (JSON)");
            ui.add(
                egui::TextEdit::singleline(&mut form.phoenix_payload)
                    .font(egui::TextStyle::Monospace)
                    .desired_width(150.0),
            )
            .labelled_by(l.id);
            for (event, label) in [(Some("phx_join"), "Join"), (None, "Push"), (Some("phx_leave"), "Leave")] {
                if ui
                    .add_enabled(open, egui::Button::new(label))
                    .on_disabled_hover_text("Connect first")
                    .clicked()
                {
                    emit = Some(form.phoenix_emit(event));
                }
            }
        }
        Protocol::ActionCable => {
            let l = ui.label("Identifier (JSON)");
            ui.add(
                egui::TextEdit::singleline(&mut form.cable_identifier)
                    .font(egui::TextStyle::Monospace)
                    .desired_width(170.0),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(open, egui::Button::new("Subscribe"))
                .on_disabled_hover_text("Connect first")
                .clicked()
            {
                emit = Some(form.cable_emit(true));
            }
            let l = ui.label("Action");
            ui.add(egui::TextEdit::singleline(&mut form.cable_action).desired_width(70.0))
                .labelled_by(l.id);
            let l = ui.label("Data (JSON)");
            ui.add(
                egui::TextEdit::singleline(&mut form.cable_data)
                    .font(egui::TextStyle::Monospace)
                    .desired_width(140.0),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(open, egui::Button::new("Perform"))
                .on_hover_text("A message command: the action and data, on the subscription with this identifier")
                .on_disabled_hover_text("Connect first")
                .clicked()
            {
                emit = Some(form.cable_emit(false));
            }
        }
        Protocol::Mqtt => mqtt_form(ui, form, open, &mut emit),
        _ => {
            let l = ui.label("operationName");
            ui.add(egui::TextEdit::singleline(&mut form.operation_name).desired_width(80.0))
                .labelled_by(l.id);
            let l = ui.label("Variables (JSON)");
            ui.add(
                egui::TextEdit::singleline(&mut form.variables)
                    .hint_text("{\"from\": 3}")
                    .font(egui::TextStyle::Monospace)
                    .desired_width(150.0),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(open, egui::Button::new("Subscribe"))
                .on_hover_text("Run the operation (a query or mutation gets one result)")
                .on_disabled_hover_text("Connect first")
                .clicked()
            {
                emit = Some(form.graphql_emit());
            }
        }
    });
    if matches!(protocol, Protocol::Stomp | Protocol::Mqtt) {
        let (label, text) = match protocol {
            Protocol::Stomp => ("Body", &mut form.stomp_body),
            _ => ("Payload", &mut form.mqtt_payload),
        };
        let l = ui.label(RichText::new(label).weak());
        ui.add(
            egui::TextEdit::multiline(text)
                .font(egui::TextStyle::Monospace)
                .desired_width(f32::INFINITY)
                .desired_rows(2),
        )
        .labelled_by(l.id);
    } else if matches!(protocol, Protocol::GraphqlTransportWs | Protocol::GraphqlWs) {
        let l = ui.label(RichText::new("Operation").weak());
        ui.add(
            egui::TextEdit::multiline(&mut form.query)
                .font(egui::TextStyle::Monospace)
                .desired_width(f32::INFINITY)
                .desired_rows(2),
        )
        .labelled_by(l.id);
    }
    match emit {
        Some(Ok(value)) => actions.push(Action::Emit(value)),
        Some(Err(why)) => tab.composer.error = Some(why),
        None => {}
    }
    open_items_ui(tab, ui, actions);
    ui.separator();
}

/// STOMP: a command, its destination and headers (the body is below); Subscribe and Send in one click.
fn stomp_form(
    ui: &mut egui::Ui,
    form: &mut crate::app::tab::protocol::ProtocolComposer,
    open: bool,
    emit: &mut Option<Result<serde_json::Value, String>>,
) {
    let l = ui.label("Command");
    egui::ComboBox::from_id_salt("stomp-command")
        .selected_text(form.stomp_command.as_str())
        .width(110.0)
        .show_ui(ui, |ui| {
            for c in crate::app::tab::protocol::STOMP_COMMANDS {
                ui.selectable_value(&mut form.stomp_command, (*c).to_owned(), *c);
            }
        })
        .response
        .labelled_by(l.id);
    let l = ui.label("Destination");
    ui.add(egui::TextEdit::singleline(&mut form.stomp_destination).desired_width(130.0))
        .labelled_by(l.id);
    let l = ui.label("Headers (JSON)");
    ui.add(
        egui::TextEdit::singleline(&mut form.stomp_headers)
            .hint_text("{\"receipt\": \"r1\"}")
            .font(egui::TextStyle::Monospace)
            .desired_width(140.0),
    )
    .labelled_by(l.id);
    if ui
        .add_enabled(open, egui::Button::new("Send frame"))
        .on_hover_text("Send the command with these headers and the body (content-length added when the body holds NUL)")
        .on_disabled_hover_text("Connect first")
        .clicked()
    {
        *emit = Some(form.stomp_emit(None));
    }
    if ui
        .add_enabled(open, egui::Button::new("Subscribe"))
        .on_hover_text("SUBSCRIBE to the destination (an id is given)")
        .on_disabled_hover_text("Connect first")
        .clicked()
    {
        *emit = Some(form.stomp_emit(Some("SUBSCRIBE")));
    }
}

/// MQTT: a topic, QoS and retain (the payload is below); Publish and Subscribe.
fn mqtt_form(
    ui: &mut egui::Ui,
    form: &mut crate::app::tab::protocol::ProtocolComposer,
    open: bool,
    emit: &mut Option<Result<serde_json::Value, String>>,
) {
    let l = ui.label("Topic");
    ui.add(egui::TextEdit::singleline(&mut form.mqtt_topic).desired_width(150.0))
        .labelled_by(l.id);
    let l = ui.label("QoS");
    egui::ComboBox::from_id_salt("mqtt-qos")
        .selected_text(form.mqtt_qos.to_string())
        .width(40.0)
        .show_ui(ui, |ui| {
            for q in 0..=2u8 {
                ui.selectable_value(&mut form.mqtt_qos, q, q.to_string());
            }
        })
        .response
        .labelled_by(l.id);
    ui.checkbox(&mut form.mqtt_retain, "Retain");
    if ui
        .add_enabled(open, egui::Button::new("Publish"))
        .on_hover_text("PUBLISH the payload to the topic (its acknowledgements are handled)")
        .on_disabled_hover_text("Connect first")
        .clicked()
    {
        *emit = Some(form.mqtt_emit(true));
    }
    if ui
        .add_enabled(open, egui::Button::new("Subscribe"))
        .on_hover_text("SUBSCRIBE to the topic as a filter (+ and # allowed) at this QoS")
        .on_disabled_hover_text("Connect first")
        .clicked()
    {
        *emit = Some(form.mqtt_emit(false));
    }
}

/// Namespaces and subscriptions, with their message counts, each closable.
fn open_items_ui(tab: &ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some(view) = &tab.protocol else { return };
    if view.items.is_empty() {
        // The line is kept while the protocol runs, so the form above does not move when the first
        // subscription appears (a click aimed at a button would land on the row above it).
        if view.automatic {
            ui.label(
                RichText::new(
                    "Open: nothing yet (subscriptions, topics and pending calls show here)",
                )
                .weak(),
            );
        }
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Open:").weak());
        for item in &view.items {
            let text = format!(
                "{} {} · {} · {} received",
                item.kind, item.key, item.state, item.received
            );
            ui.label(RichText::new(text).monospace());
            if let Some(close) = &item.close
                && ui
                    .small_button("×")
                    .on_hover_text(format!("Close {} {}", item.kind, item.key))
                    .clicked()
            {
                actions.push(Action::Emit(close.clone()));
            }
            ui.separator();
        }
    });
}

/// The protocol's options, one field per key it reads (empty: its default), checked as typed.
pub(crate) fn options_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let choice = &mut tab.session.endpoint.protocol;
    let protocol = match choice.protocol {
        Protocol::Auto => tab
            .protocol
            .as_ref()
            .and_then(|v| v.protocol())
            .unwrap_or(Protocol::Auto),
        p => p,
    };
    let keys = crate::model::protocol::lens::option_keys(protocol);
    if keys.is_empty() {
        ui.label(
            RichText::new(
                "Pick a protocol in the Protocol box (or connect with Auto-detect) for its options.",
            )
            .weak(),
        );
        return;
    }
    ui.label(
        RichText::new(format!(
            "{} options (empty: the default)",
            display_name(protocol)
        ))
        .weak(),
    );
    egui::Grid::new("protocol-options")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            for key in keys {
                let label = ui.label(*key);
                let mut value = choice.options.get(*key).cloned().unwrap_or_default();
                let hint = match *key {
                    "eio" => "4 (3 for Socket.IO 2)",
                    "path" => "/socket.io/",
                    "auth" => "{\"token\": \"{{env.TOKEN}}\"}",
                    "init" => "{\"token\": \"{{env.TOKEN}}\"}",
                    "heart-beat" => "10000,10000 (ms: we send, we want)",
                    "host" => "/ (RabbitMQ: the virtual host)",
                    "login" | "username" => "guest",
                    "passcode" | "password" => "{{env.PASSWORD}}",
                    "version" => "3.1.1 (or 5)",
                    "client_id" => "made up: sockscope-…",
                    "keepalive" => "60 (seconds)",
                    "clean" | "will_retain" => "true / false",
                    "will_qos" => "0, 1 or 2",
                    "will_topic" | "will_payload" => "",
                    "session_expiry" => "seconds (MQTT 5)",
                    "hub_protocol" => "json (or messagepack)",
                    "negotiate" => "false (true: POST /negotiate first)",
                    "vsn" => "2.0.0 (or 1.0.0)",
                    _ => "milliseconds",
                };
                let response = ui
                    .add(
                        egui::TextEdit::singleline(&mut value)
                            .hint_text(hint)
                            .font(egui::TextStyle::Monospace)
                            .desired_width(320.0),
                    )
                    .labelled_by(label.id);
                if response.changed() {
                    if value.trim().is_empty() {
                        choice.options.remove(*key);
                    } else {
                        choice.options.insert((*key).to_owned(), value);
                    }
                }
                ui.end_row();
            }
        });
    // Templates are expanded when connecting; check what is typed with them left as they are.
    let unexpanded = choice.options.values().any(|v| v.contains("{{"));
    if !unexpanded
        && let Err(why) = crate::model::protocol::lens::check_options(protocol, &choice.options)
    {
        ui.label(RichText::new(why).color(ui.visuals().error_fg_color));
    }
}
