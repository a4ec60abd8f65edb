//! `wharf backup DIR` and `wharf restore DIR` for the embedded default:
//! SQLite and local files in the data directory.
//!
//! A backup is taken while a server keeps serving and writing. The database
//! is copied first, in one read transaction; the blobs copied afterwards are
//! exactly those the copy lists. That is consistent because a blob's file is
//! put in place (complete, verified, synced) before its row is inserted,
//! and a stored file is never rewritten: every row the snapshot
//! holds names a file that existed when it was taken, with the bytes its
//! address says. Only quarantine or garbage collection remove a file; if one
//! the snapshot lists is gone when it is copied, the backup fails and says to
//! run it again (a GC pass and a backup may overlap; the rare loser repeats).
//!
//! The backup directory mirrors a data directory: `wharf.sqlite`,
//! `objects/blobs/…`, `registry-token.key`, `signing-keys/`, and the manifest
//! `wharf-backup.json`, written last: a directory without it is not a
//! backup, and restore refuses it.

use crate::config::Settings;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const MANIFEST: &str = "wharf-backup.json";
/// The layout of a backup directory; restore refuses any other.
const FORMAT: u32 = 1;
const DATABASE: &str = crate::config::DATABASE_FILE;
const TOKEN_KEY: &str = "registry-token.key";
const SIGNING_KEYS: &str = "signing-keys";

/// The schema this binary knows, to refuse a backup from a newer one.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// An HTTP date (RFC 9110), readable and unambiguous.
    pub created_at: String,
    pub wharf_version: String,
    /// The last migration the backed-up database has.
    pub schema_version: i64,
    pub blobs: u64,
    pub blob_bytes: u64,
}

/// A server on PostgreSQL or on a blob store of its own is backed up with
/// the tools of each (docs/operations.md).
fn embedded_only(settings: &Settings) -> anyhow::Result<()> {
    if settings.database_url.is_some() || settings.blob_store.is_some() {
        anyhow::bail!(
            "wharf backup and restore cover the data directory's own database and blobs; \
             with database_url or blob_store set, back up with the tools of each \
             (pg_dump for PostgreSQL, see docs/operations.md)"
        );
    }
    Ok(())
}

/// Backs up the data directory of `settings` into `dir` (missing or empty).
pub async fn backup(settings: &Settings, dir: &Path) -> anyhow::Result<Manifest> {
    embedded_only(settings)?;
    let live = settings.data_path(DATABASE);
    if !live.is_file() {
        bail!(
            "no database at {}: is the data directory right?",
            live.display()
        );
    }
    let created = claim_empty(dir, "backup directory")?;
    let data = settings.data_dir.canonicalize()?;
    if dir.canonicalize()?.starts_with(&data) {
        clear(dir, created);
        bail!("the backup directory must be outside the data directory, to survive its loss");
    }
    match write_backup(&settings.data_dir, dir).await {
        Ok(manifest) => Ok(manifest),
        Err(e) => {
            // Nothing in `dir` was there before: leave it as it was found.
            clear(dir, created);
            Err(e.context(format!("backup failed; {} was emptied", dir.display())))
        }
    }
}

async fn write_backup(data: &Path, dir: &Path) -> anyhow::Result<Manifest> {
    // VACUUM INTO rather than the online backup API: one statement, one read
    // transaction (in WAL mode writers go on meanwhile), a compact copy, and
    // sqlx exposes it without raw handles. The backup API would restart its
    // copy whenever a writer changed a page, which a busy server always does.
    let mut live = connect(&data.join(DATABASE), false).await?;
    let snapshot = dir.join(DATABASE);
    let target = snapshot
        .to_str()
        .context("the backup directory's path is not UTF-8")?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut live)
        .await
        .context("taking the database snapshot")?;
    let mut db = connect(&snapshot, false).await?;
    // One file, no WAL beside it; upload sessions are not backed up (their
    // partial files are not), so their rows go: clients start those again.
    sqlx::query("PRAGMA journal_mode = DELETE")
        .execute(&mut db)
        .await?;
    sqlx::query("DELETE FROM uploads").execute(&mut db).await?;
    let schema_version = schema_version(&mut db).await?;
    let (count, bytes) = blobs_in_service(&mut db).await?;
    eprintln!("database snapshot taken; copying {count} blobs ({bytes} bytes)");
    let bar = progress(bytes);
    let copied = copy_blobs(&mut db, &data.join("objects"), &dir.join("objects"), &bar).await;
    bar.finish_and_clear();
    if let Err(fault) = copied {
        return Err(explain_at_backup(&mut live, fault).await);
    }
    db.close().await?;
    let (from, to) = (data.to_path_buf(), dir.to_path_buf());
    blocking(move || copy_keys(&from, &to)).await?;
    let manifest = Manifest {
        format: FORMAT,
        created_at: httpdate::fmt_http_date(std::time::SystemTime::now()),
        wharf_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        blobs: count,
        blob_bytes: bytes,
    };
    let (to, text) = (dir.to_path_buf(), serde_json::to_vec_pretty(&manifest)?);
    blocking(move || write_manifest(&to, &text)).await?;
    println!(
        "backed up the database, {count} blobs ({bytes} bytes) and the keys to {}",
        dir.display()
    );
    Ok(manifest)
}

