//! Docker-style registry tokens: short-lived JWTs scoped to repositories.
//!
//! Container clients answer a `WWW-Authenticate: Bearer realm=…,scope=…`
//! challenge by asking the token endpoint for a token with those scopes,
//! then retry with it. The host grants only the actions the caller's own
//! permissions allow, signs with a key kept in the data directory, and on
//! every later request honours the token's scopes as well as the caller's
//! permissions.
//!
//! A token is bound to the Wharf repository it was issued for (the OCI
//! registry at `/v2/`), so its `repository:<name>` scopes, which name no
//! format, cannot be read as packages of another format; it is never a
//! credential of the admin API or of the token endpoint itself (`auth`).

use crate::auth::tokens::ApiToken;
use crate::auth::{Action, Caller, Grant, TokenScope};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `service` name of the challenge and the token's audience.
pub const SERVICE: &str = "wharf";
/// Where the token endpoint lives, below the public URL.
pub const ENDPOINT: &str = "/auth/token";
pub const LIFETIME_SECS: u64 = 300;
/// The Wharf repository the token service serves: the OCI registry mounted
/// at `/v2/` (`http/repo/mounts.rs`), the only place Docker clients reach.
pub const REPOSITORY: &str = "oci";

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    iat: u64,
    exp: u64,
    /// The Wharf repository whose OCI repositories `access` names. Required:
    /// a token without it (issued before it existed) does not verify.
    repository: String,
    access: Vec<ResourceAccess>,
    /// The API token the caller asked with, if any: the token is good only
    /// while that one is (not revoked, not expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<String>,
}

/// One `access` entry of the Docker token format.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ResourceAccess {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl TokenKeys {
    /// Loads the signing key, creating it on first start.
    pub fn load_or_create(path: &Path) -> anyhow::Result<TokenKeys> {
        if !path.exists() {
            use rand::Rng;
            let secret: [u8; 32] = rand::rng().random();
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, hex::encode(secret))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
            }
            std::fs::rename(&tmp, path)?;
        }
        let secret = hex::decode(std::fs::read_to_string(path)?.trim())?;
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        })
    }

    /// Signs a token of `user` (anonymous: `None`) for `access` on the OCI
    /// repositories of the Wharf `repository`.
    pub fn issue(
        &self,
        user: Option<&str>,
        repository: &str,
        access: Vec<ResourceAccess>,
    ) -> anyhow::Result<String> {
        let caller = Caller {
            user: user.map(str::to_string),
            ..Caller::default()
        };
        self.issue_for(&caller, repository, access)
    }

    /// Signs a token for `caller`, bound to the API token it authenticated
    /// with, if any.
    pub fn issue_for(
        &self,
        caller: &Caller,
        repository: &str,
        access: Vec<ResourceAccess>,
    ) -> anyhow::Result<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let claims = Claims {
            iss: SERVICE.into(),
            aud: SERVICE.into(),
            sub: caller.user.clone().unwrap_or_default(),
            iat: now,
            exp: now + LIFETIME_SECS,
            repository: repository.into(),
            access,
            tid: caller.api_token.as_ref().map(|t| t.id.clone()),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The caller a validly signed, unexpired token stands for; `None` for
    /// anything else. Whether its user and its API token are still good is
    /// `Auth`'s to check.
    pub fn verify(&self, token: &str) -> Option<Caller> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[SERVICE]);
        validation.set_issuer(&[SERVICE]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        let grants = claims
            .access
            .into_iter()
            .filter(|a| a.kind == "repository")
            .map(|access| Grant {
                actions: ACTIONS
                    .into_iter()
                    .filter(|a| means(&access.actions, *a))
                    .collect(),
                package: access.name,
            })
            .collect();
        Some(Caller {
            user: Some(claims.sub).filter(|s| !s.is_empty()),
            admin: false,
            token: Some(TokenScope {
                repository: claims.repository,
                grants,
            }),
            // Its restrictions shaped the grants when the token was issued.
            api_token: claims.tid.map(|id| {
                std::sync::Arc::new(ApiToken {
                    id,
                    expires_at: None,
                    restrictions: Default::default(),
                })
            }),
        })
    }
}

/// The actions a token can carry, in the order tokens and challenges list them.
const ACTIONS: [Action; 3] = [Action::Read, Action::Write, Action::Delete];

