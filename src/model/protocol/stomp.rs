//! STOMP 1.0, 1.1 and 1.2 frames (<https://stomp.github.io/stomp-specification-1.2.html>), as a sans-IO codec:
//! [`encode`] writes a frame, [`Reader`] reads the frames of a stream of WebSocket messages (several frames in
//! one message, a frame over several, heart-beat EOLs between them), with header escaping per version and
//! `content-length` bodies that contain NUL.

pub mod lens;

#[cfg(test)]
mod tests;

/// A STOMP version, as agreed in CONNECTED (1.0 when the server names none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V10,
    V11,
    V12,
}

impl Version {
    /// The version named in CONNECTED's `version` header.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "1.0" => Some(Version::V10),
            "1.1" => Some(Version::V11),
            "1.2" => Some(Version::V12),
            _ => None,
        }
    }

    /// `1.2` …
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V10 => "1.0",
            Version::V11 => "1.1",
            Version::V12 => "1.2",
        }
    }
}

/// One STOMP frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// `CONNECT`, `SEND`, `MESSAGE`, …
    pub command: String,
    /// Headers in order (a repeated header keeps every occurrence; the first one counts).
    pub headers: Vec<(String, String)>,
    /// The body (bytes; text for most servers).
    pub body: Vec<u8>,
}

impl Frame {
    /// A frame with these headers and no body.
    pub fn new(command: &str, headers: &[(&str, &str)]) -> Self {
        Self {
            command: command.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
        }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets header `name` (replacing the first occurrence, else adding it).
    pub fn set_header(&mut self, name: &str, value: &str) {
        match self.headers.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_owned(),
            None => self.headers.push((name.to_owned(), value.to_owned())),
        }
    }
}

/// Whether a frame's headers are escaped in `version` (CONNECT and CONNECTED never are).
fn escapes(version: Version, command: &str) -> bool {
    version >= Version::V11 && command != "CONNECT" && command != "CONNECTED"
}

fn escape(version: Version, text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            ':' => out.extend_from_slice(b"\\c"),
            '\r' if version >= Version::V12 => out.extend_from_slice(b"\\r"),
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn unescape(version: Version, text: &str) -> Result<String, Malformed> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('c') => out.push(':'),
            Some('r') if version >= Version::V12 => out.push('\r'),
            other => {
                let seq = other.map_or("\\".to_owned(), |c| format!("\\{c}"));
                return Err(Malformed(format!(
                    "the header {text:?} has the escape {seq}, which STOMP {} does not define",
                    version.as_str()
                )));
            }
        }
    }
    Ok(out)
}

/// Why `frame` cannot be written in `version`, if it cannot: a header with an EOL (or a name with ':') where
/// headers are not escaped (STOMP 1.0, and CONNECT in every version).
pub fn unencodable(version: Version, frame: &Frame) -> Option<String> {
    if escapes(version, &frame.command) {
        return None;
    }
    frame.headers.iter().find_map(|(k, v)| {
        (k.contains(['\n', '\r', ':']) || v.contains(['\n', '\r'])).then(|| {
            format!(
                "the {} header {k:?} cannot be sent: {} frames have no escaping, so a header cannot hold a line break (or a name a ':')",
                frame.command,
                if frame.command == "CONNECT" { "CONNECT".to_owned() } else { format!("STOMP {}", version.as_str()) }
            )
        })
    })
}

/// The frame's bytes: command, headers (escaped for `version`), a blank line, the body and NUL. A body that
/// contains NUL gets a `content-length` header, unless it has one.
pub fn encode(version: Version, frame: &Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.command.len() + 64 + frame.body.len());
    out.extend_from_slice(frame.command.as_bytes());
    out.push(b'\n');
    let escaped = escapes(version, &frame.command);
    let mut has_length = false;
    for (k, v) in &frame.headers {
        has_length |= k == "content-length";
        if escaped {
            escape(version, k, &mut out);
            out.push(b':');
            escape(version, v, &mut out);
        } else {
            out.extend_from_slice(k.as_bytes());
            out.push(b':');
            out.extend_from_slice(v.as_bytes());
        }
        out.push(b'\n');
    }
    if !has_length && frame.body.contains(&0) {
        out.extend_from_slice(format!("content-length:{}\n", frame.body.len()).as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(&frame.body);
    out.push(0);
    out
}

/// What a stream of bytes held next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A frame.
    Frame(Frame),
    /// A heart-beat: EOLs between frames.
    HeartBeat,
}

/// A STOMP frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// Reads frames from the bytes of successive WebSocket messages, keeping a frame that is not complete yet (at
/// most `max` bytes of it).
#[derive(Debug)]
pub struct Reader {
    buf: Vec<u8>,
    max: usize,
    /// The version the headers are unescaped for.
    pub version: Version,
}

