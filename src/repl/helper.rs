//! The terminal front end: rustyline with highlighting from the logos lexer,
//! completion of commands, relations, roles, constants and file paths, and
//! multi-line input (a `   ...> ` prompt while an input is unfinished; Ctrl-C
//! or Ctrl-D there abandons it); and the piped front end for scripts and
//! tests, which exits 1 when any input failed.

use super::{COMMANDS, Feed, InputBuffer, Session};
use crate::syntax::lexer::{Token, tokens};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::borrow::Cow;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// Completion and highlighting for the prompt.
pub struct WardenHelper {
    /// Relation, role and constant names of the current program.
    pub words: Vec<String>,
    files: FilenameCompleter,
    colour: bool,
}

impl WardenHelper {
    fn refresh(&mut self, session: &Session) {
        let mut words: Vec<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
        if let Some(engine) = session.engine() {
            let program = engine.program();
            words.extend(program.relations.iter().filter(|r| !r.name.starts_with('$')).map(|r| r.name.clone()));
            words.extend(engine.roles().into_iter().map(|(r, _)| r));
            words.extend(program.symbols.syms().filter_map(|s| program.symbols.resolve(s)).map(|s| s.to_string()));
        }
        words.sort();
        words.dedup();
        self.words = words;
    }
}

impl Completer for WardenHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        if line.starts_with(":load ") {
            return self.files.complete(line, pos, ctx);
        }
        let before = line.get(..pos).unwrap_or(line);
        let start =
            before.rfind(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'))).map_or(0, |i| i + 1);
        let prefix = before.get(start..).unwrap_or("");
        let candidates = self
            .words
            .iter()
            .filter(|w| w.starts_with(prefix) && (start == 0 || !w.starts_with(':')))
            .map(|w| Pair { display: w.clone(), replacement: w.clone() })
            .collect();
        Ok((start, candidates))
    }
}

impl Hinter for WardenHelper {
    type Hint = String;
}

impl Highlighter for WardenHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.colour || line.starts_with(':') && !line.contains(' ') {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight(line))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.colour
    }
}

/// ANSI colours by token kind: keywords, variables, constants, strings, comments.
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut last = 0;
    for (token, range) in tokens(line) {
        out.push_str(line.get(last..range.start).unwrap_or(""));
        let text = line.get(range.clone()).unwrap_or("");
        let colour = match token {
            Ok(Token::Keyword) => Some("1;35"),
            Ok(Token::Variable) => Some("36"),
            Ok(Token::String) => Some("32"),
            Ok(Token::TypedId | Token::Timestamp | Token::Duration | Token::Integer | Token::Boolean) => Some("33"),
            Ok(Token::Comment) => Some("2"),
            Err(()) => Some("31"),
            _ => None,
        };
        match colour {
            Some(c) => out.push_str(&format!("\x1b[{c}m{text}\x1b[0m")),
            None => out.push_str(text),
        }
        last = range.end;
    }
    out.push_str(line.get(last..).unwrap_or(""));
    out
}

/// Every line is accepted as typed; [`InputBuffer`] joins unfinished ones.
impl Validator for WardenHelper {}

impl Helper for WardenHelper {}

/// Where the history is kept: `$XDG_DATA_HOME/warden/history`, else
/// `~/.local/share/warden/history`.
fn history_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    let dir = base.join("warden");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// Runs the REPL over `files`: interactive on a terminal, plain when piped.
/// Returns whether the session went without failure: the files loaded and
/// (piped) every input succeeded.
pub fn run(files: Vec<PathBuf>) -> std::io::Result<bool> {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let colour = interactive && std::env::var_os("NO_COLOR").is_none();
    let (mut session, greeting) = Session::new(files, colour);
    let loaded = !session.load_failed;
    let ok =
        if interactive { interactive_loop(session, &greeting, colour)? } else { piped_loop(&mut session, &greeting)? };
    Ok(loaded && ok)
}

/// Reads a script from stdin; `false` when an input failed or the script
/// ended inside an unfinished statement.
fn piped_loop(session: &mut Session, greeting: &str) -> std::io::Result<bool> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{greeting}")?;
    let mut buffer = InputBuffer::default();
    let mut ok = true;
    for line in std::io::stdin().lock().lines() {
        let Feed::Ready(input) = buffer.feed(&line?) else { continue };
        if matches!(input.trim(), ":quit" | ":q") {
            break;
        }
        let reply = session.handle(&input);
        ok &= !reply.failed;
        if !reply.text.is_empty() {
            writeln!(out, "{}", reply.text)?;
        }
    }
    if let Some(unfinished) = buffer.abandon() {
        writeln!(out, "error: the input ends inside an unfinished statement: `{}`", unfinished.trim())?;
        ok = false;
    }
    Ok(ok)
}

fn interactive_loop(mut session: Session, greeting: &str, colour: bool) -> std::io::Result<bool> {
    let config = rustyline::Config::builder().auto_add_history(true).build();
    let mut editor: Editor<WardenHelper, rustyline::history::DefaultHistory> =
        Editor::with_config(config).map_err(std::io::Error::other)?;
    let mut helper = WardenHelper { words: Vec::new(), files: FilenameCompleter::new(), colour };
    helper.refresh(&session);
    editor.set_helper(Some(helper));
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!("{greeting}");
    let mut buffer = InputBuffer::default();
    loop {
        match editor.readline(buffer.prompt()) {
            Ok(line) => {
                let Feed::Ready(input) = buffer.feed(&line) else { continue };
                if matches!(input.trim(), ":quit" | ":q") {
                    break;
                }
                let reply = session.handle(&input);
                if !reply.text.is_empty() {
                    println!("{}", reply.text);
                }
                if let Some(helper) = editor.helper_mut() {
                    helper.refresh(&session);
                }
            }
            // Ctrl-C or Ctrl-D inside an unfinished input abandons it; Ctrl-D
            // at the main prompt leaves.
            Err(ReadlineError::Interrupted) => {
                if buffer.abandon().is_some() {
                    println!("(abandoned the unfinished input)");
                }
            }
            Err(ReadlineError::Eof) => {
                if buffer.abandon().is_some() {
                    println!("(abandoned the unfinished input)");
                    continue;
                }
                break;
            }
            Err(e) => return Err(std::io::Error::other(e)),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(true)
}
