//! `wharf retention --dry-run`: what every repository's retention rule
//! would remove now. Removals are the server's to make (its scheduled job,
//! or `POST /api/v1/repositories/{name}/retention`): a running server
//! caches the documents they change, and only it drops them.

use wharf::config::Settings;
use wharf::services::Services;

pub async fn retention(settings: Settings, dry_run: bool) -> anyhow::Result<()> {
    if !dry_run {
        anyhow::bail!(
            "retention rules are applied by the server (its scheduled job, or \
             POST /api/v1/repositories/<name>/retention); `wharf retention --dry-run` previews them"
        );
    }
    let services = Services::open(settings).await?;
    let report = wharf::retention::run(&services, true).await?;
    if report.is_empty() {
        println!("no repository has a retention rule");
    }
    for (repo, removals, _) in report {
        let bytes: i64 = removals.iter().map(|r| r.bytes).sum();
        println!(
            "{repo}: would remove {} versions ({bytes} bytes)",
            removals.len()
        );
        for removal in removals {
            println!(
                "  {} {} ({} bytes)",
                removal.package, removal.version, removal.bytes
            );
        }
    }
    Ok(())
}
