//! `warden repl`: explore a policy interactively.
//!
//! A [`Session`] holds the loaded files, the statements and retractions made
//! at the prompt (each undoable), and the request (`:at`, `:ctx`). Every change
//! rebuilds the program; a change that does not load is refused with its
//! diagnostics and the last good program stays. After each change the last
//! query runs again and the difference is shown. The terminal front end
//! (rustyline, with highlighting and completion from [`helper`]) and the piped
//! front end (no prompt, no colour) share [`Session::handle`].

pub mod helper;

use crate::engine::{Engine, RequestOptions};
use crate::syntax::lexer::tokens;
use crate::syntax::span::SourceMap;
use crate::{syntax, time};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One undoable change of the session.
#[derive(Clone, Debug)]
enum Change {
    /// Statements typed at the prompt.
    Add(String),
    /// A fact taken away (`:retract`).
    Retract(String),
    /// A file loaded with `:load`.
    Load(PathBuf),
}

/// The state of a REPL session.
pub struct Session {
    files: Vec<PathBuf>,
    changes: Vec<Change>,
    engine: Option<Engine>,
    at: Option<i64>,
    ctx: std::collections::BTreeMap<String, String>,
    last_query: Option<(String, Vec<String>)>,
    colour: bool,
    /// Whether the files failed to load when the session started.
    pub load_failed: bool,
}

/// What one input printed, and whether it failed (a script's exit status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// What to print.
    pub text: String,
    /// Whether the input failed (a syntax error, a change that does not
    /// load, an unknown command, ...).
    pub failed: bool,
}

/// What an input produced: `Ok` to print, `Err` to print as a failure.
type Outcome = Result<String, String>;

const HELP: &str = "\
enter a query atom to see its answers:   allowed(alice, P, page:7)
enter a statement to add it:             assign alice editor on project:apollo;
  :why ATOM         why it holds (a proof)       :whynot ATOM     why it does not
  :why -v ATOM      the same with every rule tried and where it failed
  :retract FACT     take a fact away             :undo            undo the last change
  :load FILE        add a file                   :reload          re-read the files
  :at TS | now      set the request time         :ctx [K=V]       set or show the context
  :relations        relations, arity, tuples     :facts REL[(pattern)]   list tuples
  :rules REL        rules defining REL           :roles           the role hierarchy
  :who PERM OBJ     who may PERM OBJ             :what USER OBJ   what USER may do on OBJ
  :help             this text                    :quit            leave (or Ctrl-D)";

/// The command names, for completion.
pub const COMMANDS: [&str; 17] = [
    ":why",
    ":whynot",
    ":retract",
    ":undo",
    ":load",
    ":reload",
    ":at",
    ":ctx",
    ":relations",
    ":facts",
    ":rules",
    ":roles",
    ":who",
    ":what",
    ":help",
    ":quit",
    ":q",
];

impl Session {
    /// Starts a session over `files`; returns it and what loading printed.
    pub fn new(files: Vec<PathBuf>, colour: bool) -> (Session, String) {
        let mut session = Session {
            files,
            changes: Vec::new(),
            engine: None,
            at: None,
            ctx: Default::default(),
            last_query: None,
            colour,
            load_failed: false,
        };
        let message = match session.build(&session.changes.clone()) {
            Ok(engine) => {
                let summary = format!("loaded {} file(s); :help for commands", session.files.len());
                session.engine = Some(engine);
                summary
            }
            Err(diagnostics) => {
                session.load_failed = true;
                format!("{diagnostics}the program has errors; fix them and :reload")
            }
        };
        (session, message)
    }

    /// The current program, if one loaded.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Builds the program of the files plus `changes`; the diagnostics when it fails.
    fn build(&self, changes: &[Change]) -> Result<Engine, String> {
        let mut paths = self.files.clone();
        paths.extend(changes.iter().filter_map(|c| if let Change::Load(p) = c { Some(p.clone()) } else { None }));
        let render = |e: crate::engine::LoadError| e.render(self.colour);
        let files = syntax::collect_files(&paths).map_err(|d| format!("error: {}\n", d.message))?;
        let mut sources: SourceMap = syntax::read_files(&files).map_err(|d| format!("error: {}\n", d.message))?;
        let typed: Vec<&str> =
            changes.iter().filter_map(|c| if let Change::Add(s) = c { Some(s.as_str()) } else { None }).collect();
        if !typed.is_empty() {
            sources.add("<input>", typed.join("\n"));
        }
        let engine = Engine::from_sources(sources).map_err(render)?;
        for change in changes {
            if let Change::Retract(text) = change {
                crate::live::LiveFact::parse(text)
                    .map_err(|e| e.to_string())
                    .and_then(|fact| engine.base_fact(&fact))
                    .map_err(|e| format!("error: cannot retract `{text}`: {e}\n"))?;
            }
        }
        Ok(engine)
    }

