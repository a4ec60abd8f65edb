//! What an `Authorization` header claims, read before anything is checked:
//! the one parser of credentials every format's requests go through.

use super::{AuthError, TOKEN_PREFIX};
use base64::Engine;

#[derive(Debug, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials, or a Basic challenge answered with empty ones (what
    /// container clients send when they have none).
    Anonymous,
    /// A Wharf API token: raw (cargo and gem send it so), as a Bearer token,
    /// or as the password of Basic credentials.
    ApiToken(String),
    /// Any other Bearer token: a short-lived registry token from `/auth/token`.
    RegistryToken(String),
    Password {
        user: String,
        password: String,
    },
}

/// Reads a header value; malformed Basic credentials are invalid, not
/// anonymous, so a client learns that what it sent is wrong.
pub fn parse(value: &str) -> Result<Credentials, AuthError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Credentials::Anonymous);
    }
    let credentials = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = rest.trim();
            match token.starts_with(TOKEN_PREFIX) {
                true => Credentials::ApiToken(token.to_string()),
                false => Credentials::RegistryToken(token.to_string()),
            }
        }
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .map_err(|_| AuthError::InvalidCredentials)?;
            let text = String::from_utf8(decoded).map_err(|_| AuthError::InvalidCredentials)?;
            let (user, secret) = text.split_once(':').ok_or(AuthError::InvalidCredentials)?;
            if user.is_empty() && secret.is_empty() {
                Credentials::Anonymous
            } else if secret.starts_with(TOKEN_PREFIX) {
                Credentials::ApiToken(secret.to_string())
            } else {
                Credentials::Password {
                    user: user.to_string(),
                    password: secret.to_string(),
                }
            }
        }
        _ => Credentials::ApiToken(value.to_string()),
    };
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(text: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    }

    #[test]
    fn every_way_a_client_sends_credentials() {
        assert_eq!(parse("  "), Ok(Credentials::Anonymous));
        assert_eq!(parse(&basic(":")), Ok(Credentials::Anonymous));
        assert_eq!(
            parse(&basic("alice:s3cret:with:colons")),
            Ok(Credentials::Password {
                user: "alice".into(),
                password: "s3cret:with:colons".into()
            })
        );
        let token = format!("{TOKEN_PREFIX}abc");
        assert_eq!(parse(&token), Ok(Credentials::ApiToken(token.clone())));
        assert_eq!(
            parse(&format!("bearer  {token} ")),
            Ok(Credentials::ApiToken(token.clone()))
        );
        assert_eq!(
            parse(&basic(&format!("__token__:{token}"))),
            Ok(Credentials::ApiToken(token))
        );
        assert_eq!(
            parse("Bearer eyJhbGciOi.x.y"),
            Ok(Credentials::RegistryToken("eyJhbGciOi.x.y".into()))
        );
    }

    #[test]
    fn malformed_basic_credentials_are_invalid() {
        for value in ["Basic !!!", "Basic bm9jb2xvbg==", "Basic //8="] {
            assert_eq!(parse(value), Err(AuthError::InvalidCredentials), "{value}");
        }
    }
}
