//! JSON in colour, for the payload view and the composer.

/// Syntax colours for JSON text, valid or half-typed: keys, strings, numbers, literals, `{{templates}}`,
/// punctuation.
pub fn job(text: &str, ui: &egui::Ui) -> egui::text::LayoutJob {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let dark = ui.visuals().dark_mode;
    let pick = |light: (u8, u8, u8), darkc: (u8, u8, u8)| {
        let (r, g, b) = if dark { darkc } else { light };
        egui::Color32::from_rgb(r, g, b)
    };
    let key = pick((0x0a, 0x55, 0xa8), (0x79, 0xc0, 0xff));
    let string = pick((0x0a, 0x6e, 0x2a), (0xa5, 0xd6, 0xff));
    let number = pick((0x95, 0x3e, 0x00), (0xff, 0xa6, 0x57));
    let literal = pick((0x8a, 0x20, 0xa8), (0xd2, 0xa8, 0xff));
    let template = pick((0xa3, 0x3a, 0x00), (0xf0, 0xc6, 0x74));
    let plain = ui.visuals().text_color();
    let mut job = egui::text::LayoutJob::default();
    let mut push =
        |s: &str, c: egui::Color32| job.append(s, 0.0, egui::TextFormat::simple(font.clone(), c));
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            let rest = text[i..].trim_start();
            push(
                &text[start..i],
                if rest.starts_with(':') { key } else { string },
            );
        } else if c == b'{' && bytes.get(i + 1) == Some(&b'{') {
            let start = i;
            i = text[i + 2..]
                .find("}}")
                .map_or(bytes.len(), |e| i + 2 + e + 2);
            push(&text[start..i], template);
        } else if c == b'-' || c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b"+-.eE".contains(&bytes[i])) {
                i += 1;
            }
            push(&text[start..i], number);
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            push(&text[start..i], literal);
        } else {
            let start = i;
            while i < bytes.len()
                && !(bytes[i] == b'"'
                    || bytes[i] == b'-'
                    || bytes[i].is_ascii_alphanumeric()
                    || (bytes[i] == b'{' && bytes.get(i + 1) == Some(&b'{') && i > start))
            {
                i += 1;
            }
            // Keep multi-byte characters whole.
            while !text.is_char_boundary(i) {
                i += 1;
            }
            push(&text[start..i], plain);
        }
    }
    job
}

#[cfg(test)]
mod tests {
    #[test]
    fn any_text_is_coloured_whole() {
        let ctx = egui::Context::default();
        let mut out = ctx.run_ui(Default::default(), |ui| {
            for text in [
                r#"{"a": [1, -2.5e3, true, null], "t": {{uuid}}}"#,
                "\"\\é",
                "{{",
                "{{x}}{{",
                "é{{ü}}ñ",
                "",
            ] {
                let job = super::job(text, ui);
                assert_eq!(job.text, text);
            }
        });
        out.textures_delta.clear();
    }
}
