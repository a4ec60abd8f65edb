//! Hot reload: watch `plugin-registry.toml` and every plugin's directory.
//!
//! Directories, not files, are watched: build tools and editors replace files
//! by rename, which drops a watch on the old inode. Events are debounced and
//! then the whole registry is re-applied; unchanged plugins are recognised by
//! their hash and kept as they are.

use super::Runtime;
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Watches until the process ends.
pub fn watch(runtime: Arc<Runtime>) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut debouncer = new_debouncer(
        Duration::from_millis(300),
        None,
        move |result: DebounceEventResult| {
            if result.is_ok_and(|events| events.iter().any(|e| !e.kind.is_access())) {
                let _ = tx.send(());
            }
        },
    )?;
    let mut watched = BTreeSet::new();
    rewatch(&runtime, &mut debouncer, &mut watched);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            while rx.try_recv().is_ok() {}
            runtime.reload().await;
            // The registry may name new directories.
            rewatch(&runtime, &mut debouncer, &mut watched);
        }
    });
    Ok(())
}

fn rewatch<W: notify::Watcher, C: notify_debouncer_full::FileIdCache>(
    runtime: &Runtime,
    debouncer: &mut notify_debouncer_full::Debouncer<W, C>,
    watched: &mut BTreeSet<PathBuf>,
) {
    let mut dirs: BTreeSet<PathBuf> = runtime
        .status()
        .iter()
        .filter_map(|s| PathBuf::from(&s.path).parent().map(PathBuf::from))
        .collect();
    if let Some(dir) = runtime.registry_path.parent() {
        dirs.insert(if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir.to_path_buf()
        });
    }
    for dir in dirs.difference(&watched.clone()) {
        match debouncer.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                watched.insert(dir.clone());
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch for plugin changes")
            }
        }
    }
}