/// Docker scope actions in Wharf's vocabulary, as distribution reads them:
/// `push` implies nothing else (clients ask for `pull,push`), and `*` is
/// every action. Unknown names mean nothing.
fn actions(name: &str) -> &'static [Action] {
    match name {
        "pull" => &[Action::Read],
        "push" => &[Action::Write],
        "delete" => &[Action::Delete],
        "*" => &ACTIONS,
        _ => &[],
    }
}

/// Whether a list of Docker action names means `action`.
fn means(names: &[String], action: Action) -> bool {
    names.iter().any(|name| actions(name).contains(&action))
}

/// Docker's name of an action a token can carry.
fn action_name(action: Action) -> Option<&'static str> {
    match action {
        Action::Read => Some("pull"),
        Action::Write => Some("push"),
        Action::Delete => Some("delete"),
        Action::Admin => None,
    }
}

/// What the token endpoint grants for requested action names: each action
/// they mean that `permitted` allows, by its plain name (`*` is spelled out,
/// so a token says exactly what it allows).
pub fn grant(requested: &[String], permitted: impl Fn(Action) -> bool) -> Vec<String> {
    ACTIONS
        .into_iter()
        .filter(|a| means(requested, *a) && permitted(*a))
        .filter_map(action_name)
        .map(str::to_string)
        .collect()
}

/// Parses `repository:<name>:<a>,<b>` (names may contain `/`, not `:`).
pub fn parse_scope(scope: &str) -> Option<(String, Vec<String>)> {
    let mut parts = scope.splitn(2, ':');
    if parts.next()? != "repository" {
        return None;
    }
    let rest = parts.next()?;
    let (name, actions) = rest.rsplit_once(':')?;
    Some((
        name.to_string(),
        actions.split(',').map(str::to_string).collect(),
    ))
}

/// The challenge for a denied request: the scope the client should ask for,
/// every action the route needs on `package` (writes as `pull,push`, as
/// clients ask; a tag delete, which also writes, as `pull,push,delete`).
/// The name comes from the request: only a valid repository name is put in
/// the header, so none can close the quotes and add a `realm` of its own.
pub fn challenge(base_url: &str, package: Option<&str>, needs: &[Action]) -> String {
    let mut value = format!("Bearer realm=\"{base_url}{ENDPOINT}\",service=\"{SERVICE}\"");
    let wanted =
        |a: &Action| needs.contains(a) || (*a == Action::Read && needs.contains(&Action::Write));
    let names: Vec<&str> = ACTIONS
        .into_iter()
        .filter(wanted)
        .filter_map(action_name)
        .collect();
    let package = package.filter(|name| is_repository_name(name));
    if let (Some(name), false) = (package, names.is_empty()) {
        let actions = names.join(",");
        value.push_str(&format!(",scope=\"repository:{name}:{actions}\""));
    }
    value
}

