//! `--watch`: when to reload the files.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How often `--watch` looks at the files.
pub(super) const WATCH_POLL: Duration = Duration::from_secs(1);

/// Size and modification time of every policy and data file.
pub type Stamp = Vec<(PathBuf, Option<(u64, SystemTime)>)>;

/// Decides when `--watch` reloads: only once a changed file set has stood
/// still for a whole poll (same sizes and times twice in a row), so a save
/// still being written is not loaded half-way. A file set that does not
/// parse is rejected by the reload itself and the running program stays.
/// Deploy by writing elsewhere and renaming into place (atomic).
#[derive(Debug)]
pub struct Watcher {
    loaded: Stamp,
    pending: Option<Stamp>,
}

impl Watcher {
    /// Watches from the file set as it was loaded.
    pub fn new(loaded: Stamp) -> Watcher {
        Watcher { loaded, pending: None }
    }

    /// Takes one poll's view; `true` when it is time to reload.
    pub fn poll(&mut self, now: Stamp) -> bool {
        if now == self.loaded {
            self.pending = None;
            return false;
        }
        if self.pending.as_ref() == Some(&now) {
            self.loaded = now;
            self.pending = None;
            return true;
        }
        self.pending = Some(now);
        false
    }
}

/// Sizes and modification times of every policy and data file under `paths`.
pub fn stamp(paths: &[PathBuf]) -> Stamp {
    let files = crate::syntax::collect_files(paths).unwrap_or_default();
    files
        .into_iter()
        .map(|f| {
            let meta = std::fs::metadata(&f).ok();
            let seen = meta.and_then(|m| Some((m.len(), m.modified().ok()?)));
            (f, seen)
        })
        .collect()
}
