//! The owners and tokens rules against a real database: what a plugin may
//! ask of the host within one request.

use super::{CreateError, Grant, RequestScope};
use crate::auth::tokens::{Restrictions, TokenSpec};
use crate::auth::{Action, Caller};
use crate::runtime::registry::Policy;
use crate::services::Services;
use crate::store::StoreError;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const REPO: &str = "npm";

async fn services() -> (tempfile::TempDir, Arc<Services>) {
    let dir = tempfile::tempdir().unwrap();
    let settings = crate::config::Settings {
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    let services = Arc::new(Services::open(settings).await.unwrap());
    for user in ["alice", "bob"] {
        let auth = &services.auth;
        auth.set_user(user, &format!("{user}-password"), false)
            .await
            .unwrap();
    }
    (dir, services)
}

fn grant(action: Action, package: Option<&str>) -> Grant {
    Grant {
        action,
        package: package.map(str::to_string),
        repository: None,
    }
}

fn user(name: &str) -> Caller {
    Caller {
        user: Some(name.into()),
        ..Caller::default()
    }
}

fn scope(services: &Arc<Services>, caller: Caller, route: Vec<Grant>) -> RequestScope {
    RequestScope {
        through_group: None,
        services: services.clone(),
        plugin: "npm".into(),
        repo: REPO.into(),
        caller,
        policy: Arc::new(Policy {
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(5),
            read_limit: 1 << 20,
            upstream: Vec::new(),
            signing_keys: Vec::new(),
        }),
        route,
        ingested: HashSet::new(),
        read_left: 1 << 20,
        client: None,
        locked_out: None,
        upstream: None,
        freshness: Default::default(),
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn is_invalid(r: &Result<(), StoreError>, message: &str) -> bool {
    matches!(r, Err(StoreError::Invalid(m)) if m.contains(message))
}

#[tokio::test]
async fn owners_change_only_within_a_route_writing_that_package_by_an_owner() {
    let (_dir, services) = services().await;
    services
        .auth
        .owners
        .claim(REPO, "pkg", "alice")
        .await
        .unwrap();
    let alice_writes = scope(
        &services,
        user("alice"),
        vec![grant(Action::Write, Some("pkg"))],
    );
    let bob_user = strings(&["user:bob"]);

    // A repository-wide write (a publish whose package is in its body) or a
    // read of the package is no grant on its owners.
    for route in [
        vec![grant(Action::Write, None)],
        vec![grant(Action::Read, Some("pkg"))],
        vec![grant(Action::Write, Some("other"))],
    ] {
        let s = scope(&services, user("alice"), route);
        let r = s.change_owners("pkg", &bob_user, &[]).await;
        assert!(matches!(r, Err(StoreError::Forbidden(_))), "{r:?}");
    }
    // Unknown principals, strangers, malformed names, the last owner.
    let r = alice_writes
        .change_owners("pkg", &strings(&["user:ghost"]), &[])
        .await;
    assert!(is_invalid(&r, "there is no user ghost"), "{r:?}");
    let r = alice_writes.change_owners("pkg", &[], &bob_user).await;
    assert!(is_invalid(&r, "user:bob is not an owner of pkg"), "{r:?}");
    let r = alice_writes
        .change_owners("pkg", &strings(&["bob"]), &[])
        .await;
    assert!(is_invalid(&r, "user:<name> or team:<name>"), "{r:?}");
    let r = alice_writes
        .change_owners("pkg", &[], &strings(&["user:alice"]))
        .await;
    assert!(is_invalid(&r, "at least one owner"), "{r:?}");

    alice_writes
        .change_owners("pkg", &bob_user, &[])
        .await
        .unwrap();
    assert_eq!(
        alice_writes.owners("pkg").await.unwrap(),
        ["user:alice", "user:bob"]
    );
    // bob, an owner now, takes alice off; alice may change nothing more.
    let bob_writes = scope(
        &services,
        user("bob"),
        vec![grant(Action::Write, Some("pkg"))],
    );
    let alice_user = strings(&["user:alice"]);
    bob_writes
        .change_owners("pkg", &[], &alice_user)
        .await
        .unwrap();
    let r = alice_writes.change_owners("pkg", &alice_user, &[]).await;
    assert!(matches!(r, Err(StoreError::Forbidden(m)) if m == "alice is not an owner of pkg"));
    // Nothing published, nobody holds it: not found.
    let s = scope(
        &services,
        user("bob"),
        vec![grant(Action::Write, Some("new"))],
    );
    let r = s.change_owners("new", &alice_user, &[]).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");

    // Each attempt is audited, refused or not.
    let filter = crate::audit::Filter {
        repository: Some(REPO.into()),
        ..Default::default()
    };
    let entries = services.audit.list(&filter).await.unwrap();
    let ok: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.outcome == "ok")
        .map(|e| (e.action.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(
        ok,
        [
            ("owner-remove", "pkg user:alice"),
            ("owner-add", "pkg user:bob")
        ]
    );
    assert!(
        entries
            .iter()
            .any(|e| e.outcome.contains("there is no user ghost"))
    );
}

#[tokio::test]
async fn a_read_only_token_changes_no_owners_and_lists_need_the_route() {
    let (_dir, services) = services().await;
    services
        .auth
        .owners
        .claim(REPO, "pkg", "alice")
        .await
        .unwrap();
    let spec = TokenSpec {
        restrictions: Restrictions {
            read_only: true,
            ..Restrictions::default()
        },
        ..TokenSpec::default()
    };
    let issued = services.auth.issue_token("alice", &spec).await.unwrap();
    let bearer = format!("Bearer {}", issued.secret);
    let caller = services
        .auth
        .authenticate(Some(&bearer), None)
        .await
        .unwrap();
    let s = scope(&services, caller, vec![grant(Action::Write, Some("pkg"))]);
    let r = s.change_owners("pkg", &strings(&["user:bob"]), &[]).await;
    assert!(matches!(r, Err(StoreError::Forbidden(_))), "{r:?}");

    let elsewhere = scope(
        &services,
        user("alice"),
        vec![grant(Action::Read, Some("other"))],
    );
    assert!(matches!(
        elsewhere.owners("pkg").await,
        Err(StoreError::Forbidden(_))
    ));
    let everywhere = scope(&services, user("alice"), vec![grant(Action::Read, None)]);
    assert_eq!(everywhere.owners("pkg").await.unwrap(), ["user:alice"]);
    assert!(everywhere.principal_exists("user:bob").await.unwrap());
    assert!(!everywhere.principal_exists("team:none").await.unwrap());
    let anonymous = scope(
        &services,
        Caller::default(),
        vec![grant(Action::Read, None)],
    );
    assert!(anonymous.principal_exists("user:bob").await.is_err());
}

#[tokio::test]
async fn may_answers_ownership_for_changes() {
    let (_dir, services) = services().await;
    services
        .auth
        .owners
        .claim(REPO, "pkg", "alice")
        .await
        .unwrap();
    let route = vec![grant(Action::Write, None)];
    let alice = scope(&services, user("alice"), route.clone());
    let bob = scope(&services, user("bob"), route);
    assert!(alice.may(Action::Write, Some("pkg"), None).await);
    assert!(!bob.may(Action::Write, Some("pkg"), None).await);
    assert!(bob.may(Action::Write, Some("unclaimed"), None).await);
}

#[tokio::test]
async fn tokens_are_the_callers_own_made_with_the_password() {
    let (_dir, services) = services().await;
    let writes = vec![grant(Action::Write, None)];
    let mut alice = scope(&services, user("alice"), writes.clone());
    let spec = TokenSpec::named("ci");
    assert!(matches!(
        alice.create_token("wrong", spec.clone()).await,
        Err(CreateError::WrongPassword)
    ));
    let mut reads = scope(&services, user("alice"), vec![grant(Action::Read, None)]);
    assert!(matches!(
        reads.create_token("alice-password", spec.clone()).await,
        Err(CreateError::Refused(StoreError::Forbidden(_)))
    ));
    let made = match alice.create_token("alice-password", spec).await {
        Ok(made) => made,
        Err(_) => panic!("a token for alice"),
    };
    assert!(made.secret.starts_with("wharf_"));
    assert_eq!(made.info.name, "ci");

    let bob_token = services
        .auth
        .issue_token("bob", &TokenSpec::default())
        .await
        .unwrap();
    let (total, page) = reads.tokens(0, 10).await.unwrap();
    assert_eq!((total, page.len()), (1, 1));
    // Someone else's token is as unknown as a missing one; a read route
    // revokes nothing; the secret names a token as well as its id.
    let r = alice.revoke_token(&bob_token.id).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert!(reads.revoke_token(&made.info.id).await.is_err());
    alice.revoke_token(&made.secret).await.unwrap();
    assert_eq!(reads.tokens(0, 10).await.unwrap().0, 0);
    assert!(matches!(
        alice.revoke_current_token().await,
        Err(StoreError::Invalid(_))
    ));

    // A token that expires makes tokens that expire no later.
    let expiring = TokenSpec {
        expires_at: Some(crate::store::now_millis() + 60_000),
        ..TokenSpec::default()
    };
    let issued = services.auth.issue_token("alice", &expiring).await.unwrap();
    let bearer = format!("Bearer {}", issued.secret);
    let caller = services
        .auth
        .authenticate(Some(&bearer), None)
        .await
        .unwrap();
    let mut by_token = scope(&services, caller, writes);
    let made = match by_token
        .create_token("alice-password", TokenSpec::named("x"))
        .await
    {
        Ok(made) => made,
        Err(_) => panic!("a token made with a token"),
    };
    assert_eq!(made.info.expires_at, expiring.expires_at);
    by_token.revoke_current_token().await.unwrap();
    assert!(
        services
            .auth
            .authenticate(Some(&bearer), None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_plugin_signs_only_with_the_key_ids_granted_to_it() {
    let (_dir, services) = services().await;
    let mut granted = scope(&services, user("alice"), Vec::new());
    let mut policy = (*granted.policy).clone();
    policy.signing_keys = strings(&["deb"]);
    granted.policy = Arc::new(policy);
    let keys = granted.signing_key("deb").expect("granted");
    let signed = keys.clearsign("deb", "Suite: stable\n").unwrap();
    assert!(
        signed.starts_with("-----BEGIN PGP SIGNED MESSAGE-----"),
        "{signed}"
    );
    let refused = granted.signing_key("helm").err().unwrap();
    assert!(
        refused.contains("not granted to the npm plugin"),
        "{refused}"
    );
    let ungranted = scope(&services, user("alice"), Vec::new());
    assert!(ungranted.signing_key("deb").is_err());
}

#[tokio::test]
async fn a_claim_given_back_leaves_no_published_package_without_owner() {
    use crate::store::catalog::{Asset, Owner, Write};
    let (_dir, services) = services().await;
    let alice = scope(
        &services,
        user("alice"),
        vec![grant(Action::Write, Some("pkg"))],
    );
    // One request claims the new name for its publish...
    let mut claimed = Vec::new();
    alice.own("pkg", Action::Write, &mut claimed).await.unwrap();
    assert_eq!(claimed, ["pkg"]);
    // ...another request of alice's publishes under that claim...
    let blob = services
        .blobs
        .put_bytes(bytes::Bytes::from_static(b"x"), Default::default())
        .await
        .unwrap();
    let asset = Write::PutAsset {
        owner: Owner {
            package: "pkg".into(),
            version: None,
        },
        asset: Asset {
            path: "pkg/x".into(),
            blake3: blob.blake3,
            content_type: "application/octet-stream".into(),
            metadata: String::new(),
            added_at: 0,
        },
        replace: false,
    };
    services.catalog.apply(REPO, &[asset]).await.unwrap();
    // ...and the first fails and gives its claim back: alice keeps the package.
    alice.give_back(&claimed).await;
    assert_eq!(alice.owners("pkg").await.unwrap(), ["user:alice"]);
    // A claim given back on a name nothing holds frees it, and claiming it
    // again succeeds rather than refusing its own caller.
    let mut other = Vec::new();
    alice.own("fresh", Action::Write, &mut other).await.unwrap();
    alice.give_back(&other).await;
    let owners = &services.auth.owners;
    assert!(owners.list(REPO, "fresh").await.unwrap().is_empty());
    let bob = scope(
        &services,
        user("bob"),
        vec![grant(Action::Write, Some("fresh"))],
    );
    let mut bobs = Vec::new();
    bob.own("fresh", Action::Write, &mut bobs).await.unwrap();
    assert_eq!(bobs, ["fresh"]);
}
