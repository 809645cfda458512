//! `/metrics`: request counts by route and status, and a latency histogram,
//! in the Prometheus text exposition.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 10] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Request counts and latencies, for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    /// Counts one request of `path` (a route label) with its status and time.
    pub fn record(&self, path: &str, status: u16, elapsed: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry((path.to_string(), status)).or_default() += 1;
        let mut latency = self.latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let h = latency.entry(path.to_string()).or_default();
        let seconds = elapsed.as_secs_f64();
        for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP warden_requests_total HTTP requests by path and status.\n# TYPE warden_requests_total counter\n",
        );
        for ((path, status), n) in self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            out.push_str(&format!("warden_requests_total{{path=\"{path}\",status=\"{status}\"}} {n}\n"));
        }
        out.push_str("# HELP warden_request_seconds Request latency.\n# TYPE warden_request_seconds histogram\n");
        for (path, h) in self.latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            for (count, bound) in h.counts.iter().zip(BUCKETS) {
                out.push_str(&format!("warden_request_seconds_bucket{{path=\"{path}\",le=\"{bound}\"}} {count}\n"));
            }
            out.push_str(&format!("warden_request_seconds_bucket{{path=\"{path}\",le=\"+Inf\"}} {}\n", h.count));
            out.push_str(&format!("warden_request_seconds_sum{{path=\"{path}\"}} {}\n", h.sum));
            out.push_str(&format!("warden_request_seconds_count{{path=\"{path}\"}} {}\n", h.count));
        }
        out
    }
}