/// Restores the backup in `dir` into the data directory of `settings`,
/// which must be missing or empty.
pub async fn restore(settings: &Settings, dir: &Path) -> anyhow::Result<Manifest> {
    embedded_only(settings)?;
    let manifest = read_manifest(dir)?;
    // The backup is checked whole before the target is touched.
    let mut db = connect(&dir.join(DATABASE), true).await?;
    let check: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut db)
        .await?;
    if check != "ok" {
        bail!("the backup's database is damaged: {check}");
    }
    check_schema(&applied_migrations(&mut db).await?, &manifest)?;
    let (count, bytes) = blobs_in_service(&mut db).await?;
    if (count, bytes) != (manifest.blobs, manifest.blob_bytes) {
        bail!(
            "the backup's database lists {count} blobs ({bytes} bytes), its manifest {} ({} bytes): \
             it is not the backup the manifest describes",
            manifest.blobs,
            manifest.blob_bytes
        );
    }
    let target = &settings.data_dir;
    let created = claim_empty(target, "data directory")?;
    match write_restore(&mut db, dir, target, &manifest).await {
        Ok(()) => Ok(manifest),
        Err(e) => {
            clear(target, created);
            Err(e.context(format!("restore failed; {} was emptied", target.display())))
        }
    }
}

async fn write_restore(
    db: &mut SqliteConnection,
    dir: &Path,
    target: &Path,
    manifest: &Manifest,
) -> anyhow::Result<()> {
    eprintln!(
        "restoring {} blobs ({} bytes) backed up {}",
        manifest.blobs, manifest.blob_bytes, manifest.created_at
    );
    let bar = progress(manifest.blob_bytes);
    let copied = copy_blobs(db, &dir.join("objects"), &target.join("objects"), &bar).await;
    bar.finish_and_clear();
    copied.map_err(|fault| match fault {
        Fault::Missing(b3) => anyhow::anyhow!("the backup lacks blob {b3}: it is damaged"),
        Fault::Corrupt(b3) => anyhow::anyhow!("blob {b3} in the backup is corrupt"),
        Fault::Other(e) => e,
    })?;
    let (from, to) = (dir.to_path_buf(), target.to_path_buf());
    blocking(move || {
        copy_keys(&from, &to)?;
        let db = to.join(DATABASE);
        fs::copy(from.join(DATABASE), &db)?;
        File::open(&db)?.sync_all()?;
        sync_all_under(&to)
    })
    .await?;
    // Applies any migration newer than the backup now, as `serve` would,
    // so a problem shows here rather than at the first start.
    crate::store::open_sqlite(&target.join(DATABASE))
        .await?
        .close()
        .await;
    println!(
        "restored the database, {} blobs ({} bytes) and the keys into {}",
        manifest.blobs,
        manifest.blob_bytes,
        target.display()
    );
    Ok(())
}

/// A blob that could not be copied as its address says.
#[derive(Debug)]
enum Fault {
    Missing(String),
    Corrupt(String),
    Other(anyhow::Error),
}