    fn options(&self) -> RequestOptions {
        let retracted = match &self.engine {
            Some(engine) => self
                .changes
                .iter()
                .filter_map(|c| if let Change::Retract(t) = c { crate::live::LiveFact::parse(t).ok() } else { None })
                .filter_map(|fact| engine.base_fact(&fact).ok())
                .collect(),
            None => Vec::new(),
        };
        RequestOptions { at: Some(self.at.unwrap_or_else(time::now)), ctx: self.ctx.clone(), retracted }
    }

    /// Applies a change: rebuilds, keeps the old program on error, reports the
    /// difference in the last query's answers.
    fn apply(&mut self, change: Option<Change>, done: &str) -> Outcome {
        let mut changes = self.changes.clone();
        match change {
            Some(c) => changes.push(c),
            None if done == "undone" && changes.pop().is_none() => {
                return Ok("nothing to undo".into());
            }
            None => {}
        }
        match self.build(&changes) {
            Ok(engine) => {
                self.engine = Some(engine);
                self.changes = changes;
                let mut out = done.to_string();
                out.push_str(&self.rerun());
                Ok(out)
            }
            Err(diagnostics) => Err(format!("{diagnostics}not applied: the program is unchanged")),
        }
    }

    /// Runs the last query again and describes what changed.
    fn rerun(&mut self) -> String {
        let Some((query, before)) = self.last_query.clone() else { return String::new() };
        let Some(engine) = &self.engine else { return String::new() };
        let Ok(answer) = engine.query(&query, &self.options()) else { return String::new() };
        let after = lines(&answer);
        self.last_query = Some((query.clone(), after.clone()));
        if answer.variables.is_empty() {
            return if before != after { format!("\n{query} is now {}", answer.holds()) } else { String::new() };
        }
        let (old, new): (BTreeSet<&String>, BTreeSet<&String>) = (before.iter().collect(), after.iter().collect());
        let gained: Vec<&str> = new.difference(&old).map(|s| s.as_str()).collect();
        let lost: Vec<&str> = old.difference(&new).map(|s| s.as_str()).collect();
        let mut out = String::new();
        if !gained.is_empty() {
            out.push_str(&format!("\nnow: {}", gained.join("; ")));
        }
        if !lost.is_empty() {
            out.push_str(&format!("\nno longer: {}", lost.join("; ")));
        }
        out
    }

