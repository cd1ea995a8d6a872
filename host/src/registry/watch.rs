//! Watching the plugins directory: file events become one "look again" signal once the directory has been quiet
//! for [`DEBOUNCE`] (a copy lands as several writes, and a plugin is two or three files). What changed is worked
//! out by [`super::Registry::reconcile`] from the files themselves, so a lost or merged event costs nothing but
//! the next one.
//!
//! Only events that change a plugin's files count. Reading them does not: inotify reports opens and closes too,
//! and a reload reads every file, so counting those would make each reload trigger the next.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

/// The file `fastintercom plugins reload` touches to ask every server watching the directory to reload, even
/// those that do not reload on other changes (`watch = false`).
pub const RELOAD_TRIGGER: &str = ".reload";

/// How long the directory must be quiet before a change is acted on.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Which changes count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// Any change to a plugin's files (`.wasm`, `.toml`, `.sig`) or to [`RELOAD_TRIGGER`].
    Everything,
    /// Only [`RELOAD_TRIGGER`].
    TriggerOnly,
}

/// A running watch; dropping it stops watching.
pub struct DirectoryWatch {
    _watcher: RecommendedWatcher,
    requested: Arc<AtomicBool>,
}

impl DirectoryWatch {
    /// Whether [`RELOAD_TRIGGER`] was touched since the last time this was asked (an explicit request to reload,
    /// which also retries plugins that failed to load).
    pub fn take_request(&self) -> bool {
        self.requested.swap(false, Ordering::SeqCst)
    }
}

impl std::fmt::Debug for DirectoryWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectoryWatch")
    }
}

/// Watches `dir` (which must exist; call from inside the async runtime). Each burst of relevant changes, once
/// quiet, sends one `()` on the returned channel; bursts that end while the previous signal is unread merge
/// into it.
pub fn watch(dir: &Path, mode: WatchMode) -> notify::Result<(DirectoryWatch, mpsc::Receiver<()>)> {
    let (events, mut raw) = mpsc::unbounded_channel::<()>();
    let requested = Arc::new(AtomicBool::new(false));
    let noted = requested.clone();
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<Event>| match result {
        Ok(event) if relevant(&event, mode) => {
            if event.paths.iter().any(|path| is_trigger(path)) {
                noted.store(true, Ordering::SeqCst);
            }
            let _ = events.send(());
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "watching the plugins directory failed for a moment"),
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    let (signal, signals) = mpsc::channel(1);
    tokio::spawn(async move {
        while raw.recv().await.is_some() {
            loop {
                match tokio::time::timeout(DEBOUNCE, raw.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
            // Full means a reload is already pending, which will see this change too.
            let _ = signal.try_send(());
        }
    });
    Ok((DirectoryWatch { _watcher: watcher, requested }, signals))
}

fn relevant(event: &Event, mode: WatchMode) -> bool {
    // The kernel dropped events (an inotify queue overflow): anything may have changed.
    if event.need_rescan() {
        return true;
    }
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.iter().any(|path| match mode {
        WatchMode::Everything => is_trigger(path) || is_plugin_file(path),
        WatchMode::TriggerOnly => is_trigger(path),
    })
}

fn is_trigger(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == RELOAD_TRIGGER)
}

/// A component, manifest or signature (not a temporary file being staged next to them).
fn is_plugin_file(path: &Path) -> bool {
    let hidden = path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.'));
    !hidden && path.extension().is_some_and(|ext| ext == "wasm" || ext == "toml" || ext == "sig")
}

/// Asks servers watching `dir` to reload (what `fastintercom plugins reload` does).
pub fn request_reload(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let trigger = dir.join(RELOAD_TRIGGER);
    let stamp = format!("{}\n", crate::sync::unix_now());
    std::fs::write(&trigger, stamp)?;
    Ok(trigger)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, file: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from("/plugins").join(file))
    }

    #[test]
    fn reading_files_and_staging_temporaries_do_not_count_as_changes() {
        use notify::event::{AccessKind, CreateKind, ModifyKind, RenameMode};
        let everything = WatchMode::Everything;
        assert!(!relevant(&event(EventKind::Access(AccessKind::Any), "swap.wasm"), everything));
        assert!(!relevant(&event(EventKind::Create(CreateKind::File), ".swap.wasm.tmp"), everything));
        assert!(!relevant(&event(EventKind::Create(CreateKind::File), "notes.txt"), everything));
        assert!(relevant(&event(EventKind::Modify(ModifyKind::Name(RenameMode::To)), "swap.wasm"), everything));
        assert!(relevant(&event(EventKind::Remove(notify::event::RemoveKind::File), "swap.toml"), everything));
        assert!(relevant(&event(EventKind::Create(CreateKind::File), ".reload"), everything));
        let trigger_only = WatchMode::TriggerOnly;
        assert!(!relevant(&event(EventKind::Create(CreateKind::File), "swap.wasm"), trigger_only));
        assert!(relevant(&event(EventKind::Modify(ModifyKind::Any), ".reload"), trigger_only));
    }
}