/// The distribution spec's repository name: lowercase components of
/// `[a-z0-9]` joined by `.`, `_`, `__` or dashes, separated by `/`.
fn is_repository_name(name: &str) -> bool {
    let component = |c: &str| {
        let bytes = c.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        !bytes.is_empty()
            && bytes.first().is_some_and(alnum)
            && bytes.last().is_some_and(alnum)
            && bytes.iter().all(|b| alnum(b) || b"._-".contains(b))
            && !c.contains("..")
            && !c.contains("___")
            && !c.contains("._")
            && !c.contains("_.")
            && !c.contains(".-")
            && !c.contains("-.")
            && !c.contains("_-")
            && !c.contains("-_")
    };
    name.len() <= 255 && name.split('/').all(component)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn challenges_carry_only_valid_names() {
        let base = "http://wharf.test";
        let good = challenge(base, Some("org/app-1.x_y"), &[Action::Write]);
        assert!(good.ends_with(",scope=\"repository:org/app-1.x_y:pull,push\""));
        let evil = "a\",realm=\"https://evil.example/token";
        let refused = challenge(base, Some(evil), &[Action::Write]);
        assert_eq!(refused.matches("realm=").count(), 1, "{refused}");
        assert!(!refused.contains("scope="));
        for bad in ["", "App", "a//b", "-a", "a-", "a..b", "a b", "a\\b"] {
            assert!(!is_repository_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn issued_tokens_carry_their_repository_and_grants_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let keys = TokenKeys::load_or_create(&dir.path().join("key")).unwrap();
        let access = vec![
            ResourceAccess {
                kind: "repository".into(),
                name: "org/app".into(),
                actions: names(&["pull", "push"]),
            },
            ResourceAccess {
                kind: "repository".into(),
                name: "org/all".into(),
                actions: names(&["*"]),
            },
            ResourceAccess {
                kind: "registry".into(),
                name: "catalog".into(),
                actions: names(&["*"]),
            },
        ];
        let token = keys.issue(Some("alice"), REPOSITORY, access).unwrap();
        let caller = keys.verify(&token).unwrap();
        assert_eq!(caller.user.as_deref(), Some("alice"));
        assert!(!caller.admin);
        assert_eq!(
            caller.token.unwrap(),
            TokenScope {
                repository: REPOSITORY.into(),
                grants: vec![
                    Grant {
                        package: "org/app".into(),
                        actions: vec![Action::Read, Action::Write]
                    },
                    Grant {
                        package: "org/all".into(),
                        actions: vec![Action::Read, Action::Write, Action::Delete]
                    },
                ]
            }
        );
        let other = TokenKeys::load_or_create(&dir.path().join("other")).unwrap();
        assert!(
            other.verify(&token).is_none(),
            "a token signed with another key is refused"
        );
        assert!(keys.verify("not.a.token").is_none());
        // The key survives a restart.
        assert!(
            TokenKeys::load_or_create(&dir.path().join("key"))
                .unwrap()
                .verify(&token)
                .is_some()
        );
    }

    #[test]
    fn a_token_without_a_repository_does_not_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let keys = TokenKeys::load_or_create(&path).unwrap();
        // Signed with the right key, in the shape tokens had before they
        // named their repository.
        let secret = hex::decode(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
        let claims = serde_json::json!({
            "iss": SERVICE, "aud": SERVICE, "sub": "alice", "iat": 0,
            "exp": u64::MAX / 2,
            "access": [{"type": "repository", "name": "org/app", "actions": ["push"]}],
        });
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&secret),
        )
        .unwrap();
        assert!(keys.verify(&old).is_none());
    }

    #[test]
    fn actions_mean_what_distribution_means() {
        let all = |_| true;
        assert_eq!(grant(&names(&["pull"]), all), ["pull"]);
        assert_eq!(
            grant(&names(&["push"]), all),
            ["push"],
            "push implies nothing"
        );
        assert_eq!(grant(&names(&["delete"]), all), ["delete"]);
        assert_eq!(grant(&names(&["*"]), all), ["pull", "push", "delete"]);
        assert_eq!(
            grant(&names(&["delete", "*", "pull", "pull"]), all),
            ["pull", "push", "delete"]
        );
        assert!(grant(&names(&["admin", "", "PULL"]), all).is_empty());
        // Only what the caller is permitted: `*` for a reader is a pull.
        let reader = |a| a == Action::Read;
        assert_eq!(grant(&names(&["*"]), reader), ["pull"]);
        assert!(grant(&names(&["push", "delete"]), reader).is_empty());
    }

    #[test]
    fn scopes_and_challenges() {
        assert_eq!(
            parse_scope("repository:org/app:pull,push"),
            Some(("org/app".into(), names(&["pull", "push"])))
        );
        assert_eq!(
            parse_scope("repository:org/app:*"),
            Some(("org/app".into(), names(&["*"])))
        );
        assert_eq!(parse_scope("registry:catalog:*"), None);
        let scope = |needs: &[Action]| challenge("http://h", Some("org/app"), needs);
        assert_eq!(
            scope(&[Action::Write]),
            "Bearer realm=\"http://h/auth/token\",service=\"wharf\",scope=\"repository:org/app:pull,push\""
        );
        assert!(scope(&[Action::Read]).ends_with(":pull\""));
        // A manifest delete by digest, and by tag (which also writes the tag).
        assert!(scope(&[Action::Delete]).ends_with(":delete\""));
        assert!(scope(&[Action::Delete, Action::Write]).ends_with(":pull,push,delete\""));
        assert!(!scope(&[Action::Admin]).contains("scope="));
        assert!(!challenge("http://h", None, &[Action::Read]).contains("scope="));
    }
}
