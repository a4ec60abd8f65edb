//! API tokens with a lifecycle: a name, an optional expiry, optional
//! restrictions (read-only, some repositories, some package patterns), when
//! each was created and last used. A token is listed and revoked by its
//! public id (the first 16 hex digits of its SHA-256), never by its secret.
//!
//! Restrictions narrow the permissions of the token's user, never widen
//! them. They ride on the `Caller` (`Caller::api_token`) and are applied by
//! the permission check itself: `Auth::permits` (read-only),
//! `Caller::reaches` (repositories) and `Auth::permits_on` (packages), so a
//! request's route, the plugin's host calls, the registry tokens
//! `/auth/token` issues and the admin API all see them.
//!
//! Verified credentials are cached for a minute (`Auth::verified`), so:
//! - an expiry is checked again on every cache hit (`Caller::expired`);
//! - a revocation evicts the token's cache entries, and a verification that
//!   raced with it forgets what it cached (`Revocations`);
//! - `last_used_at` is written only on a verification (a cache miss) and only
//!   when it is a minute old: no write per request.

use super::{Action, Auth, AuthError, Caller, TOKEN_PREFIX, sha256_hex};
use crate::store::{Db, now_millis};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How stale `last_used_at` may get before a use writes it again.
const LAST_USED_EVERY_MS: i64 = 60_000;

/// Bounds on what a token's owner may write into it.
const MAX_NAME_CHARS: usize = 128;
const MAX_LIST: usize = 64;
const MAX_ENTRY_BYTES: usize = 256;

/// What a token may be used for, beyond its user's permissions. Stored as
/// JSON in `tokens.restrictions`; `{}` (every field absent) restricts nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restrictions {
    /// Only reads: no publish, tag, yank or delete, no account change.
    #[serde(default)]
    pub read_only: bool,
    /// Only these repositories (`npm`, `oci`, a configured one); absent:
    /// every one the user may use.
    #[serde(default)]
    pub repositories: Option<Vec<String>>,
    /// Only packages whose name, as its format names it (`@acme/web`,
    /// `com.acme:demo`, `team/app`), matches one of these patterns: `*`
    /// matches any run of characters, `/` included; nothing else is special.
    /// Repository-wide reads (search, catalog lists) stay allowed; a
    /// publish that names its package only in its body (cargo, PyPI) is let
    /// in and its writes checked one by one; writes to a repository's own
    /// state are refused. Absent: every package.
    #[serde(default)]
    pub packages: Option<Vec<String>>,
}

impl Restrictions {
    /// Whether this restricts nothing (a token as Wharf always had them).
    pub fn is_unrestricted(&self) -> bool {
        *self == Restrictions::default()
    }

    /// Whether `action` is possible at all: a read-only token only reads.
    pub fn permits(&self, action: Action) -> bool {
        !self.read_only || action == Action::Read
    }

    /// Whether the token counts on `repository`.
    pub fn reaches(&self, repository: &str) -> bool {
        self.repositories
            .as_ref()
            .is_none_or(|names| names.iter().any(|r| r == repository))
    }

    /// Whether `action` on `package` (`None`: the whole repository) is within
    /// the package patterns. Repository-wide access is a read only, as for a
    /// registry token scoped to some packages.
    pub fn covers(&self, action: Action, package: Option<&str>) -> bool {
        match (&self.packages, package) {
            (None, _) => true,
            (Some(patterns), Some(name)) => patterns.iter().any(|p| glob_matches(p, name)),
            (Some(_), None) => action == Action::Read,
        }
    }

    /// All three: what `Auth::permits_on` applies.
    pub fn allows(&self, action: Action, repository: &str, package: Option<&str>) -> bool {
        self.permits(action) && self.reaches(repository) && self.covers(action, package)
    }

    /// Refuses what would be a mistake: an empty list (it would allow
    /// nothing; leave the field out instead), empty or oversized entries.
    pub fn check(&self) -> Result<(), String> {
        for (field, list) in [
            ("repositories", &self.repositories),
            ("packages", &self.packages),
        ] {
            let Some(list) = list else { continue };
            if list.is_empty() || list.len() > MAX_LIST {
                return Err(format!(
                    "{field}: 1 to {MAX_LIST} entries (leave it out for no restriction)"
                ));
            }
            if let Some(bad) = list.iter().find(|e| {
                e.is_empty() || e.len() > MAX_ENTRY_BYTES || e.chars().any(char::is_control)
            }) {
                return Err(format!(
                    "{field}: {bad:?} is not 1 to {MAX_ENTRY_BYTES} printable bytes"
                ));
            }
        }
        Ok(())
    }
}

