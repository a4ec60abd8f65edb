use super::*;

fn group(name: &str, format: &str, members: &[&str]) -> RepositorySpec {
    RepositorySpec {
        kind: Kind::Group,
        members: members.iter().map(|m| m.to_string()).collect(),
        ..RepositorySpec::hosted(name, format)
    }
}

fn proxy(name: &str, upstream: &str) -> RepositorySpec {
    RepositorySpec {
        kind: Kind::Proxy,
        upstream: Some(upstream.into()),
        ..RepositorySpec::hosted(name, "npm")
    }
}

fn formats(f: &str) -> bool {
    ["npm", "pypi", "oci"].contains(&f)
}

fn checked(all: &[RepositorySpec]) -> Result<(), String> {
    check(all, Some(&formats))
}

#[test]
fn a_hosted_proxy_and_group_of_one_format_pass() {
    let all = [
        RepositorySpec::hosted("npm-internal", "npm"),
        proxy("npm-proxy", "https://registry.npmjs.org/"),
        group("npm-all", "npm", &["npm-internal", "npm-proxy", "npm"]),
        group("everything", "npm", &["npm-all"]),
    ];
    checked(&all).unwrap();
}

#[test]
fn mistakes_are_refused_with_the_reason() {
    let cases: Vec<(Vec<RepositorySpec>, &str)> = vec![
        (
            vec![RepositorySpec::hosted("Bad Name", "npm")],
            "not a repository name",
        ),
        (vec![RepositorySpec::hosted("api", "npm")], "answers itself"),
        (
            vec![RepositorySpec::hosted("x", "nuget")],
            "no enabled format",
        ),
        (
            vec![RepositorySpec::hosted("pypi", "npm")],
            "format's own repository",
        ),
        (
            vec![
                RepositorySpec::hosted("a", "npm"),
                RepositorySpec::hosted("a", "npm"),
            ],
            "taken",
        ),
        (vec![proxy("p", "ftp://x/")], "http or https"),
        (
            vec![proxy("p", "https://ci:secret@registry.example/")],
            "not in the URL",
        ),
        (
            vec![RepositorySpec {
                upstream: None,
                ..proxy("p", "x")
            }],
            "needs an upstream",
        ),
        (
            vec![RepositorySpec {
                metadata_ttl: Some("soon".into()),
                ..proxy("p", "https://r/")
            }],
            "not a duration",
        ),
        (
            vec![RepositorySpec {
                upstream_password_env: Some("A-B".into()),
                ..proxy("p", "https://r/")
            }],
            "environment variable",
        ),
        (
            vec![RepositorySpec {
                upstream: Some("https://r/".into()),
                ..RepositorySpec::hosted("h", "npm")
            }],
            "belong to a proxy",
        ),
        (vec![group("g", "npm", &[])], "at least one member"),
        (
            vec![group("g", "npm", &["nowhere"])],
            "no repository nowhere",
        ),
        (vec![group("g", "npm", &["npm", "npm"])], "listed twice"),
        (
            vec![
                RepositorySpec::hosted("py", "pypi"),
                group("g", "npm", &["py"]),
            ],
            "holds pypi",
        ),
        (vec![group("g", "npm", &["pypi"])], "no repository pypi"),
        (
            vec![
                group("a", "npm", &["b"]),
                group("b", "npm", &["c"]),
                group("c", "npm", &["a"]),
            ],
            "a → b → c → a",
        ),
        (vec![group("self", "npm", &["self"])], "lead back"),
    ];
    for (all, reason) in cases {
        let refused = checked(&all).expect_err(reason);
        assert!(
            refused.contains(reason),
            "{refused:?} should say {reason:?}"
        );
    }
}

/// A self-signed certificate, as a company's CA would be.
const COMPANY_CA: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBkDCCATegAwIBAgIUPiuqyt6LItG77w0gV0ehWJPA37cwCgYIKoZIzj0EAwIw\n\
HTEbMBkGA1UEAwwSRXhhbXBsZSBDb21wYW55IENBMCAXDTI2MTIwNjE2NTI0M1oY\n\
DzIxMjYxMTEyMTY1MjQzWjAdMRswGQYDVQQDDBJFeGFtcGxlIENvbXBhbnkgQ0Ew\n\
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASsc0H1YgfA2zVDrW8V/V/5hZeEpMIR\n\
2QxrHJ9t92+l+ijcJq8jYhIYB86aSc1TurS/OnUyXVwxkIZ5xGaL+l2jo1MwUTAd\n\
BgNVHQ4EFgQUHSLiKqpjwEKYPwwGJCnHRXLy/wkwHwYDVR0jBBgwFoAUHSLiKqpj\n\
wEKYPwwGJCnHRXLy/wkwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBE\n\
AiBAzf5dg68mwmrLQpqjt1Tuk3GKBJ6hCRqvJk0QYxw2YgIgKOUS09rbOpi2FYZD\n\
BcHRB6g17Nakqj5LTR1Rr0rGfGQ=\n\
-----END CERTIFICATE-----\n\
";

