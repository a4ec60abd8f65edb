//! The `tokens` interface's rules: a caller's own API tokens from inside a
//! request, as `/api/v1/tokens` allows them (`http/api/tokens.rs`): a
//! restricted token makes no tokens and revokes only itself, and a token
//! never outlives the token that makes it.

use super::RequestScope;
use crate::auth::tokens::{TokenInfo, TokenSpec, public_id};
use crate::auth::{AuthError, TOKEN_PREFIX};
use crate::store::{StoreError, now_millis};

/// Most tokens one `list` call returns.
const MAX_LIST: u32 = 100;

/// A token just made: its secret, shown this once, and how it is listed.
pub struct NewToken {
    pub secret: String,
    pub info: TokenInfo,
}

pub enum CreateError {
    /// Not the caller's password, or the backoff refused to check it.
    WrongPassword,
    Refused(StoreError),
}

impl From<StoreError> for CreateError {
    fn from(e: StoreError) -> Self {
        CreateError::Refused(e)
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("tokens: {e}"))
}

impl RequestScope {
    fn token_user(&self) -> Result<String, StoreError> {
        self.caller
            .user
            .clone()
            .ok_or_else(|| StoreError::Forbidden("API tokens belong to signed-in users".into()))
    }

    fn route_writes(&self, what: &str) -> Result<(), StoreError> {
        match self.route_here(true) {
            true => Ok(()),
            false => Err(StoreError::Forbidden(format!(
                "{what} needs a route that writes"
            ))),
        }
    }

    /// Whether `id` is the token this request authenticated with.
    pub fn is_current_token(&self, id: &str) -> bool {
        self.caller.api_token.as_ref().is_some_and(|t| t.id == id)
    }

    /// A page of the caller's tokens, oldest first, and how many there are.
    pub async fn tokens(
        &self,
        offset: u32,
        limit: u32,
    ) -> Result<(u64, Vec<TokenInfo>), StoreError> {
        let user = self.token_user()?;
        if !self.route_here(false) {
            return Err(StoreError::Forbidden(
                "this request's route does not reach this repository".into(),
            ));
        }
        let all = self.services.auth.list_tokens(Some(&user));
        let all = all.await.map_err(unavailable)?;
        let page = all
            .iter()
            .skip(offset as usize)
            .take(limit.min(MAX_LIST) as usize)
            .cloned()
            .collect();
        Ok((all.len() as u64, page))
    }

    /// A new token for the caller, who proves it with their password.
    pub async fn create_token(
        &mut self,
        password: &str,
        mut spec: TokenSpec,
    ) -> Result<NewToken, CreateError> {
        let user = self.token_user()?;
        self.route_writes("creating a token")?;
        if self.caller.restrictions().is_some() {
            return Err(StoreError::Forbidden(
                "a restricted token cannot create tokens: use an unrestricted one".into(),
            )
            .into());
        }
        let services = self.services.clone();
        let auth = &services.auth;
        match auth.password_caller(&user, password, self.client).await {
            Ok(_) => {}
            Err(AuthError::Locked(locked)) => {
                self.locked_out = Some(locked);
                return Err(CreateError::WrongPassword);
            }
            Err(AuthError::InvalidCredentials) => return Err(CreateError::WrongPassword),
            Err(AuthError::Unavailable) => return Err(unavailable("passwords unavailable").into()),
        }
        let ceiling = self.caller.api_token.as_ref().and_then(|t| t.expires_at);
        spec.expires_at = match (spec.expires_at, ceiling) {
            (Some(at), Some(limit)) if at > limit => {
                return Err(StoreError::Invalid(
                    "a token cannot outlive the token that creates it".into(),
                )
                .into());
            }
            (None, limit) => limit,
            (at, _) => at,
        };
        spec.check(now_millis()).map_err(StoreError::Invalid)?;
        let issued = auth.issue_token(&user, &spec).await.map_err(unavailable)?;
        self.audit_token("token-create", &issued.id, "ok").await;
        let info = auth.token(&issued.id).await.map_err(unavailable)?;
        let info = info.ok_or_else(|| unavailable("the new token is gone"))?;
        Ok(NewToken {
            secret: issued.secret,
            info,
        })
    }

    /// Revokes one of the caller's tokens, named by its id or its secret.
    pub async fn revoke_token(&self, token: &str) -> Result<(), StoreError> {
        let user = self.token_user()?;
        let id = match token.starts_with(TOKEN_PREFIX) {
            true => public_id(token),
            false => token.to_string(),
        };
        let outcome = self.try_revoke(&user, &id).await;
        let said = match &outcome {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("denied: {e}"),
        };
        self.audit_token("token-revoke", &id, &said).await;
        outcome
    }

    async fn try_revoke(&self, user: &str, id: &str) -> Result<(), StoreError> {
        self.route_writes("revoking a token")?;
        if !self.is_current_token(id) && self.caller.restrictions().is_some() {
            return Err(StoreError::Forbidden(
                "a restricted token can revoke only itself".into(),
            ));
        }
        let auth = &self.services.auth;
        let found = auth.token(id).await.map_err(unavailable)?;
        // Others' tokens are as unknown as missing ones.
        if found.is_none_or(|t| t.user != user) {
            return Err(StoreError::NotFound);
        }
        match auth.revoke_token(id).await.map_err(unavailable)? {
            true => Ok(()),
            false => Err(StoreError::NotFound),
        }
    }

    /// Revokes the token this request authenticated with.
    pub async fn revoke_current_token(&self) -> Result<(), StoreError> {
        let Some(token) = self.caller.api_token.as_ref() else {
            return Err(StoreError::Invalid(
                "this request was not authenticated with an API token".into(),
            ));
        };
        let revoked = self.services.auth.revoke_token(&token.id).await;
        let outcome = match revoked.map_err(unavailable)? {
            true => Ok(()),
            false => Err(StoreError::NotFound),
        };
        let said = match &outcome {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        self.audit_token("token-revoke", &token.id, &said).await;
        outcome
    }

    async fn audit_token(&self, action: &str, id: &str, outcome: &str) {
        let audit = &self.services.audit;
        audit
            .record(&self.actor(), action, None, &format!("token {id}"), outcome)
            .await;
    }
}
