//! Retention: the versions a repository's rule removes
//! (`[[repository]] retention`, `repositories::Retention`). A plan is
//! always computed before anything is removed, and is what the previews
//! show (`wharf retention --dry-run`, `GET /api/v1/repositories/{name}/retention`);
//! applying it deletes each version through the catalog like a client's
//! delete would, one at a time, each in the audit log and the metrics.
//! The blobs they leave unreferenced are reclaimed by garbage collection.
//!
//! Never removed: one of a package's `keep_last` newest versions, a version
//! a tag points at (npm's `latest`, an image tag), one the pattern does not
//! match, one younger than an age of the rule.

use crate::auth::tokens::glob_matches;
use crate::repositories::Retention;
use crate::services::Services;
use crate::store::StoreError;
use crate::store::catalog::{MAX_PAGE, VersionFacts, Write};

/// Removals one plan lists at most: a later run goes on where it stopped.
pub const MAX_REMOVALS: usize = 10_000;

/// A version the rule removes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Removal {
    pub package: String,
    pub version: String,
    /// Unix milliseconds.
    pub published_at: i64,
    pub last_download_at: Option<i64>,
    /// The sizes of its files (what garbage collection may reclaim, unless
    /// another version or repository holds the same bytes).
    pub bytes: i64,
}

/// What the rule of `repo` removes now (`now`: Unix milliseconds).
pub async fn plan(
    services: &Services,
    repo: &str,
    rule: &Retention,
    now: i64,
) -> Result<Vec<Removal>, StoreError> {
    // This process's downloads count too.
    services.downloads.flush().await?;
    let catalog = &services.catalog;
    let mut removals = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let packages = catalog
            .list_packages(repo, None, after.as_deref(), MAX_PAGE)
            .await?;
        for package in &packages {
            let mut offset = 0;
            loop {
                let page = catalog
                    .version_facts(repo, package, offset, MAX_PAGE)
                    .await?;
                for (i, facts) in page.iter().enumerate() {
                    let newest = offset as usize + i;
                    if removes(rule, newest, facts, now) {
                        removals.push(Removal {
                            package: package.clone(),
                            version: facts.version.clone(),
                            published_at: facts.published_at,
                            last_download_at: facts.last_download_at,
                            bytes: facts.bytes,
                        });
                        if removals.len() == MAX_REMOVALS {
                            return Ok(removals);
                        }
                    }
                }
                if page.len() < MAX_PAGE as usize {
                    break;
                }
                offset += MAX_PAGE;
            }
        }
        if packages.len() < MAX_PAGE as usize {
            return Ok(removals);
        }
        after = packages.last().cloned();
    }
}

/// Whether the rule removes a version, the `newest`-th of its package
/// (0: the newest).
fn removes(rule: &Retention, newest: usize, facts: &VersionFacts, now: i64) -> bool {
    let (older_than, idle_for) = rule.ages();
    let older = |age: Option<std::time::Duration>, since: i64| {
        age.is_none_or(|age| since <= now.saturating_sub(age.as_millis() as i64))
    };
    let kept = rule.keep_last.is_some_and(|n| newest < n as usize);
    let matches = (rule.versions.as_deref()).is_none_or(|p| glob_matches(p, &facts.version));
    let last_use = facts.last_download_at.unwrap_or(0).max(facts.published_at);
    !kept
        && !facts.tagged
        && matches
        && older(older_than, facts.published_at)
        && older(idle_for, last_use)
}

/// What applying a plan did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Applied {
    pub removed: u64,
    pub bytes: i64,
}

