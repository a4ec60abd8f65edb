//! `npm owner ls|add|rm` replayed against the mock host: the requests npm
//! 11 sends (`lib/commands/owner.js`), in its order.

use serde_json::{Value, json};
use wharf_sdk::mock::{self, TestRequest};
use wharf_sdk::types::{Action, Method};

use crate::tests::{get, publish, put, send, start};

/// The maintainers of the full packument, as `npm owner ls` reads them.
fn maintainers(pkg: &str) -> Value {
    get(pkg).body_json()["maintainers"].clone()
}

/// `npm owner add|rm <user> <pkg>`: GET the user, GET the packument, PUT
/// `{_id, _rev, maintainers}` to `<pkg>/-rev/<rev>`.
fn owner(change: &str, user: &str, pkg: &str) -> wharf_sdk::Response {
    let found = get(&format!("-/user/org.couchdb.user:{user}"));
    if found.status != 200 {
        return found;
    }
    let u = found.body_json();
    let doc = get(pkg).body_json();
    let mut list: Vec<Value> = doc["maintainers"].as_array().unwrap().clone();
    match change {
        "add" => list.push(json!({ "name": u["name"], "email": u["email"] })),
        _ => list.retain(|m| m["name"] != u["name"]),
    }
    let rev = doc["_rev"].as_str().unwrap();
    let body = json!({ "_id": doc["_id"], "_rev": rev, "maintainers": list });
    put(&format!("{pkg}/-rev/{rev}"), &body)
}