    /// Handles one complete input (a command, a query or statements) and
    /// returns what to print.
    pub fn handle(&mut self, input: &str) -> Reply {
        let input = input.trim();
        let outcome = if input.is_empty() || only_comments(input) {
            Ok(String::new())
        } else if let Some(command) = input.strip_prefix(':') {
            let (name, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
            self.command(name, rest.trim())
        } else {
            match syntax::parser::parse_query(syntax::span::FileId(0), input) {
                Ok(_) => self.query(input),
                // No `;` or `}` at the end: it was meant as a query.
                Err(error) if !input.ends_with(';') && !input.ends_with('}') => {
                    let mut sources = SourceMap::new();
                    sources.add("<query>", input);
                    Err(crate::diagnostics::render(&[error], &sources, self.colour).trim_end().to_string())
                }
                Err(_) => self.apply(Some(Change::Add(input.to_string())), "added"),
            }
        };
        match outcome {
            Ok(text) => Reply { text, failed: false },
            Err(text) => Reply { text, failed: true },
        }
    }

    fn with_engine(&self, f: impl FnOnce(&Engine) -> Outcome) -> Outcome {
        match &self.engine {
            Some(engine) => f(engine),
            None => Err("no program is loaded (fix the errors and :reload)".into()),
        }
    }

    fn query(&mut self, query: &str) -> Outcome {
        let options = self.options();
        let Some(engine) = &self.engine else { return self.with_engine(|_| Ok(String::new())) };
        match engine.query(query, &options) {
            Ok(answer) => {
                self.last_query = Some((query.to_string(), lines(&answer)));
                let mut out = table(&answer);
                for error in &answer.errors {
                    out.push_str(&format!("\nnote: {error}"));
                }
                Ok(out)
            }
            Err(e) => Err(e.render(self.colour).trim_end().to_string()),
        }
    }

    fn command(&mut self, name: &str, arg: &str) -> Outcome {
        match name {
            "help" | "h" | "?" => Ok(HELP.into()),
            "why" | "whynot" => {
                let options = self.options();
                // `:why -v QUERY`: every rule tried, too.
                let (verbose, arg) = match arg.strip_prefix("-v ") {
                    Some(rest) => (true, rest.trim()),
                    None => (false, arg),
                };
                self.with_engine(|engine| match engine.explain(arg, &options) {
                    Ok(explanation) if verbose => Ok(explanation.to_text_verbose().trim_end().to_string()),
                    Ok(explanation) => Ok(explanation.to_text().trim_end().to_string()),
                    Err(e) => Err(e.render(self.colour).trim_end().to_string()),
                })
            }
            "retract" => {
                let fact = if arg.ends_with(';') { arg.to_string() } else { format!("{arg};") };
                self.apply(Some(Change::Retract(fact)), "retracted")
            }
            "undo" => self.apply(None, "undone"),
            "load" if !arg.is_empty() => self.apply(Some(Change::Load(PathBuf::from(arg))), "loaded"),
            "reload" => self.apply(None, "reloaded"),
            "at" => match arg {
                "" => {
                    Ok(format!("at {}", self.at.map_or_else(|| "now (the wall clock)".into(), time::format_timestamp)))
                }
                "now" => {
                    self.at = None;
                    Ok(format!("at now{}", self.rerun()))
                }
                ts => match time::parse_timestamp(ts) {
                    Ok(t) => {
                        self.at = Some(t);
                        Ok(format!("at {}{}", time::format_timestamp(t), self.rerun()))
                    }
                    Err(e) => Err(format!("error: {e}")),
                },
            },
            "ctx" if arg.is_empty() => Ok(if self.ctx.is_empty() {
                "ctx is empty".into()
            } else {
                self.ctx.iter().map(|(k, v)| format!("ctx.{k} = {v}")).collect::<Vec<_>>().join("\n")
            }),
            "ctx" => match arg.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    self.ctx.insert(k.trim().to_string(), v.trim().to_string());
                    Ok(format!("ctx.{} = {}{}", k.trim(), v.trim(), self.rerun()))
                }
                _ => Err("error: expected `:ctx KEY=VALUE`".into()),
            },
            "relations" => {
                let options = self.options();
                self.with_engine(|engine| {
                    let rows: Vec<Vec<String>> = engine
                        .relation_sizes(&options)
                        .into_iter()
                        .map(|(n, a, c, place)| vec![n, a.to_string(), c.to_string(), place])
                        .collect();
                    Ok(render_table(&["relation", "arity", "tuples", "defined at"], &rows))
                })
            }
            "facts" if !arg.is_empty() => {
                let atom = if arg.contains('(') {
                    arg.to_string()
                } else {
                    let arity = self.engine.as_ref().and_then(|e| {
                        e.program().relation_id(arg).and_then(|r| e.program().relation(r)).map(|r| r.arity)
                    });
                    match arity {
                        Some(n) => {
                            format!("{arg}({})", (1..=n).map(|i| format!("A{i}")).collect::<Vec<_>>().join(", "))
                        }
                        None => return Err(format!("error: unknown relation `{arg}`")),
                    }
                };
                self.query(&atom)
            }
            "rules" if !arg.is_empty() => self.with_engine(|engine| {
                let rules = engine.rules_of(arg);
                Ok(if rules.is_empty() { format!("no rules define `{arg}`") } else { rules.join("\n") })
            }),
            "roles" => self.with_engine(|engine| Ok(role_tree(&engine.roles()))),
            "who" | "what" => {
                let parts: Vec<&str> = arg.split_whitespace().collect();
                match (name, parts.as_slice()) {
                    ("who", [perm, obj]) => self.query(&format!("allowed(U, {perm}, {obj})")),
                    ("what", [user, obj]) => self.query(&format!("allowed({user}, P, {obj})")),
                    _ => Err(format!(
                        "error: expected `:{name} {}`",
                        if name == "who" { "PERM OBJ" } else { "USER OBJ" }
                    )),
                }
            }
            _ => Err(format!("unknown command `:{name}`; :help lists the commands")),
        }
    }
}

