//! Watching the plugins directory: file events, debounced (a copy lands as several writes, and a plugin is two
//! or three files), become one "look again" signal. What changed is worked out by [`super::Registry::reconcile`]
//! from the files themselves, so a lost or merged event costs nothing but the next one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use tokio::sync::mpsc;

/// The file `fastintercom plugins reload` touches to ask every server watching the directory to reload, even
/// those that do not reload on other changes (`watch = false`).
pub const RELOAD_TRIGGER: &str = ".reload";

/// How long the directory must be quiet before a change is acted on.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Which changes count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// Any change in the directory.
    Everything,
    /// Only [`RELOAD_TRIGGER`].
    TriggerOnly,
}

/// A running watch; dropping it stops watching.
pub struct DirectoryWatch {
    _debouncer: Debouncer<RecommendedWatcher>,
}

impl std::fmt::Debug for DirectoryWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectoryWatch")
    }
}

/// Watches `dir` (which must exist); each debounced batch of relevant changes sends one `()` on the returned
/// channel. Batches that arrive while the previous signal is unread merge into it.
pub fn watch(
    dir: &Path,
    mode: WatchMode,
) -> notify_debouncer_mini::notify::Result<(DirectoryWatch, mpsc::Receiver<()>)> {
    let (signal, signals) = mpsc::channel(1);
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| match result {
        Ok(events) => {
            let relevant = events.iter().any(|event| mode == WatchMode::Everything || is_trigger(&event.path));
            if relevant {
                // Full means a reload is already pending, which will see this change too.
                let _ = signal.try_send(());
            }
        }
        Err(error) => tracing::warn!(%error, "watching the plugins directory failed for a moment"),
    })?;
    debouncer.watcher().watch(dir, RecursiveMode::NonRecursive)?;
    Ok((DirectoryWatch { _debouncer: debouncer }, signals))
}

fn is_trigger(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == RELOAD_TRIGGER)
}

/// Asks servers watching `dir` to reload (what `fastintercom plugins reload` does).
pub fn request_reload(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let trigger = dir.join(RELOAD_TRIGGER);
    let stamp = format!("{}\n", crate::sync::unix_now());
    std::fs::write(&trigger, stamp)?;
    Ok(trigger)
}