fn error(response: &wharf_sdk::Response) -> String {
    response.body_json()["error"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn maintainers_are_the_hosts_owners_and_owner_add_rm_change_them() {
    start();
    mock::add_user("alice", "a");
    mock::add_user("bob", "b");
    assert_eq!(publish("left-pad", "left-pad", "1.0.0").status, 200);
    assert_eq!(
        maintainers("left-pad"),
        json!([{ "name": "alice", "email": "" }])
    );
    let rev_before = get("left-pad").body_json()["_rev"].clone();

    // bob may not publish alice's package.
    mock::login_as(Some("bob"));
    let refused = publish("left-pad", "left-pad", "1.1.0");
    assert_eq!(refused.status, 403);
    assert_eq!(error(&refused), "bob is not an owner of left-pad");

    mock::login_as(Some("alice"));
    let added = owner("add", "bob", "left-pad");
    assert_eq!(added.status, 200, "{}", error(&added));
    assert_eq!(
        maintainers("left-pad"),
        json!([{ "name": "alice", "email": "" }, { "name": "bob", "email": "" }])
    );
    // The revision follows the owners: npm's next change names the new one.
    assert_ne!(get("left-pad").body_json()["_rev"], rev_before);

    mock::login_as(Some("bob"));
    assert_eq!(publish("left-pad", "left-pad", "1.1.0").status, 200);
    // An owner may change the owners too; bob takes himself off.
    let removed = owner("rm", "bob", "left-pad");
    assert_eq!(removed.status, 200, "{}", error(&removed));
    assert_eq!(
        maintainers("left-pad"),
        json!([{ "name": "alice", "email": "" }])
    );
    let refused = publish("left-pad", "left-pad", "1.2.0");
    assert_eq!(refused.status, 403);
    // ...and may change them no more.
    let again = owner("add", "bob", "left-pad");
    assert_eq!(again.status, 403, "{}", error(&again));

    // The last owner stays; an unknown user is named.
    mock::login_as(Some("alice"));
    let last = put(
        "left-pad/-rev/1-x",
        &json!({ "_id": "left-pad", "maintainers": [] }),
    );
    assert_eq!(last.status, 400);
    assert!(
        error(&last).contains("at least one owner"),
        "{}",
        error(&last)
    );
    let ghost = put(
        "left-pad/-rev/1-x",
        &json!({ "_id": "left-pad", "maintainers": [{ "name": "alice" }, { "name": "ghost" }] }),
    );
    assert_eq!(ghost.status, 400);
    assert_eq!(error(&ghost), "there is no user ghost");
    assert_eq!(
        maintainers("left-pad"),
        json!([{ "name": "alice", "email": "" }])
    );
}

#[test]
fn teams_own_packages_as_team_names() {
    start();
    mock::add_user("alice", "a");
    mock::add_user("dave", "d");
    mock::add_team("core", &["dave"]);
    assert_eq!(publish("left-pad", "left-pad", "1.0.0").status, 200);
    let user = get("-/user/org.couchdb.user:team%3Acore");
    assert_eq!(user.status, 200);
    assert_eq!(user.body_json()["name"], "team:core");
    assert_eq!(user.body_json()["type"], "team");
    assert_eq!(owner("add", "team%3Acore", "left-pad").status, 200);
    assert_eq!(
        maintainers("left-pad"),
        json!([{ "name": "alice", "email": "" }, { "name": "team:core", "email": "" }])
    );
    mock::with(|h| {
        assert_eq!(h.owners["left-pad"], vec!["user:alice", "team:core"]);
    });
    mock::login_as(Some("dave"));
    assert_eq!(publish("left-pad", "left-pad", "1.1.0").status, 200);
}

#[test]
fn the_user_lookup_is_for_signed_in_callers() {
    start();
    mock::add_user("bob", "b");
    let (route, found) = send(TestRequest::new(Method::Get, "-/user/org.couchdb.user:bob"));
    assert_eq!(route.id, "user");
    assert_eq!(
        (route.access[0].action, route.access[0].package.clone()),
        (Action::Read, None)
    );
    assert_eq!(
        found.body_json(),
        json!({ "_id": "org.couchdb.user:bob", "name": "bob", "type": "user", "roles": [], "email": "" })
    );
    let missing = get("-/user/org.couchdb.user:nobody");
    assert_eq!(
        (missing.status, missing.body_json()),
        (404, json!({ "error": "no such user: nobody" }))
    );
    assert_eq!(get("-/user/somebody-else").status, 404);
    mock::login_as(None);
    assert_eq!(get("-/user/org.couchdb.user:bob").status, 401);
}

#[test]
fn an_unpublish_does_not_apply_its_stale_maintainers() {
    start();
    mock::add_user("bob", "b");
    publish("left-pad", "left-pad", "1.0.0");
    publish("left-pad", "left-pad", "1.1.0");
    // npm read the document before bob became an owner...
    let mut doc = get("left-pad?write=true").body_json();
    assert_eq!(owner("add", "bob", "left-pad").status, 200);
    // ...and sends it back pruned: the version goes, bob stays.
    doc["versions"].as_object_mut().unwrap().remove("1.1.0");
    assert_eq!(put("left-pad/-rev/2-x", &doc).status, 200);
    let after = get("left-pad").body_json();
    assert_eq!(after["versions"].as_object().unwrap().len(), 1);
    assert_eq!(after["maintainers"].as_array().unwrap().len(), 2);
}

#[test]
fn owner_changes_are_refused_in_npms_shape() {
    start();
    // Nothing published under the name.
    let nothing = put(
        "nothing/-rev/1-x",
        &json!({ "maintainers": [{ "name": "alice" }] }),
    );
    assert_eq!(
        (nothing.status, error(&nothing).as_str()),
        (404, "not found")
    );
    publish("left-pad", "left-pad", "1.0.0");
    for (body, why) in [
        (
            json!({ "maintainers": "alice" }),
            "maintainers must be a list",
        ),
        (
            json!({ "maintainers": [{ "email": "x" }] }),
            "every maintainer needs a name",
        ),
        (
            json!({ "maintainers": [{ "name": "org:x" }] }),
            "names neither a user nor a team",
        ),
        (
            json!({ "_id": "left-pad" }),
            "neither versions nor maintainers",
        ),
        (
            json!({ "name": "other", "maintainers": [] }),
            "does not match the URL",
        ),
    ] {
        let refused = put("left-pad/-rev/1-x", &body);
        assert_eq!(refused.status, 400, "{body}");
        assert!(error(&refused).contains(why), "{}", error(&refused));
    }
    // An outage is a 503, not a change.
    mock::with(|h| h.store_down = true);
    let down = put(
        "left-pad/-rev/1-x",
        &json!({ "maintainers": [{ "name": "alice" }] }),
    );
    assert_eq!(down.status, 503);
}
