//! The policy parser, lowering and analysis on arbitrary text: diagnostics or
//! a program, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(error) = warden::Engine::from_source("fuzz.warden", text) {
            let _ = error.render(false);
        }
    }
});
