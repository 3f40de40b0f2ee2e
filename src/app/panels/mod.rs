//! One file per panel. Each is a `*_ui` function over the state it is given (a tab, a few values): it draws and
//! collects [`Action`](super::Action)s; it never changes the app's state beyond its own widgets.

pub(crate) mod latency;
pub(crate) mod traffic;
