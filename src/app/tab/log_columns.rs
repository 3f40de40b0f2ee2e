//! Which columns the message log shows and how wide each is: the user's choices, kept in the workspace. The
//! payload is always shown and takes whatever width is left; the protocol's columns appear only on a
//! connection that speaks a protocol.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A log column other than the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Column {
    /// The row number.
    Number,
    /// The direction arrow.
    Direction,
    /// text, binary, ping, pong, close.
    Kind,
    /// Local wall-clock time.
    Time,
    /// Time since the connection opened.
    SinceStart,
    /// Time since the previous message of the same connection.
    SincePrevious,
    /// Request → reply time.
    Reply,
    /// Payload size.
    Size,
    /// Payload bytes on the wire of a compressed message (permessage-deflate), and the ratio.
    Wire,
    /// The protocol's message type (event, ack, next, …).
    Message,
    /// The protocol's event name or operation.
    Event,
    /// The protocol's namespace (Socket.IO).
    Namespace,
    /// The protocol's message id (an ack id, a subscription id).
    Id,
}

/// Monospace character width at the log's font size (12.5 px Hack), and the gap after each column.
pub const CHAR_WIDTH: f32 = 7.55;
const GAP: f32 = 10.0;
/// Narrowest and widest a column can be dragged.
pub const MIN_WIDTH: f32 = 18.0;
pub const MAX_WIDTH: f32 = 480.0;

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 13] = [
        Column::Number,
        Column::Direction,
        Column::Kind,
        Column::Time,
        Column::SinceStart,
        Column::SincePrevious,
        Column::Reply,
        Column::Size,
        Column::Wire,
        Column::Message,
        Column::Event,
        Column::Namespace,
        Column::Id,
    ];

    /// The header title.
    pub fn title(self) -> &'static str {
        match self {
            Column::Number => "#",
            Column::Direction => "",
            Column::Kind => "type",
            Column::Time => "time",
            Column::SinceStart => "since start",
            Column::SincePrevious => "+prev",
            Column::Reply => "reply",
            Column::Size => "size",
            Column::Wire => "wire",
            Column::Message => "message",
            Column::Event => "event / op",
            Column::Namespace => "ns",
            Column::Id => "id",
        }
    }

    /// Its name in the column menu.
    pub fn menu_name(self) -> &'static str {
        match self {
            Column::Direction => "direction",
            Column::Reply => "reply time",
            Column::SincePrevious => "since previous",
            Column::Namespace => "namespace",
            Column::Wire => "wire (compressed size)",
            other => other.title(),
        }
    }

    /// A column of the protocol lens: shown only where the connection speaks a protocol.
    pub fn is_protocol(self) -> bool {
        matches!(
            self,
            Column::Message | Column::Event | Column::Namespace | Column::Id
        )
    }

    /// Shown until the user says otherwise. On a protocol connection the protocol's columns take the place of
    /// the frame type, the size and the timings (the details keep them), so the payload keeps its width.
    fn shown_by_default(self, protocol: bool) -> bool {
        match self {
            Column::Number | Column::Direction | Column::Time => true,
            Column::Kind | Column::Size => !protocol,
            Column::SinceStart | Column::SincePrevious | Column::Reply | Column::Wire => false,
            Column::Message | Column::Event => true,
            Column::Namespace | Column::Id => false,
        }
    }

    /// The default width: the widest value it usually holds. The row number grows with the log.
    fn default_width(self, rows: usize) -> f32 {
        let chars = match self {
            Column::Number => (rows.max(1).ilog10() as usize + 1).max(2),
            Column::Direction => 1,
            Column::Kind => 6,
            Column::Time => 12,
            Column::SinceStart | Column::SincePrevious | Column::Reply => 9,
            Column::Size => 9,
            Column::Wire => 13,
            Column::Message => 7,
            Column::Event => 10,
            Column::Namespace => 6,
            Column::Id => 4,
        };
        chars as f32 * CHAR_WIDTH + GAP
    }

    /// How many characters fit in a column this wide.
    pub fn chars_in(width: f32) -> usize {
        (((width - GAP) / CHAR_WIDTH).floor().max(1.0)) as usize
    }
}

/// The user's column choices (what differs from the defaults).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogColumns {
    /// Columns shown or hidden by the user.
    pub shown: BTreeMap<Column, bool>,
    /// Widths the user dragged, in points.
    pub widths: BTreeMap<Column, f32>,
}

/// One laid-out column: where it starts and how wide it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placed {
    pub column: Column,
    pub x: f32,
    pub width: f32,
}

