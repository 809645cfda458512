//! Rendering diagnostics (what went wrong, where, and how to fix it) for a
//! terminal: the only module that knows ariadne. The [`Diagnostic`] type
//! itself is `syntax`'s (a message with a span), so that the stages report
//! problems without importing the renderer.

pub use crate::syntax::diagnostic::{Diagnostic, Severity, has_errors};
pub use crate::syntax::span::{FileId, SourceMap, Span};

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
