//! Users, API tokens, credentials and the permission check.
//!
//! Passwords are argon2id hashes. API tokens are 256-bit random strings stored
//! as SHA-256 (a slow hash adds nothing to a random secret). A request may
//! carry `Basic user:password`, `Basic any:<token>`, `Bearer <token>` or the
//! raw token (cargo and gem send it that way). Successful checks are cached
//! briefly so clients that send Basic credentials on every request do not pay
//! argon2 each time; concurrent checks of the same credentials share one.
//! Failed password checks back off per account and client (`backoff.rs`).
//!
//! A registry token (a JWT from `/auth/token`) is a credential only on the
//! repository it was issued for, and only while its user exists:
//! `authenticate_on` accepts it there, `authenticate` (the admin API, the
//! token endpoint) never does.
//!
//! API tokens have a name, an expiry and restrictions (`tokens.rs`), which
//! `permits`, `Caller::reaches` and `permits_on` apply.
//!
//! What a user may do on a repository's packages is granted
//! (`permissions.rs`); what they may change among those is further limited
//! by package ownership (`owners.rs`).

pub mod backoff;
pub mod credentials;
pub mod directory;
pub mod owners;
pub mod permissions;
pub mod tokens;

pub use credentials::Credentials;

use crate::passwords::Passwords;
use crate::registry_token::TokenKeys;
use crate::store::{Db, Flag, now_millis};
use backoff::Backoff;
use rand::Rng;
use sha2::Digest;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub const TOKEN_PREFIX: &str = "wharf_";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Caller {
    pub user: Option<String>,
    pub admin: bool,
    /// A registry token limits the caller to its repository and grants.
    pub token: Option<TokenScope>,
    /// The API token the caller authenticated with: its id, expiry and
    /// restrictions (`tokens.rs`).
    pub api_token: Option<Arc<tokens::ApiToken>>,
}

impl Caller {
    /// Whether these credentials count on `repository`: everywhere, except
    /// a registry token, only on the repository it was issued for, and an
    /// API token restricted to some repositories, only on those.
    pub fn reaches(&self, repository: &str) -> bool {
        self.token
            .as_ref()
            .is_none_or(|t| t.repository == repository)
            && self.restrictions().is_none_or(|r| r.reaches(repository))
    }
}

impl Caller {
    /// The caller at `repository`, an OCI repository served below the
    /// registry (`/v2/<repository>/…`): a registry token's grants of
    /// `<repository>/<name>` are grants of `<name>` there.
    pub fn at_oci_repository(mut self, repository: &str) -> Caller {
        if let Some(token) = &mut self.token {
            let prefix = format!("{repository}/");
            token.repository = repository.to_string();
            token.grants = std::mem::take(&mut token.grants)
                .into_iter()
                .filter_map(|g| {
                    let package = g.package.strip_prefix(&prefix)?.to_string();
                    Some(Grant { package, ..g })
                })
                .collect();
        }
        self
    }
}

/// What a registry token is good for.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenScope {
    /// The Wharf repository (and so the format) it was issued for.
    pub repository: String,
    /// Per package (an OCI repository name) of that repository, its actions.
    pub grants: Vec<Grant>,
}

/// Actions a scoped token allows on one package.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub package: String,
    pub actions: Vec<Action>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Read,
    Write,
    Delete,
    Admin,
}

impl Action {
    /// The lowercase name used in grants, messages and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
            Action::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("authentication service unavailable")]
    Unavailable,
    /// Too many failed logins of this account or from this address (429).
    #[error("too many failed logins; try again in {} s", .0.retry_after_secs())]
    Locked(backoff::Locked),
}

#[derive(Clone)]
pub struct Auth {
    db: Db,
    anonymous_read: bool,
    pub tokens: TokenKeys,
    /// SHA-256 of the presented credentials → the caller they proved.
    verified: moka::future::Cache<[u8; 32], Caller>,
    revocations: tokens::Revocations,
    passwords: Arc<Passwords>,
    backoff: Arc<Backoff>,
    pub owners: owners::Owners,
    pub directory: directory::Directory,
    pub permissions: permissions::Permissions,
}

/// Threads checking passwords at once, and checks waiting for one.
const PASSWORD_THREADS: usize = 2;
const PASSWORD_QUEUE: usize = 64;

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

