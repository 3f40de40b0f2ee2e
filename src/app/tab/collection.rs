//! A tab's collection as a tree: where an item sits ([`ItemPath`]), finding, moving and removing items, and turning
//! logged messages into steps (one message, or the whole log as a folder with its recorded timing).

use crate::model::session::{Expectation, Folder, Item, Matcher, Payload, Step};

/// Where a collection item sits: indexes from the top level down.
pub type ItemPath = Vec<usize>;

/// The item at `path`.
pub fn item_at<'a>(items: &'a [Item], path: &[usize]) -> Option<&'a Item> {
    let (first, rest) = path.split_first()?;
    let item = items.get(*first)?;
    match (item, rest.is_empty()) {
        (_, true) => Some(item),
        (Item::Folder(f), false) => item_at(&f.items, rest),
        (Item::Step(_), false) => None,
    }
}

/// The item at `path`, for editing.
pub fn item_at_mut<'a>(items: &'a mut [Item], path: &[usize]) -> Option<&'a mut Item> {
    let (first, rest) = path.split_first()?;
    let item = items.get_mut(*first)?;
    if rest.is_empty() {
        return Some(item);
    }
    match item {
        Item::Folder(f) => item_at_mut(&mut f.items, rest),
        Item::Step(_) => None,
    }
}

/// The list that holds the item at `path` (the parent folder's items, or the top level).
pub fn parent_list_mut<'a>(items: &'a mut Vec<Item>, path: &[usize]) -> Option<&'a mut Vec<Item>> {
    match path.split_last() {
        None => None,
        Some((_, [])) => Some(items),
        Some((_, parent)) => match item_at_mut(items, parent)? {
            Item::Folder(f) => Some(&mut f.items),
            Item::Step(_) => None,
        },
    }
}

/// Moves the item at `from` to just before the item at `to` (into a folder when `into_folder`).
pub fn move_item(items: &mut Vec<Item>, from: &[usize], to: &[usize], into_folder: bool) -> bool {
    if from.is_empty() || to.starts_with(from) {
        return false; // nothing to move, or a folder into itself
    }
    let Some(list) = parent_list_mut(items, from) else {
        return false;
    };
    let Some(&index) = from.last() else {
        return false;
    };
    if index >= list.len() {
        return false;
    }
    let item = list.remove(index);
    // Removing shifts later siblings on the shared prefix: adjust the target path.
    let mut to = to.to_vec();
    let depth = from.len() - 1;
    if to.len() > depth && to[..depth] == from[..depth] && to[depth] > index {
        to[depth] -= 1;
    }
    let target = if into_folder {
        match item_at_mut(items, &to) {
            Some(Item::Folder(f)) => {
                f.items.push(item);
                return true;
            }
            _ => None,
        }
    } else {
        let position = to.last().copied();
        parent_list_mut(items, &to).zip(position)
    };
    match target {
        Some((list, position)) => {
            list.insert(position.min(list.len()), item);
            true
        }
        None => {
            items.push(item);
            true
        }
    }
}

/// A folder of steps from a log: each sent data message becomes a step whose delay is the recorded gap since
/// the previous one (so a replay keeps the original timing); received messages become expectations that start
/// switched off. With a codec, binary messages that decode are kept in their JSON form (steps that encode it,
/// expectations on the decoded value).
pub fn folder_from_log(
    entries: &[&crate::model::LogEntry],
    name: String,
    codec: Option<&crate::model::codec::Codec>,
) -> Folder {
    use crate::model::{Direction, MessageKind};
    let mut steps: Vec<Step> = Vec::new();
    let mut last_sent: Option<std::time::Duration> = None;
    for entry in entries {
        if !entry.kind.is_data() {
            continue;
        }
        match entry.direction {
            Direction::Sent => {
                let mut step = step_from_entry(entry, steps.len() as u64 + 1, codec);
                step.name = format!("Message {}", steps.len() + 1);
                step.delay_ms = last_sent
                    .map(|prev| entry.since_connect().saturating_sub(prev).as_millis() as u64)
                    .unwrap_or(0);
                last_sent = Some(entry.since_connect());
                steps.push(step);
            }
            Direction::Received => {
                if let Some(step) = steps.last_mut() {
                    let decoded = codec
                        .and_then(|c| super::codec::decode_entry(c, entry))
                        .and_then(Result::ok);
                    let matcher = match (entry.kind, decoded) {
                        (MessageKind::Text, _) => {
                            Matcher::Equals(String::from_utf8_lossy(&entry.payload).into_owned())
                        }
                        (_, Some(value)) => Matcher::Equals(value.to_string()),
                        _ => Matcher::Bytes(crate::model::hex_string(&entry.payload)),
                    };
                    step.expect.push(Expectation {
                        matcher,
                        timeout_ms: 5_000,
                        enabled: false,
                    });
                }
            }
        }
    }
    Folder {
        name,
        notes: "Recorded from the log; delays are the original timing. Switch on the expectations you want checked."
            .into(),
        items: steps.into_iter().map(Item::Step).collect(),
    }
}

