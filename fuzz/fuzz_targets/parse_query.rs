//! Arbitrary queries (and context values) against a fixed policy.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const POLICY: &str = "role viewer { read; }\nrole editor extends viewer { write on page; }\nassign alice editor on project:a;\npage:1 in project:a;\ndeny U P on O if ctx.ip == \"0.0.0.0\";\n";

fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<Option<warden::Engine>> = OnceLock::new();
    let Some(engine) = ENGINE.get_or_init(|| warden::Engine::from_source("p.warden", POLICY).ok()) else { return };
    if let Ok(text) = std::str::from_utf8(data) {
        let (query, ip) = text.split_once('\n').unwrap_or((text, "10.0.0.1"));
        let mut options = warden::RequestOptions { at: Some(0), ..Default::default() };
        options.ctx.insert("ip".into(), ip.into());
        let _ = engine.query(query, &options);
    }
});
