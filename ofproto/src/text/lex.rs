//! Splitting `key=value,key:value,key(value) key` lists the way ovs-ofctl does
//! (`ofputil_parse_key_value`): items are separated by commas or white space, a value
//! follows `=` or `:` up to the next separator outside parentheses, or sits inside
//! parentheses after the key.

use super::FlowParseError;

/// One `key[=value]` item, with the 1-based columns of key and value in the whole text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok<'a> {
    pub key: &'a str,
    pub col: usize,
    pub value: Option<&'a str>,
    pub value_col: usize,
}

fn is_sep(c: u8) -> bool {
    matches!(c, b',' | b' ' | b'\t' | b'\r' | b'\n')
}

/// Split `s` (which starts at column `base_col` of the whole text). When `rest_key` is
/// given, an item with that key takes everything after its `=` as its value (the actions
/// of a flow).
pub(crate) fn split<'a>(
    s: &'a str,
    base_col: usize,
    rest_key: Option<&str>,
) -> Result<Vec<Tok<'a>>, FlowParseError> {
    let b = s.as_bytes();
    let col = |i: usize| base_col + s[..i].chars().count();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && is_sep(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let kstart = i;
        while i < b.len() && !is_sep(b[i]) && !matches!(b[i], b'=' | b':' | b'(' | b')') {
            i += 1;
        }
        let key = &s[kstart..i];
        if key.is_empty() {
            return Err(FlowParseError::new(
                col(kstart),
                format!("expected a keyword at \"{}\"", excerpt(&s[kstart..])),
            ));
        }
        if i >= b.len() || is_sep(b[i]) {
            out.push(Tok {
                key,
                col: col(kstart),
                value: None,
                value_col: col(i),
            });
            continue;
        }
        match b[i] {
            b'(' => {
                let vstart = i + 1;
                let mut depth = 1;
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                if i >= b.len() {
                    return Err(FlowParseError::new(
                        col(kstart),
                        format!("unbalanced parentheses after \"{key}\""),
                    ));
                }
                out.push(Tok {
                    key,
                    col: col(kstart),
                    value: Some(&s[vstart..i]),
                    value_col: col(vstart),
                });
                i += 1;
            }
            b')' => {
                return Err(FlowParseError::new(
                    col(i),
                    format!("unexpected \")\" after \"{key}\""),
                ));
            }
            _ => {
                // `=` or `:`
                i += 1;
                let vstart = i;
                if rest_key == Some(key) {
                    out.push(Tok {
                        key,
                        col: col(kstart),
                        value: Some(s[vstart..].trim()),
                        value_col: col(vstart),
                    });
                    break;
                }
                let mut depth = 0usize;
                while i < b.len() {
                    match b[i] {
                        b'(' => depth += 1,
                        b')' if depth == 0 => break,
                        b')' => depth -= 1,
                        c if depth == 0 && is_sep(c) => break,
                        _ => {}
                    }
                    i += 1;
                }
                if depth != 0 {
                    return Err(FlowParseError::new(
                        col(kstart),
                        format!("unbalanced parentheses in \"{key}\""),
                    ));
                }
                if i < b.len() && b[i] == b')' {
                    return Err(FlowParseError::new(
                        col(i),
                        format!("unexpected \")\" after \"{}\"", &s[kstart..i]),
                    ));
                }
                out.push(Tok {
                    key,
                    col: col(kstart),
                    value: Some(&s[vstart..i]),
                    value_col: col(vstart),
                });
            }
        }
    }
    Ok(out)
}

/// The first few characters of `s`, for error messages.
pub(crate) fn excerpt(s: &str) -> String {
    let mut e: String = s.chars().take(20).collect();
    if s.chars().count() > 20 {
        e.push_str("...");
    }
    e
}