/// `*` matches any run of characters (`/` included), every other character
/// itself. Backtracks only to the last `*`: at most pattern × name steps,
/// whatever the pattern.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and how much of
    // the name that `*` has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                star = Some((pi, ni));
            }
            Some(c) if *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((resume, swallowed)) => {
                    pi = resume;
                    ni = swallowed + 1;
                    star = Some((resume, ni));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// The API token a caller authenticated with.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    /// The public id: listed, revoked, and written to the audit log.
    pub id: String,
    /// Milliseconds since the epoch.
    pub expires_at: Option<i64>,
    pub restrictions: Restrictions,
}

impl Caller {
    /// Whether the caller's API token has expired since it was verified
    /// (checked on every hit of the credential cache).
    pub fn expired(&self) -> bool {
        self.api_token
            .as_ref()
            .and_then(|t| t.expires_at)
            .is_some_and(|at| at <= now_millis())
    }

    /// The restrictions of the caller's API token, if it has any.
    pub fn restrictions(&self) -> Option<&Restrictions> {
        self.api_token
            .as_ref()
            .map(|t| &t.restrictions)
            .filter(|r| !r.is_unrestricted())
    }
}

/// What a new token will be.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenSpec {
    pub name: String,
    /// Milliseconds since the epoch; `None`: never expires.
    pub expires_at: Option<i64>,
    pub restrictions: Restrictions,
}

impl TokenSpec {
    pub fn named(name: impl Into<String>) -> Self {
        TokenSpec {
            name: name.into(),
            ..TokenSpec::default()
        }
    }

    /// Refuses names that would garble a listing, an expiry already past,
    /// and mistaken restrictions.
    pub fn check(&self, now: i64) -> Result<(), String> {
        if self.name.chars().count() > MAX_NAME_CHARS || self.name.chars().any(char::is_control) {
            return Err(format!(
                "a token's name is at most {MAX_NAME_CHARS} printable characters"
            ));
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err("expires_at is in the past".into());
        }
        self.restrictions.check()
    }
}

/// A token as it is listed: everything but its secret and hash.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub user: String,
    pub name: String,
    /// Milliseconds since the epoch, like every time here.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    /// Updated at most once a minute.
    pub last_used_at: Option<i64>,
    pub restrictions: Restrictions,
}

/// A token just issued: the secret is shown this once.
#[derive(Debug, Clone)]
pub struct Issued {
    pub secret: String,
    pub id: String,
}

/// Counts revocations, so that a verification running while a token is
/// revoked does not put it back into the credential cache: it compares the
/// count before its lookup with the count after its insert, and the
/// revocation bumps the count before it evicts.
#[derive(Clone, Default)]
pub struct Revocations(Arc<AtomicU64>);

impl Revocations {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A row of `tokens`, as `TOKEN_COLUMNS` selects it.
#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_name: String,
    name: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    restrictions: String,
}

/// A token and whether its user is an admin.
#[derive(sqlx::FromRow)]
struct CallerRow {
    #[sqlx(flatten)]
    token: TokenRow,
    #[sqlx(try_from = "crate::store::Flag")]
    admin: bool,
}

const TOKEN_COLUMNS: &str =
    "t.id, t.user_name, t.name, t.created_at, t.expires_at, t.last_used_at, t.restrictions";

impl TokenRow {
    fn info(self) -> Result<TokenInfo, sqlx::Error> {
        let restrictions = serde_json::from_str(&self.restrictions).map_err(|e| {
            sqlx::Error::Decode(format!("restrictions of token {}: {e}", self.id).into())
        })?;
        Ok(TokenInfo {
            id: self.id,
            user: self.user_name,
            name: self.name,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            restrictions,
        })
    }
}

/// The public id of a token: the first 16 hex digits of its SHA-256 (so a
/// client holding only the secret can name it, as `npm token revoke` does).
pub fn public_id(secret: &str) -> String {
    sha256_hex(secret.as_bytes())[..16].to_string()
}

