//! One file per panel. Each is a `*_ui` function over the state it is given (a tab, a few values): it draws and
//! collects [`Action`](super::Action)s; it never changes the app's state beyond its own widgets.

pub(crate) mod composer;
pub(crate) mod connection;
pub(crate) mod details;
pub(crate) mod inspector;
pub(crate) mod latency;
pub(crate) mod load_test;
pub(crate) mod log_view;
pub(crate) mod mock_rules;
pub(crate) mod mock_server;
pub(crate) mod modals;
pub(crate) mod options;
pub(crate) mod palette;
pub(crate) mod protocol;
pub(crate) mod sessions;
pub(crate) mod step_editor;
pub(crate) mod tabs_bar;
pub(crate) mod traffic;