#[test]
fn a_proxy_with_its_own_ca_bundle_gets_its_own_client() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "no certificate here").unwrap();
    for (path, reason) in [
        (dir.path().join("missing.pem"), "reading the CA bundle"),
        (not_pem, "holds no certificate"),
    ] {
        let spec = RepositorySpec {
            upstream_ca_bundle: Some(path.display().to_string()),
            ..proxy("npm-proxy", "https://registry.test/")
        };
        let refused = checked(&[spec]).unwrap_err();
        assert!(
            refused.contains(reason),
            "{refused:?} should say {reason:?}"
        );
    }
    let pem = dir.path().join("company.pem");
    std::fs::write(&pem, COMPANY_CA).unwrap();
    let spec = RepositorySpec {
        upstream_ca_bundle: Some(pem.display().to_string()),
        ..proxy("npm-proxy", "https://registry.test/")
    };
    assert_eq!(checked(std::slice::from_ref(&spec)), Ok(()));
    assert!(spec.upstream_target(None).unwrap().client.is_some());
    assert!(
        proxy("other", "https://registry.test/")
            .upstream_target(None)
            .unwrap()
            .client
            .is_none()
    );
    let hosted = RepositorySpec {
        upstream_ca_bundle: Some(pem.display().to_string()),
        ..RepositorySpec::hosted("npm-internal", "npm")
    };
    assert!(
        checked(&[hosted])
            .unwrap_err()
            .contains("belong to a proxy")
    );
}

#[test]
fn durations_read_as_operators_write_them() {
    assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
    assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
    assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86400)));
    assert_eq!(parse_duration("5 m"), None);
    assert_eq!(parse_duration("m"), None);
    assert_eq!(parse_duration("99999999999999999999d"), None);
    assert_eq!(
        proxy("p", "https://r/").ttl(),
        Ok(Duration::from_secs(300)),
        "five minutes by default"
    );
}

#[test]
fn the_settings_file_spells_repositories_as_the_api_does() {
    let toml = r#"
        name = "npm-proxy"
        format = "npm"
        kind = "proxy"
        upstream = "http://127.0.0.1:9000/npm/"
        upstream_username = "ci"
        upstream_password_env = "NPM_UPSTREAM_PASSWORD"
        metadata_ttl = "5m"
    "#;
    let spec: RepositorySpec = toml::from_str(toml).unwrap();
    assert_eq!(spec.kind, Kind::Proxy);
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["kind"], "proxy");
    assert_eq!(json["upstream_password_env"], "NPM_UPSTREAM_PASSWORD");
    assert!(json.get("members").is_none());
    let back: RepositorySpec = serde_json::from_value(json).unwrap();
    assert_eq!(back, spec);
    assert!(
        toml::from_str::<RepositorySpec>(
            "name = \"x\"\nformat = \"npm\"\nupstream_password = \"s\""
        )
        .is_err()
    );
}

async fn repositories(configured: Vec<RepositorySpec>) -> (tempfile::TempDir, Repositories) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    (dir, Repositories::new(configured, db))
}

#[tokio::test]
async fn api_changes_are_checked_beside_the_file_and_bump_the_generation() {
    let (_dir, repos) = repositories(vec![RepositorySpec::hosted("npm-internal", "npm")]).await;
    assert_eq!(repos.changed().await.unwrap().unwrap().len(), 1);
    assert!(repos.changed().await.unwrap().is_none(), "nothing new");
    let made = repos
        .create(group("npm-all", "npm", &["npm-internal", "npm"]), &formats)
        .await
        .unwrap();
    assert_eq!(made.source, Source::Api);
    let names: Vec<String> = repos
        .changed()
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["npm-internal", "npm-all"]);
    // The file's repositories are the file's.
    let file = repos
        .update(RepositorySpec::hosted("npm-internal", "npm"), &formats)
        .await;
    assert!(matches!(file, Err(ChangeError::Conflict(m)) if m.contains("wharf.toml")));
    let taken = repos
        .create(RepositorySpec::hosted("npm-all", "npm"), &formats)
        .await;
    assert!(matches!(taken, Err(ChangeError::Conflict(_))));
    // A change that would make a cycle is refused as a creation would be.
    repos
        .create(group("outer", "npm", &["npm-all"]), &formats)
        .await
        .unwrap();
    let cycle = repos
        .update(group("npm-all", "npm", &["outer"]), &formats)
        .await;
    assert!(
        matches!(cycle, Err(ChangeError::Invalid(m)) if m.contains("lead back")),
        "cycle"
    );
    let format = repos
        .update(group("npm-all", "pypi", &["pypi"]), &formats)
        .await;
    assert!(matches!(format, Err(ChangeError::Invalid(m)) if m.contains("does not change")));
    // A listed member, or one holding packages, stays.
    let listed = repos.delete("npm-all", false).await;
    assert!(matches!(listed, Err(ChangeError::Conflict(m)) if m.contains("outer")));
    let holding = repos.delete("outer", true).await;
    assert!(matches!(holding, Err(ChangeError::Conflict(m)) if m.contains("holds packages")));
    repos.delete("outer", false).await.unwrap();
    repos.delete("npm-all", false).await.unwrap();
    assert!(matches!(
        repos.delete("npm-all", false).await,
        Err(ChangeError::NotFound(_))
    ));
    let names: Vec<String> = repos
        .changed()
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["npm-internal"]);
}
