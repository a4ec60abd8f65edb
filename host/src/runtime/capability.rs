//! The policy of a request: what one `handle` call may see and change.
//!
//! The route `classify` returned, once the host granted it, is the request's
//! capability. Every host call of the plugin is checked here, in one place,
//! against both the route's accesses and the caller:
//! - a catalog write needs an access of the route with its action (or admin)
//!   naming its package, or naming none (a repository-wide route), and the
//!   caller's permission for it (a registry token's caller has none outside
//!   the repository the token was issued for; an API token's restrictions
//!   narrow it further, `auth/tokens.rs`);
//! - storing bytes needs a route that writes;
//! - every asset a write makes servable references a blob this request
//!   stored or one this repository already serves;
//! - every package a write changes is the caller's: an owner's, or unclaimed
//!   and then claimed for the caller (`auth/owners.rs`);
//! - `auth.may` answers within the route;
//! - reads are limited to the repository, and bytes read into the guest are
//!   charged to the request's budget;
//! - a package's owners (`capability/owners.rs`) are listed within a route
//!   that reaches the package, and changed only within a route that writes
//!   that very package, by one of its owners or an administrator, to
//!   existing users and teams, never to none; each change is audited;
//! - API tokens (`capability/tokens.rs`) are the caller's own: listed within
//!   a route of the repository; created within a route that writes, with
//!   the caller's password behind the login backoff, by no restricted token,
//!   and never outliving the token that makes them; revoked within a route
//!   that writes (a restricted token only itself); any token may revoke
//!   itself whatever the route;
//! - a signing key signs only for a plugin granted its key id
//!   (`signing_keys` in `plugin-registry.toml`); the key never leaves the
//!   host.

mod owners;
#[cfg(test)]
mod tests;
mod tokens;

pub use tokens::{CreateError, NewToken};

use super::registry::Policy;
use crate::auth::owners::Standing;
use crate::auth::{Action, Caller};
use crate::services::Services;
use crate::store::StoreError;
use crate::store::catalog::Write;
use crate::store::digest::BlobInfo;
use std::collections::HashSet;
use std::sync::Arc;

/// One access of a granted route, in host terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub action: Action,
    /// `None`: the whole repository.
    pub package: Option<String>,
    /// `None`: the repository of the request.
    pub repository: Option<String>,
}

/// What one `handle` call may touch.
pub struct RequestScope {
    pub services: Arc<Services>,
    pub plugin: String,
    pub repo: String,
    /// The group a read comes through, whose permissions it needs (reads
    /// through a group need read on the group, not on its members).
    pub through_group: Option<String>,
    pub caller: Caller,
    pub policy: Arc<Policy>,
    /// The accesses of the granted route.
    pub route: Vec<Grant>,
    /// Blobs this request stored: the plugin may stat, open and publish them.
    pub ingested: HashSet<String>,
    /// Bytes the plugin may still read into its memory.
    pub read_left: u64,
    /// The client's address, which a login through `auth.login` counts by.
    pub client: Option<std::net::IpAddr>,
    /// Set when such a login was refused by the backoff: the answer is 429.
    pub locked_out: Option<crate::auth::backoff::Locked>,
    /// A proxy repository's upstream; `None`: nothing is fetched.
    pub upstream: Option<crate::upstream::Target>,
    /// What the upstream metadata read so far allows the answer.
    pub freshness: super::imports::Freshness,
}

/// Writes of one batch recorded one by one in the audit log; the rest as a count.
const AUDITED_WRITES: usize = 20;
/// Claims of one unowned package tried while others' claims come and go.
const CLAIM_ATTEMPTS: usize = 3;

/// The action a catalog write needs.
pub fn write_action(w: &Write) -> Action {
    match w {
        Write::RemoveAsset { .. } | Write::DeleteVersion { .. } | Write::DeletePackage { .. } => {
            Action::Delete
        }
        _ => Action::Write,
    }
}

impl RequestScope {
    /// The repository whose permissions the caller's calls are checked on.
    fn authorized_on(&self) -> &str {
        self.through_group.as_deref().unwrap_or(&self.repo)
    }