/// Why a blob the snapshot lists could not be backed up, asking the live
/// database what became of it since.
async fn explain_at_backup(live: &mut SqliteConnection, fault: Fault) -> anyhow::Error {
    let state = |b3: String| {
        sqlx::query_scalar::<_, bool>("SELECT corrupt_at IS NULL FROM blobs WHERE blake3 = ?")
            .bind(b3)
    };
    match fault {
        Fault::Missing(b3) => match state(b3.clone()).fetch_optional(live).await {
            Ok(None) => anyhow::anyhow!(
                "blob {b3} was garbage-collected after the snapshot was taken: run `wharf backup` again"
            ),
            Ok(Some(false)) => anyhow::anyhow!(
                "blob {b3} was quarantined after the snapshot was taken: run `wharf backup` again"
            ),
            _ => anyhow::anyhow!(
                "blob {b3} is missing from the data directory: if garbage collection was \
                 running, run `wharf backup` again; otherwise run `wharf fsck`, which quarantines it"
            ),
        },
        Fault::Corrupt(b3) => anyhow::anyhow!(
            "blob {b3} in the data directory does not match its address: run `wharf fsck`, \
             which quarantines it, then `wharf backup` again"
        ),
        Fault::Other(e) => e,
    }
}

/// Copies every blob in service that `db` lists from `from` to `to` (both
/// `objects/` directories), each hashed as it is copied.
async fn copy_blobs(
    db: &mut SqliteConnection,
    from: &Path,
    to: &Path,
    bar: &ProgressBar,
) -> Result<(), Fault> {
    let mut after = String::new();
    loop {
        let page: Vec<(String, i64)> = sqlx::query_as(
            "SELECT blake3, size FROM blobs WHERE corrupt_at IS NULL AND blake3 > $1
             ORDER BY blake3 LIMIT 500",
        )
        .bind(&after)
        .fetch_all(&mut *db)
        .await
        .map_err(|e| Fault::Other(e.into()))?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        after = last.clone();
        let (from, to, bar) = (from.to_path_buf(), to.to_path_buf(), bar.clone());
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0; 256 * 1024];
            for (b3, _) in &page {
                let (source, copy) = (blob_file(&from, b3)?, blob_file(&to, b3)?);
                copy_verified(&source, &copy, b3, &mut buf, &bar)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| Fault::Other(e.into()))??;
    }
}

/// Where a blob lives under an `objects/` directory; a listed address that
/// is not one (a tampered backup) never becomes a path.
fn blob_file(objects: &Path, b3: &str) -> Result<PathBuf, Fault> {
    let valid = b3.len() == 64 && b3.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !valid {
        return Err(Fault::Other(anyhow::anyhow!(
            "{b3:?} is not a blob address"
        )));
    }
    Ok(objects
        .join("blobs")
        .join(&b3[..2])
        .join(&b3[2..4])
        .join(b3))
}

/// Copies one blob, refusing bytes that do not hash to its address. The copy
/// appears at its address only complete: an interrupted run leaves no
/// truncated blob behind a valid name.
fn copy_verified(
    from: &Path,
    to: &Path,
    b3: &str,
    buf: &mut [u8],
    bar: &ProgressBar,
) -> Result<(), Fault> {
    let other =
        |e: io::Error| Fault::Other(anyhow::Error::new(e).context(to.display().to_string()));
    let mut source = match File::open(from) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Fault::Missing(b3.into())),
        opened => opened.map_err(other)?,
    };
    fs::create_dir_all(to.parent().expect("a blob path has parents")).map_err(other)?;
    let part = to.with_extension("part");
    let mut copy = File::create(&part).map_err(other)?;
    let mut hasher = blake3::Hasher::new();
    loop {
        let n = source.read(buf).map_err(other)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        copy.write_all(&buf[..n]).map_err(other)?;
        bar.inc(n as u64);
    }
    if hasher.finalize().to_hex().as_str() != b3 {
        fs::remove_file(&part).ok();
        return Err(Fault::Corrupt(b3.into()));
    }
    fs::rename(&part, to).map_err(other)
}

/// Copies `registry-token.key` and `signing-keys/` from one directory to
/// another, every file 0600 and every directory 0700 (they are secrets).
fn copy_keys(from: &Path, to: &Path) -> anyhow::Result<()> {
    if from.join(TOKEN_KEY).exists() {
        copy_private(&from.join(TOKEN_KEY), &to.join(TOKEN_KEY))?;
    }
    if from.join(SIGNING_KEYS).is_dir() {
        copy_tree(&from.join(SIGNING_KEYS), &to.join(SIGNING_KEYS))?;
    }
    Ok(())
}

