//! JUnit XML for `sockscope run --junit`: one test case per step, `<failure>` with expected vs got.

/// The outcome of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// Position in the collection, from 1.
    pub index: usize,
    /// Folder path ("" at top level).
    pub folder: String,
    /// Step name.
    pub name: String,
    /// Pass, fail or skip.
    pub outcome: Outcome,
    /// What was expected (for failures).
    pub expected: String,
    /// What happened instead (for failures).
    pub got: String,
    /// Time spent, seconds.
    pub seconds: f64,
}

/// A step's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation held.
    Pass,
    /// Something failed.
    Fail,
    /// Not run (switched off, or the run stopped).
    Skip,
}

impl Outcome {
    /// "pass", "fail" or "skip".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Skip => "skip",
        }
    }
}

/// Escapes text for XML, dropping characters XML 1.0 cannot carry.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit document for a run of `suite`.
pub fn to_xml(suite: &str, reports: &[StepReport], total_seconds: f64) -> String {
    let failures = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .count();
    let skipped = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Skip)
        .count();
    let suite = escape(suite);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sockscope\" tests=\"{}\" failures=\"{failures}\" \
         skipped=\"{skipped}\" time=\"{total_seconds:.3}\">\n  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" \
         errors=\"0\" skipped=\"{skipped}\" time=\"{total_seconds:.3}\">\n",
        reports.len(),
        reports.len()
    );
    for r in reports {
        let classname = if r.folder.is_empty() {
            suite.clone()
        } else {
            format!("{suite}.{}", escape(&r.folder))
        };
        xml.push_str(&format!(
            "    <testcase name=\"{}. {}\" classname=\"{classname}\" time=\"{:.3}\"",
            r.index,
            escape(&r.name),
            r.seconds
        ));
        match r.outcome {
            Outcome::Pass => xml.push_str("/>\n"),
            Outcome::Skip => xml.push_str(">\n      <skipped/>\n    </testcase>\n"),
            Outcome::Fail => xml.push_str(&format!(
                ">\n      <failure message=\"expected {}\" type=\"expectation\">expected: {}\ngot: {}</failure>\n    </testcase>\n",
                escape(&r.expected),
                escape(&r.expected),
                escape(&r.got)
            )),
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_counts() {
        assert_eq!(
            escape("a<b & \"c\" \u{1}"),
            "a&lt;b &amp; &quot;c&quot; \u{FFFD}"
        );
        let reports = vec![
            StepReport {
                index: 1,
                folder: String::new(),
                name: "join <lobby>".into(),
                outcome: Outcome::Pass,
                expected: String::new(),
                got: String::new(),
                seconds: 0.01,
            },
            StepReport {
                index: 2,
                folder: "Room".into(),
                name: "say".into(),
                outcome: Outcome::Fail,
                expected: "a message containing \"ok\"".into(),
                got: "nothing within 100 ms".into(),
                seconds: 0.1,
            },
        ];
        let xml = to_xml("chat & co", &reports, 0.2);
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"1. join &lt;lobby&gt;\""));
        assert!(xml.contains("classname=\"chat &amp; co.Room\""));
        assert!(xml.contains("got: nothing within 100 ms</failure>"));
    }
}
