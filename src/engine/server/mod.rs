//! Servers sockscope runs itself: today the built-in echo server (GUI default target, `sockscope serve`).

pub mod echo;