/// A key id's directory holds `<fingerprint>.asc` files and `current`, the
/// fingerprint that signs. `current` is copied first: a key rotated meanwhile
/// then finds its previous key still there (`wharf key remove` refuses the
/// signing key), and the check after says whether the pair held together.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(to)?;
    let mut entries = fs::read_dir(from)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name() != "current");
    for entry in entries {
        let name = entry.file_name();
        let (source, copy) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&source, &copy)?;
        } else if !name.to_string_lossy().ends_with(".tmp") {
            copy_private(&source, &copy)?;
        }
    }
    if let Ok(current) = fs::read_to_string(to.join("current")) {
        let key = to.join(format!("{}.asc", current.trim()));
        if !key.exists() {
            bail!(
                "the signing key {} changed while it was copied: run the command again",
                from.display()
            );
        }
    }
    Ok(())
}

fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = fs::read(from).with_context(|| from.display().to_string())?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .with_context(|| to.display().to_string())?;
    file.write_all(&bytes)?;
    Ok(())
}

/// The manifest is the mark of a finished backup: everything else is on disk
/// before it exists, and it appears whole (renamed into place).
fn write_manifest(dir: &Path, text: &[u8]) -> anyhow::Result<()> {
    sync_all_under(dir)?;
    let part = dir.join(format!("{MANIFEST}.part"));
    fs::write(&part, text)?;
    File::open(&part)?.sync_all()?;
    fs::rename(&part, dir.join(MANIFEST))?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = match fs::read(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!(
            "{} has no {MANIFEST}: it is not a finished backup (an interrupted `wharf backup` \
             leaves none)",
            dir.display()
        ),
        read => read.with_context(|| path.display().to_string())?,
    };
    let manifest: Manifest =
        serde_json::from_slice(&text).with_context(|| format!("reading {}", path.display()))?;
    if manifest.format != FORMAT {
        bail!(
            "{} is a backup of format {} by wharf {}; this wharf reads format {FORMAT}",
            dir.display(),
            manifest.format,
            manifest.wharf_version
        );
    }
    Ok(manifest)
}

/// Every migration the backup's database has applied must be one this
/// binary has, unchanged; newer ones it lacks are applied on open.
fn check_schema(applied: &[(i64, Vec<u8>)], manifest: &Manifest) -> anyhow::Result<()> {
    for (version, checksum) in applied {
        let known = MIGRATOR
            .iter()
            .find(|m| m.version == *version && m.migration_type.is_up_migration());
        match known {
            None => bail!(
                "the backup's database has migration {version}, which this wharf ({}) does not \
                 know: restore with wharf {} or later",
                env!("CARGO_PKG_VERSION"),
                manifest.wharf_version
            ),
            Some(m) if *m.checksum != **checksum => {
                bail!("the backup's migration {version} differs from this wharf's")
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn applied_migrations(db: &mut SqliteConnection) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(db)
    .await?)
}

async fn schema_version(db: &mut SqliteConnection) -> anyhow::Result<i64> {
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(db)
            .await?;
    Ok(version.unwrap_or(0))
}

/// Count and bytes of the blobs in service (quarantined ones have no file
/// at their address; their rows come along and stay quarantined).
async fn blobs_in_service(db: &mut SqliteConnection) -> anyhow::Result<(u64, u64)> {
    let (count, bytes): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(size), 0) FROM blobs WHERE corrupt_at IS NULL",
    )
    .fetch_one(db)
    .await?;
    Ok((count as u64, bytes as u64))
}

async fn connect(path: &Path, read_only: bool) -> anyhow::Result<SqliteConnection> {
    // No journal_mode here: setting one on the live database would change it.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(Duration::from_secs(10));
    SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// Creates `dir` (0700: it will hold keys) or checks it is empty; whether it
/// was created.
fn claim_empty(dir: &Path, what: &str) -> anyhow::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "the {what} {} is not empty: use a new or empty directory",
                    dir.display()
                );
            }
            Ok(false)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
            Ok(true)
        }
        Err(e) => Err(anyhow::Error::new(e).context(dir.display().to_string())),
    }
}

