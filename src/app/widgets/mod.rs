//! Reusable egui widgets with no knowledge of tabs or actions: a list that scrolls by row number (for logs of
//! millions of rows) and the folding JSON tree.

pub(crate) mod json_colours;
pub(crate) mod json_tree;
pub(crate) mod virtual_list;
