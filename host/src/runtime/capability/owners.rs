//! The `owners` interface's rules: who may see and change a package's owners
//! from inside a request (the admin API's are in `http/api/owners.rs`).

use super::RequestScope;
use crate::auth::Action;
use crate::auth::owners::{Standing, principal_is_valid};
use crate::store::StoreError;

/// Most owners a package has (`list` never returns more).
pub const MAX_OWNERS: usize = 1_000;
/// Most principals one change adds, and removes.
const MAX_CHANGE: usize = 100;

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("owners: {e}"))
}

impl RequestScope {
    /// The owners of `package`, within a route that reaches it.
    pub async fn owners(&self, package: &str) -> Result<Vec<String>, StoreError> {
        let reaches = self.route_names(None, package)
            || self.route.iter().any(|g| {
                g.package.is_none() && g.repository.as_deref().is_none_or(|r| r == self.repo)
            });
        if !reaches {
            return Err(StoreError::Forbidden(format!(
                "this request's route does not reach {package}"
            )));
        }
        let owners = &self.services.auth.owners;
        let list = owners
            .list(&self.repo, package)
            .await
            .map_err(unavailable)?;
        if list.len() > MAX_OWNERS {
            return Err(StoreError::Invalid(format!(
                "{package} has {} owners, more than the {MAX_OWNERS} a plugin is shown",
                list.len()
            )));
        }
        Ok(list)
    }

    /// Whether a user or team exists, for a signed-in caller.
    pub async fn principal_exists(&self, principal: &str) -> Result<bool, StoreError> {
        if self.caller.user.is_none() {
            return Err(StoreError::Forbidden(
                "looking up users needs a signed-in caller".into(),
            ));
        }
        if !self.route_here(false) {
            return Err(StoreError::Forbidden(
                "this request's route does not reach this repository".into(),
            ));
        }
        let auth = &self.services.auth;
        auth.principal_exists(principal).await.map_err(unavailable)
    }

    /// Adds and removes owners of `package`; every principal's change is
    /// audited, refused or not, and a change invalidates the package's
    /// cached answers.
    pub async fn change_owners(
        &self,
        package: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), StoreError> {
        let outcome = self.try_change_owners(package, add, remove).await;
        let said = match &outcome {
            Ok(()) => "ok".to_string(),
            Err(StoreError::Unavailable(e)) => format!("failed: {e}"),
            Err(e) => format!("denied: {e}"),
        };
        let actor = self.actor();
        let changes = add
            .iter()
            .map(|p| ("owner-add", p))
            .chain(remove.iter().map(|p| ("owner-remove", p)));
        for (action, principal) in changes.take(2 * MAX_CHANGE) {
            let target = format!("{package} {principal}");
            let audit = &self.services.audit;
            audit
                .record(&actor, action, Some(&self.repo), &target, &said)
                .await;
        }
        if outcome.is_ok() {
            self.changed(&[package]).await;
        }
        outcome
    }

    async fn try_change_owners(
        &self,
        package: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), StoreError> {
        if add.len() > MAX_CHANGE || remove.len() > MAX_CHANGE {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_CHANGE} owners are added, and removed, at once"
            )));
        }
        // A repository-wide write (cargo's publish) is not a grant on one
        // package's owners: the route must name the package.
        if !self.route_names(Some(Action::Write), package) {
            return Err(StoreError::Forbidden(format!(
                "this request's route does not allow changing the owners of {package}"
            )));
        }
        let Some(user) = self.caller.user.as_deref() else {
            return Err(StoreError::Forbidden(
                "changing owners needs a signed-in caller".into(),
            ));
        };
        // A read-only token, or one restricted to other packages or
        // repositories, changes no owners here.
        let auth = &self.services.auth;
        if !auth.permits_on(&self.caller, Action::Write, &self.repo, Some(package)) {
            return Err(StoreError::Forbidden(format!(
                "this token may not change {package}"
            )));
        }
        if let Some(bad) = add.iter().chain(remove).find(|p| !principal_is_valid(p)) {
            return Err(StoreError::Invalid(format!(
                "an owner is user:<name> or team:<name>, not {bad:?}"
            )));
        }
        let catalog = self.services.catalog.as_ref();
        let standing = auth
            .owners
            .standing(catalog, &self.caller, &self.repo, package);
        match standing.await.map_err(unavailable)? {
            Standing::Owner => {}
            Standing::Unclaimed => return Err(StoreError::NotFound),
            Standing::Outsider => {
                return Err(StoreError::Forbidden(format!(
                    "{user} is not an owner of {package}"
                )));
            }
        }
        let current = auth
            .owners
            .list(&self.repo, package)
            .await
            .map_err(unavailable)?;
        let mut added = Vec::new();
        for principal in add.iter().filter(|p| !current.contains(p)) {
            if !auth
                .principal_exists(principal)
                .await
                .map_err(unavailable)?
            {
                let (kind, name) = principal.split_once(':').unwrap_or_default();
                return Err(StoreError::Invalid(format!("there is no {kind} {name}")));
            }
            if !added.contains(principal) {
                added.push(principal.clone());
            }
        }
        if let Some(stranger) = remove.iter().find(|p| !current.contains(p)) {
            return Err(StoreError::Invalid(format!(
                "{stranger} is not an owner of {package}"
            )));
        }
        let left = current.len() + added.len();
        if left.saturating_sub(remove.len()) > MAX_OWNERS {
            return Err(StoreError::Invalid(format!(
                "a package has at most {MAX_OWNERS} owners"
            )));
        }
        let kept = auth.owners.change(&self.repo, package, &added, remove);
        match kept.await.map_err(unavailable)? {
            true => Ok(()),
            false => Err(StoreError::Invalid(format!(
                "{package} keeps at least one owner: add another before removing the last"
            ))),
        }
    }
}
