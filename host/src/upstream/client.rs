//! The HTTP client proxy repositories fetch with: timeouts, the
//! environment's `HTTPS_PROXY` / `NO_PROXY`, an operator's CA bundle beside
//! the system's roots, redirects followed only to granted hosts, and the
//! authentication upstream registries ask for: the repository's Basic or
//! Bearer credentials, and the Docker registry token flow (a 401 with
//! `Bearer realm=…` → a token from the realm → the request again), tokens
//! kept until they expire.

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Options {
    /// Time to open a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Longest silence while reading an answer: a stalled upstream fails
    /// the fetch, however large the artifact.
    pub read_timeout: Duration,
    /// PEM files of certificates trusted beside the system's roots (a
    /// company CA).
    pub ca_bundles: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            ca_bundles: Vec::new(),
        }
    }
}

/// What a repository authenticates to its upstream with. Never printed:
/// `Debug` shows the kind only.
#[derive(Clone)]
pub enum Credentials {
    Basic { username: String, password: String },
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credentials::Bearer(_) => write!(f, "Bearer(<redacted>)"),
        }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum FetchError {
    #[error("{0} is not a granted upstream host")]
    NotGranted(String),
    #[error("the upstream did not answer in time")]
    Timeout,
    #[error("the upstream is unreachable: {0}")]
    Connect(String),
    #[error("the upstream answered badly: {0}")]
    Protocol(String),
}

/// Redirects followed per request: registries redirect blobs once, to
/// their storage.
const MAX_REDIRECTS: usize = 5;
/// Registry tokens kept at most; the oldest go first.
const MAX_TOKENS: usize = 1024;