/// A new step from a logged message ("save from log"): a binary message its codec reads as its JSON, to be
/// encoded again when sent.
pub fn step_from_entry(
    entry: &crate::model::LogEntry,
    number: u64,
    codec: Option<&crate::model::codec::Codec>,
) -> Step {
    let decoded = codec
        .and_then(|c| super::codec::decode_entry(c, entry))
        .and_then(Result::ok);
    if let Some(value) = decoded {
        return Step {
            name: format!("From log #{number}"),
            payload: Payload::Encoded(
                serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string()),
            ),
            ..Step::default()
        };
    }
    let payload = match entry.kind {
        crate::model::MessageKind::Text => {
            let text = String::from_utf8_lossy(&entry.payload).into_owned();
            if serde_json::from_str::<serde_json::Value>(&text)
                .is_ok_and(|v| v.is_object() || v.is_array())
            {
                Payload::Json(text)
            } else {
                Payload::Text(text)
            }
        }
        _ => Payload::Hex(crate::model::hex_string(&entry.payload)),
    };
    Step {
        name: format!("From log #{number}"),
        payload,
        ..Step::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str) -> Item {
        Item::Step(Step {
            name: name.into(),
            ..Step::default()
        })
    }

    fn names(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Step(s) => s.name.clone(),
                Item::Folder(f) => format!("[{}: {}]", f.name, names(&f.items).join(",")),
            })
            .collect()
    }

    #[test]
    fn moving_items_reorders_and_files_into_folders() {
        let mut items = vec![
            step("a"),
            step("b"),
            Item::Folder(Folder {
                name: "F".into(),
                items: vec![step("c")],
                ..Folder::default()
            }),
            step("d"),
        ];
        assert!(move_item(&mut items, &[3], &[0], false));
        assert_eq!(names(&items), ["d", "a", "b", "[F: c]"]);
        assert!(move_item(&mut items, &[0], &[3], true));
        assert_eq!(names(&items), ["a", "b", "[F: c,d]"]);
        assert!(move_item(&mut items, &[2, 0], &[0], false));
        assert_eq!(names(&items), ["c", "a", "b", "[F: d]"]);
        assert!(
            !move_item(&mut items, &[3], &[3, 0], false),
            "a folder cannot go into itself"
        );
        assert!(move_item(&mut items, &[0], &[2], false));
        assert_eq!(names(&items), ["a", "c", "b", "[F: d]"]);
    }

    #[test]
    fn a_log_recorded_with_a_codec_keeps_binary_messages_as_json() {
        use crate::model::{Direction, LogEntry, MessageKind};
        let codec = crate::model::codec::Codec::MessagePack;
        let entry = |direction, value: serde_json::Value, ms| {
            LogEntry::new(
                1,
                direction,
                MessageKind::Binary,
                std::time::SystemTime::now(),
                std::time::Duration::from_millis(ms),
                codec.encode(&value).expect("encodes"),
            )
        };
        let sent = entry(Direction::Sent, serde_json::json!({"op": "sub"}), 0);
        let got = entry(Direction::Received, serde_json::json!({"ok": true}), 5);
        let folder = folder_from_log(&[&sent, &got], "Recorded".into(), Some(&codec));
        let Some(Item::Step(step)) = folder.items.first() else {
            panic!("{folder:?}");
        };
        match &step.payload {
            Payload::Encoded(json) => assert_eq!(
                serde_json::from_str::<serde_json::Value>(json).expect("JSON"),
                serde_json::json!({"op": "sub"})
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            step.expect[0].matcher,
            Matcher::Equals(r#"{"ok":true}"#.into())
        );
        // Without a codec: hex and bytes, as before.
        let folder = folder_from_log(&[&sent, &got], "Recorded".into(), None);
        let Some(Item::Step(step)) = folder.items.first() else {
            panic!("{folder:?}");
        };
        assert!(matches!(step.payload, Payload::Hex(_)));
        assert!(matches!(step.expect[0].matcher, Matcher::Bytes(_)));
    }
}
