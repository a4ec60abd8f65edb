//! `tokens`: the caller's own API tokens, under the policy
//! (`capability/tokens.rs`).

use super::{StoreData, done};
use crate::auth::tokens::{Restrictions, TokenInfo, TokenSpec};
use crate::runtime::bindings::v0_3::wharf::plugin::tokens as wit;
use crate::runtime::bindings::v0_3::wharf::plugin::types::StoreError;
use crate::runtime::capability::CreateError;

type Res<T> = wasmtime::Result<Result<T, StoreError>>;

fn millis(at: i64) -> u64 {
    at.max(0) as u64
}

fn info(t: TokenInfo, current: bool) -> wit::TokenInfo {
    wit::TokenInfo {
        id: t.id,
        name: t.name,
        created_at: millis(t.created_at),
        expires_at: t.expires_at.map(millis),
        last_used_at: t.last_used_at.map(millis),
        read_only: t.restrictions.read_only,
        packages: t.restrictions.packages,
        repositories: t.restrictions.repositories,
        current,
    }
}

impl From<wit::TokenSpec> for TokenSpec {
    fn from(s: wit::TokenSpec) -> Self {
        TokenSpec {
            name: s.name,
            expires_at: s.expires_at.map(|at| at.min(i64::MAX as u64) as i64),
            restrictions: Restrictions {
                read_only: s.read_only,
                repositories: None,
                packages: s.packages,
            },
        }
    }
}

impl wit::Host for StoreData {
    async fn list(&mut self, offset: u32, limit: u32) -> Res<(u64, Vec<wit::TokenInfo>)> {
        let scope = self.scope()?;
        let page = scope.tokens(offset, limit).await.map(|(total, tokens)| {
            let listed = tokens.into_iter().map(|t| {
                let current = scope.is_current_token(&t.id);
                info(t, current)
            });
            (total, listed.collect())
        });
        done(page)
    }

    async fn create(
        &mut self,
        password: String,
        spec: wit::TokenSpec,
    ) -> wasmtime::Result<Result<wit::NewToken, wit::CreateError>> {
        let scope = self.scope()?;
        Ok(match scope.create_token(&password, spec.into()).await {
            Ok(new) => {
                let current = scope.is_current_token(&new.info.id);
                Ok(wit::NewToken {
                    secret: new.secret,
                    info: info(new.info, current),
                })
            }
            Err(CreateError::WrongPassword) => Err(wit::CreateError::WrongPassword),
            Err(CreateError::Refused(e)) => Err(wit::CreateError::Refused(e.into())),
        })
    }

    async fn revoke(&mut self, token: String) -> Res<()> {
        done(self.scope()?.revoke_token(&token).await)
    }

    async fn revoke_current(&mut self) -> Res<()> {
        done(self.scope()?.revoke_current_token().await)
    }
}