impl Auth {
    pub async fn new(db: Db, anonymous_read: bool, tokens: TokenKeys) -> anyhow::Result<Self> {
        let permissions = permissions::Permissions::load(db.clone()).await?;
        let verified = moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(Duration::from_secs(60))
            // A revoked token's entries are evicted (`tokens.rs`).
            .support_invalidation_closures()
            .build();
        Ok(Auth {
            owners: owners::Owners::new(db.clone(), permissions.clone()),
            directory: directory::Directory::new(db.clone(), permissions.clone()),
            permissions,
            db,
            anonymous_read,
            tokens,
            verified,
            revocations: tokens::Revocations::default(),
            passwords: Arc::new(Passwords::new(PASSWORD_THREADS, PASSWORD_QUEUE)),
            backoff: Arc::new(Backoff::off()),
        })
    }

    /// Follows changes of grants, teams, users and tokens made elsewhere
    /// (the command line, another server): checked every second; on a
    /// change the rules are reloaded and every remembered credential is
    /// checked again.
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        let auth = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match auth.permissions.refresh().await {
                    Ok(true) => auth.verified.invalidate_all(),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "reloading permissions failed"),
                }
            }
        })
    }

    /// Failed password checks back off by `rule`.
    pub fn with_backoff(self, rule: backoff::Rule) -> Self {
        let backoff = Arc::new(Backoff::new(rule));
        Auth { backoff, ..self }
    }

    /// What a caller may do where no repository is concerned (the admin
    /// API): anyone reads what anonymous callers may, users also write
    /// their own things, admins administer; a read-only API token only reads.
    pub fn permits(&self, caller: &Caller, action: Action) -> bool {
        if caller.restrictions().is_some_and(|r| !r.permits(action)) {
            return false;
        }
        match action {
            _ if caller.admin => true,
            Action::Read => self.anonymous_read || caller.user.is_some(),
            Action::Write | Action::Delete => caller.user.is_some(),
            Action::Admin => false,
        }
    }

    /// Whether `caller` may do `action` on `package` of `repository`
    /// (`None`: the repository as a whole): an admin may; anyone else by a
    /// grant (`permissions.rs`), or reading where anonymous reads are on.
    /// Narrowed by a registry token (nothing outside its repository; there,
    /// its packages' actions, and reads of repository-wide lists) and by an
    /// API token's restrictions (read-only, repositories, package patterns).
    pub fn permits_on(
        &self,
        caller: &Caller,
        action: Action,
        repository: &str,
        package: Option<&str>,
    ) -> bool {
        if !caller.reaches(repository)
            || caller
                .restrictions()
                .is_some_and(|r| !r.allows(action, repository, package))
        {
            return false;
        }
        let in_token = match (&caller.token, package) {
            (None, _) => true,
            (Some(token), Some(package)) => token
                .grants
                .iter()
                .any(|g| g.package == package && g.actions.contains(&action)),
            (Some(_), None) => action == Action::Read,
        };
        in_token
            && (caller.admin
                || (action == Action::Read && self.anonymous_read)
                || self.permissions.rules().allows(
                    caller.user.as_deref(),
                    action,
                    repository,
                    package,
                ))
    }

    /// Whether `caller` may do `action` on some package of `repository`:
    /// the door of a route that names its packages only in its body (a cargo
    /// publish, a PyPI upload). Each of its writes is checked by `permits_on`,
    /// with its package, when it applies (`runtime/capability.rs`).
    pub fn permits_somewhere(&self, caller: &Caller, action: Action, repository: &str) -> bool {
        if !caller.reaches(repository) || caller.restrictions().is_some_and(|r| !r.permits(action))
        {
            return false;
        }
        let in_token = caller
            .token
            .as_ref()
            .is_none_or(|t| t.grants.iter().any(|g| g.actions.contains(&action)));
        in_token
            && (caller.admin
                || (action == Action::Read && self.anonymous_read)
                || self.permissions.rules().allows_somewhere(
                    caller.user.as_deref(),
                    action,
                    repository,
                ))
    }

    /// Resolves the caller from an `Authorization` header value sent from
    /// `client` (whose failed passwords back off), where a registry token is
    /// no credential: the admin API and the token endpoint (a new token
    /// needs the user's password or an API token).
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Caller, AuthError> {
        self.resolve(authorization, client, None).await
    }

    /// `authenticate` for a request to `repository`, where a registry token
    /// issued for it is a credential too.
    pub async fn authenticate_on(
        &self,
        authorization: Option<&str>,
        client: Option<IpAddr>,
        repository: &str,
    ) -> Result<Caller, AuthError> {
        self.resolve(authorization, client, Some(repository)).await
    }

    async fn resolve(
        &self,
        authorization: Option<&str>,
        client: Option<IpAddr>,
        repository: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Caller::default());
        };
        let key: [u8; 32] = sha2::Sha256::digest(value.as_bytes()).into();
        // Only passwords and API tokens are cached, never a registry token;
        // an expired token goes back to the database, which refuses it.
        if let Some(caller) = self.verified.get(&key).await.filter(|c| !c.expired()) {
            return Ok(caller);
        }
        // Boxed: the database lookups' futures would otherwise size every
        // request's future, anonymous and cached ones included.
        Box::pin(self.verify(key, value, client, repository)).await
    }

    async fn verify(
        &self,
        key: [u8; 32],
        value: &str,
        client: Option<IpAddr>,
        repository: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let revocations = self.revocations.count();
        let caller = match credentials::parse(value)? {
            Credentials::Anonymous => Caller::default(),
            Credentials::ApiToken(token) => self.token_caller(&token).await?,
            // Registry tokens expire on their own: verify, never cache, so
            // a deleted user's token stops working at once.
            Credentials::RegistryToken(token) => {
                return self.registry_caller(&token, repository).await;
            }
            // A client's parallel first requests carry the same password:
            // one check (and one attempt to the backoff) for all of them.
            Credentials::Password { user, password } => {
                let check = self.password_caller(&user, &password, client);
                return self
                    .verified
                    .try_get_with(key, check)
                    .await
                    .map_err(|e| (*e).clone());
            }
        };
        self.verified.insert(key, caller.clone()).await;
        // A token revoked during the lookup: not cached (`tokens.rs`).
        if self.revocations.count() != revocations {
            self.verified.invalidate(&key).await;
        }
        Ok(caller)
    }

    /// The caller of a registry token, on `repository` (none: not a place
    /// where registry tokens count).
    async fn registry_caller(
        &self,
        token: &str,
        repository: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let caller = self
            .tokens
            .verify(token)
            .ok_or(AuthError::InvalidCredentials)?;
        if !repository.is_some_and(|r| caller.reaches(r)) {
            return Err(AuthError::InvalidCredentials);
        }
        if let Some(user) = &caller.user
            && !self
                .holder_active(user, caller.api_token.as_deref())
                .await?
        {
            return Err(AuthError::InvalidCredentials);
        }
        Ok(caller)
    }

    /// Whether the holder of a registry token may still act: its user exists
    /// and is not disabled, and the API token it was asked with (if any) is
    /// neither revoked nor expired. One query; the one place that refuses a
    /// signed token whose holder is gone.
    async fn holder_active(
        &self,
        user: &str,
        api_token: Option<&tokens::ApiToken>,
    ) -> Result<bool, AuthError> {
        let hit: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM users WHERE name = $1 AND disabled = 0
             AND ($2 IS NULL OR EXISTS (SELECT 1 FROM tokens WHERE id = $2 AND user_name = $1
                                        AND (expires_at IS NULL OR expires_at > $3)))",
        )
        .bind(user)
        .bind(api_token.map(|t| t.id.as_str()))
        .bind(now_millis())
        .fetch_optional(&self.db)
        .await
        .map_err(|_| AuthError::Unavailable)?;
        Ok(hit.is_some())
    }

    /// Whether `name` may still act: the user exists and is not disabled.
    pub async fn user_active(&self, name: &str) -> Result<bool, AuthError> {
        self.holder_active(name, None).await
    }

    /// Checks a user's password sent from `client`, unless the account or
    /// the client is locked out. An unknown user costs a check of the dummy
    /// hash, as a known one costs a check of theirs; a disabled user is
    /// refused like an unknown one.
    pub async fn password_caller(
        &self,
        user: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Caller, AuthError> {
        let attempt = self
            .backoff
            .begin(user, client)
            .map_err(AuthError::Locked)?;
        let row: Option<(String, Flag)> = sqlx::query_as(
            "SELECT password_hash, admin FROM users WHERE name = $1 AND disabled = 0",
        )
        .bind(user)
        .fetch_optional(&self.db)
        .await
        .map_err(|_| AuthError::Unavailable)?;
        let known = row.is_some();
        let (hash, admin) = row.map_or_else(
            || (self.passwords.dummy().to_string(), false),
            |(hash, admin)| (hash, admin.into()),
        );
        let ok = self
            .passwords
            .verify(hash, password.to_string())
            .await
            .map_err(|_| AuthError::Unavailable)?;
        if !(ok && known) {
            attempt.failed();
            return Err(AuthError::InvalidCredentials);
        }
        attempt.succeeded();
        Ok(Caller {
            user: Some(user.to_string()),
            admin,
            ..Caller::default()
        })
    }

    /// Creates a user, or sets the password of an existing one.
    pub async fn set_user(&self, name: &str, password: &str, admin: bool) -> anyhow::Result<()> {
        let hash = self.passwords.hash(password.to_string()).await?;
        sqlx::query(
            "INSERT INTO users (name, password_hash, admin, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, admin = excluded.admin",
        )
        .bind(name)
        .bind(hash)
        .bind(i64::from(admin))
        .bind(now_millis())
        .execute(&self.db)
        .await?;
        self.verified.invalidate_all();
        Ok(())
    }

    /// Sets the password of an existing user; `false` when there is none.
    pub async fn set_password(&self, name: &str, password: &str) -> anyhow::Result<bool> {
        let hash = self.passwords.hash(password.to_string()).await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(hash)
            .bind(name)
            .execute(&self.db)
            .await?;
        self.verified.invalidate_all();
        Ok(done.rows_affected() == 1)
    }

    /// Disables or enables a user, or makes them admin; what they proved
    /// before is forgotten. `false` when there is no such user.
    pub async fn update_user(
        &self,
        name: &str,
        admin: Option<bool>,
        disabled: Option<bool>,
    ) -> anyhow::Result<bool> {
        let found = self.directory.update_user(name, admin, disabled).await?;
        self.verified.invalidate_all();
        Ok(found)
    }

    /// Lifts a lockout of `name` for failed passwords.
    pub fn unlock(&self, name: &str) {
        self.backoff.unlock(name);
    }

    pub async fn user_exists(&self, name: &str) -> anyhow::Result<bool> {
        let hit: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.db)
            .await?;
        Ok(hit.is_some())
    }

    /// Whether `user:<name>` or `team:<name>` names an existing user or team.
    pub async fn principal_exists(&self, principal: &str) -> anyhow::Result<bool> {
        let query = match principal.split_once(':') {
            Some(("user", _)) => "SELECT 1 FROM users WHERE name = $1",
            Some(("team", _)) => "SELECT 1 FROM teams WHERE name = $1",
            _ => return Ok(false),
        };
        let name = principal.split_once(':').map_or("", |(_, n)| n);
        let hit: Option<i64> = sqlx::query_scalar(query)
            .bind(name)
            .fetch_optional(&self.db)
            .await?;
        Ok(hit.is_some())
    }

    /// Issues a new unnamed, unrestricted API token for `user` that does
    /// not expire (`issue_token` makes any other).
    pub async fn create_token(&self, user: &str) -> anyhow::Result<String> {
        let spec = tokens::TokenSpec::default();
        Ok(self.issue_token(user, &spec).await?.secret)
    }

    /// First start: create `admin` with the configured or a random password.
    /// Returns the password when it was generated, to print it once.
    pub async fn bootstrap_admin(&self, password: Option<&str>) -> anyhow::Result<Option<String>> {
        if self.user_exists("admin").await? {
            return Ok(None);
        }
        let generated = password
            .is_none()
            .then(|| hex::encode(rand::rng().random::<[u8; 12]>()));
        let password = password.map(str::to_string).or(generated.clone()).unwrap();
        let hash = self.passwords.hash(password).await?;
        // Nodes starting at once all find no admin: the first insert wins,
        // and only its password is told.
        let created = sqlx::query(
            "INSERT INTO users (name, password_hash, admin, created_at) VALUES ('admin', $1, 1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(hash)
        .bind(now_millis())
        .execute(&self.db)
        .await?
        .rows_affected()
            == 1;
        Ok(generated.filter(|_| created))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    async fn auth() -> (tempfile::TempDir, Auth) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let tokens = TokenKeys::load_or_create(&dir.path().join("token.key")).unwrap();
        (dir, Auth::new(db, true, tokens).await.unwrap())
    }

    fn basic(user: &str, secret: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
        )
    }

    #[tokio::test]
    async fn every_credential_form_resolves_the_user() {
        let (_d, auth) = auth().await;
        auth.set_user("alice", "s3cret", false).await.unwrap();
        let token = auth.create_token("alice").await.unwrap();
        let alice = Caller {
            user: Some("alice".into()),
            admin: false,
            ..Caller::default()
        };
        for (i, header) in [
            basic("alice", "s3cret"),
            basic("anyone", &token),
            format!("Bearer {token}"),
            token.clone(),
        ]
        .into_iter()
        .enumerate()
        {
            let caller = auth.authenticate(Some(&header), None).await.unwrap();
            // A token's caller also carries the token's id and restrictions.
            assert_eq!(caller.api_token.is_some(), i > 0, "{header}");
            let caller = Caller {
                api_token: None,
                ..caller
            };
            assert_eq!(caller, alice, "{header}");
        }
        assert_eq!(
            auth.authenticate(None, None).await.unwrap(),
            Caller::default()
        );
        assert_eq!(
            auth.authenticate(Some(&basic("", "")), None).await.unwrap(),
            Caller::default()
        );
        assert_eq!(
            auth.authenticate(Some(&basic("alice", "wrong")), None)
                .await,
            Err(AuthError::InvalidCredentials)
        );
        assert_eq!(
            auth.authenticate(Some("Bearer wharf_nope"), None).await,
            Err(AuthError::InvalidCredentials)
        );
    }

    fn access(name: &str, actions: &[&str]) -> crate::registry_token::ResourceAccess {
        crate::registry_token::ResourceAccess {
            kind: "repository".into(),
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn a_registry_token_below_the_registry_keeps_that_repositorys_grants() {
        let grant = |package: &str| Grant {
            package: package.into(),
            actions: vec![Action::Read],
        };
        let caller = Caller {
            token: Some(TokenScope {
                repository: "oci".into(),
                grants: vec![grant("org/app"), grant("mirror/library/alpine")],
            }),
            ..Caller::default()
        };
        let at = caller.at_oci_repository("mirror");
        let token = at.token.unwrap();
        assert_eq!(token.repository, "mirror");
        assert_eq!(token.grants, vec![grant("library/alpine")]);
    }

    #[tokio::test]
    async fn scoped_tokens_limit_the_caller_to_their_grants() {
        let (_d, auth) = auth().await;
        auth.set_user("alice", "s3cret", false).await.unwrap();
        let token = auth
            .tokens
            .issue(
                Some("alice"),
                "oci",
                vec![access("org/app", &["pull", "push"])],
            )
            .unwrap();
        let caller = auth
            .authenticate_on(Some(&format!("Bearer {token}")), None, "oci")
            .await
            .unwrap();
        assert_eq!(caller.user.as_deref(), Some("alice"));
        assert!(auth.permits_on(&caller, Action::Write, "oci", Some("org/app")));
        assert!(!auth.permits_on(&caller, Action::Delete, "oci", Some("org/app")));
        assert!(!auth.permits_on(&caller, Action::Read, "oci", Some("org/other")));
        assert!(auth.permits_on(&caller, Action::Read, "oci", None));
        assert!(!auth.permits_on(&caller, Action::Write, "oci", None));
        // The same package name in another repository (another format).
        assert!(!auth.permits_on(&caller, Action::Read, "npm", Some("org/app")));
        assert!(!auth.permits_on(&caller, Action::Read, "npm", None));
    }

    #[tokio::test]
    async fn a_registry_token_counts_only_on_its_repository() {
        let (_d, auth) = auth().await;
        auth.set_user("alice", "s3cret", false).await.unwrap();
        let token = auth
            .tokens
            .issue(Some("alice"), "oci", vec![access("app", &["*"])])
            .unwrap();
        let bearer = format!("Bearer {token}");
        let caller = auth
            .authenticate_on(Some(&bearer), None, "oci")
            .await
            .unwrap();
        for action in [Action::Read, Action::Write, Action::Delete] {
            assert!(
                auth.permits_on(&caller, action, "oci", Some("app")),
                "{action:?}"
            );
        }
        assert!(!auth.permits_on(&caller, Action::Admin, "oci", Some("app")));
        // Not on another repository, nor where no repository is addressed:
        // the admin API and the token endpoint.
        assert_eq!(
            auth.authenticate_on(Some(&bearer), None, "npm").await,
            Err(AuthError::InvalidCredentials)
        );
        assert_eq!(
            auth.authenticate(Some(&bearer), None).await,
            Err(AuthError::InvalidCredentials)
        );
        // Still good where it belongs: a refusal elsewhere is not remembered.
        assert!(
            auth.authenticate_on(Some(&bearer), None, "oci")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_registry_token_of_a_deleted_user_is_refused() {
        let (_d, auth) = auth().await;
        auth.set_user("bob", "s3cret-pw", false).await.unwrap();
        let token = auth
            .tokens
            .issue(Some("bob"), "oci", vec![access("app", &["pull"])])
            .unwrap();
        let bearer = format!("Bearer {token}");
        assert!(auth.user_active("bob").await.unwrap());
        assert!(
            auth.authenticate_on(Some(&bearer), None, "oci")
                .await
                .is_ok()
        );
        sqlx::query("DELETE FROM users WHERE name = 'bob'")
            .execute(&auth.db)
            .await
            .unwrap();
        assert!(!auth.user_active("bob").await.unwrap());
        assert_eq!(
            auth.authenticate_on(Some(&bearer), None, "oci").await,
            Err(AuthError::InvalidCredentials)
        );
        // An anonymous token names no user: nothing to look up.
        let anonymous = auth
            .tokens
            .issue(None, "oci", vec![access("app", &["pull"])])
            .unwrap();
        let caller = auth
            .authenticate_on(Some(&format!("Bearer {anonymous}")), None, "oci")
            .await
            .unwrap();
        assert_eq!(caller.user, None);
        assert!(auth.permits_on(&caller, Action::Read, "oci", Some("app")));
    }

    #[tokio::test]
    async fn grants_decide_and_tokens_only_narrow_them() {
        use permissions::GrantSpec;
        let (_d, auth) = auth().await;
        auth.set_user("ci", "ci-password", false).await.unwrap();
        let ci = auth
            .password_caller("ci", "ci-password", None)
            .await
            .unwrap();
        // The default grant: every user writes everything.
        assert!(auth.permits_on(&ci, Action::Write, "oci", Some("other/app")));
        let default = auth.permissions.list().await.unwrap()[0].id;
        assert!(auth.permissions.revoke(default).await.unwrap());
        let team_only = GrantSpec {
            principal: "user:ci".into(),
            repository: "oci".into(),
            include: vec!["team/*".into()],
            exclude: Vec::new(),
            actions: vec![Action::Read, Action::Write],
        };
        auth.permissions.grant(&team_only).await.unwrap();
        assert!(auth.permits_on(&ci, Action::Write, "oci", Some("team/app")));
        assert!(!auth.permits_on(&ci, Action::Write, "oci", Some("other/app")));
        // Anonymous reads still follow the setting.
        assert!(auth.permits_on(&ci, Action::Read, "oci", Some("other/app")));
        // A registry token issued while the grant stood is worth no more
        // than the grants of its user now.
        let jwt = auth
            .tokens
            .issue(
                Some("ci"),
                "oci",
                vec![access("team/app", &["pull", "push"])],
            )
            .unwrap();
        let bearer = format!("Bearer {jwt}");
        let by_token = auth
            .authenticate_on(Some(&bearer), None, "oci")
            .await
            .unwrap();
        assert!(auth.permits_on(&by_token, Action::Write, "oci", Some("team/app")));
        let id = auth.permissions.list().await.unwrap()[0].id;
        auth.permissions.revoke(id).await.unwrap();
        assert!(!auth.permits_on(&by_token, Action::Write, "oci", Some("team/app")));
    }

    #[tokio::test]
    async fn a_registry_token_asked_with_an_api_token_dies_with_it() {
        let (_d, auth) = auth().await;
        auth.set_user("ci", "ci-password", false).await.unwrap();
        let issued = auth
            .issue_token("ci", &tokens::TokenSpec::named("ci"))
            .await
            .unwrap();
        let by_token = auth
            .authenticate(Some(&format!("Bearer {}", issued.secret)), None)
            .await
            .unwrap();
        let jwt = auth
            .tokens
            .issue_for(&by_token, "oci", vec![access("app", &["pull"])])
            .unwrap();
        let bearer = format!("Bearer {jwt}");
        let caller = auth
            .authenticate_on(Some(&bearer), None, "oci")
            .await
            .unwrap();
        assert_eq!(
            caller.api_token.as_ref().map(|t| t.id.as_str()),
            Some(&*issued.id)
        );
        assert!(auth.revoke_token(&issued.id).await.unwrap());
        assert_eq!(
            auth.authenticate_on(Some(&bearer), None, "oci").await,
            Err(AuthError::InvalidCredentials)
        );
    }

    /// Nodes starting at the same moment on one database all find no
    /// admin; one creates it, and only its generated password is told.
    #[tokio::test]
    async fn nodes_starting_at_once_make_one_admin() {
        let dir = tempfile::tempdir().unwrap();
        for db in crate::store::test_databases(dir.path()).await {
            let mut nodes = Vec::new();
            for _ in 0..3 {
                let tokens = TokenKeys::load_or_create(&dir.path().join("token.key")).unwrap();
                nodes.push(Auth::new(db.clone(), true, tokens).await.unwrap());
            }
            let told = futures::future::join_all(nodes.iter().map(|n| n.bootstrap_admin(None)));
            let told: Vec<String> = told.await.into_iter().filter_map(|t| t.unwrap()).collect();
            assert_eq!(told.len(), 1, "{told:?}");
            let admin = nodes[2].password_caller("admin", &told[0], None).await;
            assert!(admin.is_ok_and(|a| a.admin));
        }
    }

    #[tokio::test]
    async fn bootstrap_once_and_permissions() {
        let (_d, auth) = auth().await;
        let pw = auth
            .bootstrap_admin(None)
            .await
            .unwrap()
            .expect("generated password");
        assert_eq!(auth.bootstrap_admin(None).await.unwrap(), None);
        let admin = auth.password_caller("admin", &pw, None).await.unwrap();
        assert!(admin.admin && auth.permits(&admin, Action::Admin));
        let anon = Caller::default();
        assert!(auth.permits(&anon, Action::Read));
        assert!(!auth.permits(&anon, Action::Write));
        let user = Caller {
            user: Some("bob".into()),
            admin: false,
            ..Caller::default()
        };
        assert!(auth.permits(&user, Action::Delete) && !auth.permits(&user, Action::Admin));
    }

    #[tokio::test]
    async fn failed_passwords_lock_known_and_unknown_accounts_alike() {
        let (_d, auth) = auth().await;
        let auth = auth.with_backoff(backoff::Rule {
            free_failures: 2,
            free_failures_per_address: 100,
            max_lockout: Duration::from_secs(60),
        });
        auth.set_user("alice", "s3cret", false).await.unwrap();
        for user in ["alice", "nobody"] {
            for _ in 0..3 {
                let wrong = basic(user, "wrong");
                let refused = auth.authenticate(Some(&wrong), None).await;
                assert_eq!(refused, Err(AuthError::InvalidCredentials), "{user}");
            }
            let locked = auth.authenticate(Some(&basic(user, "s3cret")), None).await;
            assert!(matches!(locked, Err(AuthError::Locked(_))), "{user}");
        }
        // API tokens do not go through the backoff.
        let token = auth.create_token("alice").await.unwrap();
        let bearer = format!("Bearer {token}");
        let by_token = auth.authenticate(Some(&bearer), None).await.unwrap();
        assert_eq!(by_token.user.as_deref(), Some("alice"));
    }

    #[tokio::test]
    async fn the_same_password_sent_at_once_is_checked_once() {
        let (_d, auth) = auth().await;
        let auth = auth.with_backoff(backoff::Rule {
            free_failures: 0,
            free_failures_per_address: 0,
            max_lockout: Duration::from_secs(60),
        });
        auth.set_user("alice", "s3cret", false).await.unwrap();
        // One check at a time is all the backoff allows here: the others
        // must share it rather than be refused.
        let header = basic("alice", "s3cret");
        let checks = (0..8).map(|_| auth.authenticate(Some(&header), None));
        for result in futures::future::join_all(checks).await {
            assert_eq!(result.unwrap().user.as_deref(), Some("alice"));
        }
    }
}
