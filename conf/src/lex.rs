//! The lexer: a stack of sources (the file, included files, macro expansions) read
//! character by character, as OpenBSD's parse.y reads them.
//!
//! A macro's value is pushed as a source of its own and lexed again, so `$port` can expand to
//! several tokens and `tcp:$host:6653` to one word. `\` at the end of a line joins it with the
//! next one; `#` comments to the end of the line. An included file that ends yields one end of
//! line, so its last statement ends there even without a final newline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::{io_message, ConfError};

/// Macros expanding inside macros this deep are taken to be recursive.
const MAX_DEPTH: u32 = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A bare word: keyword, number, name, address.
    Word(String),
    /// A quoted string, escapes resolved; never a keyword.
    Str(String),
    LBrace,
    RBrace,
    Semi,
    Eq,
    Newline,
    /// The end of an included file; reading goes on in the includer.
    FileEnd,
    Eof,
    /// A character that starts no token.
    Bad(char),
    /// A lexical error, already reported; the parser skips the statement silently.
    Error,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub file: Rc<str>,
    pub line: u32,
    /// Position in reading order, across includes; errors are reported sorted by it.
    pub seq: u64,
}

struct FileSource {
    name: Rc<str>,
    dir: PathBuf,
    canon: Option<PathBuf>,
    line: u32,
    eof_sent: bool,
}

enum Kind {
    File(FileSource),
    /// An expansion; `depth` counts the expansions it is nested in, plus one.
    Macro {
        depth: u32,
    },
}

struct Source {
    text: Vec<char>,
    pos: usize,
    kind: Kind,
}

struct Macro {
    value: String,
    /// Given with `-D`: assignments in the file do not change it.
    persist: bool,
}

pub(crate) struct Lexer {
    stack: Vec<Source>,
    macros: HashMap<String, Macro>,
    pub errors: Vec<(u64, ConfError)>,
    seq: u64,
    /// `include` reads files; off for text that a less privileged user sent.
    pub includes: bool,
}

/// Letters, digits and `_`: what may follow `$`.
pub(crate) fn is_macro_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_name_char)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace()
        && !c.is_control()
        && !matches!(c, '"' | '\'' | '#' | '{' | '}' | ';' | '=' | '$')
}

impl Lexer {
    pub fn new(name: &str, text: &str, dir: PathBuf, defines: &[(String, String)]) -> Self {
        let canon =
            std::fs::canonicalize(dir.join(Path::new(name).file_name().unwrap_or_default()))
                .ok()
                .filter(|_| !name.is_empty());
        let mut lexer = Lexer {
            stack: vec![Source {
                text: text.chars().collect(),
                pos: 0,
                kind: Kind::File(FileSource {
                    name: name.into(),
                    dir,
                    canon,
                    line: 1,
                    eof_sent: false,
                }),
            }],
            macros: HashMap::new(),
            errors: Vec::new(),
            seq: 0,
            includes: true,
        };
        for (name, value) in defines {
            lexer.macros.insert(
                name.clone(),
                Macro {
                    value: value.clone(),
                    persist: true,
                },
            );
        }
        lexer
    }

    /// Defines a macro from the file; a `-D` definition of the same name wins.
    pub(crate) fn set_macro(&mut self, name: &str, value: &str) {
        if self.macros.get(name).is_some_and(|m| m.persist) {
            return;
        }
        self.macros.insert(
            name.to_string(),
            Macro {
                value: value.to_string(),
                persist: false,
            },
        );
    }

    fn file(&self) -> &FileSource {
        self.stack
            .iter()
            .rev()
            .find_map(|s| match &s.kind {
                Kind::File(f) => Some(f),
                Kind::Macro { .. } => None,
            })
            .expect("the top file stays on the stack")
    }

    /// Starts reading `path` (relative to the current file's directory) in place of the
    /// rest of the current file, which continues when it ends.
    pub fn include(&mut self, path: &str) -> Result<(), String> {
        if !self.includes {
            return Err(format!(
                "include \"{path}\": not read here (a configuration sent as text is read \
                 without includes; load the file with its includes in place instead)"
            ));
        }
        let full = self.file().dir.join(path);
        let text = std::fs::read_to_string(&full)
            .map_err(|e| format!("cannot include \"{}\": {}", full.display(), io_message(&e)))?;
        let canon = std::fs::canonicalize(&full).ok();
        let looping = canon.is_some()
            && self.stack.iter().any(|s| match &s.kind {
                Kind::File(f) => f.canon == canon,
                Kind::Macro { .. } => false,
            });
        if looping {
            return Err(format!(
                "include loop: \"{}\" is already being read",
                full.display()
            ));
        }
        let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
        self.stack.push(Source {
            text: text.chars().collect(),
            pos: 0,
            kind: Kind::File(FileSource {
                name: full.display().to_string().into(),
                dir,
                canon,
                line: 1,
                eof_sent: false,
            }),
        });
        Ok(())
    }

    /// Reports an error at the current position (for the token being read).
    fn error_here(&mut self, message: String) {
        let f = self.file();
        let e = ConfError {
            file: f.name.to_string(),
            line: f.line,
            message,
        };
        self.errors.push((self.seq, e));
    }

    /// The current character of the top source, dropping macro expansions that are used up.
    fn raw_peek(&mut self) -> Option<char> {
        loop {
            let top = self.stack.last()?;
            if let Some(&c) = top.text.get(top.pos) {
                return Some(c);
            }
            match top.kind {
                Kind::Macro { .. } => {
                    self.stack.pop();
                }
                Kind::File(_) => return None,
            }
        }
    }