/// Empties a directory `claim_empty` found empty (or removes it, if it
/// created it): whatever is in it now was written by this run.
fn clear(dir: &Path, created: bool) {
    if created {
        fs::remove_dir_all(dir).ok();
        return;
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type().is_ok_and(|t| t.is_dir()) {
            true => fs::remove_dir_all(path).ok(),
            false => fs::remove_file(path).ok(),
        };
    }
}

/// Everything written under `dir` reaches the disk, directory entries
/// included: one filesystem sync instead of an fsync per file and directory.
fn sync_all_under(dir: &Path) -> anyhow::Result<()> {
    let handle = File::open(dir)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: syncfs only reads the descriptor, which `handle` keeps open.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
    }
    #[cfg(not(target_os = "linux"))]
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe {
        libc::sync()
    };
    handle.sync_all()?;
    Ok(())
}

/// A byte progress bar on a terminal; elsewhere the summary lines suffice.
fn progress(total: u64) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("a valid template"),
    );
    bar
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::digest::Want;
    use std::os::unix::fs::PermissionsExt;

    fn settings(data: &Path) -> Settings {
        Settings {
            data_dir: data.to_path_buf(),
            ..Settings::default()
        }
    }

    /// A data directory with blobs, an upload session and a signing key;
    /// the addresses of its blobs.
    async fn data_dir(root: &Path) -> (Settings, Vec<String>) {
        let settings = settings(&root.join("data"));
        let services = crate::services::Services::open(settings.clone())
            .await
            .unwrap();
        let mut addresses = Vec::new();
        for i in 0..20u32 {
            let bytes: Vec<u8> = (0..i * 1000).map(|n| (n * i) as u8).collect();
            let info = services
                .blobs
                .put_bytes(bytes.into(), Want::default())
                .await
                .unwrap();
            addresses.push(info.blake3);
        }
        services.uploads.start("oci").await.unwrap();
        let key = settings.data_path("signing-keys/deb");
        fs::create_dir_all(&key).unwrap();
        fs::write(key.join("current"), "F00D").unwrap();
        fs::write(key.join("F00D.asc"), "secret").unwrap();
        (settings, addresses)
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    async fn count(db: &Path, table: &str) -> i64 {
        let mut db = connect(db, true).await.unwrap();
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut db)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn round_trip() {
        let root = tempfile::tempdir().unwrap();
        let (live, addresses) = data_dir(root.path()).await;
        let dir = root.path().join("backup");
        let made = backup(&live, &dir).await.unwrap();
        assert_eq!(made.blobs, addresses.len() as u64);
        assert_eq!(made.blob_bytes, (0..20).map(|i| i * 1000).sum::<u64>());
        assert_eq!(read_manifest(&dir).unwrap(), made);
        assert_eq!(mode(&dir.join(TOKEN_KEY)), 0o600);
        assert_eq!(mode(&dir.join("signing-keys/deb/F00D.asc")), 0o600);
        // The session's file is not in the backup, nor is its row.
        assert_eq!(count(&dir.join(DATABASE), "uploads").await, 0);
        assert_eq!(count(&live.data_path(DATABASE), "uploads").await, 1);

        let restored = settings(&root.path().join("restored"));
        assert_eq!(restore(&restored, &dir).await.unwrap(), made);
        for b3 in &addresses {
            let original = fs::read(blob_file(&live.data_path("objects"), b3).unwrap()).unwrap();
            let copy = fs::read(blob_file(&restored.data_path("objects"), b3).unwrap()).unwrap();
            assert_eq!(original, copy);
        }
        for key in [
            TOKEN_KEY,
            "signing-keys/deb/current",
            "signing-keys/deb/F00D.asc",
        ] {
            assert_eq!(
                fs::read(live.data_path(key)).unwrap(),
                fs::read(restored.data_path(key)).unwrap()
            );
            assert_eq!(mode(&restored.data_path(key)), 0o600);
        }
        assert_eq!(count(&restored.data_path(DATABASE), "blobs").await, 20);
    }

    #[tokio::test]
    async fn refusals_leave_directories_as_found() {
        let root = tempfile::tempdir().unwrap();
        let (live, _) = data_dir(root.path()).await;
        let busy = root.path().join("busy");
        fs::create_dir_all(&busy).unwrap();
        fs::write(busy.join("notes"), "mine").unwrap();
        let err = backup(&live, &busy).await.unwrap_err().to_string();
        assert!(err.contains("is not empty"), "{err}");
        let inside = live.data_path("backups");
        let err = backup(&live, &inside).await.unwrap_err().to_string();
        assert!(err.contains("outside the data directory"), "{err}");
        assert!(!inside.exists());

        // Restore: no manifest, no restore; never into a used directory.
        let err = restore(&settings(&root.path().join("r")), &busy).await;
        let err = err.unwrap_err().to_string();
        assert!(err.contains("no wharf-backup.json"), "{err}");
        let dir = root.path().join("backup");
        backup(&live, &dir).await.unwrap();
        let err = restore(&settings(&busy), &dir)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not empty"), "{err}");
        assert_eq!(fs::read_dir(&busy).unwrap().count(), 1);
        // A manifest that does not describe the directory's database.
        let mut manifest = read_manifest(&dir).unwrap();
        manifest.blobs += 1;
        fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
        let target = root.path().join("r2");
        let err = restore(&settings(&target), &dir)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not the backup the manifest describes"),
            "{err}"
        );
        assert!(!target.exists());
    }

    #[tokio::test]
    async fn missing_or_corrupt_blobs_fail_the_backup() {
        let root = tempfile::tempdir().unwrap();
        let (live, addresses) = data_dir(root.path()).await;
        let objects = live.data_path("objects");
        let dir = root.path().join("backup");
        fs::write(blob_file(&objects, &addresses[3]).unwrap(), "rot").unwrap();
        let err = backup(&live, &dir).await.unwrap_err();
        assert!(
            format!("{err:#}").contains("does not match its address"),
            "{err:#}"
        );
        assert!(!dir.exists(), "a failed backup leaves nothing");
        fs::remove_file(blob_file(&objects, &addresses[3]).unwrap()).unwrap();
        let err = backup(&live, &dir).await.unwrap_err();
        assert!(format!("{err:#}").contains("wharf fsck"), "{err:#}");

        // Collected after the snapshot: the live database no longer lists it.
        let mut db = connect(&live.data_path(DATABASE), false).await.unwrap();
        let gone = Fault::Missing("ab".repeat(32));
        let err = explain_at_backup(&mut db, gone).await.to_string();
        assert!(err.contains("garbage-collected") && err.contains("run `wharf backup` again"));
    }

    #[tokio::test]
    async fn a_corrupt_backup_is_not_restored() {
        let root = tempfile::tempdir().unwrap();
        let (live, addresses) = data_dir(root.path()).await;
        let dir = root.path().join("backup");
        backup(&live, &dir).await.unwrap();
        fs::write(blob_file(&dir.join("objects"), &addresses[5]).unwrap(), "x").unwrap();
        let target = root.path().join("restored");
        let err = restore(&settings(&target), &dir).await.unwrap_err();
        assert!(
            format!("{err:#}").contains("in the backup is corrupt"),
            "{err:#}"
        );
        assert!(!target.exists());
    }

    #[test]
    fn schemas_this_binary_does_not_know_are_refused() {
        let manifest = Manifest {
            format: FORMAT,
            created_at: String::new(),
            wharf_version: "9.9.9".into(),
            schema_version: 0,
            blobs: 0,
            blob_bytes: 0,
        };
        let known: Vec<(i64, Vec<u8>)> = MIGRATOR
            .iter()
            .map(|m| (m.version, m.checksum.to_vec()))
            .collect();
        check_schema(&known, &manifest).unwrap();
        check_schema(&known[..1], &manifest).unwrap();
        let mut newer = known.clone();
        newer.push((known.last().unwrap().0 + 1, vec![0; 48]));
        let err = check_schema(&newer, &manifest).unwrap_err().to_string();
        assert!(err.contains("wharf 9.9.9 or later"), "{err}");
        let mut changed = known.clone();
        changed[0].1 = vec![1; 48];
        assert!(check_schema(&changed, &manifest).is_err());
        assert!(blob_file(Path::new("o"), "../../etc/passwd").is_err());
    }
}
