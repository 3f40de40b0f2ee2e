//! What panels may ask for: the [`Action`]s they collect while drawing, carried out afterwards by
//! [`AppState::apply`](super::AppState::apply). Panels import this file, never the state.

use super::tab::ItemPath;
use crate::engine::replay::Control;
use crate::model::copy_as::Tool;
use std::path::PathBuf;

/// Something a panel asked for.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum Action {
    /// Connect the active tab to its URL.
    Connect,
    /// Turn off certificate verification for the active tab (flagged in the bar) and connect again.
    ConnectInsecure,
    /// Close the active tab's connection normally (1000), cancel an attempt or a pending reconnection.
    Disconnect,
    /// Reconnect the active tab at once.
    ReconnectNow,
    /// Send the composer's message.
    Send,
    /// Send one protocol message (a Socket.IO event, a GraphQL operation, a close of what is open).
    Emit(serde_json::Value),
    /// Speak this protocol with its automatic part on (handshake, keep-alive), remembered in the session, and
    /// connect again.
    UseProtocol(crate::model::protocol::Protocol),
    /// Send the composer's message in fragments.
    SendFragmented,
    /// Send the composer's payload as one hand-built frame.
    SendRawFrame,
    /// Send a ping with the composer's ping payload.
    Ping,
    /// Close with the composer's code and reason.
    Close,
    /// Select the log entry with this sequence number.
    Select(u64),
    /// Empty the active tab's log.
    ClearLog,
    /// Save the whole log through a dialog (NDJSON, or JSON for a .json name).
    ExportLog,
    /// Save the selected payload to a file chosen in a dialog.
    SavePayload,
    /// Choose a file for a TLS field.
    PickFile(FileField),
    /// Copy the active tab's connection as a command line for this tool.
    CopyAs(Tool),
    /// Open the load test window (k6).
    OpenLoadTest,
    /// Open a new server tab (a mock server) and show it.
    NewServerTab,
    /// Show server tab `i`.
    SelectServerTab(usize),
    /// Close server tab `i` (its server stops; its clients are closed with 1001).
    CloseServerTab(usize),
    /// Start the load test with the active tab's session.
    StartLoadTest,
    /// Stop the load test.
    StopLoadTest,
    /// Copy the active session as a k6 script with the load test's VUs and duration.
    CopyK6Script,
    /// Open a new tab.
    NewTab,
    /// Show tab `n`.
    SelectTab(usize),
    /// Close tab `n` (closing its connection cleanly).
    CloseTab(usize),
    /// Close every tab's connection.
    DisconnectAll,
    /// Send the frame waiting for confirmation.
    Confirm,
    /// Drop the frame waiting for confirmation.
    CancelConfirm,
    /// Open the command palette.
    OpenPalette,
    /// Show the keyboard shortcuts.
    ShowShortcuts,
    /// Choose a session file to open.
    OpenSession,
    /// Open this session file.
    OpenRecent(PathBuf),
    /// Save the active session (Save As when it has no file yet).
    SaveSession,
    /// Save the active session to a file chosen in a dialog.
    SaveSessionAs,
    /// Copy the active session into a new tab.
    DuplicateSession,
    /// Delete the active session's file (asks first).
    DeleteSession,
    /// Delete it: confirmed.
    ConfirmDelete,
    /// Add a message step to the collection (into the selected folder, if any).
    AddStep,
    /// Add a folder to the collection.
    AddFolder,
    /// Remove a collection item.
    RemoveItem(ItemPath),
    /// Send one collection message on the open connection.
    SendStep(ItemPath),
    /// Add a logged message to the collection.
    SaveToCollection(u64),
    /// Turn the log's sent messages into a folder of steps with their recorded timing.
    LogToCollection,
    /// Choose a HAR file and open it as a new session.
    ImportHar,
    /// Replay the collection, or only the item at this path.
    RunReplay(Option<ItemPath>),
    /// Pause, resume or stop the replay.
    ReplayControl(Control),
    /// Close the window after the unsaved-changes question: save what has a file, then close.
    SaveAllAndClose,
    /// Close the window, dropping unsaved changes.
    DiscardAndClose,
    /// Keep the window open.
    CancelClose,
    /// Use the path typed in place of a file dialog.
    TypedPathOk,
    /// Drop the typed-path prompt.
    TypedPathCancel,
}

/// Which file field a file dialog fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileField {
    /// TLS CA file.
    CaFile,
    /// TLS client certificate.
    ClientCert,
    /// TLS client key.
    ClientKey,
}
