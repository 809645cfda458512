//! Diagnostics: what went wrong, where, and how to fix it. The only module that
//! knows ariadne.

use crate::syntax::span::{SourceMap, Span};
use std::fmt;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The program is rejected.
    Error,
    /// Worth a look; the program still runs.
    Warning,
}

/// One problem in the input, with the span it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One lower-case sentence.
    pub message: String,
    /// The offending text; `None` for problems without a place (a missing file).
    pub span: Option<Span>,
    /// What to say under the underline.
    pub label: String,
    /// Other places that matter (a first definition, the rest of a cycle).
    pub notes: Vec<(Span, String)>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: Some(span),
            label: label.into(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// An error with no place in the source (an unreadable file, a bad argument).
    pub fn global(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: String::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Adds a secondary place.
    pub fn with_note(mut self, span: Span, text: impl Into<String>) -> Self {
        self.notes.push((span, text.into()));
        self
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col: error: message`, one line.
    pub fn headline(&self, sources: &SourceMap) -> String {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.span {
            Some(span) => format!("{}: {kind}: {}", sources.location(span), self.message),
            None => format!("{kind}: {}", self.message),
        }
    }
}

/// Whether any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

/// Renders diagnostics as text: a `file:line:col` headline, then ariadne's source
/// excerpt with labels and the help line.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap, colour: bool) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&render_one(diagnostic, sources, colour));
    }
    out
}

fn render_one(diagnostic: &Diagnostic, sources: &SourceMap, colour: bool) -> String {
    use ariadne::{Color, Config, IndexType, Label, Report, ReportKind};
    let headline = format!("{}\n", diagnostic.headline(sources));
    let Some(span) = diagnostic.span else {
        return match &diagnostic.help {
            Some(help) => format!("{headline}  help: {help}\n"),
            None => headline,
        };
    };
    let name = |s: Span| sources.get(s.file).map_or_else(|| "<unknown>".to_string(), |f| f.name.clone());
    let clamp = |s: Span| {
        let len = sources.get(s.file).map_or(0, |f| f.text.len());
        let start = (s.start as usize).min(len);
        let end = (s.end as usize).clamp(start, len);
        start..end
    };
    let kind = match diagnostic.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let mut report = Report::build(kind, (name(span), clamp(span)))
        .with_config(Config::default().with_color(colour).with_index_type(IndexType::Byte))
        .with_message(&diagnostic.message)
        .with_label(Label::new((name(span), clamp(span))).with_message(&diagnostic.label).with_color(Color::Red));
    for (note_span, text) in &diagnostic.notes {
        report = report
            .with_label(Label::new((name(*note_span), clamp(*note_span))).with_message(text).with_color(Color::Blue));
    }
    if let Some(help) = &diagnostic.help {
        report = report.with_help(help);
    }
    let cache = ariadne::sources(sources.files().map(|(_, f)| (f.name.clone(), f.text.clone())));
    let mut buffer = Vec::new();
    let rendered = match report.finish().write(cache, &mut buffer) {
        Ok(()) => String::from_utf8_lossy(&buffer).into_owned(),
        Err(_) => String::new(),
    };
    format!("{headline}{rendered}")
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}
