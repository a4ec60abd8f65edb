//! The host's ownership rules, in memory: a package's first write claims it
//! for the caller, others' writes are refused, and `owners` lists and
//! changes owners as the host allows (`host/src/runtime/capability/owners.rs`).

use super::{MockHost, with, write_access};
use crate::types::{Action, StoreError, Write};

fn user_of(principal: &str) -> Option<&str> {
    principal.strip_prefix("user:")
}

fn valid(principal: &str) -> bool {
    matches!(principal.split_once(':'), Some(("user" | "team", name)) if !name.is_empty())
}

impl MockHost {
    /// Whether `user` owns `package`, directly or through a team.
    fn owns(&self, user: &str, package: &str) -> bool {
        self.owners.get(package).into_iter().flatten().any(|p| {
            user_of(p) == Some(user)
                || p.strip_prefix("team:")
                    .and_then(|t| self.teams.get(t))
                    .is_some_and(|members| members.iter().any(|m| m == user))
        })
    }

    fn has_content(&self, package: &str) -> bool {
        self.catalog.versions.contains_key(package)
            || self
                .catalog
                .assets
                .values()
                .any(|(_, o)| o.package == package)
    }

    /// Refuses writes to packages others own; returns the packages the
    /// batch claims. An anonymous caller is the test setting things up: the
    /// real host refuses its writes before any plugin runs.
    pub(super) fn check_owners(&self, writes: &[Write]) -> Result<Vec<String>, StoreError> {
        let Some(user) = self.caller.as_deref() else {
            return Ok(Vec::new());
        };
        let refused =
            |package: &str| StoreError::Forbidden(format!("{user} is not an owner of {package}"));
        let mut claims: Vec<String> = Vec::new();
        for w in writes {
            let (action, Some(package)) = write_access(w) else {
                continue;
            };
            let owned = self.owners.get(package).is_some_and(|o| !o.is_empty());
            match (owned, self.has_content(package)) {
                _ if self.admin || self.owns(user, package) => {}
                (true, _) | (false, true) => return Err(refused(package)),
                (false, false) if action == Action::Write => {
                    if !claims.iter().any(|c| c == package) {
                        claims.push(package.to_string());
                    }
                }
                (false, false) => {}
            }
        }
        Ok(claims)
    }

    /// Whether the caller may change `package`, as far as owners go.
    pub(super) fn may_change(&self, package: Option<&str>) -> bool {
        let (Some(user), Some(package)) = (self.caller.as_deref(), package) else {
            return true;
        };
        let owned = self.owners.get(package).is_some_and(|o| !o.is_empty());
        self.admin || self.owns(user, package) || (!owned && !self.has_content(package))
    }

    /// Records the claims of a batch that was applied.
    pub(super) fn claim(&mut self, packages: Vec<String>) {
        if let Some(user) = self.caller.clone() {
            for package in packages {
                self.owners.insert(package, vec![format!("user:{user}")]);
            }
        }
    }

    fn principal_exists(&self, principal: &str) -> bool {
        match principal.split_once(':') {
            Some(("user", name)) => self.users.contains_key(name),
            Some(("team", name)) => self.teams.contains_key(name),
            _ => false,
        }
    }

    fn change(
        &mut self,
        package: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), StoreError> {
        let named = self.route.as_ref().is_none_or(|route| {
            route.iter().any(|a| {
                matches!(a.action, Action::Write | Action::Admin)
                    && a.repository.is_none()
                    && a.package.as_deref() == Some(package)
            })
        });
        if !named {
            return Err(StoreError::Forbidden(format!(
                "this request's route does not allow changing the owners of {package}"
            )));
        }
        let Some(user) = self.caller.clone() else {
            return Err(StoreError::Forbidden(
                "changing owners needs a signed-in caller".into(),
            ));
        };
        if let Some(bad) = add.iter().chain(remove).find(|p| !valid(p)) {
            return Err(StoreError::Invalid(format!(
                "an owner is user:<name> or team:<name>, not {bad:?}"
            )));
        }
        let current = self.owners.get(package).cloned().unwrap_or_default();
        if !(self.admin || self.owns(&user, package)) {
            return Err(match current.is_empty() && !self.has_content(package) {
                true => StoreError::NotFound,
                false => StoreError::Forbidden(format!("{user} is not an owner of {package}")),
            });
        }
        let mut next = current.clone();
        for principal in add.iter().filter(|p| !current.contains(p)) {
            if !self.principal_exists(principal) {
                let (kind, name) = principal.split_once(':').unwrap_or_default();
                return Err(StoreError::Invalid(format!("there is no {kind} {name}")));
            }
            if !next.contains(principal) {
                next.push(principal.clone());
            }
        }
        if let Some(stranger) = remove.iter().find(|p| !current.contains(p)) {
            return Err(StoreError::Invalid(format!(
                "{stranger} is not an owner of {package}"
            )));
        }
        next.retain(|p| !remove.contains(p));
        if next.is_empty() {
            return Err(StoreError::Invalid(format!(
                "{package} keeps at least one owner: add another before removing the last"
            )));
        }
        self.owners.insert(package.to_string(), next);
        Ok(())
    }
}

