//! `warden filter POLICY --user alice --perm read --type page [--sql sqlite|postgres]`:
//! the residual of [`warden::Engine::filter`] and its SQL.

use super::cli::FilterArgs;
use super::commands::request_options;
use super::load;
use std::process::ExitCode;
use warden::Residual;
use warden::filter::{Dialect, Key, SqlTarget};

pub fn run(args: &FilterArgs) -> ExitCode {
    let options = match request_options(args.request.at.as_deref(), &args.request.ctx) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let engine = match load(&args.files) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let filter = match engine.filter(&args.user, &args.perm, &args.ty, &options) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    for error in &filter.errors {
        eprintln!("note: {error}");
    }
    let sql = match args.sql.as_deref() {
        None => None,
        Some(dialect) => {
            let dialect = if dialect == "postgres" { Dialect::Postgres } else { Dialect::Sqlite };
            let key = match args.key.as_str() {
                "text" => Key::Text,
                "name" => Key::Name,
                _ => Key::Integer,
            };
            match filter.to_sql(&SqlTarget::new(dialect, args.column.as_str(), key)) {
                Ok(sql) => Some(sql),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            }
        }
    };
    if args.json {
        let (residual, objects) = describe(&filter.residual);
        let out = serde_json::json!({
            "type": filter.ty, "residual": residual, "objects": objects, "errors": filter.errors, "sql": sql,
        });
        println!("{out}");
        return ExitCode::SUCCESS;
    }
    let (residual, objects) = describe(&filter.residual);
    let ty = &filter.ty;
    match residual {
        "always" => println!("every {ty}"),
        "never" => println!("no {ty}"),
        "only" => println!("only {} {ty}{}: {}", objects.len(), plural(objects.len()), objects.join(", ")),
        "all_but" => println!("every {ty} but {}: {}", objects.len(), objects.join(", ")),
        _ => println!(
            "each {ty} as a check decides it (the policy looks into names); allowed among those named: {}",
            objects.join(", ")
        ),
    }
    if let Some(sql) = sql {
        println!("sql: {}", sql.condition);
        println!("params: {}", serde_json::to_string(&sql.params).unwrap_or_default());
        if sql.check_each_row {
            println!("check each row: the condition keeps every row with a key");
        }
    }
    ExitCode::SUCCESS
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The residual's shape and its objects.
fn describe(residual: &Residual) -> (&'static str, &[String]) {
    match residual {
        Residual::Always => ("always", &[]),
        Residual::Never => ("never", &[]),
        Residual::Only(objects) => ("only", objects),
        Residual::AllBut(objects) => ("all_but", objects),
        Residual::PerRow(objects) => ("per_row", objects),
    }
}
