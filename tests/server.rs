//! `warden serve` over real sockets: decisions, JSON errors for every kind of
//! bad request (and serving on after them), live updates, reloads, metrics,
//! and a bounded load test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use warden::live::Live;

const POLICY: &str = "
role viewer { read; }
role editor extends viewer { write on page; }
page:1 in project:a;
assign carol viewer on project:a;
";

/// Starts a server on a free loopback port; returns its address.
fn start(live: Live) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            warden::server::serve(Arc::new(live), listener, None).await.unwrap();
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
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
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
        c.send("POST", "/v1/explain", r#"{"query": "allowed(bob, write, page:1)", "at": "2026-11-23T10:00:00Z"}"#);
    assert_eq!(status, 200);
    assert!(body.contains(r#""holds":true"#) && body.contains("bob holds editor on page:1"), "{body}");

    assert_eq!(c.send("GET", "/healthz", "").0, 200);
    let (_, metrics) = c.send("GET", "/metrics", "");
    assert!(metrics.contains(r#"warden_requests_total{path="/v1/check",status="200"}"#), "{metrics}");
    assert!(metrics.contains("warden_request_seconds_bucket"), "{metrics}");
}

#[test]
fn a_broken_reload_keeps_serving_the_old_program() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, POLICY).unwrap();
    let addr = start(Live::from_paths(std::slice::from_ref(&file)).unwrap());
    let mut c = Client::connect(addr);
    std::fs::write(&file, "role viewer { read;").unwrap();
    let (status, body) = c.send("POST", "/v1/reload", "");
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
