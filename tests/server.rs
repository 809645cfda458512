//! `warden serve` over real sockets: decisions, JSON errors for every kind of
//! bad request (and serving on after them), live updates, reloads, metrics,
//! and a bounded load test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use warden::live::Live;
use warden::server::{Auth, Options};

const POLICY: &str = "
role viewer { read; }
role editor extends viewer { write on page; }
page:1 in project:a;
assign carol viewer on project:a;
";

/// Starts a server on a free loopback port that honours a client's `at`
/// (most tests here ask at a fixed time); returns its address.
fn start(live: Live) -> SocketAddr {
    let auth = Auth { insecure_open_writes: true, ..Auth::default() };
    start_with(live, Options { allow_client_time: true, auth, ..Options::default() })
}

/// Starts a server with `options`; returns its address.
fn start_with(live: Live, options: Options) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            warden::server::serve(Arc::new(live), listener, Vec::new(), options).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A keep-alive HTTP/1.1 connection.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        Client { reader: BufReader::new(TcpStream::connect(addr).unwrap()) }
    }

    fn send(&mut self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.send_with(method, path, body, "")
    }

    /// Sends a request with extra header lines (each ending in `\r\n`).
    fn send_with(&mut self, method: &str, path: &str, body: &str, headers: &str) -> (u16, String) {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status: u16 = status_line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        (status, String::from_utf8(body).unwrap())
    }
}

