//! `bench SCALE --server`: `warden serve` in this process on loopback, with
//! the workload's policy, under keep-alive clients: checks/s, p50 and p99
//! for known and unknown objects, without and with a writer posting 10 live
//! updates a second (each update builds a new plan in the background).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use warden::live::Live;
use warden::server::{Auth, Options};

/// Concurrent client connections.
const CLIENTS: usize = 16;
/// Live updates a second while a writer runs.
const UPDATES_PER_SECOND: u64 = 10;

/// One configuration's figures.
pub struct Figures {
    pub checks: usize,
    pub errors: usize,
    pub seconds: f64,
    pub p50: f64,
    pub p99: f64,
    pub updates: usize,
}

impl Figures {
    /// `checks | errors | checks/s | p50 | p99 | updates`, as a table's cells.
    pub fn cells(&self) -> String {
        format!(
            "{} | {} | {:.0} | {:.0} µs | {:.0} µs | {}",
            self.checks,
            self.errors,
            self.checks as f64 / self.seconds,
            self.p50,
            self.p99,
            self.updates
        )
    }
}

/// Runs the four configurations and prints the table. `checks` are
/// (user, perm, object) of the workload.
pub fn run(policy: &str, checks: &[(String, String, String)], per_client: usize) {
    let live = match Live::from_source("bench.warden", policy) {
        Ok(live) => live,
        Err(e) => {
            eprintln!("{}", e.render(false));
            std::process::exit(1);
        }
    };
    let _ = live.snapshot().check_plan();
    let addr = start(live, None);
    let unknown: Vec<(String, String, String)> =
        checks.iter().map(|(u, p, o)| (u.clone(), p.clone(), format!("{o}000000"))).collect();
    println!("server: {CLIENTS} keep-alive connections, {per_client} checks each, client and server on the same cores");
    println!("| objects | writer | checks | errors | checks/s | p50 | p99 | updates |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, checks) in [("known", checks), ("unknown", &unknown[..])] {
        for writer in [false, true] {
            let f = load(addr, checks, per_client, writer.then(|| http_writer(addr)));
            println!("| {label} | {} | {} |", if writer { "10 updates/s" } else { "none" }, f.cells());
        }
    }
}

/// Starts the server on a free loopback port (following `source`'s database).
pub fn start(live: Live, source: Option<Arc<warden::sources::Config>>) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() else {
            return;
        };
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else { return };
            let Ok(addr) = listener.local_addr() else { return };
            let _ = tx.send(addr);
            let auth = Auth { insecure_open_writes: true, ..Auth::default() };
            let options = Options { auth, source, ..Options::default() };
            if let Err(e) = warden::server::serve(Arc::new(live), listener, Vec::new(), options).await {
                eprintln!("server: {e}");
            }
        });
    });
    rx.recv().unwrap_or_else(|_| {
        eprintln!("the server did not start");
        std::process::exit(1)
    })
}

/// One write (its number given): whether it was accepted.
pub type Writer = Box<dyn FnMut(usize) -> bool + Send>;

/// A writer posting a live update (a grant) to the server.
fn http_writer(addr: SocketAddr) -> Writer {
    let mut client = Client::connect(addr).ok();
    Box::new(move |n| {
        let body =
            format!(r#"{{"insert": [{{"grant": {{"subject": "writer{n}", "perm": "read", "on": "page:1"}}}}]}}"#);
        client.as_mut().is_some_and(|c| matches!(c.send("/v1/facts", &body), Ok((200, _))))
    })
}

/// `CLIENTS` threads each send `per_client` checks; with a `writer`, one
/// more thread writes `UPDATES_PER_SECOND` times a second meanwhile.
pub fn load(
    addr: SocketAddr,
    checks: &[(String, String, String)],
    per_client: usize,
    writer: Option<Writer>,
) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let writer = writer.map(|mut write| {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut updates = 0;
            while !stop.load(Ordering::Relaxed) {
                if write(updates) {
                    updates += 1;
                }
                std::thread::sleep(Duration::from_millis(1000 / UPDATES_PER_SECOND));
            }
            updates
        })
    });
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|k| {
            let bodies: Vec<String> = checks
                .iter()
                .cycle()
                .skip(k * per_client)
                .take(per_client)
                .map(|(u, p, o)| format!(r#"{{"user": "{u}", "perm": "{p}", "obj": "{o}"}}"#))
                .collect();
            std::thread::spawn(move || {
                let mut times = Vec::with_capacity(bodies.len());
                let mut errors = 0;
                let Ok(mut c) = Client::connect(addr) else { return (times, bodies.len()) };
                for body in &bodies {
                    let t = Instant::now();
                    match c.send("/v1/check", body) {
                        Ok((200, _)) => times.push(t.elapsed().as_secs_f64() * 1e6),
                        _ => errors += 1,
                    }
                }
                (times, errors)
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut errors = 0;
    for client in clients {
        if let Ok((t, e)) = client.join() {
            times.extend(t);
            errors += e;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let updates = writer.and_then(|w| w.join().ok()).unwrap_or(0);
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times.get(((times.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0);
    Figures { checks: times.len(), errors, seconds, p50: at(0.5), p99: at(0.99), updates }
}

/// A keep-alive HTTP/1.1 connection.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Client { reader: BufReader::new(stream) })
    }

    /// POSTs a JSON body; the status and the response body.
    fn send(&mut self, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line)?;
        let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