    /// Whether the route grants `action` on `package` of this repository
    /// (`package: None`: repository-wide state, only a repository-wide route).
    pub fn route_allows(&self, action: Action, package: Option<&str>) -> bool {
        self.route.iter().any(|g| {
            (g.action == action || g.action == Action::Admin)
                && g.repository.as_deref().is_none_or(|r| r == self.repo)
                && (g.package.is_none() || g.package.as_deref() == package)
        })
    }

    /// Whether the route has an access of this repository naming `package`
    /// (with `action`, or admin, when one is given).
    fn route_names(&self, action: Option<Action>, package: &str) -> bool {
        self.route.iter().any(|g| {
            action.is_none_or(|a| g.action == a || g.action == Action::Admin)
                && g.repository.as_deref().is_none_or(|r| r == self.repo)
                && g.package.as_deref() == Some(package)
        })
    }

    /// Whether the route has an access of this repository, any package.
    fn route_here(&self, writes: bool) -> bool {
        self.route.iter().any(|g| {
            (!writes || matches!(g.action, Action::Write | Action::Admin))
                && g.repository.as_deref().is_none_or(|r| r == self.repo)
        })
    }

    /// The answer of `auth.may`: the caller's permission within the route,
    /// and for a change to a package of this repository, its ownership (an
    /// unclaimed name is anyone's to publish). A hint: a store error reads
    /// as "no", and the writes are checked again.
    pub async fn may(
        &self,
        action: Action,
        package: Option<&str>,
        repository: Option<&str>,
    ) -> bool {
        let here = repository.is_none_or(|r| r == self.repo);
        let Some(package) = package.filter(|_| here && action != Action::Read) else {
            return self.permitted(action, package, repository);
        };
        if !self.permitted(action, Some(package), repository) {
            return false;
        }
        let owners = &self.services.auth.owners;
        let catalog = self.services.catalog.as_ref();
        let standing = owners.standing(catalog, &self.caller, &self.repo, package);
        matches!(standing.await, Ok(Standing::Owner | Standing::Unclaimed))
    }

    /// The caller's permission within the route.
    fn permitted(&self, action: Action, package: Option<&str>, repository: Option<&str>) -> bool {
        let in_route = match repository.filter(|r| *r != self.repo) {
            // Another repository (an OCI mount source): the route must name it.
            Some(other) => self.route.iter().any(|g| {
                g.repository.as_deref() == Some(other)
                    && (g.action == action || g.action == Action::Admin)
                    && (g.package.is_none() || g.package.as_deref() == package)
            }),
            None => self.route_allows(action, package),
        };
        let repository = repository.unwrap_or(self.authorized_on());
        in_route
            && self
                .services
                .auth
                .permits_on(&self.caller, action, repository, package)
    }

    fn require(&self, action: Action, package: Option<&str>) -> Result<(), StoreError> {
        let what = package.unwrap_or("the repository");
        let verb = format!("{action:?}").to_lowercase();
        if !self.route_allows(action, package) {
            return Err(StoreError::Forbidden(format!(
                "this request's route does not allow {verb} on {what}"
            )));
        }
        if !self
            .services
            .auth
            .permits_on(&self.caller, action, self.authorized_on(), package)
        {
            return Err(StoreError::Forbidden(format!(
                "{verb} on {what} is not allowed for this caller"
            )));
        }
        Ok(())
    }

    /// Storing bytes is part of a write: the route must write something the
    /// caller may write.
    pub fn require_store(&self) -> Result<(), StoreError> {
        let auth = &self.services.auth;
        let writes = self.route.iter().any(|g| {
            let repository = g.repository.as_deref().unwrap_or(&self.repo);
            matches!(g.action, Action::Write | Action::Admin)
                && match g.package.as_deref() {
                    Some(package) => {
                        auth.permits_on(&self.caller, g.action, repository, Some(package))
                    }
                    None => auth.permits_somewhere(&self.caller, g.action, repository),
                }
        });
        match writes {
            true => Ok(()),
            false => Err(StoreError::Forbidden(
                "storing bytes needs a route that writes".into(),
            )),
        }
    }

