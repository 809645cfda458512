//! Embedding Warden in a service: load the example policy, decide requests,
//! change the data while serving. Run: `cargo run --example embed`.

use std::path::PathBuf;
use warden::live::{Live, Request};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let live = Live::from_paths(&[PathBuf::from("policies")]).map_err(|e| e.render(false))?;
    let at = "2026-11-23T10:00:00Z";
    for (user, perm, object) in [("alice", "write", "page:1"), ("bob", "delete", "page:1"), ("root", "write", "page:6")]
    {
        let decision = live.check(&Request::new(user, perm, object).at(at)?);
        println!("{user} {perm} {object}: {}", decision.reason);
    }
    // A just-in-time grant, applied atomically while checks continue.
    live.update(|tx| tx.insert("grant bob delete on page:1 until 2026-11-23T12:00:00Z;"))
        .map_err(|e| e.render(false))?;
    println!("after the grant: {}", live.check(&Request::new("bob", "delete", "page:1").at(at)?).reason);
    println!(
        "after it expires: {}",
        live.check(&Request::new("bob", "delete", "page:1").at("2026-11-23T12:00:00Z")?).reason
    );
    Ok(())
}