/// Deletes the versions of a plan, each on its own (a version deleted
/// meanwhile is passed over), recorded in the audit log as `actor`'s.
pub async fn apply(
    services: &Services,
    repo: &str,
    removals: &[Removal],
    actor: &crate::audit::Actor,
) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    for removal in removals {
        let delete = Write::DeleteVersion {
            package: removal.package.clone(),
            version: removal.version.clone(),
        };
        match services.catalog.apply(repo, &[delete]).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        }
        services.doc_cache.invalidate(repo, &removal.package);
        let package = [removal.package.as_str()];
        if let Err(e) = services.catalog.record_change(repo, &package).await {
            tracing::warn!(repo, error = %e, "recording a change failed");
        }
        let target = format!("{}@{}", removal.package, removal.version);
        let audit = &services.audit;
        audit
            .record(actor, "retention-remove", Some(repo), &target, "ok")
            .await;
        tracing::info!(repo, package = %removal.package, version = %removal.version, "retention removed a version");
        metrics::counter!(crate::telemetry::RETENTION_REMOVED, "repo" => repo.to_string())
            .increment(1);
        applied.removed += 1;
        applied.bytes += removal.bytes;
    }
    Ok(applied)
}

/// The rule of every repository that has one, applied (or, dry, only
/// planned): the scheduled job's work.
pub async fn run(
    services: &Services,
    dry_run: bool,
) -> anyhow::Result<Vec<(String, Vec<Removal>, Applied)>> {
    let actor = crate::audit::Actor::retention();
    let mut report = Vec::new();
    for repository in services.repositories.list().await? {
        let Some(rule) = &repository.spec.retention else {
            continue;
        };
        let name = &repository.spec.name;
        let removals = plan(services, name, rule, crate::store::now_millis()).await?;
        let applied = match dry_run {
            true => Applied::default(),
            false => apply(services, name, &removals, &actor).await?,
        };
        report.push((name.clone(), removals, applied));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn facts(
        version: &str,
        published_days_ago: i64,
        downloaded_days_ago: Option<i64>,
    ) -> VersionFacts {
        let now = 1_000 * DAY;
        VersionFacts {
            version: version.into(),
            published_at: now - published_days_ago * DAY,
            last_download_at: downloaded_days_ago.map(|d| now - d * DAY),
            bytes: 10,
            tagged: false,
        }
    }

    fn rule(keep_last: Option<u32>, older_than: Option<&str>, idle: Option<&str>) -> Retention {
        Retention {
            keep_last,
            versions: None,
            older_than: older_than.map(str::to_string),
            not_downloaded_for: idle.map(str::to_string),
        }
    }

    #[test]
    fn every_condition_of_a_rule_must_hold() {
        let now = 1_000 * DAY;
        let old = facts("1.0.0", 100, None);
        // The newest N stay, whatever their age.
        assert!(!removes(&rule(Some(3), None, None), 2, &old, now));
        assert!(removes(&rule(Some(3), None, None), 3, &old, now));
        // Ages: published long enough ago, and not downloaded since.
        assert!(!removes(&rule(Some(1), Some("101d"), None), 5, &old, now));
        assert!(removes(&rule(Some(1), Some("90d"), None), 5, &old, now));
        let used = facts("1.0.0", 100, Some(10));
        assert!(!removes(
            &rule(None, Some("90d"), Some("30d")),
            5,
            &used,
            now
        ));
        assert!(removes(&rule(None, Some("90d"), Some("5d")), 5, &used, now));
        // Never downloaded: idle since its publication.
        assert!(removes(&rule(None, None, Some("30d")), 0, &old, now));
        assert!(!removes(
            &rule(None, None, Some("30d")),
            0,
            &facts("2.0.0", 3, None),
            now
        ));
    }

    #[test]
    fn tagged_and_unmatched_versions_stay() {
        let now = 1_000 * DAY;
        let mut tagged = facts("1.0.0", 100, None);
        tagged.tagged = true;
        assert!(!removes(&rule(Some(1), None, None), 9, &tagged, now));
        let snapshots = Retention {
            versions: Some("*-SNAPSHOT".into()),
            ..rule(Some(1), None, None)
        };
        assert!(!removes(&snapshots, 9, &facts("1.0.0", 100, None), now));
        assert!(removes(
            &snapshots,
            9,
            &facts("1.1.0-SNAPSHOT", 100, None),
            now
        ));
    }
}