    /// The host's keyring, when the plugin is granted `key_id`.
    pub fn signing_key(&self, key_id: &str) -> Result<Arc<crate::signing::Keyring>, String> {
        match self.policy.signing_keys.iter().any(|k| k == key_id) {
            true => Ok(self.services.keys.clone()),
            false => Err(format!(
                "signing key {key_id:?} is not granted to the {} plugin (signing_keys in plugin-registry.toml)",
                self.plugin
            )),
        }
    }

    pub fn charge(&mut self, n: usize) -> Result<(), StoreError> {
        if n as u64 > self.read_left {
            return Err(StoreError::TooLarge(self.policy.read_limit));
        }
        self.read_left -= n as u64;
        Ok(())
    }

    /// Whether the plugin may see a blob: stored by this request, or served
    /// by this repository.
    pub async fn visible(&self, blake3: &str) -> Result<bool, StoreError> {
        Ok(self.ingested.contains(blake3)
            || self
                .services
                .catalog
                .repo_has_blob(&self.repo, blake3)
                .await?)
    }

    /// Records a blob this request stored.
    pub fn stored(&mut self, info: BlobInfo) -> BlobInfo {
        self.ingested.insert(info.blake3.clone());
        info
    }

    /// Why the writes a pull would record are not ones the host applies for
    /// a reader: only a version published, an asset added or a tag set, of
    /// packages the route reads, with blobs this repository serves (or the
    /// pulled one, an empty address).
    pub async fn may_record(&self, writes: &[Write]) -> Result<(), String> {
        for w in writes {
            if !matches!(
                w,
                Write::Publish(_) | Write::PutAsset { .. } | Write::SetTag { .. }
            ) {
                return Err("a pull records only publish, put-asset and set-tag writes".into());
            }
            let package = w.package();
            if !self.route_allows(Action::Read, package) {
                let what = package.unwrap_or("the whole repository");
                return Err(format!("the route does not read {what}"));
            }
            for blake3 in w.blobs().into_iter().filter(|b| !b.is_empty()) {
                if !self.visible(blake3).await.map_err(|e| e.to_string())? {
                    return Err(format!("blob {blake3} is not this repository's"));
                }
            }
        }
        Ok(())
    }

    /// Checks every write, applies them in one transaction, then invalidates
    /// the cached documents of the packages they touched.
    pub async fn apply(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        for w in &writes {
            self.require(write_action(w), w.package())?;
            for blake3 in w.blobs() {
                if !self.visible(blake3).await? {
                    return Err(StoreError::Forbidden(format!(
                        "blob {blake3} was neither stored by this request nor served by this repository"
                    )));
                }
            }
        }
        let claimed = match self.check_owners(&writes).await {
            Ok(claimed) => claimed,
            Err(e) => {
                self.audit(&writes, &format!("denied: {e}")).await;
                return Err(e);
            }
        };
        if let Err(e) = self.services.catalog.apply(&self.repo, &writes).await {
            self.give_back(&claimed).await;
            self.audit(&writes, &format!("failed: {e}")).await;
            return Err(e);
        }
        self.audit(&writes, "ok").await;
        let mut touched: Vec<&str> = writes.iter().map(|w| w.package().unwrap_or("*")).collect();
        touched.sort_unstable();
        touched.dedup();
        self.changed(&touched).await;
        Ok(())
    }

    /// Every package the writes change must be the caller's (`auth/owners.rs`);
    /// a package nobody holds is claimed for the caller when it is written.
    /// Returns the claims made, to give back if the writes fail.
    async fn check_owners(&self, writes: &[Write]) -> Result<Vec<String>, StoreError> {
        let mut packages: Vec<(&str, Action)> = Vec::new();
        for w in writes {
            match (w.package(), write_action(w)) {
                (None, _) => {}
                (Some(p), action) => match packages.iter_mut().find(|(q, _)| *q == p) {
                    Some((_, a)) if action == Action::Write => *a = Action::Write,
                    Some(_) => {}
                    None => packages.push((p, action)),
                },
            }
        }
        let mut claimed = Vec::new();
        for (package, action) in packages {
            if let Err(e) = self.own(package, action, &mut claimed).await {
                self.give_back(&claimed).await;
                return Err(e);
            }
        }
        Ok(claimed)
    }

