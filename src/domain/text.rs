//! Text a person types that is shown to others: no characters that cannot be seen or that
//! reorder what is seen (a tenant named "Acme\u{202E}dtL" looks like another tenant).

/// The first character that is a control, a bidirectional control or zero-width, if any.
/// `keep` lists controls a field accepts (line breaks in notes).
pub fn hidden_char(s: &str, keep: &[char]) -> Option<char> {
    s.chars().find(|c| !keep.contains(c) && is_hidden(*c))
}

fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            // Bidirectional marks, embeddings, overrides and isolates.
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            // Zero-width and invisible formatting characters.
            | '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
        )
}

/// The message beside a field that holds such a character, naming it so it can be found.
pub fn hidden_message(c: char) -> String {
    format!(
        "This contains an invisible or control character (U+{:04X}) that is not allowed; remove it and try again.",
        c as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_zero_width_and_controls_are_found_and_ordinary_text_is_not() {
        for bad in [
            "Acme\u{202E}dtL",
            "Ac\u{200B}me",
            "\u{2067}x",
            "a\u{0007}",
            "\u{FEFF}A",
        ] {
            assert!(hidden_char(bad, &[]).is_some(), "{bad:?}");
        }
        for good in [
            "Acme Haulage Ltd",
            "Société Générale",
            "株式会社",
            "O'Brien & Sons",
            "עברית",
        ] {
            assert_eq!(hidden_char(good, &[]), None, "{good:?}");
        }
        assert_eq!(hidden_char("line\nbreak", &['\n']), None);
    }
}