impl Reader {
    /// A reader that keeps at most `max` bytes of an unfinished frame.
    pub fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
            version: Version::V12,
        }
    }

    /// Bytes of an unfinished frame waiting for the rest.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Reads `bytes` (one WebSocket message): the items it completed, in order, or the first error. After an
    /// error the buffer is dropped, so the next message starts afresh.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Item>, Malformed> {
        match self.feed_all(bytes) {
            (items, None) => Ok(items),
            (_, Some(e)) => Err(e),
        }
    }

    /// As [`Reader::feed`], but keeping the items read before an error (a good CONNECTED or MESSAGE is not lost
    /// to a broken frame after it in the same message).
    pub fn feed_all(&mut self, bytes: &[u8]) -> (Vec<Item>, Option<Malformed>) {
        let waiting = !self.buf.is_empty();
        self.buf.extend_from_slice(bytes);
        let mut items = Vec::new();
        // A frame ends with NUL: while one is unfinished, a piece without NUL cannot complete it, so the buffer
        // is not scanned again (a large frame in small pieces costs linear time, not quadratic).
        if waiting && !bytes.contains(&0) {
            return (items, self.check_pending());
        }
        let mut at = 0;
        let error = loop {
            match read_one(self.version, &self.buf[at..]) {
                Ok(Some((item, used))) => {
                    at += used;
                    if let Item::Frame(f) = &item
                        && f.command == "CONNECTED"
                    {
                        // A CONNECTED without a version is a STOMP 1.0 server's.
                        self.version = f
                            .header("version")
                            .and_then(Version::parse)
                            .unwrap_or(Version::V10);
                    }
                    items.push(item);
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        // The EOLs around frames are not heart-beats of their own (RabbitMQ ends each frame with one): a
        // message is a heart-beat only when it carries no frame.
        if items.iter().any(|i| matches!(i, Item::Frame(_))) {
            items.retain(|i| matches!(i, Item::Frame(_)));
        } else if items.len() > 1 {
            items.truncate(1);
        }
        match error {
            None => {
                self.buf.drain(..at);
                (items, self.check_pending())
            }
            Some(e) => {
                self.buf = Vec::new();
                (items, Some(e))
            }
        }
    }

    /// Refuses an unfinished frame past the bound (and drops it).
    fn check_pending(&mut self) -> Option<Malformed> {
        if self.buf.len() <= self.max {
            return None;
        }
        let held = self.buf.len();
        self.buf = Vec::new();
        Some(Malformed(format!(
            "a STOMP frame went on for {held} bytes without its closing NUL (at most {} are kept)",
            self.max
        )))
    }
}

/// One item at the start of `bytes` and the bytes it used, `None` when it is not complete yet.
fn read_one(version: Version, bytes: &[u8]) -> Result<Option<(Item, usize)>, Malformed> {
    // Heart-beats and the EOLs some servers send after a frame's NUL.
    // A stray NUL between frames (stomp-broker-js ends frames with two) is skipped as an EOL is.
    let eols = bytes
        .iter()
        .take_while(|b| matches!(**b, b'\n' | b'\r' | 0))
        .count();
    if eols > 0 {
        return Ok(Some((Item::HeartBeat, eols)));
    }
    if bytes.is_empty() {
        return Ok(None);
    }
    let Some(head_end) = find_blank_line(bytes) else {
        if let Some(nul) = bytes.iter().position(|b| *b == 0) {
            return Err(Malformed(format!(
                "a STOMP frame ended (NUL at byte {nul}) before the blank line after its headers"
            )));
        }
        return Ok(None);
    };
    let (head, body_start) = head_end;
    let head = std::str::from_utf8(&bytes[..head])
        .map_err(|_| Malformed("a STOMP frame's command and headers are not UTF-8".into()))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let command = lines.next().unwrap_or("").to_owned();
    if command.is_empty() || !command.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Malformed(format!(
            "{command:?} is not a STOMP command (commands are upper-case words such as MESSAGE)"
        )));
    }
    let escaped = escapes(version, &command);
    let mut headers = Vec::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            return Err(Malformed(format!(
                "the {command} frame's header line {line:?} has no ':'"
            )));
        };
        if escaped {
            headers.push((unescape(version, k)?, unescape(version, v)?));
        } else {
            headers.push((k.to_owned(), v.to_owned()));
        }
    }
    // A content-length that is not a number is read as none, as stomp.js does (some brokers send
    // "undefined"): the body runs to the NUL, and the decoded frame says so.
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let rest = &bytes[body_start..];
    let (body, used) = match length {
        Some(n) => {
            if rest.len() <= n {
                return Ok(None);
            }
            if rest[n] != 0 {
                return Err(Malformed(format!(
                    "the {command} frame's body is not followed by NUL after its content-length of {n} bytes"
                )));
            }
            (rest[..n].to_vec(), body_start + n + 1)
        }
        None => match rest.iter().position(|b| *b == 0) {
            Some(n) => (rest[..n].to_vec(), body_start + n + 1),
            None => return Ok(None),
        },
    };
    Ok(Some((
        Item::Frame(Frame {
            command,
            headers,
            body,
        }),
        used,
    )))
}

/// Where the headers end (`\n\n` or `\r\n\r\n`, mixed allowed): the head's length and where the body starts.
fn find_blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(n) = bytes[i..].iter().position(|b| *b == b'\n') {
        let eol = i + n;
        let line_start = i;
        let line = &bytes[line_start..eol];
        if line.is_empty() || line == b"\r" {
            // The head is everything before this empty line, without its own EOL.
            let head = line_start.saturating_sub(1);
            let head = if head > 0 && bytes[head - 1] == b'\r' {
                head - 1
            } else {
                head
            };
            return Some((head, eol + 1));
        }
        if bytes[line_start..eol].contains(&0) {
            return None;
        }
        i = eol + 1;
    }
    None
}