pub fn owners(package: &str) -> Result<Vec<String>, StoreError> {
    with(|h| {
        h.store_failure()?;
        let reaches = h.route.as_ref().is_none_or(|route| {
            let repo_wide = route.iter().any(|a| a.package.is_none());
            let named = route.iter().any(|a| a.package.as_deref() == Some(package));
            repo_wide || named
        });
        if !reaches {
            return Err(StoreError::Forbidden(format!(
                "this request's route does not reach {package}"
            )));
        }
        Ok(h.owners.get(package).cloned().unwrap_or_default())
    })
}

pub fn change_owners(package: &str, add: &[String], remove: &[String]) -> Result<(), StoreError> {
    with(|h| {
        h.store_failure()?;
        h.change(package, add, remove)
    })
}

pub fn owner_exists(principal: &str) -> Result<bool, StoreError> {
    with(|h| {
        h.store_failure()?;
        match h.caller.is_some() {
            true => Ok(h.principal_exists(principal)),
            false => Err(StoreError::Forbidden(
                "looking up users needs a signed-in caller".into(),
            )),
        }
    })
}

/// The route check for a call that needs a route writing something.
pub(super) fn route_writes(h: &MockHost) -> bool {
    h.route.as_ref().is_none_or(|route| {
        route
            .iter()
            .any(|a| matches!(a.action, Action::Write | Action::Admin) && a.repository.is_none())
    })
}

#[cfg(test)]
mod tests {
    use super::super::{add_team, add_user, imp, login_as, login_as_admin, reset};
    use super::*;
    use crate::types::{Access, StoreError};

    fn tag(package: &str) -> Write {
        Write::KvPut((Some(package.into()), "k".into(), b"v".to_vec()))
    }

    fn route(action: Action, package: Option<&str>) {
        let access = Access {
            action,
            package: package.map(str::to_string),
            repository: None,
        };
        with(|h| h.route = Some(vec![access]));
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_first_write_claims_and_others_are_refused_like_the_host() {
        reset();
        login_as(Some("alice"));
        imp::apply(&[tag("pkg")]).unwrap();
        assert_eq!(owners("pkg").unwrap(), ["user:alice"]);
        login_as(Some("bob"));
        let refused = imp::apply(&[tag("pkg")]);
        assert!(
            matches!(&refused, Err(StoreError::Forbidden(m)) if m == "bob is not an owner of pkg"),
            "{refused:?}"
        );
        add_team("core", &["bob"]);
        with(|h| h.owners.get_mut("pkg").unwrap().push("team:core".into()));
        assert!(imp::apply(&[tag("pkg")]).is_ok());
        login_as_admin("root");
        assert!(imp::apply(&[tag("pkg")]).is_ok());
        // A failed batch claims nothing.
        login_as(Some("carol"));
        let bad = Write::SetTag(("new".into(), "latest".into(), "9.9".into()));
        assert!(imp::apply(&[tag("new"), bad]).is_err());
        assert!(with(|h| !h.owners.contains_key("new")));
    }

    #[test]
    fn owner_changes_follow_the_hosts_rules() {
        reset();
        add_user("bob", "b");
        login_as(Some("alice"));
        imp::apply(&[tag("pkg")]).unwrap();
        let change =
            |add: &[&str], remove: &[&str]| change_owners("pkg", &strings(add), &strings(remove));
        // The route must write that package.
        route(Action::Write, None);
        assert!(matches!(
            change(&["user:bob"], &[]),
            Err(StoreError::Forbidden(_))
        ));
        route(Action::Read, Some("pkg"));
        assert!(matches!(
            change(&["user:bob"], &[]),
            Err(StoreError::Forbidden(_))
        ));
        route(Action::Write, Some("pkg"));
        let ghost = change(&["user:ghost"], &[]);
        assert!(
            matches!(&ghost, Err(StoreError::Invalid(m)) if m == "there is no user ghost"),
            "{ghost:?}"
        );
        assert!(matches!(change(&["bob"], &[]), Err(StoreError::Invalid(_))));
        change(&["user:bob"], &[]).unwrap();
        assert_eq!(owners("pkg").unwrap(), ["user:alice", "user:bob"]);
        assert!(matches!(
            change(&[], &["user:alice", "user:bob"]),
            Err(StoreError::Invalid(_))
        ));
        login_as(Some("carol"));
        assert!(matches!(
            change(&["user:carol"], &[]),
            Err(StoreError::Forbidden(_))
        ));
        assert!(!with(|h| h.may_change(Some("pkg"))));
        assert!(with(|h| h.may_change(Some("unclaimed"))));
        route(Action::Write, Some("nothing"));
        let nothing = change_owners("nothing", &strings(&["user:bob"]), &[]);
        assert!(matches!(nothing, Err(StoreError::NotFound)), "{nothing:?}");
        login_as(None);
        assert!(matches!(
            owner_exists("user:bob"),
            Err(StoreError::Forbidden(_))
        ));
    }
}
