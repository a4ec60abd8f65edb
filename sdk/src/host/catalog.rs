//! The catalog of the current repository.
//!
//! Writes are [`Write`]s applied by [`apply`] in one transaction; the single
//! write functions are one-element batches. Reads return `Err` when the store
//! fails (the router answers 503): a plugin never mistakes an outage for
//! "absent". Lists are paged; the `all_*` functions page through a whole list
//! for documents that by definition list everything (a packument, an index).

use super::imp::raw;
use crate::types::StoreError;
pub use crate::types::{Asset, Owner, Publication, VersionRow, Write};

/// The page size the `all_*` helpers ask for (the host's cap).
pub const PAGE: u32 = 1_000;

/// Applies `writes` in order, all or nothing.
pub fn apply(writes: &[Write]) -> Result<(), StoreError> {
    raw::apply(writes)
}

pub fn publish(p: Publication) -> Result<(), StoreError> {
    apply(&[Write::Publish(p)])
}

/// Adds an asset to a version (or, with `version: None`, to the package);
/// `replace` swaps an asset of the same owner at the same path.
pub fn put_asset(owner: Owner, asset: Asset, replace: bool) -> Result<(), StoreError> {
    apply(&[Write::PutAsset((owner, asset, replace))])
}

pub fn remove_asset(package: &str, path: &str) -> Result<(), StoreError> {
    apply(&[Write::RemoveAsset((package.into(), path.into()))])
}

pub fn set_yanked(package: &str, version: &str, yanked: bool) -> Result<(), StoreError> {
    apply(&[Write::SetYanked((package.into(), version.into(), yanked))])
}

pub fn set_deprecated(
    package: &str,
    version: &str,
    message: Option<&str>,
) -> Result<(), StoreError> {
    apply(&[Write::SetDeprecated((
        package.into(),
        version.into(),
        message.map(str::to_string),
    ))])
}

pub fn set_tag(package: &str, tag: &str, version: &str) -> Result<(), StoreError> {
    apply(&[Write::SetTag((package.into(), tag.into(), version.into()))])
}

pub fn remove_tag(package: &str, tag: &str) -> Result<(), StoreError> {
    apply(&[Write::RemoveTag((package.into(), tag.into()))])
}

pub fn delete_version(package: &str, version: &str) -> Result<(), StoreError> {
    apply(&[Write::DeleteVersion((package.into(), version.into()))])
}

pub fn delete_package(package: &str) -> Result<(), StoreError> {
    apply(&[Write::DeletePackage(package.into())])
}

/// Format state of `package` (or of the repository, with `None`).
pub fn kv_put(package: Option<&str>, key: &str, value: &[u8]) -> Result<(), StoreError> {
    apply(&[Write::KvPut((
        package.map(str::to_string),
        key.into(),
        value.to_vec(),
    ))])
}

pub fn kv_delete(package: Option<&str>, key: &str) -> Result<(), StoreError> {
    apply(&[Write::KvDelete((package.map(str::to_string), key.into()))])
}

pub fn kv_get(package: Option<&str>, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    raw::kv_get(package, key)
}

pub fn has_package(package: &str) -> Result<bool, StoreError> {
    raw::has_package(package)
}

pub fn get_version(package: &str, version: &str) -> Result<Option<VersionRow>, StoreError> {
    raw::get_version(package, version)
}

/// Up to `limit` versions published after `after`, oldest first.
pub fn list_versions(
    package: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<VersionRow>, StoreError> {
    raw::list_versions(package, after, limit)
}

/// Every version of `package`, oldest first.
pub fn all_versions(package: &str) -> Result<Vec<VersionRow>, StoreError> {
    all(
        |after| list_versions(package, after, PAGE),
        |v| v.version.clone(),
    )
}

pub fn find_asset(path: &str) -> Result<Option<Asset>, StoreError> {
    raw::find_asset(path)
}

/// Up to `limit` assets of `owner` under the path `prefix`, after the path
/// `after`, by path.
pub fn list_assets(
    owner: &Owner,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Asset>, StoreError> {
    raw::list_assets(owner, prefix, after, limit)
}

/// Every asset of one version of `package` (or of the package itself).
pub fn all_assets(package: &str, version: Option<&str>) -> Result<Vec<Asset>, StoreError> {
    let owner = Owner {
        package: package.into(),
        version: version.map(str::to_string),
    };
    all(
        |after| list_assets(&owner, None, after, PAGE),
        |a| a.path.clone(),
    )
}

pub fn get_tag(package: &str, tag: &str) -> Result<Option<String>, StoreError> {
    raw::get_tag(package, tag)
}

pub fn list_tags(
    package: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<(String, String)>, StoreError> {
    raw::list_tags(package, after, limit)
}

/// Every tag of `package` with the version it points at, by tag.
pub fn all_tags(package: &str) -> Result<Vec<(String, String)>, StoreError> {
    all(|after| list_tags(package, after, PAGE), |(t, _)| t.clone())
}

pub fn list_packages(
    prefix: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    raw::list_packages(prefix, after, limit)
}

/// The latest version of each package matching `text`, with the hit count.
pub fn search(text: &str, offset: u32, limit: u32) -> Result<(u64, Vec<VersionRow>), StoreError> {
    raw::search(text, offset, limit)
}

/// Pages through a list keyed by `key` until a short page.
fn all<T>(
    mut page: impl FnMut(Option<&str>) -> Result<Vec<T>, StoreError>,
    key: impl Fn(&T) -> String,
) -> Result<Vec<T>, StoreError> {
    let mut out: Vec<T> = Vec::new();
    loop {
        let after = out.last().map(&key);
        let next = page(after.as_deref())?;
        let done = next.len() < PAGE as usize;
        out.extend(next);
        if done {
            return Ok(out);
        }
    }
}
