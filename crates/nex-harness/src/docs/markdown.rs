//! Markdown escaping for text put into table cells and code spans.

/// Text for a table cell: one line, `|` escaped (GitHub splits cells on it even in code).
pub fn cell(text: &str) -> String {
    let one_line: Vec<&str> = text.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect();
    one_line.join(" ").replace('|', "\\|")
}

/// A code span that survives backticks inside it (CommonMark: a longer fence, padded).
pub fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if longest > 0 { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A code span inside a table cell.
pub fn code_cell(text: &str) -> String {
    cell(&code(text))
}

/// A shields.io static badge: `-` and `_` are doubled, the rest percent-encoded.
pub fn badge(label: &str, message: &str, color: &str) -> String {
    format!(
        "![{label}: {message}](https://img.shields.io/badge/{}-{}-{color}?style=flat-square)",
        badge_part(label),
        badge_part(message)
    )
}

fn badge_part(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'-' => out.push_str("--"),
            b'_' => out.push_str("__"),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_one_line_without_bare_pipes() {
        assert_eq!(cell("a | b\n  c\n"), "a \\| b c");
    }

    #[test]
    fn code_spans_fence_backticks() {
        assert_eq!(code("x"), "`x`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code_cell("a|b"), "`a\\|b`");
    }

    #[test]
    fn badges_escape_dashes_and_spaces() {
        assert_eq!(
            badge("AppVersion", "1.2.3-alpine", "informational"),
            "![AppVersion: 1.2.3-alpine](https://img.shields.io/badge/AppVersion-1.2.3--alpine-informational?style=flat-square)"
        );
        assert!(badge("Helm", "3 | 4", "blue").contains("/Helm-3%20%7C%204-blue"));
    }
}