impl Auth {
    /// Issues a new API token for `user`; only its hash is kept.
    pub async fn issue_token(&self, user: &str, spec: &TokenSpec) -> anyhow::Result<Issued> {
        spec.check(now_millis()).map_err(anyhow::Error::msg)?;
        let secret: [u8; 32] = rand::rng().random();
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        let hash = sha256_hex(secret.as_bytes());
        let id = public_id(&secret);
        sqlx::query(
            "INSERT INTO tokens (hash, id, user_name, created_at, name, expires_at, restrictions)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&hash)
        .bind(&id)
        .bind(user)
        .bind(now_millis())
        .bind(&spec.name)
        .bind(spec.expires_at)
        .bind(serde_json::to_string(&spec.restrictions)?)
        .execute(&self.db)
        .await?;
        Ok(Issued { secret, id })
    }

    /// The caller an API token proves: refused when unknown, expired, or
    /// its user is disabled.
    pub(super) async fn token_caller(&self, token: &str) -> Result<Caller, AuthError> {
        let now = now_millis();
        let row: Option<CallerRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS}, u.admin FROM tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.hash = $1 AND u.disabled = 0
                   AND (t.expires_at IS NULL OR t.expires_at > $2)"
        ))
        .bind(sha256_hex(token.as_bytes()))
        .bind(now)
        .fetch_optional(&self.db)
        .await
        .map_err(|_| AuthError::Unavailable)?;
        let row = row.ok_or(AuthError::InvalidCredentials)?;
        // Unreadable restrictions fail closed: the token proves nothing.
        let admin = row.admin;
        let token = row.token.info().map_err(|e| {
            tracing::error!(error = %e, "refusing a token");
            AuthError::InvalidCredentials
        })?;
        if token
            .last_used_at
            .is_none_or(|at| now - at >= LAST_USED_EVERY_MS)
        {
            // Off the request's path: a busy database delays no request.
            let (db, id) = (self.db.clone(), token.id.clone());
            tokio::spawn(async move {
                if let Err(e) = touch(&db, &id, now).await {
                    tracing::warn!(token = %id, error = %e, "recording a token's use failed");
                }
            });
        }
        Ok(Caller {
            user: Some(token.user),
            admin,
            token: None,
            api_token: Some(Arc::new(ApiToken {
                id: token.id,
                expires_at: token.expires_at,
                restrictions: token.restrictions,
            })),
        })
    }

    /// The tokens of `user` (`None`: everyone's), oldest first.
    pub async fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, sqlx::Error> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE $1 IS NULL OR t.user_name = $1
             ORDER BY t.created_at, t.id"
        ))
        .bind(user)
        .fetch_all(&self.db)
        .await?;
        rows.into_iter().map(TokenRow::info).collect()
    }

    /// One token by its id.
    pub async fn token(&self, id: &str) -> Result<Option<TokenInfo>, sqlx::Error> {
        let row: Option<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.db)
        .await?;
        row.map(TokenRow::info).transpose()
    }

    /// Deletes a token and evicts it from the credential cache, so its next
    /// request is refused at once (in this process; a running server sees
    /// `wharf token revoke` within a second, `Auth::watch`).
    /// `false`: there was no such token.
    pub async fn revoke_token(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM tokens WHERE id = $1")
            .bind(id)
            .execute(&self.db)
            .await?;
        self.revocations.bump();
        let id = id.to_string();
        let evicted = self
            .verified
            .invalidate_entries_if(move |_, c| c.api_token.as_ref().is_some_and(|t| t.id == id));
        if evicted.is_err() {
            // Only if the cache was built without predicates: forget all.
            self.verified.invalidate_all();
        }
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every token of `user` (a password reset after a leak); how
    /// many there were.
    pub async fn revoke_tokens_of(&self, user: &str) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM tokens WHERE user_name = $1")
            .bind(user)
            .execute(&self.db)
            .await?;
        self.revocations.bump();
        let user = user.to_string();
        let evicted = self.verified.invalidate_entries_if(move |_, c| {
            c.api_token.is_some() && c.user.as_ref() == Some(&user)
        });
        if evicted.is_err() {
            self.verified.invalidate_all();
        }
        Ok(done.rows_affected())
    }
}

