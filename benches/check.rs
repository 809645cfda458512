//! `cargo bench`: the `bench` tool at the small scale (see `benches/README.md`;
//! `cargo run --release --bin bench -- default` for the full comparison).

#[path = "../src/bin/bench/main.rs"]
mod tool;

fn main() {
    tool::main();
}