    /// Checks that the caller may change `package`, claiming it when it is
    /// unclaimed and written (recorded in `claimed`).
    async fn own(
        &self,
        package: &str,
        action: Action,
        claimed: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        let owners = &self.services.auth.owners;
        let catalog = self.services.catalog.as_ref();
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(format!("owners: {e}"));
        let user = self.caller.user.as_deref().unwrap_or_default();
        let refused = || StoreError::Forbidden(format!("{user} is not an owner of {package}"));
        let standing = owners.standing(catalog, &self.caller, &self.repo, package);
        match standing.await.map_err(unavailable)? {
            Standing::Owner => Ok(()),
            Standing::Outsider => Err(refused()),
            // Deleting what does not exist claims nothing.
            Standing::Unclaimed if action != Action::Write => Ok(()),
            Standing::Unclaimed => {
                // Someone may claim it between our look and our claim: then
                // it is theirs, unless ours through a team; and a claim
                // given back meanwhile (its publish failed) is free again.
                for _ in 0..CLAIM_ATTEMPTS {
                    if owners
                        .claim(&self.repo, package, user)
                        .await
                        .map_err(unavailable)?
                    {
                        claimed.push(package.to_string());
                        return Ok(());
                    }
                    let again = owners.standing(catalog, &self.caller, &self.repo, package);
                    match again.await.map_err(unavailable)? {
                        Standing::Owner => return Ok(()),
                        Standing::Outsider => return Err(refused()),
                        Standing::Unclaimed => continue,
                    }
                }
                Err(StoreError::Unavailable(format!(
                    "{package} is being claimed by other requests; try again"
                )))
            }
        }
    }

    /// One audit entry per write, the first `AUDITED_WRITES` of a batch.
    async fn audit(&self, writes: &[Write], outcome: &str) {
        let actor = self.actor();
        for w in writes.iter().take(AUDITED_WRITES) {
            let (action, target) = crate::audit::describe(w);
            let audit = &self.services.audit;
            audit
                .record(&actor, action, Some(&self.repo), &target, outcome)
                .await;
        }
        if writes.len() > AUDITED_WRITES {
            let more = format!("{} more writes", writes.len() - AUDITED_WRITES);
            let audit = &self.services.audit;
            audit
                .record(&actor, "batch", Some(&self.repo), &more, outcome)
                .await;
        }
    }

    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::of(&self.caller, self.client)
    }

    /// Gives back the claims of a failed publish, on packages that nothing
    /// holds: a concurrent request of the same caller may have published
    /// under the claim meanwhile, and its package must not be left ownerless.
    async fn give_back(&self, claimed: &[String]) {
        let user = self.caller.user.as_deref().unwrap_or_default();
        let catalog = self.services.catalog.as_ref();
        for package in claimed {
            if !matches!(catalog.has_package(&self.repo, package).await, Ok(false)) {
                continue;
            }
            if let Err(e) = self
                .services
                .auth
                .owners
                .unclaim(&self.repo, package, user)
                .await
            {
                tracing::warn!(repo = %self.repo, package, error = %e, "giving back a claim failed");
            }
        }
    }

    /// After a committed write: cached documents go, and the change time
    /// (their Last-Modified) moves. Invalidation comes first, so a render
    /// that sees the new time is known to have started before it (doc_cache.rs).
    async fn changed(&self, packages: &[&str]) {
        for package in packages {
            self.services.doc_cache.invalidate(&self.repo, package);
        }
        if let Err(e) = self
            .services
            .catalog
            .record_change(&self.repo, packages)
            .await
        {
            tracing::warn!(repo = %self.repo, error = %e, "recording a change failed");
        }
    }
}
