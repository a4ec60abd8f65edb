//! Docker-style registry tokens: short-lived JWTs scoped to repositories.
//!
//! Container clients answer a `WWW-Authenticate: Bearer realm=…,scope=…`
//! challenge by asking the token endpoint for a token with those scopes,
//! then retry with it. The host grants only the actions the caller's own
//! permissions allow, signs with a key kept in the data directory, and on
//! every later request honours the token's scopes as well as the caller's
//! permissions.

use crate::auth::{Action, Caller, Grant};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `service` name of the challenge and the token's audience.
pub const SERVICE: &str = "wharf";
/// Where the token endpoint lives, below the public URL.
pub const ENDPOINT: &str = "/auth/token";
pub const LIFETIME_SECS: u64 = 300;

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
    access: Vec<ResourceAccess>,
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

    pub fn issue(&self, user: Option<&str>, access: Vec<ResourceAccess>) -> anyhow::Result<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let claims = Claims {
            iss: SERVICE.into(),
            aud: SERVICE.into(),
            sub: user.unwrap_or_default().into(),
            iat: now,
            exp: now + LIFETIME_SECS,
            access,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The caller a valid token stands for; `None` for anything else.
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
            .map(|a| Grant {
                package: a.name,
                actions: a.actions.iter().filter_map(|x| action(x)).collect(),
            })
            .collect();
        Some(Caller {
            user: Some(claims.sub).filter(|s| !s.is_empty()),
            admin: false,
            grants: Some(grants),
        })
    }
}

/// Docker scope actions in Wharf's vocabulary.
pub fn action(name: &str) -> Option<Action> {
    match name {
        "pull" => Some(Action::Read),
        "push" => Some(Action::Write),
        "delete" => Some(Action::Delete),
        _ => None,
    }
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

/// The challenge for a denied access: the scope the client should ask for.
/// The name comes from the request: only a valid repository name is put in
/// the header, so none can close the quotes and add a `realm` of its own.
pub fn challenge(base_url: &str, package: Option<&str>, action: Option<Action>) -> String {
    let mut value = format!("Bearer realm=\"{base_url}{ENDPOINT}\",service=\"{SERVICE}\"");
    let package = package.filter(|name| is_repository_name(name));
    if let (Some(name), Some(action)) = (package, action) {
        let actions = match action {
            Action::Read => "pull",
            Action::Write => "pull,push",
            Action::Delete | Action::Admin => "delete",
        };
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

    #[test]
    fn challenges_carry_only_valid_names() {
        let base = "http://wharf.test";
        let good = challenge(base, Some("org/app-1.x_y"), Some(Action::Write));
        assert!(good.ends_with(",scope=\"repository:org/app-1.x_y:pull,push\""));
        let evil = "a\",realm=\"https://evil.example/token";
        let refused = challenge(base, Some(evil), Some(Action::Write));
        assert_eq!(refused.matches("realm=").count(), 1, "{refused}");
        assert!(!refused.contains("scope="));
        for bad in ["", "App", "a//b", "-a", "a-", "a..b", "a b", "a\\b"] {
            assert!(!is_repository_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn issued_tokens_carry_their_grants_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let keys = TokenKeys::load_or_create(&dir.path().join("key")).unwrap();
        let access = vec![ResourceAccess {
            kind: "repository".into(),
            name: "org/app".into(),
            actions: vec!["pull".into(), "push".into()],
        }];
        let token = keys.issue(Some("alice"), access).unwrap();
        let caller = keys.verify(&token).unwrap();
        assert_eq!(caller.user.as_deref(), Some("alice"));
        assert_eq!(
            caller.grants.unwrap(),
            vec![Grant {
                package: "org/app".into(),
                actions: vec![Action::Read, Action::Write]
            }]
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
    fn scopes_and_challenges() {
        assert_eq!(
            parse_scope("repository:org/app:pull,push"),
            Some(("org/app".into(), vec!["pull".into(), "push".into()]))
        );
        assert_eq!(parse_scope("registry:catalog:*"), None);
        assert_eq!(
            challenge("http://h", Some("org/app"), Some(Action::Write)),
            "Bearer realm=\"http://h/auth/token\",service=\"wharf\",scope=\"repository:org/app:pull,push\""
        );
    }
}
