//! Password guessing: failed logins back off per account and per client
//! address (429 with `Retry-After`, the password not even checked), an
//! unknown user costs what a known one costs, and `npm login` still works
//! when anonymous callers may read nothing.

use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Reply, Server, basic, run_interactive, send, send_with};

const NPM: PluginEntry = PluginEntry {
    format: "npm",
    extra: "",
};

fn whoami(server: &Server, user: &str, password: &str) -> Reply {
    let url = format!("{}/npm/-/whoami", server.url);
    send(ureq::get(&url).set("authorization", &basic(user, password)))
}

/// npm's couch-style login: the plugin asks the host to check the password.
fn npm_login(server: &Server, user: &str, password: &str) -> Reply {
    let url = format!("{}/npm/-/user/org.couchdb.user:{user}", server.url);
    let body = serde_json::json!({ "name": user, "password": password }).to_string();
    let put = ureq::put(&url).set("content-type", "application/json");
    send_with(put, Some(body.as_bytes()))
}

/// A user made through the admin API only: `Server::create_user` also logs
/// in, and a password proved in the last minute is not checked again.
fn add_user(server: &Server, name: &str, password: &str) {
    let url = format!("{}/api/v1/users", server.url);
    let users = ureq::post(&url)
        .set("authorization", &server.admin_basic())
        .set("content-type", "application/json");
    let body = serde_json::json!({ "name": name, "password": password }).to_string();
    assert_eq!(send_with(users, Some(body.as_bytes())).status, 201);
}

fn retry_after(reply: &Reply) -> u64 {
    let value = reply.header("retry-after").expect("Retry-After");
    value.parse().expect("Retry-After in seconds")
}

#[test]
fn failed_logins_lock_the_account_out_for_longer_each_time() {
    let server = Server::start_with_env(
        &[NPM],
        &[
            ("WHARF_LOGIN_FREE_FAILURES", "2"),
            ("WHARF_LOGIN_LOCKOUT_MAX_SECS", "4"),
        ],
    );
    add_user(&server, "alice", "alice-password");
    // Two free failures, then the third locks alice out for 1 s.
    for guess in ["guess-1", "guess-2", "guess-3"] {
        assert_eq!(whoami(&server, "alice", guess).status, 401, "{guess}");
    }
    let locked = whoami(&server, "alice", "alice-password");
    assert_eq!(locked.status, 429, "{}", locked.text());
    assert_eq!(retry_after(&locked), 1);
    std::thread::sleep(Duration::from_millis(1100));
    // The next failure locks for 2 s.
    assert_eq!(whoami(&server, "alice", "guess-4").status, 401);
    let started = Instant::now();
    let locked = whoami(&server, "alice", "alice-password");
    assert_eq!(locked.status, 429, "the right password is not even checked");
    assert_eq!(retry_after(&locked), 2);
    assert!(
        locked.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("too many failed logins")),
        "in npm's error shape: {}",
        locked.text()
    );
    // Every way in refuses the password while locked: npm's login route,
    // the admin API and the registry token endpoint, each with Retry-After.
    let login = npm_login(&server, "alice", "alice-password");
    assert_eq!(login.status, 429, "{}", login.text());
    assert!(login.json()["error"].is_string(), "{}", login.text());
    assert!((1..=2).contains(&retry_after(&login)));
    let auth = basic("alice", "alice-password");
    let api =
        send(ureq::post(&format!("{}/api/v1/tokens", server.url)).set("authorization", &auth));
    assert_eq!(api.status, 429, "{}", api.text());
    assert!((1..=2).contains(&retry_after(&api)));
    let token = send(ureq::get(&format!("{}/auth/token", server.url)).set("authorization", &auth));
    assert_eq!(token.status, 429, "{}", token.text());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "checked within the lockout"
    );
    // Once the lockout has passed, the right password gets in.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(started.elapsed()));
    std::thread::sleep(Duration::from_millis(100));
    let welcome = whoami(&server, "alice", "alice-password");
    assert_eq!(welcome.status, 200, "{}", welcome.text());
    assert_eq!(welcome.json()["username"], "alice");
    // The success reset the count: two free failures again.
    for guess in ["guess-5", "guess-6"] {
        assert_eq!(whoami(&server, "alice", guess).status, 401, "{guess}");
    }
    assert_eq!(whoami(&server, "alice", "guess-7").status, 401);
}

