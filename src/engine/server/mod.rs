//! Servers sockscope runs itself: the built-in echo server (GUI default target, `sockscope serve`) and the mock
//! server with rules (`sockscope serve --rules`).

pub mod echo;
pub mod mock;
