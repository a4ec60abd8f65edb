//! `auth`: who is calling, what this request may do, format login flows.

use super::StoreData;
use crate::auth::AuthError;
use crate::auth::tokens::TokenSpec;
use crate::runtime::bindings::v0_3::wharf::plugin::auth as wit;
use crate::runtime::bindings::v0_3::wharf::plugin::types::{Access, Caller};

impl StoreData {
    pub(super) fn caller_roles(&mut self) -> wasmtime::Result<(Option<String>, Vec<String>)> {
        let caller = &self.scope()?.caller;
        let roles = match caller.admin {
            true => vec!["admin".to_string()],
            false => vec![],
        };
        Ok((caller.user.clone(), roles))
    }

    /// A format's login flow: check the password, issue an API token,
    /// named after the format so that `GET /api/v1/tokens` tells them apart.
    pub(super) async fn login_user(
        &mut self,
        user: &str,
        password: &str,
    ) -> wasmtime::Result<Result<String, String>> {
        let scope = self.scope()?;
        let (services, client) = (scope.services.clone(), scope.client);
        let spec = TokenSpec::named(format!("{} login", scope.plugin));
        Ok(
            match services.auth.password_caller(user, password, client).await {
                Ok(_) => match services.auth.issue_token(user, &spec).await {
                    Ok(issued) => Ok(issued.secret),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => {
                    if let AuthError::Locked(locked) = e {
                        self.scope()?.locked_out = Some(locked);
                    }
                    Err(e.to_string())
                }
            },
        )
    }
}

impl wit::Host for StoreData {
    async fn whoami(&mut self) -> wasmtime::Result<Caller> {
        let (user, roles) = self.caller_roles()?;
        Ok(Caller { user, roles })
    }

    async fn may(&mut self, a: Access) -> wasmtime::Result<bool> {
        let scope = self.scope()?;
        let action = crate::runtime::action(a.action);
        Ok(scope
            .may(action, a.package.as_deref(), a.repository.as_deref())
            .await)
    }

    async fn login(
        &mut self,
        user: String,
        password: String,
    ) -> wasmtime::Result<Result<String, String>> {
        self.login_user(&user, &password).await
    }
}
