//! Work a tab's panels would otherwise redo every frame, kept between frames: the selected payload's analysis,
//! the latency points, and the unsaved-changes marker.

use super::latency::LatencyCache;
use super::payload_cache::PayloadCache;
use crate::model::session::Session;
use std::cell::{Cell, RefCell};

/// A tab's caches.
#[derive(Default)]
pub struct TabCaches {
    /// The selected message.
    pub payload: PayloadCache,
    /// Ping round-trip times.
    pub latency: LatencyCache,
    /// Whether the session differs from its file.
    pub unsaved: UnsavedMarker,
    /// The log's binary rows as their codec reads them, one line each.
    pub rows: super::codec::PreviewLines,
}

/// Answers "does the session differ from what was saved?" by serialising it only when it changed since the last
/// answer (a field-by-field comparison with a copy, no allocation), not every frame.
#[derive(Default)]
pub struct UnsavedMarker {
    /// The session and the saved text at the last answer, and that answer.
    last: RefCell<Option<(Session, String, bool)>>,
    /// Serialisations made so far (for tests).
    pub serialisations: Cell<u64>,
}

impl UnsavedMarker {
    /// True when `session`, serialised without secrets, differs from `saved_ron`.
    pub fn is_dirty(&self, session: &Session, saved_ron: &str) -> bool {
        let mut last = self.last.borrow_mut();
        if let Some((seen, seen_saved, dirty)) = last.as_ref()
            && seen_saved == saved_ron
            && seen == session
        {
            return *dirty;
        }
        self.serialisations.set(self.serialisations.get() + 1);
        let dirty = session.to_ron() != saved_ron;
        *last = Some((session.clone(), saved_ron.to_owned(), dirty));
        dirty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unsaved_marker_serialises_once_per_change_not_per_frame() {
        let mut session = Session::default();
        let saved = session.to_ron();
        let marker = UnsavedMarker::default();
        for _frame in 0..50 {
            assert!(!marker.is_dirty(&session, &saved));
        }
        assert_eq!(marker.serialisations.get(), 1);
        session.name = "edited".into();
        for _frame in 0..50 {
            assert!(marker.is_dirty(&session, &saved));
        }
        assert_eq!(marker.serialisations.get(), 2);
        // Saving changes the saved text: asked again.
        let saved = session.to_ron();
        assert!(!marker.is_dirty(&session, &saved));
        assert_eq!(marker.serialisations.get(), 3);
    }
}