pub struct Client {
    http: reqwest::Client,
    /// Registry tokens by realm, service, scope and who asked.
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl Client {
    pub fn new(options: &Options) -> anyhow::Result<Client> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")));
        for path in &options.ca_bundles {
            for cert in certificates(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Client {
            http: builder.build()?,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// GETs `url` with `headers`, authenticating as the upstream asks with
    /// `credentials`, following redirects to hosts `granted` allows (a
    /// registry token realm too). Answers any status; errors are the
    /// transport's, never naming credentials.
    pub async fn get(
        &self,
        url: &str,
        headers: &HeaderMap,
        credentials: Option<&Credentials>,
        granted: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Result<reqwest::Response, FetchError> {
        let mut url = parse(url)?;
        let origin = url.origin();
        for _ in 0..=MAX_REDIRECTS {
            if !granted(&url) {
                return Err(FetchError::NotGranted(host_of(&url)));
            }
            // Credentials go to the configured upstream only, never to the
            // storage a redirect points at.
            let credentials = credentials.filter(|_| url.origin() == origin);
            let mut response = self.send(&url, headers, credentials, None).await?;
            if response.status() == StatusCode::UNAUTHORIZED
                && let Some(challenge) = bearer_challenge(response.headers())
            {
                let token = self.token(&challenge, credentials, granted).await?;
                response = self.send(&url, headers, None, Some(&token)).await?;
            }
            // 304 is a 3xx too, but an answer.
            if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| FetchError::Protocol("a redirect without a location".into()))?;
            url = url
                .join(location)
                .map_err(|_| FetchError::Protocol("a redirect to an invalid URL".into()))?;
        }
        Err(FetchError::Protocol(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    async fn send(
        &self,
        url: &Url,
        headers: &HeaderMap,
        credentials: Option<&Credentials>,
        token: Option<&str>,
    ) -> Result<reqwest::Response, FetchError> {
        let mut request = self.http.get(url.clone()).headers(headers.clone());
        request = match (token, credentials) {
            (Some(token), _) => request.bearer_auth(token),
            (None, Some(Credentials::Basic { username, password })) => {
                request.basic_auth(username, Some(password))
            }
            (None, Some(Credentials::Bearer(token))) => request.bearer_auth(token),
            (None, None) => request,
        };
        request.send().await.map_err(transport)
    }

    /// A token for `challenge` from its realm, asked for with the
    /// repository's Basic credentials when it has some (anonymously
    /// otherwise, as Docker Hub allows for public images).
    async fn token(
        &self,
        challenge: &Challenge,
        credentials: Option<&Credentials>,
        granted: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Result<String, FetchError> {
        let who = match credentials {
            Some(Credentials::Basic { username, .. }) => username.as_str(),
            _ => "",
        };
        let key = format!(
            "{}\n{}\n{}\n{who}",
            challenge.realm, challenge.service, challenge.scope
        );
        if let Some((token, until)) = self.tokens.lock().unwrap().get(&key)
            && *until > Instant::now()
        {
            return Ok(token.clone());
        }
        let mut realm = parse(&challenge.realm)?;
        if !granted(&realm) {
            return Err(FetchError::NotGranted(host_of(&realm)));
        }
        {
            let mut query = realm.query_pairs_mut();
            if !challenge.service.is_empty() {
                query.append_pair("service", &challenge.service);
            }
            if !challenge.scope.is_empty() {
                query.append_pair("scope", &challenge.scope);
            }
        }
        let basic = credentials.filter(|c| matches!(c, Credentials::Basic { .. }));
        let response = self.send(&realm, &HeaderMap::new(), basic, None).await?;
        if !response.status().is_success() {
            return Err(FetchError::Protocol(format!(
                "the token service answered {}",
                response.status()
            )));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|_| FetchError::Protocol("the token service sent no token".into()))?;
        let token = answer
            .token
            .or(answer.access_token)
            .ok_or_else(|| FetchError::Protocol("the token service sent no token".into()))?;
        // The distribution spec's default lifetime is 60 s; renew early.
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(60).saturating_sub(10));
        let mut tokens = self.tokens.lock().unwrap();
        if tokens.len() >= MAX_TOKENS {
            let now = Instant::now();
            tokens.retain(|_, (_, until)| *until > now);
            if tokens.len() >= MAX_TOKENS {
                tokens.clear();
            }
        }
        tokens.insert(key, (token.clone(), Instant::now() + lifetime));
        Ok(token)
    }
}

/// The certificates of a PEM file; none is an error (a wrong file).
pub fn certificates(path: &std::path::Path) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("reading the CA bundle {}: {e}", path.display()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| anyhow::anyhow!("the CA bundle {} is not PEM: {e}", path.display()))?;
    match certificates.is_empty() {
        true => anyhow::bail!("the CA bundle {} holds no certificate", path.display()),
        false => Ok(certificates),
    }
}

fn parse(url: &str) -> Result<Url, FetchError> {
    Url::parse(url).map_err(|_| FetchError::Protocol("an invalid upstream URL".into()))
}

/// `host[:port]` as grants name it.
pub fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => String::new(),
    }
}

/// A transport error, without its URL: an operator's URL may carry a token
/// in its query, and messages end up in logs and in answers.
fn transport(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_connect() {
        FetchError::Connect(e.without_url().to_string())
    } else {
        FetchError::Protocol(e.without_url().to_string())
    }
}

/// The parameters of a `WWW-Authenticate: Bearer realm=…, service=…,
/// scope=…` challenge.
#[derive(Debug, PartialEq)]
struct Challenge {
    realm: String,
    service: String,
    scope: String,
}

fn bearer_challenge(headers: &HeaderMap) -> Option<Challenge> {
    headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .find_map(parse_bearer)
}

fn parse_bearer(value: &str) -> Option<Challenge> {
    let (scheme, params) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut found = Challenge {
        realm: String::new(),
        service: String::new(),
        scope: String::new(),
    };
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, after) = match after.strip_prefix('"') {
            // Quoted: up to the closing quote (registries never escape).
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "realm" => found.realm = value.to_string(),
            "service" => found.service = value.to_string(),
            "scope" => found.scope = value.to_string(),
            _ => {}
        }
        rest = after.trim_start().trim_start_matches(',').trim_start();
    }
    (!found.realm.is_empty()).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse_as_registries_send_them() {
        let docker = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#;
        assert_eq!(
            parse_bearer(docker),
            Some(Challenge {
                realm: "https://auth.docker.io/token".into(),
                service: "registry.docker.io".into(),
                scope: "repository:library/alpine:pull".into(),
            })
        );
        // Spaces after commas, a scope holding commas, unquoted values.
        let spaced = r#"bearer realm="http://a/t", scope="repository:x:pull,push", service=reg"#;
        let parsed = parse_bearer(spaced).unwrap();
        assert_eq!(parsed.scope, "repository:x:pull,push");
        assert_eq!(parsed.service, "reg");
        assert_eq!(parse_bearer(r#"Basic realm="x""#), None);
        assert_eq!(parse_bearer("Bearer service=x"), None);
        assert_eq!(parse_bearer(r#"Bearer realm="unterminated"#), None);
    }

    #[test]
    fn credentials_never_print() {
        let basic = Credentials::Basic {
            username: "ci".into(),
            password: "s3cret".into(),
        };
        assert!(!format!("{basic:?}").contains("s3cret"));
        assert!(!format!("{:?}", Credentials::Bearer("tok3n".into())).contains("tok3n"));
    }
}
