//! Untrusted text on its way into a text for people, a log line or a
//! protocol answer: one sanitiser for every string a client or an admin
//! supplies (client programs, device ids, user agents, place names, account
//! notes).
//!
//! *Hidden* characters are those that are invisible or change how the text
//! around them reads: control characters (C0, DEL, C1), line and paragraph
//! separators, and the format characters (bidirectional overrides and
//! isolates such as U+202E, zero-width spaces and joiners, the byte-order
//! mark, tag characters...). They never reach a produced text:
//! [`one_line`] replaces them with spaces; [`Visible`] drops them while
//! writing; [`program_name`] keeps only the first word of a client's
//! self-chosen name, so a name such as `your mailbox is suspended. verify
//! at https://…` cannot read as an instruction.

use std::fmt;

/// The format characters (Unicode general category Cf, 15.1) plus the
/// invisible Hangul fillers and the non-characters U+FFFE/U+FFFF, as
/// inclusive ranges.
const HIDDEN_RANGES: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF9, 0xFFFB),
    (0xFFFE, 0xFFFF),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Whether `c` is invisible or changes how the text around it reads (see
/// the module doc). Ordinary spaces are not hidden.
pub fn is_hidden(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    let u = c as u32;
    u >= 0xAD && HIDDEN_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

/// Whether `s` holds a hidden character; checked on bytes first, as most
/// input is ASCII.
pub fn has_hidden(s: &str) -> bool {
    if s.is_ascii() {
        return s.bytes().any(|b| b < 0x20 || b == 0x7f);
    }
    s.chars().any(is_hidden)
}

/// One line of plain text from untrusted input: hidden characters and
/// other whitespace become one space between words, the ends are trimmed,
/// and at most `max_chars` characters are kept (a cut text ends with `…`,
/// which counts toward the limit).
pub fn one_line(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    let mut chars = 0;
    let mut space = false;
    for c in s.chars() {
        if is_hidden(c) || c.is_whitespace() {
            space = chars > 0;
            continue;
        }
        if chars + 1 + usize::from(space) > max_chars {
            // Too long: cut to make room for the ellipsis.
            if max_chars == 0 {
                return String::new();
            }
            while chars > max_chars - 1 {
                out.pop();
                chars -= 1;
            }
            while out.ends_with(' ') {
                out.pop();
            }
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            chars += 1;
            space = false;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// A client's name for itself (an IMAP `ID` name, the first word of a user
/// agent) as a text may show it: its first word of letters, digits and
/// `- _ . +`, at most [`MAX_PROGRAM_CHARS`] characters, without a trailing
/// dot or dash; `None` when there is no such word. Sentences, URLs and
/// markup do not survive: `your mailbox is suspended…` becomes `your`,
/// `https://evil.example` becomes `https`.
pub fn program_name(s: &str) -> Option<String> {
    let word = |c: char| (c.is_alphanumeric() || "-_.+".contains(c)) && !is_hidden(c);
    let start = s.find(|c: char| c.is_alphanumeric() && !is_hidden(c))?;
    let name: String = s[start..]
        .chars()
        .take_while(|&c| word(c))
        .take(MAX_PROGRAM_CHARS)
        .collect();
    let name = name.trim_end_matches(['.', '-', '_', '+']);
    (!name.is_empty()).then(|| name.to_string())
}

/// The longest client program name [`program_name`] keeps.
pub const MAX_PROGRAM_CHARS: usize = 32;

/// An untrusted value shown in a text as a quoted, neutral token: one line
/// of at most `max_chars` characters between double quotes, with quotes,
/// backslashes and angle brackets (markup) removed.
pub fn quoted(s: &str, max_chars: usize) -> String {
    let inner: String = s
        .chars()
        .map(|c| if "\"\\<>`".contains(c) { ' ' } else { c })
        .collect();
    format!("\"{}\"", one_line(&inner, max_chars))
}

/// Writes a string without its hidden characters (each becomes a space):
/// for names that reach texts from data files or admins (places, networks,
/// rules), where allocating a cleaned copy would cost every text.
#[derive(Clone, Copy)]
pub struct Visible<'a>(pub &'a str);

impl fmt::Display for Visible<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !has_hidden(self.0) {
            return f.write_str(self.0);
        }
        for c in self.0.chars() {
            fmt::Write::write_char(f, if is_hidden(c) { ' ' } else { c })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters() {
        for c in [
            '\0',
            '\n',
            '\r',
            '\u{7f}',
            '\u{85}',
            '\u{200b}',
            '\u{200e}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{feff}',
            '\u{2028}',
            '\u{e0041}',
            '\u{00ad}',
        ] {
            assert!(is_hidden(c), "{:?}", c);
            assert!(has_hidden(&format!("a{c}b")), "{:?}", c);
        }
        for c in ['a', ' ', 'é', '中', '…', '😀', '\u{3000}'] {
            assert!(!is_hidden(c), "{:?}", c);
        }
        assert!(!has_hidden("plain ascii"));
    }

    #[test]
    fn one_line_cleans_and_cuts() {
        assert_eq!(
            one_line("  Lagos\r\n* BYE injected  ", 100),
            "Lagos * BYE injected"
        );
        assert_eq!(one_line("a\u{202e}b", 10), "a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("ab cdef", 4), "ab…");
        assert_eq!(one_line("abcd", 4), "abcd");
        assert_eq!(one_line("", 4), "");
        assert_eq!(one_line("abc", 0), "");
        assert_eq!(one_line("中文字符串", 3).chars().count(), 3);
    }

    #[test]
    fn program_names_are_one_word() {
        assert_eq!(
            program_name("your mailbox is suspended. verify at https://evil.example/login")
                .as_deref(),
            Some("your")
        );
        assert_eq!(
            program_name("https://evil.example").as_deref(),
            Some("https")
        );
        assert_eq!(program_name("FairEmail").as_deref(), Some("FairEmail"));
        assert_eq!(program_name("<b>Evil</b>").as_deref(), Some("b"));
        assert_eq!(program_name("\u{202e}gnp.exe").as_deref(), Some("gnp.exe"));
        assert_eq!(program_name("网易邮箱 大师").as_deref(), Some("网易邮箱"));
        assert_eq!(program_name("...").as_deref(), None);
        assert_eq!(
            program_name(&"x".repeat(100)).unwrap().len(),
            MAX_PROGRAM_CHARS
        );
    }

    #[test]
    fn quoted_is_neutral() {
        assert_eq!(
            quoted("<script>alert(1)</script>\u{202e}", 64),
            "\"script alert(1) /script\""
        );
        assert_eq!(Visible("Lagos\r\nX").to_string(), "Lagos  X");
        assert_eq!(Visible("Lagos").to_string(), "Lagos");
    }
}