/// Records a use at `now` unless one was recorded in the last minute (in
/// the statement itself: concurrent uses write once).
async fn touch(db: &Db, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tokens SET last_used_at = $1
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $1 - $3)",
    )
    .bind(now)
    .bind(id)
    .bind(LAST_USED_EVERY_MS)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry_token::TokenKeys;

    #[test]
    fn globs_match_runs_of_anything_and_nothing_else() {
        for (pattern, name) in [
            ("@acme/*", "@acme/web"),
            ("@acme/*", "@acme/"),
            ("com.acme.*", "com.acme.tools:cli"),
            ("acme-*", "acme-lib"),
            ("*", "anything/at/all"),
            ("team/*", "team/app/nested"),
            ("*-lib", "acme-lib"),
            ("a*b*c", "aXXbYYbc"),
            ("exact", "exact"),
            ("**", ""),
            ("a.?[x]", "a.?[x]"),
        ] {
            assert!(glob_matches(pattern, name), "{pattern} ~ {name}");
        }
        for (pattern, name) in [
            ("@acme/*", "@acme-evil/web"),
            ("@acme/*", "@acme"),
            ("com.acme.*", "com.acme:demo"),
            ("acme-*", "other-lib"),
            ("acme-*", "xacme-lib"),
            ("*-lib", "acme-lib2"),
            ("exact", "exactly"),
            ("a.?[x]", "ab?x"),
            ("Acme-*", "acme-lib"),
        ] {
            assert!(!glob_matches(pattern, name), "{pattern} !~ {name}");
        }
        // Backtracking stays linear-ish: a long name against many stars.
        let name = "a".repeat(10_000);
        assert!(!glob_matches("*a*a*a*a*a*b", &name));
    }

    fn restricted(json: serde_json::Value) -> Restrictions {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn restrictions_narrow_action_repository_and_package() {
        let none = Restrictions::default();
        assert!(none.is_unrestricted());
        assert!(none.allows(Action::Delete, "npm", None));

        let read_only = restricted(serde_json::json!({ "read_only": true }));
        assert!(read_only.allows(Action::Read, "npm", Some("x")));
        for action in [Action::Write, Action::Delete, Action::Admin] {
            assert!(!read_only.allows(action, "npm", Some("x")), "{action:?}");
        }

        let npm = restricted(serde_json::json!({ "repositories": ["npm"] }));
        assert!(npm.allows(Action::Write, "npm", Some("x")));
        assert!(!npm.allows(Action::Read, "oci", Some("x")));
        assert!(!npm.allows(Action::Read, "oci", None));

        let acme = restricted(serde_json::json!({ "packages": ["acme-*", "@acme/*"] }));
        assert!(acme.allows(Action::Write, "npm", Some("acme-lib")));
        assert!(acme.allows(Action::Delete, "npm", Some("@acme/web")));
        assert!(!acme.allows(Action::Write, "npm", Some("other-lib")));
        assert!(!acme.allows(Action::Read, "npm", Some("other-lib")));
        // Repository-wide: reads (search, lists) only.
        assert!(acme.allows(Action::Read, "npm", None));
        assert!(!acme.allows(Action::Write, "npm", None));

        // Stored rows from before restrictions: `{}`.
        assert_eq!(restricted(serde_json::json!({})), none);
        // A misspelt field is an error, not a token wider than meant.
        assert!(serde_json::from_str::<Restrictions>(r#"{"readonly": true}"#).is_err());
    }

    #[test]
    fn mistaken_specs_are_refused() {
        let now = 1_000_000;
        assert!(TokenSpec::named("ci").check(now).is_ok());
        let bad = [
            TokenSpec::named("x".repeat(129)),
            TokenSpec::named("line\nbreak"),
            TokenSpec {
                expires_at: Some(now),
                ..TokenSpec::default()
            },
            TokenSpec {
                restrictions: restricted(serde_json::json!({ "repositories": [] })),
                ..TokenSpec::default()
            },
            TokenSpec {
                restrictions: restricted(serde_json::json!({ "packages": [""] })),
                ..TokenSpec::default()
            },
        ];
        for spec in bad {
            assert!(spec.check(now).is_err(), "{spec:?}");
        }
    }

    async fn auth() -> (tempfile::TempDir, Auth) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let keys = TokenKeys::load_or_create(&dir.path().join("token.key")).unwrap();
        let auth = Auth::new(db, true, keys).await.unwrap();
        auth.set_user("alice", "alice-password", false)
            .await
            .unwrap();
        (dir, auth)
    }

    fn bearer(secret: &str) -> String {
        format!("Bearer {secret}")
    }

    #[tokio::test]
    async fn a_restricted_token_carries_its_restrictions_to_permits_on() {
        let (_d, auth) = auth().await;
        let spec = TokenSpec {
            name: "ci".into(),
            expires_at: None,
            restrictions: restricted(serde_json::json!({
                "repositories": ["npm"], "packages": ["@acme/*"]
            })),
        };
        let issued = auth.issue_token("alice", &spec).await.unwrap();
        let caller = auth
            .authenticate(Some(&bearer(&issued.secret)), None)
            .await
            .unwrap();
        assert_eq!(caller.api_token.as_ref().unwrap().id, issued.id);
        assert!(auth.permits_on(&caller, Action::Write, "npm", Some("@acme/web")));
        assert!(!auth.permits_on(&caller, Action::Write, "npm", Some("@other/web")));
        assert!(!auth.permits_on(&caller, Action::Read, "oci", Some("@acme/web")));
        assert!(!caller.reaches("oci"));
        // Never more than the user: alice administers nothing.
        assert!(!auth.permits_on(&caller, Action::Admin, "npm", Some("@acme/web")));

        let read_only = TokenSpec {
            restrictions: restricted(serde_json::json!({ "read_only": true })),
            ..TokenSpec::default()
        };
        let issued = auth.issue_token("alice", &read_only).await.unwrap();
        let caller = auth
            .authenticate(Some(&bearer(&issued.secret)), None)
            .await
            .unwrap();
        assert!(auth.permits(&caller, Action::Read));
        assert!(!auth.permits(&caller, Action::Write));
        assert!(!auth.permits_on(&caller, Action::Write, "npm", Some("x")));
    }

    #[tokio::test]
    async fn listed_without_secrets_and_revoked_at_once() {
        let (_d, auth) = auth().await;
        let issued = auth
            .issue_token("alice", &TokenSpec::named("laptop"))
            .await
            .unwrap();
        let header = bearer(&issued.secret);
        // Cached now: the revocation must evict it.
        assert!(auth.authenticate(Some(&header), None).await.is_ok());
        let listed = auth.list_tokens(Some("alice")).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, issued.id);
        assert_eq!(listed[0].name, "laptop");
        let shown = serde_json::to_string(&listed).unwrap();
        assert!(!shown.contains(&issued.secret[TOKEN_PREFIX.len()..]));
        assert!(auth.list_tokens(Some("bob")).await.unwrap().is_empty());

        assert!(auth.revoke_token(&issued.id).await.unwrap());
        assert_eq!(
            auth.authenticate(Some(&header), None).await,
            Err(AuthError::InvalidCredentials)
        );
        assert!(!auth.revoke_token(&issued.id).await.unwrap());
        assert!(auth.token(&issued.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_even_from_the_cache() {
        let (_d, auth) = auth().await;
        let spec = TokenSpec {
            expires_at: Some(now_millis() + 300),
            ..TokenSpec::default()
        };
        let issued = auth.issue_token("alice", &spec).await.unwrap();
        let header = bearer(&issued.secret);
        let caller = auth.authenticate(Some(&header), None).await.unwrap();
        assert!(!caller.expired());
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(caller.expired());
        assert_eq!(
            auth.authenticate(Some(&header), None).await,
            Err(AuthError::InvalidCredentials)
        );
    }

    #[tokio::test]
    async fn a_disabled_users_tokens_and_password_are_refused() {
        let (_d, auth) = auth().await;
        let issued = auth
            .issue_token("alice", &TokenSpec::default())
            .await
            .unwrap();
        sqlx::query("UPDATE users SET disabled = 1 WHERE name = 'alice'")
            .execute(&auth.db)
            .await
            .unwrap();
        assert_eq!(
            auth.authenticate(Some(&bearer(&issued.secret)), None).await,
            Err(AuthError::InvalidCredentials)
        );
        assert_eq!(
            auth.password_caller("alice", "alice-password", None).await,
            Err(AuthError::InvalidCredentials)
        );
        assert!(!auth.user_active("alice").await.unwrap());
    }

    #[tokio::test]
    async fn last_use_is_written_at_most_once_a_minute() {
        let (_d, auth) = auth().await;
        let issued = auth
            .issue_token("alice", &TokenSpec::default())
            .await
            .unwrap();
        assert!(touch(&auth.db, &issued.id, 1_000_000).await.unwrap());
        assert!(!touch(&auth.db, &issued.id, 1_030_000).await.unwrap());
        assert!(touch(&auth.db, &issued.id, 1_060_000).await.unwrap());
        let token = auth.token(&issued.id).await.unwrap().unwrap();
        assert_eq!(token.last_used_at, Some(1_060_000));
    }
}