/// The columns of one frame: the placed columns, then the payload from `payload_x` to the edge.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub columns: Vec<Placed>,
    pub payload_x: f32,
    /// Characters of payload that fit.
    pub payload_chars: usize,
}

impl LogColumns {
    /// True when `column` is shown on a connection with (or without) a protocol.
    pub fn is_shown(&self, column: Column, protocol: bool) -> bool {
        if column.is_protocol() && !protocol {
            return false;
        }
        self.shown
            .get(&column)
            .copied()
            .unwrap_or_else(|| column.shown_by_default(protocol))
    }

    /// Shows or hides `column`.
    pub fn set_shown(&mut self, column: Column, shown: bool) {
        self.shown.insert(column, shown);
    }

    /// The width of `column` (for a log of `rows` rows).
    pub fn width(&self, column: Column, rows: usize) -> f32 {
        self.widths
            .get(&column)
            .copied()
            .filter(|w| w.is_finite())
            .map(|w| w.clamp(MIN_WIDTH, MAX_WIDTH))
            .unwrap_or_else(|| column.default_width(rows))
    }

    /// Sets the width the user dragged `column` to.
    pub fn set_width(&mut self, column: Column, width: f32) {
        if width.is_finite() {
            self.widths
                .insert(column, width.clamp(MIN_WIDTH, MAX_WIDTH));
        }
    }

    /// Back to the defaults.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Lays the shown columns out in `width` points for a log of `rows` rows; the payload takes the rest.
    pub fn layout(&self, width: f32, rows: usize, protocol: bool) -> Layout {
        let mut x = 4.0;
        let columns = Column::ALL
            .iter()
            .filter(|c| self.is_shown(**c, protocol))
            .map(|&column| {
                let w = self.width(column, rows);
                let placed = Placed {
                    column,
                    x,
                    width: w,
                };
                x += w;
                placed
            })
            .collect();
        Layout {
            columns,
            payload_x: x,
            payload_chars: Column::chars_in((width - x).max(0.0) + GAP),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log's width at 1280×800 with both side panels at their default widths (measured under Xvfb).
    const LOG_WIDTH_AT_1280: f32 = 640.0;

    #[test]
    fn at_laptop_size_the_payload_shows_forty_characters_by_default() {
        let columns = LogColumns::default();
        for rows in [10, 100_000, 1_000_000] {
            let raw = columns.layout(LOG_WIDTH_AT_1280, rows, false);
            assert!(raw.payload_chars >= 40, "{rows} rows: {raw:?}");
            let protocol = columns.layout(LOG_WIDTH_AT_1280, rows, true);
            assert!(protocol.payload_chars >= 40, "{rows} rows: {protocol:?}");
        }
    }

    #[test]
    fn protocol_columns_appear_only_on_protocol_connections() {
        let mut columns = LogColumns::default();
        columns.set_shown(Column::Id, true);
        assert!(!columns.is_shown(Column::Id, false));
        assert!(columns.is_shown(Column::Id, true));
        assert!(!columns.is_shown(Column::Message, false));
        assert!(columns.is_shown(Column::Kind, false));
        assert!(!columns.is_shown(Column::Kind, true));
    }

    #[test]
    fn hiding_and_widening_move_the_payload() {
        let mut columns = LogColumns::default();
        let before = columns.layout(600.0, 10, false);
        columns.set_shown(Column::Time, false);
        let hidden = columns.layout(600.0, 10, false);
        assert!(hidden.payload_x < before.payload_x);
        assert!(!hidden.columns.iter().any(|c| c.column == Column::Time));
        columns.set_width(Column::Kind, 200.0);
        let wide = columns.layout(600.0, 10, false);
        assert!(wide.payload_x > hidden.payload_x);
        columns.set_width(Column::Kind, f32::NAN);
        columns.set_width(Column::Size, 1e9);
        assert_eq!(columns.width(Column::Size, 10), MAX_WIDTH, "clamped");
        columns.reset();
        assert_eq!(columns.layout(600.0, 10, false), before);
    }

    #[test]
    fn the_row_number_column_grows_with_the_log() {
        let columns = LogColumns::default();
        assert!(columns.width(Column::Number, 1_000_000) > columns.width(Column::Number, 99));
    }

    #[test]
    fn choices_survive_the_workspace_file() {
        let mut columns = LogColumns::default();
        columns.set_shown(Column::Reply, true);
        columns.set_width(Column::Time, 120.0);
        let text = ron::to_string(&columns).expect("round trip");
        let back: LogColumns = ron::from_str(&text).expect("round trip");
        assert_eq!(back, columns);
    }
}
