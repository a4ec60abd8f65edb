//! The caller's API tokens, in memory, under the host's rules
//! (`host/src/runtime/capability/tokens.rs`): a restricted token makes no
//! tokens and revokes only itself; a token never outlives its maker.

use super::owners::route_writes;
use super::{MockHost, with};
use crate::tokens::{CreateError, NewToken, TokenInfo, TokenSpec};
use crate::types::StoreError;

/// A token as the mock keeps it: its user, its secret, how it is listed.
#[derive(Debug, Clone)]
pub struct MockToken {
    pub user: String,
    pub secret: String,
    /// `current` is false here: it is set when listed.
    pub info: TokenInfo,
}

impl MockToken {
    fn restricted(&self) -> bool {
        self.info.read_only || self.info.packages.is_some() || self.info.repositories.is_some()
    }
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl MockHost {
    fn signed_in(&self) -> Result<String, StoreError> {
        self.caller
            .clone()
            .ok_or_else(|| StoreError::Forbidden("API tokens belong to signed-in users".into()))
    }

    fn current(&self) -> Option<&MockToken> {
        let id = self.current_token.as_deref()?;
        self.tokens.iter().find(|t| t.info.id == id)
    }

    /// Makes a token for `user` as the host would, without a password:
    /// for tests that start from a signed-in token.
    pub fn issue_token(&mut self, user: &str, spec: &TokenSpec) -> NewToken {
        let n = self.tick();
        let id = format!("{:016x}", n);
        let info = TokenInfo {
            id: id.clone(),
            name: spec.name.clone(),
            created_at: n,
            expires_at: spec.expires_at,
            last_used_at: None,
            read_only: spec.read_only,
            packages: spec.packages.clone(),
            repositories: None,
            current: false,
        };
        let secret = format!("wharf_mock{id}");
        self.tokens.push(MockToken {
            user: user.to_string(),
            secret: secret.clone(),
            info: info.clone(),
        });
        NewToken { secret, info }
    }
}

/// Signs the next requests in with a token made for `user`; returns it.
pub fn login_with_token(user: &str, spec: &TokenSpec) -> NewToken {
    super::login_as(Some(user));
    with(|h| {
        let token = h.issue_token(user, spec);
        h.current_token = Some(token.info.id.clone());
        token
    })
}

pub fn tokens(offset: u32, limit: u32) -> Result<(u64, Vec<TokenInfo>), StoreError> {
    with(|h| {
        h.store_failure()?;
        let user = h.signed_in()?;
        let mine: Vec<&MockToken> = h.tokens.iter().filter(|t| t.user == user).collect();
        let page = mine
            .iter()
            .skip(offset as usize)
            .take(limit.min(crate::tokens::PAGE) as usize)
            .map(|t| TokenInfo {
                current: h.current_token.as_deref() == Some(t.info.id.as_str()),
                ..t.info.clone()
            })
            .collect();
        Ok((mine.len() as u64, page))
    })
}

pub fn create_token(password: &str, spec: &TokenSpec) -> Result<NewToken, CreateError> {
    with(|h| {
        let refused = CreateError::Refused;
        h.store_failure().map_err(refused)?;
        let user = h.signed_in().map_err(refused)?;
        if !route_writes(h) {
            let e = StoreError::Forbidden("creating a token needs a route that writes".into());
            return Err(refused(e));
        }
        if h.current().is_some_and(MockToken::restricted) {
            let e = StoreError::Forbidden("a restricted token cannot create tokens".into());
            return Err(refused(e));
        }
        if h.users.get(&user).is_none_or(|p| p != password) {
            return Err(CreateError::WrongPassword);
        }
        let mut spec = spec.clone();
        let ceiling = h.current().and_then(|t| t.info.expires_at);
        spec.expires_at = match (spec.expires_at, ceiling) {
            (Some(at), Some(limit)) if at > limit => {
                let e =
                    StoreError::Invalid("a token cannot outlive the token that creates it".into());
                return Err(refused(e));
            }
            (None, limit) => limit,
            (at, _) => at,
        };
        if spec.expires_at.is_some_and(|at| at <= now_millis()) {
            return Err(refused(StoreError::Invalid(
                "expires_at is in the past".into(),
            )));
        }
        if spec.name.chars().count() > 128 || spec.packages.as_ref().is_some_and(Vec::is_empty) {
            return Err(refused(StoreError::Invalid("an invalid token spec".into())));
        }
        Ok(h.issue_token(&user, &spec))
    })
}

pub fn revoke_token(token: &str) -> Result<(), StoreError> {
    with(|h| {
        h.store_failure()?;
        let user = h.signed_in()?;
        if !route_writes(h) {
            return Err(StoreError::Forbidden(
                "revoking a token needs a route that writes".into(),
            ));
        }
        let at = h
            .tokens
            .iter()
            .position(|t| t.user == user && (t.info.id == token || t.secret == token))
            .ok_or(StoreError::NotFound)?;
        let itself = h.current_token.as_deref() == Some(h.tokens[at].info.id.as_str());
        if !itself && h.current().is_some_and(MockToken::restricted) {
            return Err(StoreError::Forbidden(
                "a restricted token can revoke only itself".into(),
            ));
        }
        h.tokens.remove(at);
        Ok(())
    })
}

pub fn revoke_current_token() -> Result<(), StoreError> {
    with(|h| {
        h.store_failure()?;
        let Some(id) = h.current_token.clone() else {
            return Err(StoreError::Invalid(
                "this request was not authenticated with an API token".into(),
            ));
        };
        let before = h.tokens.len();
        h.tokens.retain(|t| t.info.id != id);
        match h.tokens.len() < before {
            true => Ok(()),
            false => Err(StoreError::NotFound),
        }
    })
}