fn lines(answer: &crate::engine::Answer) -> Vec<String> {
    if answer.variables.is_empty() {
        vec![answer.holds().to_string()]
    } else {
        answer.rows.iter().map(|r| r.join(", ")).collect()
    }
}

/// A ground answer as `true`/`false`; an open one as a table.
fn table(answer: &crate::engine::Answer) -> String {
    if answer.variables.is_empty() {
        return answer.holds().to_string();
    }
    let headers: Vec<&str> = answer.variables.iter().map(String::as_str).collect();
    let mut out = render_table(&headers, &answer.rows);
    out.push_str(&format!("\n({} answer{})", answer.rows.len(), if answer.rows.len() == 1 { "" } else { "s" }));
    out
}

fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(headers.to_vec()), widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-")];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

/// The role hierarchy, senior roles at the top, juniors indented below.
fn role_tree(roles: &[(String, Vec<String>)]) -> String {
    let juniors: BTreeSet<&String> = roles.iter().flat_map(|(_, j)| j).collect();
    let mut out = Vec::new();
    let mut stack: Vec<(String, usize)> =
        roles.iter().rev().filter(|(r, _)| !juniors.contains(r)).map(|(r, _)| (r.clone(), 0)).collect();
    let mut guard = 0;
    while let Some((role, depth)) = stack.pop() {
        guard += 1;
        if guard > 10_000 {
            break;
        }
        out.push(format!("{}{role}", "  ".repeat(depth)));
        if let Some((_, js)) = roles.iter().find(|(r, _)| *r == role) {
            stack.extend(js.iter().rev().map(|j| (j.clone(), depth + 1)));
        }
    }
    if out.is_empty() { "no roles are declared".into() } else { out.join("\n") }
}

/// Whether `text` is a complete input, to be handled now: a command, a
/// query, statements, or input the parser rejects before its end (an error
/// to report at once). As in Python's REPL, input continues on the next line
/// only when it could still become valid: the parser ran out of input (an
/// open bracket, a statement without its `;`), or a string or block comment
/// is open.
pub fn is_complete(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with(':') || only_comments(trimmed) {
        return true;
    }
    let open = tokens(trimmed).into_iter().last().is_some_and(|(token, range)| {
        token.is_err() && trimmed.get(range.clone()).is_some_and(|s| s.starts_with('"') || s.starts_with("/*"))
    });
    if open {
        return false;
    }
    let ran_out = |d: &crate::Diagnostic| d.message.ends_with("unexpected end of input");
    let file = syntax::span::FileId(0);
    match syntax::parser::parse_query(file, trimmed) {
        Ok(_) => true,
        Err(query_error) => {
            let (_, errors) = syntax::parser::parse_file(file, trimmed);
            let statements_ran_out = errors.first().is_some_and(ran_out);
            !(ran_out(&query_error) || statements_ran_out)
        }
    }
}

/// Whether the text holds comments and nothing else (a complete, empty input).
fn only_comments(text: &str) -> bool {
    tokens(text).into_iter().all(|(token, _)| token == Ok(crate::syntax::lexer::Token::Comment))
}

/// Lines typed so far, until they make a complete input (see [`is_complete`]).
#[derive(Debug, Default)]
pub struct InputBuffer {
    pending: String,
}

/// What a line fed to an [`InputBuffer`] gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feed {
    /// A complete input, to handle.
    Ready(String),
    /// The input goes on: read another line.
    More,
}

impl InputBuffer {
    /// The prompt for the next line: `warden> `, or `   ...> ` inside an
    /// unfinished input.
    pub fn prompt(&self) -> &'static str {
        if self.pending.is_empty() { "warden> " } else { "   ...> " }
    }

    /// Adds a line.
    pub fn feed(&mut self, line: &str) -> Feed {
        if !self.pending.is_empty() {
            self.pending.push('\n');
        }
        self.pending.push_str(line);
        if is_complete(&self.pending) { Feed::Ready(std::mem::take(&mut self.pending)) } else { Feed::More }
    }

    /// Drops an unfinished input (Ctrl-C or Ctrl-D at the continuation
    /// prompt, or the end of piped input); returns it, if there was one.
    pub fn abandon(&mut self) -> Option<String> {
        (!self.pending.trim().is_empty()).then(|| std::mem::take(&mut self.pending)).or_else(|| {
            self.pending.clear();
            None
        })
    }
}