#[test]
fn one_address_spraying_many_accounts_is_locked_out() {
    let server = Server::start_with_env(
        &[NPM],
        &[
            ("WHARF_LOGIN_FREE_FAILURES_PER_ADDRESS", "3"),
            ("WHARF_LOGIN_LOCKOUT_MAX_SECS", "60"),
        ],
    );
    let token = server.create_user("alice", "alice-password");
    add_user(&server, "bob", "bob-password");
    // One guess per account: no account reaches its own limit.
    for user in ["bob", "carol", "dave", "erin"] {
        assert_eq!(whoami(&server, user, "Summer2024!").status, 401, "{user}");
    }
    let locked = whoami(&server, "bob", "bob-password");
    assert_eq!(locked.status, 429, "this address is locked out");
    assert_eq!(retry_after(&locked), 1);
    // API tokens are not passwords: they still work from here.
    let url = format!("{}/npm/-/whoami", server.url);
    let by_token = send(ureq::get(&url).set("authorization", &format!("Bearer {token}")));
    assert_eq!(by_token.status, 200, "{}", by_token.text());
}

#[test]
fn unknown_users_cost_what_known_users_cost() {
    // The backoff off: every try is checked.
    let server = Server::start_with_env(&[NPM], &[("WHARF_LOGIN_LOCKOUT_MAX_SECS", "0")]);
    server.create_user("alice", "alice-password");
    let url = format!("{}/npm/-/whoami", server.url);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let time = |user: &str, password: &str| {
        let request = agent.get(&url).set("authorization", &basic(user, password));
        let started = Instant::now();
        let reply = send(request);
        let took = started.elapsed();
        assert_eq!(reply.status, 401, "{user}: {}", reply.text());
        took
    };
    for i in 0..10 {
        time("alice", &format!("warm-up-{i}"));
        time(&format!("warm-up-{i}"), "x");
    }
    // Alternated, so that a change in the machine's load hits both alike.
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..200 {
        known.push(time("alice", &format!("guess-{i}")));
        unknown.push(time(&format!("nobody-{i}"), &format!("guess-{i}")));
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (known, unknown) = (median(known), median(unknown));
    println!("median of 200: known user {known:?}, unknown user {unknown:?}");
    let (fast, slow) = (known.min(unknown), known.max(unknown));
    assert!(
        slow.as_secs_f64() < fast.as_secs_f64() * 1.2,
        "known {known:?} and unknown {unknown:?} differ by 20% or more"
    );
    assert!(
        unknown > Duration::from_millis(3),
        "an unknown user must cost an argon2 check: {unknown:?}"
    );
}

#[test]
fn npm_login_works_when_anonymous_reads_are_off() {
    let server = Server::start_with_env(&[NPM], &[("WHARF_ANONYMOUS_READ", "false")]);
    server.create_user("alice", "alice-password");
    // Everything but the login stays closed to anonymous callers.
    for path in ["/npm/-/ping", "/npm/-/whoami", "/npm/left-pad"] {
        assert_eq!(server.get(path).status, 401, "{path}");
    }
    assert_eq!(npm_login(&server, "alice", "wrong").status, 401);
    let home = tempfile::tempdir().unwrap();
    let registry = format!("{}/npm/", server.url);
    std::fs::write(
        home.path().join(".npmrc"),
        format!("registry={registry}\naudit=false\nfund=false\nupdate-notifier=false\n"),
    )
    .unwrap();
    let env = [
        ("HOME", home.path().as_os_str()),
        ("NO_COLOR", std::ffi::OsStr::new("1")),
    ];
    let cmd = format!("npm login --auth-type=legacy --registry {registry}");
    let answers = [("Username:", "alice"), ("Password:", "alice-password")];
    let (ok, printed) = run_interactive(&cmd, &env, &answers);
    assert!(ok, "npm login failed:\n{printed}");
    let (ok, out, err) = wharf_tests::run(
        std::process::Command::new("npm")
            .args(["whoami", "--registry", &registry])
            .env("HOME", home.path())
            .env("npm_config_cache", home.path().join(".npm"))
            .env_remove("npm_config_registry")
            .env("NO_COLOR", "1"),
    );
    assert!(ok, "npm whoami failed:\n{out}\n{err}");
    assert_eq!(out.trim(), "alice");
}