    /// The character `ahead` places after the current one, in the same source.
    fn raw_ahead(&self, ahead: usize) -> Option<char> {
        let top = self.stack.last()?;
        top.text.get(top.pos + ahead).copied()
    }

    fn raw_bump(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            let c = top.text.get(top.pos).copied();
            top.pos += 1;
            if let (Kind::File(f), Some('\n')) = (&mut top.kind, c) {
                f.line += 1;
            }
        }
    }

    /// The current character, after joining continued lines.
    fn peek(&mut self) -> Option<char> {
        loop {
            let c = self.raw_peek()?;
            if c == '\\' && self.raw_ahead(1) == Some('\n') {
                self.raw_bump();
                self.raw_bump();
                continue;
            }
            return Some(c);
        }
    }

    fn token(&mut self, tok: Tok, file: Rc<str>, line: u32) -> Token {
        let seq = self.seq;
        self.seq += 1;
        Token {
            tok,
            file,
            line,
            seq,
        }
    }

    pub(crate) fn next_token(&mut self) -> Token {
        let mut word = String::new();
        let mut start: Option<(Rc<str>, u32)> = None;
        loop {
            if word.is_empty() {
                while matches!(self.peek(), Some(' ' | '\t' | '\r' | '\x0c')) {
                    self.raw_bump();
                }
            }
            let (file, line) = match &start {
                Some(s) => s.clone(),
                None => {
                    let f = self.file();
                    (f.name.clone(), f.line)
                }
            };
            let c = self.peek();
            if !word.is_empty() && !c.is_some_and(|c| c == '$' || is_word_char(c)) {
                return self.token(Tok::Word(word), file, line);
            }
            let Some(c) = c else {
                // End of a file: one end of line first, then back to the includer.
                // A block left open in an included file ends with it.
                let len = self.stack.len();
                if let Some(Source {
                    kind: Kind::File(f),
                    ..
                }) = self.stack.last_mut()
                {
                    if !f.eof_sent {
                        f.eof_sent = true;
                        return self.token(Tok::Newline, file, line);
                    }
                }
                if len > 1 {
                    self.stack.pop();
                    return self.token(Tok::FileEnd, file, line);
                }
                return self.token(Tok::Eof, file, line);
            };
            let single = match c {
                '\n' => Some(Tok::Newline),
                '{' => Some(Tok::LBrace),
                '}' => Some(Tok::RBrace),
                ';' => Some(Tok::Semi),
                '=' => Some(Tok::Eq),
                _ => None,
            };
            if let Some(tok) = single {
                self.raw_bump();
                return self.token(tok, file, line);
            }
            match c {
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.raw_bump();
                    }
                }
                '"' | '\'' => {
                    let tok = self.quoted(c);
                    return self.token(tok, file, line);
                }
                '$' => {
                    start.get_or_insert((file.clone(), line));
                    // The source holding the "$", before reading the name may use it up.
                    let depth = match self.stack.last().map(|s| &s.kind) {
                        Some(Kind::Macro { depth }) => *depth,
                        _ => 0,
                    };
                    self.raw_bump();
                    if !self.expand(depth + 1) {
                        return self.token(Tok::Error, file, line);
                    }
                }
                c if is_word_char(c) => {
                    start.get_or_insert((file.clone(), line));
                    word.push(c);
                    self.raw_bump();
                }
                c => {
                    self.raw_bump();
                    return self.token(Tok::Bad(c), file, line);
                }
            }
        }
    }

    /// Reads the name after `$` and pushes the macro's value to be lexed next.
    fn expand(&mut self, depth: u32) -> bool {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|&c| is_name_char(c)) {
            name.push(c);
            self.raw_bump();
        }
        if name.is_empty() {
            self.error_here("syntax error: \"$\" must be followed by a macro name".into());
            return false;
        }
        let Some(m) = self.macros.get(&name) else {
            self.error_here(format!("macro \"{name}\" is not defined"));
            return false;
        };
        if depth > MAX_DEPTH {
            self.error_here(format!("macro \"{name}\" expands recursively"));
            return false;
        }
        let text = m.value.chars().collect();
        self.stack.push(Source {
            text,
            pos: 0,
            kind: Kind::Macro { depth },
        });
        true
    }

    /// A string in `quote` characters, within one source and one line (unless continued
    /// with `\`). `\"` and `\\` stand for `"` and `\`; any other `\` is itself.
    fn quoted(&mut self, quote: char) -> Tok {
        self.raw_bump();
        let mut s = String::new();
        loop {
            let top = self.stack.last().map(|t| t.text.get(t.pos).copied());
            match top.flatten() {
                None | Some('\n') => {
                    self.error_here("unterminated quoted string".into());
                    return Tok::Error;
                }
                Some('\\') => match self.raw_ahead(1) {
                    Some('\n') => {
                        self.raw_bump();
                        self.raw_bump();
                    }
                    Some(c) if c == quote || c == '\\' => {
                        s.push(c);
                        self.raw_bump();
                        self.raw_bump();
                    }
                    _ => {
                        s.push('\\');
                        self.raw_bump();
                    }
                },
                Some(c) if c == quote => {
                    self.raw_bump();
                    return Tok::Str(s);
                }
                Some(c) => {
                    s.push(c);
                    self.raw_bump();
                }
            }
        }
    }
}
