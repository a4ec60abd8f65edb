//! Package owners, kept by the host for every format.
//!
//! An owner is a [`Principal`]: a user or a team, spelled `user:<name>` and
//! `team:<name>` on the wire. The host makes a package's first publisher
//! its owner and refuses writes by anyone else; a format's own owner
//! commands (`npm owner`, `cargo owner`) list and change them here. Changes
//! need a route that writes the package, by one of its owners.

use super::imp::raw_owners as raw;
use crate::types::StoreError;

/// A user or a team that may own packages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    User(String),
    Team(String),
}

impl Principal {
    /// `user:<name>` or `team:<name>`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Principal> {
        match text.split_once(':')? {
            ("user", name) if !name.is_empty() => Some(Principal::User(name.into())),
            ("team", name) if !name.is_empty() => Some(Principal::Team(name.into())),
            _ => None,
        }
    }

    /// The user's or the team's name.
    pub fn name(&self) -> &str {
        match self {
            Principal::User(name) | Principal::Team(name) => name,
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(name) => write!(f, "user:{name}"),
            Principal::Team(name) => write!(f, "team:{name}"),
        }
    }
}

/// The owners of `package`, oldest first (a package has at most 1,000).
/// A principal the SDK cannot read is an error, never dropped.
pub fn list(package: &str) -> Result<Vec<Principal>, StoreError> {
    raw::list(package)?
        .iter()
        .map(|p| {
            Principal::parse(p)
                .ok_or_else(|| StoreError::Invalid(format!("the host sent an owner {p:?}")))
        })
        .collect()
}

/// Adds `add` and removes `remove` in one change (at most 100 each). The
/// host refuses unknown users and teams, removing someone who is no owner,
/// and leaving no owner, as `invalid` with a message for the client;
/// `not-found` when nothing is published under `package`.
pub fn change(package: &str, add: &[Principal], remove: &[Principal]) -> Result<(), StoreError> {
    let spell = |ps: &[Principal]| ps.iter().map(Principal::to_string).collect::<Vec<_>>();
    raw::change(package, &spell(add), &spell(remove))
}

/// Whether the user or team exists (for a signed-in caller only).
pub fn exists(principal: &Principal) -> Result<bool, StoreError> {
    raw::exists(&principal.to_string())
}