fn check_body(user: &str, perm: &str) -> String {
    format!(r#"{{"user": "{user}", "perm": "{perm}", "obj": "page:1", "at": "2026-11-23T10:00:00Z"}}"#)
}

#[test]
fn decisions_errors_updates_and_metrics() {
    let addr = start(Live::from_source("p.warden", POLICY).unwrap());
    let mut c = Client::connect(addr);
    let (status, body) = c.send("POST", "/v1/check", &check_body("carol", "read"));
    assert_eq!(status, 200);
    assert!(body.contains(r#""allowed":true"#), "{body}");
    let (_, body) = c.send("POST", "/v1/check", &check_body("carol", "write"));
    assert!(body.contains(r#""allowed":false"#) && body.contains("nothing permits carol"), "{body}");

    // Every malformed request gets a 4xx JSON error, and the server serves on.
    for (method, path, body, want, code) in [
        ("POST", "/v1/check", "{\"user\": ", 400, "malformed_json"),
        ("POST", "/v1/check", r#"{"user": "a", "perm": "b", "obj": "c", "extra": 1}"#, 422, "invalid_body"),
        ("POST", "/v1/check", r#"{"user": "a"}"#, 422, "invalid_body"),
        ("POST", "/v1/check", r#"["carol", "read", "page:1"]"#, 422, "invalid_body"),
        ("POST", "/v1/facts", r#"[[], []]"#, 422, "invalid_body"),
        ("POST", "/v1/check", r#"{"user": "a", "perm": "b", "obj": "c", "at": "tomorrow"}"#, 400, "bad_timestamp"),
        ("POST", "/v1/check", r#"{"user": "a", "perm": "b", "obj": "c", "ctx": {"ip": [1]}}"#, 400, "bad_context"),
        ("POST", "/v1/query", r#"{"query": "allowed(carol,"}"#, 400, "bad_query"),
        ("POST", "/v1/facts", r#"{"insert": ["assign zed nosuchrole;"]}"#, 422, "rejected"),
        ("GET", "/v1/check", "", 405, "method_not_allowed"),
        ("GET", "/nowhere", "", 404, "not_found"),
    ] {
        let (status, response) = c.send(method, path, body);
        assert_eq!(status, want, "{method} {path} {body}: {response}");
        assert!(response.contains(&format!(r#""code":"{code}""#)), "{response}");
    }
    let huge = format!(
        r#"{{"user": "{}", "perm": "read", "obj": "page:1"}}"#,
        "x".repeat(warden::server::MAX_BODY_BYTES + 10)
    );
    let mut big = Client::connect(addr);
    let (status, response) = big.send("POST", "/v1/check", &huge);
    assert_eq!(status, 413, "{response}");
    assert!(response.contains("body_too_large"), "{response}");

    // Live updates.
    let (status, _) = c.send(
        "POST",
        "/v1/facts",
        r#"{"insert": ["assign bob editor on project:a;"], "remove": ["assign carol viewer on project:a;"]}"#,
    );
    assert_eq!(status, 200);
    assert!(c.send("POST", "/v1/check", &check_body("bob", "write")).1.contains(r#""allowed":true"#));
    assert!(c.send("POST", "/v1/check", &check_body("carol", "read")).1.contains(r#""allowed":false"#));

    // Query and explain.
    let (status, body) =
        c.send("POST", "/v1/query", r#"{"query": "allowed(U, write, page:1)", "at": "2026-11-23T10:00:00Z"}"#);
    assert_eq!(status, 200);
    assert!(body.contains(r#""answers":[{"U":"bob"}]"#), "{body}");
    let (status, body) =
        c.send("POST", "/v1/list", r#"{"user": "bob", "perm": "write", "type": "page", "at": "2026-11-23T10:00:00Z"}"#);
    assert_eq!(status, 200);
    assert!(body.contains(r#""every":false"#) && body.contains(r#""objects":["page:1"]"#), "{body}");
    // A page at a time: `after` a name, at most `limit` of them.
    let (status, body) = c.send(
        "POST",
        "/v1/list",
        r#"{"user": "bob", "perm": "write", "type": "page", "limit": 1, "after": "page:1", "at": "2026-11-23T10:00:00Z"}"#,
    );
    assert_eq!(status, 200);
    assert!(body.contains(r#""objects":[]"#) && body.contains(r#""next":null"#), "{body}");
    // A page of nothing is refused, not answered empty (it would read as the end).
    let (status, body) = c.send(
        "POST",
        "/v1/list",
        r#"{"user": "bob", "perm": "write", "type": "page", "limit": 0, "at": "2026-11-23T10:00:00Z"}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("at least 1"), "{body}");
    let (status, body) =
        c.send("POST", "/v1/list", r#"{"perm": "write", "object": "page:1", "at": "2026-11-23T10:00:00Z"}"#);
    assert_eq!(status, 200);
    assert!(body.contains(r#""subjects":["bob"]"#), "{body}");
    let (status, body) = c.send("POST", "/v1/list", r#"{"user": "bob", "perm": "write", "object": "page:1"}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("invalid_body"), "{body}");
    let (status, body) =
        c.send("POST", "/v1/explain", r#"{"query": "allowed(bob, write, page:1)", "at": "2026-11-23T10:00:00Z"}"#);
    assert_eq!(status, 200);
    assert!(body.contains(r#""holds":true"#) && body.contains("bob holds editor on page:1"), "{body}");

    assert_eq!(c.send("GET", "/healthz", "").0, 200);
    let (_, metrics) = c.send("GET", "/metrics", "");
    assert!(metrics.contains(r#"warden_requests_total{path="/v1/check",status="200"}"#), "{metrics}");
    assert!(metrics.contains("warden_request_seconds_bucket"), "{metrics}");
    // What the snapshot holds: its facts at least (a number, never zero here).
    let total = metrics.lines().find_map(|l| l.strip_prefix(r#"warden_memory_bytes{part="total"} "#));
    assert!(total.and_then(|t| t.parse::<usize>().ok()).is_some_and(|t| t > 0), "{metrics}");
    // Unknown paths share one label: many of them do not grow the metrics.
    for i in 0..50 {
        assert_eq!(c.send("GET", &format!("/nowhere/{i}"), "").0, 404);
    }
    let (_, metrics) = c.send("GET", "/metrics", "");
    assert!(metrics.contains(r#"path="other",status="404""#), "{metrics}");
    assert!(!metrics.contains("/nowhere"), "{metrics}");
}

/// A batch answers each check as `/v1/check` does, in the order asked;
/// a malformed or oversize batch gets a 4xx and nothing is decided.
#[test]
fn a_batch_of_checks_answers_each_in_order() {
    let addr = start(Live::from_source("p.warden", POLICY).unwrap());
    let mut c = Client::connect(addr);
    let asked = [("carol", "read"), ("carol", "write"), ("nobody", "read"), ("carol", "read")];
    let items: Vec<String> = asked
        .iter()
        .map(|(user, perm)| format!(r#"{{"user": "{user}", "perm": "{perm}", "obj": "page:1"}}"#))
        .collect();
    let body = format!(r#"{{"checks": [{}], "at": "2026-11-23T10:00:00Z"}}"#, items.join(", "));
    let (status, response) = c.send("POST", "/v1/check/batch", &body);
    assert_eq!(status, 200, "{response}");
    let answer: serde_json::Value = serde_json::from_str(&response).unwrap();
    let singles: Vec<bool> = asked
        .iter()
        .map(|(user, perm)| c.send("POST", "/v1/check", &check_body(user, perm)).1.contains(r#""allowed":true"#))
        .collect();
    assert_eq!(singles, [true, false, false, true]);
    assert_eq!(answer["allowed"], serde_json::json!(singles), "{response}");
    assert_eq!(answer["at"], "2026-11-23T10:00:00Z", "{response}");

    let one = r#"{"user": "carol", "perm": "read", "obj": "page:1"}"#;
    let too_many = format!(r#"{{"checks": [{}]}}"#, vec![one; warden::server::MAX_BATCH + 1].join(","));
    for (body, want, code) in [
        (too_many.as_str(), 422, "batch_too_large"),
        (r#"{"checks": [{"user": "carol", "perm": "read"}]}"#, 422, "invalid_body"),
        (r#"{"checks": [{"user": "carol", "perm": "read", "obj": "page:1", "extra": 1}]}"#, 422, "invalid_body"),
        (r#"{"checks": [], "ctx": {"ip": [1]}}"#, 400, "bad_context"),
    ] {
        let (status, response) = c.send("POST", "/v1/check/batch", body);
        assert_eq!(status, want, "{body}: {response}");
        assert!(response.contains(&format!(r#""code":"{code}""#)), "{response}");
    }
    let (status, response) = c.send("POST", "/v1/check/batch", r#"{"checks": []}"#);
    assert_eq!((status, response.contains(r#""allowed":[]"#)), (200, true), "{response}");

    // A batch past its deadline answers nothing: 422.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.warden"), POLICY).unwrap();
    let limits = warden::Limits { max_time: std::time::Duration::ZERO, ..warden::Limits::default() };
    let configure = Arc::new(move |engine: &mut warden::Engine| engine.set_limits(limits));
    let live = Live::with_configuration(&[dir.path().to_path_buf()], configure).unwrap();
    let mut c = Client::connect(start(live));
    let (status, response) = c.send("POST", "/v1/check/batch", &body);
    assert_eq!(status, 422, "{response}");
    assert!(response.contains("limit_exceeded") && response.contains("the batch was stopped"), "{response}");
}

#[test]
fn a_broken_reload_keeps_serving_the_old_program() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, POLICY).unwrap();
    let addr = start(Live::from_paths(std::slice::from_ref(&file)).unwrap());
    let mut c = Client::connect(addr);
    std::fs::write(&file, "role viewer { read;").unwrap();
    let (status, body) = c.send("POST", "/v1/reload", r#"{"live_changes": "keep"}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("syntax error"), "{body}");
    assert!(c.send("POST", "/v1/check", &check_body("carol", "read")).1.contains(r#""allowed":true"#));
}

#[test]
fn a_bounded_load_test_drops_nothing() {
    let addr = start(Live::from_source("p.warden", POLICY).unwrap());
    let per_connection = 20_000 / 16;
    let workers: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                let mut ok = 0;
                for j in 0..per_connection {
                    let user = if (i + j) % 2 == 0 { "carol" } else { "dave" };
                    let (status, body) = c.send("POST", "/v1/check", &check_body(user, "read"));
                    assert!(status < 500, "a 5xx: {body}");
                    assert_eq!(body.contains(r#""allowed":true"#), user == "carol");
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(total, 20_000);
}

#[test]
fn the_server_decides_at_its_own_clock_unless_told_to_honour_at() {
    let policy =
        "role viewer { read; }\npage:1 in project:a;\nassign carol viewer on project:a until 2026-11-24T00:00:00Z;\n";
    let addr = start_with(Live::from_source("p.warden", policy).unwrap(), Options::default());
    let mut c = Client::connect(addr);
    // An expired just-in-time assignment cannot be revived by a client-chosen time.
    let (status, body) = c.send("POST", "/v1/check", &check_body("carol", "read"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("client_time_not_allowed"), "{body}");
    let (status, body) = c.send("POST", "/v1/check", r#"{"user": "carol", "perm": "read", "obj": "page:1"}"#);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""allowed":false"#), "the assignment expired before today: {body}");
    assert!(body.contains(r#""at":"20"#), "the answer names the time it used: {body}");
    let (status, body) =
        c.send("POST", "/v1/query", r#"{"query": "allowed(U, read, page:1)", "at": "2026-11-23T10:00:00Z"}"#);
    assert_eq!(status, 400, "{body}");

    let addr = start(Live::from_source("p.warden", policy).unwrap());
    let mut c = Client::connect(addr);
    let (status, body) = c.send("POST", "/v1/check", &check_body("carol", "read"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""allowed":true"#) && body.contains(r#""at":"2026-11-23T10:00:00Z""#), "{body}");
}

#[test]
fn live_updates_take_structured_facts_and_never_read_a_value_as_a_statement() {
    let addr = start(Live::from_source("p.warden", POLICY).unwrap());
    let mut c = Client::connect(addr);
    // Statement text smuggling a second statement is refused whole.
    let (status, body) =
        c.send("POST", "/v1/facts", r#"{"insert": ["user:mallory in group:x; superuser user:mallory;"]}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("not one fact statement"), "{body}");
    // The same values as data are one odd name, not syntax.
    let (status, body) =
        c.send("POST", "/v1/facts", r#"{"insert": [{"in": ["user:mallory", "group:x; superuser user:mallory;"]}]}"#);
    assert_eq!(status, 200, "{body}");
    let mallory = r#"{"user": "user:mallory", "perm": "read", "obj": "page:1", "at": "2026-11-23T10:00:00Z"}"#;
    assert!(c.send("POST", "/v1/check", mallory).1.contains(r#""allowed":false"#));
    // Every structured form.
    let (status, body) = c.send(
        "POST",
        "/v1/facts",
        r#"{"insert": [
            {"assign": {"subject": "bob", "role": "editor", "on": "project:a", "until": "2027-01-01T00:00:00Z"}},
            {"grant": {"subject": "dave", "perm": "read", "on": "page:1"}},
            {"relation": "parent", "args": ["page:3", "project:a"]},
            {"relation": "in", "args": ["page:2", "project:a"]},
            {"inactive": "carol"}
        ]}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(c.send("POST", "/v1/check", &check_body("bob", "write")).1.contains(r#""allowed":true"#));
    assert!(c.send("POST", "/v1/check", &check_body("dave", "read")).1.contains(r#""allowed":true"#));
    assert!(c.send("POST", "/v1/check", &check_body("carol", "read")).1.contains(r#""allowed":false"#));
    // Two forms in one item, or an unknown field: refused.
    for bad in [
        r#"{"insert": [{"superuser": "eve", "inactive": "eve"}]}"#,
        r#"{"insert": [{"assign": {"subject": "a", "perm": "read"}}]}"#,
    ] {
        let (status, body) = c.send("POST", "/v1/facts", bad);
        assert_eq!(status, 422, "{bad}: {body}");
    }
}

#[test]
fn privileged_updates_are_refused_unless_the_server_allows_them() {
    let policy =
        "role viewer { read; }\nrole admin extends viewer { delete; }\ninactive mallory;\nassign mallory admin;\n";
    let addr = start(Live::from_source("p.warden", policy).unwrap());
    let mut c = Client::connect(addr);
    for body in [
        r#"{"insert": [{"superuser": "eve"}]}"#,
        r#"{"remove": [{"inactive": "mallory"}]}"#,
        r#"{"insert": [{"relation": "role_extends", "args": ["viewer", "admin"]}]}"#,
        r#"{"insert": ["superuser eve;"]}"#,
        r#"{"insert": [{"role": {"name": "viewer", "permissions": ["delete"]}}]}"#,
        r#"{"insert": ["role viewer { delete; }"]}"#,
    ] {
        let (status, response) = c.send("POST", "/v1/facts", body);
        assert_eq!(status, 422, "{body}: {response}");
        assert!(response.contains("privileged"), "{response}");
    }
    let eve = r#"{"user": "eve", "perm": "delete", "obj": "page:1", "at": "2026-11-23T10:00:00Z"}"#;
    assert!(c.send("POST", "/v1/check", eve).1.contains(r#""allowed":false"#));

    let live = Live::from_source("p.warden", policy).unwrap().allow_privileged_updates(true);
    let addr = start(live);
    let mut c = Client::connect(addr);
    assert_eq!(c.send("POST", "/v1/facts", r#"{"insert": [{"superuser": "eve"}]}"#).0, 200);
    assert!(c.send("POST", "/v1/check", eve).1.contains(r#""allowed":true"#));

    // Roles as data: a role item declares the role, its edges and its entries.
    let role = r#"{"insert": [{"role": {"name": "auditor", "extends": ["viewer"], "permissions": [{"perm": "audit", "on": "page"}]}},
                              {"assign": {"subject": "ann", "role": "auditor"}}]}"#;
    assert_eq!(c.send("POST", "/v1/facts", role).0, 200);
    for (perm, obj, allowed) in [("audit", "page:1", true), ("read", "page:1", true), ("audit", "doc:1", false)] {
        let body = format!(r#"{{"user": "ann", "perm": "{perm}", "obj": "{obj}", "at": "2026-11-23T10:00:00Z"}}"#);
        let response = c.send("POST", "/v1/check", &body).1;
        assert!(response.contains(&format!(r#""allowed":{allowed}"#)), "{perm} {obj}: {response}");
    }
}

#[test]
fn a_reload_says_what_to_do_with_live_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, POLICY).unwrap();
    let addr = start(Live::from_paths(std::slice::from_ref(&file)).unwrap());
    let mut c = Client::connect(addr);
    let (status, body) = c.send("POST", "/v1/reload", "{}");
    assert_eq!(status, 422, "a reload must say `keep` or `drop`: {body}");
    let (status, _) = c.send("POST", "/v1/facts", r#"{"insert": ["assign bob editor on project:a;"]}"#);
    assert_eq!(status, 200);
    let (status, body) = c.send("POST", "/v1/reload", r#"{"live_changes": "keep"}"#);
    assert_eq!(status, 200, "{body}");
    assert!(c.send("POST", "/v1/check", &check_body("bob", "write")).1.contains(r#""allowed":true"#));
    let (status, body) = c.send("POST", "/v1/reload", r#"{"live_changes": "drop"}"#);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("dropped the live changes"), "{body}");
    assert!(c.send("POST", "/v1/check", &check_body("bob", "write")).1.contains(r#""allowed":false"#));
}

#[test]
fn writes_need_the_write_token_and_are_disabled_without_one() {
    let insert = r#"{"insert": [{"grant": {"subject": "eve", "perm": "read", "on": "page:1"}}]}"#;
    // No token configured: writes are disabled, reads open.
    let addr = start_with(Live::from_source("p.warden", POLICY).unwrap(), Options::default());
    let mut c = Client::connect(addr);
    let (status, body) = c.send("POST", "/v1/facts", insert);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("writes_disabled"), "{body}");
    assert_eq!(c.send("POST", "/v1/reload", r#"{"live_changes": "keep"}"#).0, 403);
    assert_eq!(c.send("POST", "/v1/check", r#"{"user": "carol", "perm": "read", "obj": "page:1"}"#).0, 200);

    // A write token: a missing or wrong one gets 401; reads stay open.
    let auth = Auth { write: Some("w-secret".into()), ..Auth::default() };
    let addr = start_with(Live::from_source("p.warden", POLICY).unwrap(), Options { auth, ..Options::default() });
    let mut c = Client::connect(addr);
    for headers in
        ["", "Authorization: Bearer wrong\r\n", "Authorization: w-secret\r\n", "Authorization: Bearer w-secre\r\n"]
    {
        let (status, body) = c.send_with("POST", "/v1/facts", insert, headers);
        assert_eq!(status, 401, "{headers:?}: {body}");
        assert!(body.contains("unauthorized"), "{body}");
    }
    let (status, body) = c.send_with("POST", "/v1/facts", insert, "Authorization: Bearer w-secret\r\n");
    assert_eq!(status, 200, "{body}");
    let (status, body) = c.send("POST", "/v1/check", r#"{"user": "eve", "perm": "read", "obj": "page:1"}"#);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""allowed":true"#), "{body}");
}

#[test]
fn reads_need_a_token_when_a_read_token_is_set() {
    let auth = Auth { read: Some("r-secret".into()), write: Some("w-secret".into()), ..Auth::default() };
    let addr = start_with(Live::from_source("p.warden", POLICY).unwrap(), Options { auth, ..Options::default() });
    let mut c = Client::connect(addr);
    let check = r#"{"user": "carol", "perm": "read", "obj": "page:1"}"#;
    let batch = r#"{"checks": [{"user": "carol", "perm": "read", "obj": "page:1"}]}"#;
    for path in ["/v1/check", "/v1/check/batch", "/v1/query", "/v1/explain"] {
        let body = match path {
            "/v1/check" => check,
            "/v1/check/batch" => batch,
            _ => r#"{"query": "allowed(carol, read, page:1)"}"#,
        };
        assert_eq!(c.send("POST", path, body).0, 401, "{path}");
        assert_eq!(c.send_with("POST", path, body, "Authorization: Bearer r-secret\r\n").0, 200, "{path}");
        assert_eq!(c.send_with("POST", path, body, "Authorization: Bearer w-secret\r\n").0, 200, "{path}");
    }
    assert_eq!(c.send("GET", "/metrics", "").0, 401);
    assert_eq!(c.send("GET", "/healthz", "").0, 200);
    // The read token does not write.
    let (status, _) =
        c.send_with("POST", "/v1/reload", r#"{"live_changes": "keep"}"#, "Authorization: Bearer r-secret\r\n");
    assert_eq!(status, 401);
}

#[test]
fn serve_refuses_a_public_address_without_a_write_token() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "policies/", "--addr", "0.0.0.0:0"])
        .env_remove("WARDEN_WRITE_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refusing to listen on 0.0.0.0:0"), "{stderr}");
}

/// Expensive requests beyond the slots and the queue get 503 at once
/// (three concurrent explanations used to take the server down); compiled
/// checks keep being answered meanwhile.
#[test]
fn expensive_requests_past_the_queue_get_503_and_checks_go_on() {
    let facts: String = (0..70).map(|i| format!("n({i});\n")).collect();
    let policy = format!("{POLICY}{facts}big(A, B, C) :- n(A), n(B), n(C);\n");
    let options = Options { allow_client_time: true, max_running: 1, max_waiting: 0, ..Options::default() };
    let addr = start_with(Live::from_source("p.warden", &policy).unwrap(), options);
    let slow: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                Client::connect(addr).send("POST", "/v1/query", r#"{"query": "big(A, B, C)"}"#).0
            })
        })
        .collect();
    let mut c = Client::connect(addr);
    for _ in 0..20 {
        let (status, body) = c.send("POST", "/v1/check", &check_body("carol", "read"));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""allowed":true"#), "{body}");
    }
    let statuses: Vec<u16> = slow.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&503), "a request past the slot and the queue must get 503: {statuses:?}");
}

/// 300 half-sent requests used to exhaust the file descriptors and lock out
/// every new client (`accept error: Too many open files`). Connections are
/// now bounded below the descriptor limit and a request's headers must
/// arrive within the header timeout, so a normal client is still answered.
#[test]
fn half_sent_requests_do_not_lock_out_a_normal_client() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec {} serve policies/ --addr 127.0.0.1:{port} --header-timeout-ms 1000",
            env!("CARGO_BIN_EXE_warden")
        ))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = std::time::Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the server did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut slow = Vec::new();
    for _ in 0..300 {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.write_all(b"POST /v1/check HTTP/1.1\r\nHost: localhost\r\nContent-");
            slow.push(s);
        }
    }
    let mut c = Client::connect(addr);
    c.reader.get_mut().set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let (status, body) = c.send("POST", "/v1/check", r#"{"user": "alice", "perm": "read", "obj": "page:1"}"#);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(status, 200, "{body}");
    drop(slow);
}

/// A body that is not declared JSON is refused (a browser's cross-site
/// "simple" POST with `text/plain` needs no preflight).
#[test]
fn a_body_not_declared_json_is_refused() {
    let addr = start(Live::from_source("p.warden", POLICY).unwrap());
    let mut stream = TcpStream::connect(addr).unwrap();
    let body = r#"{"insert": [{"superuser": "eve"}]}"#;
    let request = format!(
        "POST /v1/facts HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 415 "), "{status}");
}

/// 20,000 checks over 64 connections with no error while a writer posts
/// about 10 updates a second (each update makes a snapshot whose plan is
/// built in the background); a user the updates never touch is decided the
/// same way throughout.
#[test]
fn checks_under_a_steady_writer_never_fail() {
    let addr = start(Live::from_source("p.warden", POLICY).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = Client::connect(addr);
            let mut updates = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = format!(
                    r#"{{"insert": [{{"grant": {{"subject": "w{updates}", "perm": "read", "on": "page:1"}}}}]}}"#
                );
                let (status, response) = c.send("POST", "/v1/facts", &body);
                assert_eq!(status, 200, "{response}");
                updates += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            updates
        })
    };
    let per_connection = 20_000 / 64;
    let readers: Vec<_> = (0..64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                for j in 0..per_connection {
                    let user = if (i + j) % 2 == 0 { "carol" } else { "dave" };
                    let (status, body) = c.send("POST", "/v1/check", &check_body(user, "read"));
                    assert_eq!(status, 200, "{body}");
                    assert_eq!(body.contains(r#""allowed":true"#), user == "carol", "{body}");
                }
                per_connection
            })
        })
        .collect();
    let checked: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let updates = writer.join().unwrap();
    assert_eq!(checked, 20_000 / 64 * 64);
    assert!(updates >= 1, "the writer never ran");
}

/// A client that hangs up cancels its evaluation: the slot it held is free
/// again at once, instead of after the evaluation's time limit (the
/// transitive closure below runs for many seconds; it reads `now`, so
/// loading does not evaluate it).
#[test]
fn a_client_that_goes_away_cancels_its_evaluation() {
    let mut policy: String = (0..1500).map(|i| format!("e({i}, {});\n", i + 1)).collect();
    policy.push_str("path(X, Y) :- e(X, Y), hour(now) >= 0;\npath(X, Z) :- path(X, Y), e(Y, Z);\n");
    // Without cancellation the slot stays taken until the 30 s time limit.
    let options = Options { max_running: 1, max_waiting: 0, ..Options::default() };
    let addr = start_with(Live::from_source("p.warden", &policy).unwrap(), options);
    let mut slow = Client::connect(addr);
    let body = r#"{"query": "path(X, Y)"}"#;
    let request = format!(
        "POST /v1/query HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    slow.reader.get_mut().write_all(request.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut c = Client::connect(addr);
    let (status, _) = c.send("POST", "/v1/query", r#"{"query": "e(1, Y)"}"#);
    assert_eq!(status, 503, "the slow query should hold the only slot");
    drop(slow);
    let started = std::time::Instant::now();
    loop {
        let (status, body) = c.send("POST", "/v1/query", r#"{"query": "e(1, Y)"}"#);
        if status == 200 {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "the slot is still held: {status} {body}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// With `tls`, the server speaks HTTPS only: a client that trusts the
/// certificate is answered, a plaintext request is not.
#[test]
fn tls_serves_https_and_refuses_plaintext() {
    use tokio_rustls::rustls;
    let dir = tempfile::tempdir().unwrap();
    let identity = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, identity.cert.pem()).unwrap();
    std::fs::write(&key, identity.signing_key.serialize_pem()).unwrap();
    let tls = Some(warden::server::TlsFiles { cert, key });
    let options = Options { allow_client_time: true, tls, ..Options::default() };
    let addr = start_with(Live::from_source("p.warden", POLICY).unwrap(), options);

    let mut roots = rustls::RootCertStore::empty();
    roots.add(identity.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut stream = rustls::StreamOwned::new(connection, TcpStream::connect(addr).unwrap());
    let body = check_body("carol", "read");
    let request = format!(
        "POST /v1/check HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""allowed":true"#), "{response}");

    let mut plain = TcpStream::connect(addr).unwrap();
    plain.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    plain.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "a plaintext request was answered");
}

/// A certificate or key that does not load stops `serve` with a message
/// naming the file.
#[test]
fn serve_refuses_an_unreadable_tls_identity() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "policies/", "--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&cert)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("cert.pem"), "{stderr}");
}

/// One listing of a superuser's permissions over a large domain used to
/// take the server down (every permission times every object). It is now
/// stopped by the tuple limit and answered with the reason, while another
/// client's checks keep being answered.
#[test]
fn a_superuser_listing_is_stopped_by_the_limit_and_checks_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut policy = String::from(POLICY);
    for i in 0..3000 {
        policy.push_str(&format!("page:p{i} in project:a;\nassign u{i} viewer on page:p{i};\n"));
    }
    policy.push_str("superuser root;\n");
    std::fs::write(dir.path().join("p.warden"), policy).unwrap();
    let limits = warden::Limits { max_tuples: 200_000, ..warden::Limits::default() };
    let configure = Arc::new(move |engine: &mut warden::Engine| engine.set_limits(limits));
    let live = Live::with_configuration(&[dir.path().to_path_buf()], configure).unwrap();
    let addr = start_with(live, Options { allow_client_time: true, ..Options::default() });
    let listing = std::thread::spawn(move || {
        Client::connect(addr).send("POST", "/v1/query", r#"{"query": "allowed(root, P, O)"}"#)
    });
    let mut c = Client::connect(addr);
    for _ in 0..50 {
        let (status, body) = c.send("POST", "/v1/check", &check_body("carol", "read"));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""allowed":true"#), "{body}");
    }
    let (status, body) = listing.join().unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("limit_exceeded") && body.contains("more than 200000 derived tuples"), "{body}");
}

/// A body that trickles in is cut off after the header timeout with 408
/// (it used to read as an empty body: 400).
#[test]
fn a_body_that_does_not_arrive_in_time_gets_408() {
    let options = Options { header_timeout: std::time::Duration::from_millis(300), ..Options::default() };
    let addr = start_with(Live::from_source("p.warden", POLICY).unwrap(), options);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"POST /v1/check HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user\"")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 408 "), "{status}");
}

/// `/v1/explain` on a program whose full model is far too large (a
/// superuser over thousands of constants) used to evaluate that model until
/// a limit stopped it, and then claimed "denied". It is read on demand now:
/// answered with the check's decision and its proof, while another client's
/// checks keep being answered.
#[test]
fn an_explanation_on_a_large_program_answers_and_checks_go_on() {
    let mut policy = String::from(POLICY);
    for i in 0..3000 {
        policy.push_str(&format!("page:p{i} in project:a;\nassign u{i} viewer on page:p{i};\n"));
    }
    policy.push_str("superuser root;\n");
    let addr = start_with(
        Live::from_source("p.warden", &policy).unwrap(),
        Options { allow_client_time: true, ..Options::default() },
    );
    let explain = std::thread::spawn(move || {
        let mut c = Client::connect(addr);
        let body = r#"{"query": "allowed(u7, read, page:p7)", "at": "2026-11-23T10:00:00Z"}"#;
        c.send("POST", "/v1/explain", body)
    });
    let mut c = Client::connect(addr);
    for _ in 0..50 {
        let (status, body) = c.send("POST", "/v1/check", &check_body("carol", "read"));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""allowed":true"#), "{body}");
    }
    let (status, body) = explain.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""holds":true"#) && body.contains("u7 is assigned viewer on page:p7"), "{body}");
    assert!(!body.contains("could not explain"), "{body}");
}

#[test]
fn a_database_write_is_seen_by_the_next_check_that_asks_for_freshness() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.warden");
    std::fs::write(&policy, POLICY).unwrap();
    let db = rusqlite::Connection::open(dir.path().join("wiki.sqlite3")).unwrap();
    db.execute_batch("CREATE TABLE member (user TEXT, project TEXT); INSERT INTO member VALUES ('dave', 'project:b');")
        .unwrap();
    let text =
        "[database]\nsqlite = \"wiki.sqlite3\"\n[sources]\nassign = \"SELECT user, 'viewer', project FROM member\"\n";
    let config = Arc::new(warden::sources::Config::from_text("warden.toml", text, dir.path()).unwrap());
    let live = Live::with_sources(&[policy], config.clone(), Arc::new(|_: &mut warden::Engine| {})).unwrap();
    let addr = start_with(
        live,
        Options {
            allow_client_time: true,
            source: Some(config),
            freshness_timeout: std::time::Duration::from_millis(200),
            auth: Auth { insecure_open_writes: true, ..Auth::default() },
            ..Options::default()
        },
    );
    let mut client = Client::connect(addr);
    let ask = |client: &mut Client, fresh: &str| {
        let body =
            format!(r#"{{"user": "dave", "perm": "read", "obj": "page:1", "at": "2026-11-23T10:00:00Z"{fresh}}}"#);
        client.send("POST", "/v1/check", &body)
    };
    let (status, body) = ask(&mut client, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""allowed":false"#), "{body}");
    db.execute("INSERT INTO member VALUES ('dave', 'project:a')", []).unwrap();
    let (_, body) = ask(&mut client, r#", "at_least": 0"#);
    assert!(body.contains(r#""allowed":true"#), "the write is read before the answer: {body}");
    assert!(body.contains(r#""version":1"#), "{body}");

    // A version no update has reached yet: 503 `stale`, after the wait.
    let (status, body) = ask(&mut client, r#", "at_least": 99"#);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("stale"), "{body}");

    // A read that fails cannot vouch for a write: a check that asks for
    // freshness gets 503 `stale`; one that does not is answered from the
    // last good read; /healthz says the facts are stale.
    db.execute_batch("DROP TABLE member;").unwrap();
    let (status, body) = ask(&mut client, r#", "at_least": 0"#);
    assert_eq!(status, 503, "{body}");
    let (_, body) = ask(&mut client, "");
    assert!(body.contains(r#""allowed":true"#), "{body}");
    let (status, health) = client.send("GET", "/healthz", "");
    assert_eq!(status, 200);
    assert!(health.contains(r#""stale":true"#), "{health}");
    assert!(!health.contains("no such table") && !health.contains("sqlite"), "no error text, no database: {health}");
    let (_, metrics) = client.send("GET", "/metrics", "");
    for line in ["warden_database_updates_applied_total 1", "warden_database_stale 1", "warden_version 1"] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(metrics.contains("warden_database_read_failures_total "), "{metrics}");
}

#[test]
fn an_update_returns_the_version_a_later_check_can_wait_for() {
    let addr = start(Live::from_source("p.warden", POLICY).unwrap());
    let mut client = Client::connect(addr);
    let (status, body) = client.send("POST", "/v1/facts", r#"{"insert": ["assign dave viewer on project:a"]}"#);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""version":1"#), "{body}");
    let check = r#"{"user": "dave", "perm": "read", "obj": "page:1", "at": "2026-11-23T10:00:00Z", "at_least": 1}"#;
    let (status, body) = client.send("POST", "/v1/check", check);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""allowed":true"#) && body.contains(r#""version":1"#), "{body}");
}
