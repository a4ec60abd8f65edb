//! The sandbox and hot reload, end to end: a misbehaving plugin fails only its
//! own request, the host refuses writes a route did not ask for, and plugins
//! are replaced, broken, disabled and re-enabled under load without a failed
//! request.

use sha2::Digest;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Server, replace_file, with_custom_section};

const FAULTY: PluginEntry = PluginEntry {
    format: "faulty",
    extra: "memory = \"16MiB\"\ntimeout = \"1s\"",
};
const LEGACY: PluginEntry = PluginEntry {
    format: "legacy",
    extra: "",
};
const CONTRACT02: PluginEntry = PluginEntry {
    format: "contract02",
    extra: "",
};
const CONTRACT030: PluginEntry = PluginEntry {
    format: "contract03",
    extra: "",
};
const GUIDE: PluginEntry = PluginEntry {
    format: "guide",
    extra: "",
};
const NPM: PluginEntry = PluginEntry {
    format: "npm",
    extra: "",
};

#[test]
fn a_misbehaving_plugin_fails_only_its_own_request() {
    let mut server = Server::start(&[FAULTY]);
    assert_eq!(server.get("/faulty/ok").text(), "ok");

    let trap = server.get("/faulty/trap");
    assert_eq!(trap.status, 500);
    assert!(trap.text().contains("trapped"), "{}", trap.text());
    assert!(
        !trap.text().contains("wasm backtrace"),
        "trap details must stay in the log"
    );
    assert!(
        server.log().contains("panics on purpose"),
        "the guest's panic message is logged"
    );

    let oom = server.get("/faulty/oom");
    assert_eq!(oom.status, 500, "{}", oom.text());
    assert!(server.log().contains("forcing trap when growing memory"));

    let started = Instant::now();
    let spin = server.get("/faulty/spin");
    assert_eq!(spin.status, 504, "{}", spin.text());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the deadline stopped the loop"
    );

    // The process and the plugin keep serving.
    assert!(server.is_running());
    assert_eq!(server.get("/health").status, 200);
    assert_eq!(server.get("/faulty/ok").text(), "ok");

    // Operators see the same story in the metrics.
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    let failures = "wharf_plugin_failures_total{format=\"faulty\",kind=";
    assert_eq!(value(&format!("{failures}\"trap\"}}")), 2.0);
    assert_eq!(value(&format!("{failures}\"deadline\"}}")), 1.0);
    let requests = "wharf_http_requests_total{repo=\"faulty\",status=";
    assert_eq!(value(&format!("{requests}\"200\"}}")), 2.0);
    assert_eq!(value(&format!("{requests}\"504\"}}")), 1.0);
    assert!(text.contains("wharf_plugin_loads_total{format=\"faulty\",outcome=\"loaded\"} 1"));
}

/// A merge's reads of its group (`group.read`) are bounded: two deep, 64
/// per client request, reads only; a handler cannot read its group.
#[test]
fn a_merge_reads_its_group_within_bounds() {
    let settings = "[[repository]]\nname = \"faulty-a\"\nformat = \"faulty\"\n\
                    \n[[repository]]\nname = \"faulty-b\"\nformat = \"faulty\"\n\
                    \n[[repository]]\nname = \"faulty-all\"\nformat = \"faulty\"\n\
                    kind = \"group\"\nmembers = [\"faulty-a\", \"faulty-b\"]\n";
    let mut server = Server::start_with_settings(&[FAULTY], &[], settings);
    let nest = server.get("/faulty-all/nest/0");
    assert_eq!(nest.status, 200, "{}", nest.text());
    assert_eq!(
        nest.text(),
        "0 > 1 > 2: the group is read only during a merge, two reads deep at most"
    );
    let fan_out = server.get("/faulty-all/fan-out");
    assert_eq!(
        fan_out.text(),
        "64: a request reads at most 64 paths of its group"
    );
    let write = server.get("/faulty-all/read-a-write");
    assert_eq!(write.text(), "writes/x is not a read");
    let outside = server.get("/faulty-a/read-outside");
    assert!(
        outside.text().contains("only during a merge"),
        "{}",
        outside.text()
    );
    assert!(server.is_running());
}

#[test]
fn the_admin_api_is_described_at_api_docs() {
    let server = Server::start(&[NPM]);
    let doc = server.get("/api-docs").json();
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3."),
        "{doc}"
    );
    for (path, method) in [
        ("/ready", "get"),
        ("/api/v1/plugins", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/users", "post"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "no {method} {path}");
    }
    // What the document promises is what the API serves.
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let schemas = &doc["components"]["schemas"];
    let plugins = server.plugins();
    assert_eq!(
        keys(&plugins[0]),
        keys(&schemas["PluginStatus"]["properties"])
    );
    let ready = server.get("/ready").json();
    assert_eq!(keys(&ready), keys(&schemas["Ready"]["properties"]));
}

#[test]
fn the_configured_memory_cap_is_the_one_enforced() {
    // FAULTY is capped at 16 MiB, well under the 128 MiB default.
    let server = Server::start(&[FAULTY]);
    let under = server.get("/faulty/grow/15");
    assert_eq!(under.status, 200, "{}", under.text());
    assert_eq!(under.text(), "grew to 15 MiB");
    assert_eq!(server.get("/faulty/grow/17").status, 500);
    assert!(server.log().contains("forcing trap when growing memory"));
}

/// POST as the admin, who may write anything the route allows.
fn admin_post(server: &Server, path: &str) -> wharf_tests::Reply {
    let post =
        ureq::post(&format!("{}{path}", server.url)).set("authorization", &server.admin_basic());
    wharf_tests::send_with(post, Some(b""))
}

#[test]
fn the_route_bounds_every_write_even_for_an_admin() {
    let server = Server::start(&[NPM, FAULTY]);
    let admin_get = |path: &str| {
        let get =
            ureq::get(&format!("{}{path}", server.url)).set("authorization", &server.admin_basic());
        wharf_tests::send(get)
    };
    let has = |pkg: &str| server.get(&format!("/faulty/has/{pkg}")).text();

    // A read route can neither publish nor store bytes.
    let reply = admin_get("/faulty/sneaky-publish");
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains("route"), "{}", reply.text());
    assert_eq!(has("smuggled"), "no");
    assert_eq!(admin_get("/faulty/sneaky-store").status, 403);

    // A route that names `mine` cannot write `theirs`.
    assert_eq!(
        admin_post(&server, "/faulty/publish/mine/as/theirs").status,
        403
    );
    assert_eq!(has("theirs"), "no");
    let own = admin_post(&server, "/faulty/publish/mine/as/mine");
    assert_eq!(own.status, 200, "{}", own.text());
    assert_eq!(has("mine"), "yes");

    // Every asset is checked: a second one naming another repository's
    // private blob is refused, and nothing of the publication stays.
    let token = server.create_user("dave", "dave-password");
    let body = wharf_tests::npm_publish_body("private-thing", "1.0.0", b"secret", b"secret");
    let put = ureq::put(&format!("{}/npm/private-thing", server.url))
        .set("authorization", &format!("Bearer {token}"));
    assert_eq!(wharf_tests::send_with(put, Some(&body)).status, 200);
    let secret = blake3_hex(b"secret");
    let smuggle = admin_post(&server, &format!("/faulty/publish/second/with/{secret}"));
    assert_eq!(smuggle.status, 403, "{}", smuggle.text());
    assert_eq!(has("second"), "no");
    // A blob this repository already serves may be published again.
    let served = blake3_hex(b"mine");
    let again = admin_post(&server, &format!("/faulty/publish/second/with/{served}"));
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(has("second"), "yes");
}

#[test]
fn a_plugin_built_against_contract_0_1_still_serves() {
    let server = Server::start(&[LEGACY, FAULTY]);
    assert_eq!(plugin_status(&server, "legacy")["contract"], "0.1");
    assert_eq!(plugin_status(&server, "faulty")["contract"], "0.3");
    assert_eq!(server.get("/legacy/ok").text(), "ok from contract 0.1");

    let token = server.create_user("olga", "olga-password");
    let put = ureq::put(&format!("{}/legacy/files/hello", server.url))
        .set("authorization", &format!("Bearer {token}"));
    let stored = wharf_tests::send_with(put, Some(b"hello, 0.1"));
    assert_eq!(stored.status, 201, "{}", stored.text());
    assert_eq!(stored.reason, "Stored by 0.1");
    assert_eq!(
        stored.text(),
        hex::encode(sha2::Sha256::digest(b"hello, 0.1"))
    );
    assert_eq!(server.get("/legacy/files/hello").body, b"hello, 0.1");
    let anonymous = ureq::put(&format!("{}/legacy/files/other", server.url));
    assert_eq!(wharf_tests::send_with(anonymous, Some(b"x")).status, 401);

    // The same policy holds for a 0.1 plugin: a read route cannot write.
    let sneaky = ureq::get(&format!("{}/legacy/sneaky", server.url))
        .set("authorization", &server.admin_basic());
    assert_eq!(wharf_tests::send(sneaky).status, 403);
}

#[test]
fn a_plugin_built_against_contract_0_2_still_serves() {
    a_frozen_plugin_still_serves(CONTRACT02, "0.2", "0.2");
}

/// 0.3.1 only added to 0.3.0: a 0.3.0 component links against it unchanged.
#[test]
fn a_plugin_built_against_contract_0_3_0_still_serves() {
    a_frozen_plugin_still_serves(CONTRACT030, "0.3", "0.3.0");
}

/// `plugin` (built from the WIT of its contract alone) loads beside the
/// SDK's plugins, serves, renders the host's decisions and is held to the
/// same rules. `contract`: its version as the host reports it; `release`:
/// as its own answers name it.
fn a_frozen_plugin_still_serves(plugin: PluginEntry, contract: &str, release: &str) {
    let name = plugin.format;
    let server = Server::start(&[plugin, NPM]);
    assert_eq!(plugin_status(&server, name)["contract"], contract);
    assert_eq!(plugin_status(&server, "npm")["contract"], "0.3");
    assert_eq!(
        server.get(&format!("/{name}/ok")).text(),
        format!("ok from contract {release}")
    );

    let token = server.create_user("petra", "petra-password");
    let put = |path: &str, auth: &str, body: &[u8]| {
        let put = ureq::put(&format!("{}/{name}/{path}", server.url)).set("authorization", auth);
        wharf_tests::send_with(put, Some(body))
    };
    let stored = put("files/hello", &format!("Bearer {token}"), b"hello, frozen");
    assert_eq!(stored.status, 201, "{}", stored.text());
    assert_eq!(stored.reason, format!("Stored by {contract}"));
    assert_eq!(
        stored.text(),
        hex::encode(sha2::Sha256::digest(b"hello, frozen"))
    );
    assert_eq!(
        server.get(&format!("/{name}/files/hello")).body,
        b"hello, frozen"
    );
    assert_eq!(server.get(&format!("/{name}/versions/hello")).text(), "1.0");

    // Host decisions are rendered by the plugin, in its shape.
    let anonymous = ureq::put(&format!("{}/{name}/files/other", server.url));
    let refused = wharf_tests::send_with(anonymous, Some(b"x"));
    assert_eq!(refused.status, 401);
    assert!(
        refused.text().starts_with(&format!("{name}: ")),
        "{}",
        refused.text()
    );
    let missing = server.get(&format!("/{name}/nothing/here"));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.text(), format!("{name}: not found"));

    // The same policy holds: the package is its first publisher's, and a
    // read route cannot write, even for an admin.
    let other = server.create_user("quentin", "quentin-password");
    let taken = put("files/hello", &format!("Bearer {other}"), b"mine now");
    assert_eq!(taken.status, 403, "{}", taken.text());
    assert!(taken.text().contains("not an owner"), "{}", taken.text());
    assert_eq!(
        server.get(&format!("/{name}/files/hello")).body,
        b"hello, frozen"
    );
    let sneaky = ureq::get(&format!("{}/{name}/sneaky", server.url))
        .set("authorization", &server.admin_basic());
    let sneaky = wharf_tests::send(sneaky);
    assert_eq!(sneaky.status, 403, "{}", sneaky.text());
    assert!(sneaky.text().contains("route"), "{}", sneaky.text());
}

#[test]
fn an_unknown_contract_version_is_refused_once_and_reported() {
    let server = Server::start(&[FAULTY]);
    let future = wat::parse_str(
        r#"(component
             (instance $handler)
             (export "wharf:plugin/handler@0.9.0" (instance $handler)))"#,
    )
    .unwrap();
    replace_file(&server.plugin_path("faulty"), &future);
    wait_for(
        "the refusal to be reported",
        Duration::from_secs(30),
        || !plugin_status(&server, "faulty")["last_error"].is_null(),
    );
    let error = plugin_status(&server, "faulty")["last_error"].to_string();
    assert!(error.contains("wharf:plugin@0.9.0"), "{error}");
    assert!(error.contains("0.1, 0.2, 0.3"), "{error}");
    // The previous build keeps serving.
    assert_eq!(server.get("/faulty/ok").text(), "ok");
    assert_eq!(plugin_status(&server, "faulty")["contract"], "0.3");

    // While the file stays as it is, it is not tried again: touching
    // another file in the directory makes no new error line.
    std::fs::write(server.plugin_path("faulty").with_extension("note"), b"x").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let refusals = server.log().matches("wharf:plugin@0.9.0").count();
    assert_eq!(refusals, 1, "{}", server.log());
}

#[test]
fn a_plugin_cannot_reach_another_repositorys_blobs() {
    let server = Server::start(&[NPM, FAULTY]);
    let token = server.create_user("dave", "dave-password");
    let body =
        wharf_tests::npm_publish_body("private-thing", "1.0.0", b"secret bytes", b"secret bytes");
    let put = ureq::put(&format!("{}/npm/private-thing", server.url))
        .set("authorization", &format!("Bearer {token}"));
    assert_eq!(wharf_tests::send_with(put, Some(&body)).status, 200);
    let tarball = server.get("/npm/private-thing/-/private-thing-1.0.0.tgz");
    assert_eq!(tarball.body, b"secret bytes");
    // The default ETag of a blob is its BLAKE3 address.
    let blake3 = tarball
        .header("etag")
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert_eq!(server.get(&format!("/faulty/serve/{blake3}")).status, 500);
    assert_eq!(server.get(&format!("/faulty/open/{blake3}")).status, 404);
}

#[test]
fn multipart_forms_stream_files_into_the_store() {
    let server = Server::start(&[FAULTY]);
    let token = server.create_user("erin", "erin-password");
    let file: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--XyZ\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n",
    );
    body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"content\"; filename=\"demo-1.0.tar.gz\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(&file);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let post = ureq::post(&format!("{}/faulty/form", server.url))
        .set("authorization", &format!("Bearer {token}"))
        .set("content-type", "multipart/form-data; boundary=XyZ");
    let reply = wharf_tests::send_with(post, Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sha256 = hex::encode(sha2::Sha256::digest(&file));
    assert_eq!(
        reply.text(),
        format!(
            "field :action=file_upload\nfile content demo-1.0.tar.gz 300000 sha256={sha256} md5={}",
            hex::encode(md5::compute(&file).0)
        )
    );
    let bad = ureq::post(&format!("{}/faulty/form", server.url))
        .set("authorization", &format!("Bearer {token}"))
        .set("content-type", "multipart/form-data");
    assert_eq!(wharf_tests::send_with(bad, Some(b"nonsense")).status, 400);
}

#[test]
fn methods_and_unknown_paths_get_clean_errors() {
    let server = Server::start(&[FAULTY]);
    let reply = wharf_tests::send(ureq::delete(&format!("{}/faulty/ok", server.url)));
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    assert_eq!(server.get("/faulty/no/such/route").status, 404);
    assert_eq!(server.get("/no-such-repository/x").status, 404);
}

#[test]
fn the_plugin_guide_example_is_the_crate_that_serves() {
    let guide = std::fs::read_to_string(wharf_tests::root().join("docs/plugin-guide.md")).unwrap();
    let source =
        std::fs::read_to_string(wharf_tests::root().join("tests/plugins/guide/src/lib.rs"))
            .unwrap();
    assert!(
        guide.contains(&format!("```rust\n{source}```")),
        "docs/plugin-guide.md must show tests/plugins/guide/src/lib.rs verbatim"
    );

    let server = Server::start(&[GUIDE]);
    let token = server.create_user("gus", "gus-password");
    let put = |version: &str| {
        let put = ureq::put(&format!("{}/guide/packages/demo/{version}", server.url))
            .set("authorization", &format!("Bearer {token}"));
        wharf_tests::send_with(put, Some(b"demo bytes"))
    };
    assert_eq!(put("1.0.0").status, 201);
    assert_eq!(put("1.0.0").status, 409);
    assert_eq!(put("1.1.0").status, 201);
    assert_eq!(
        server.get("/guide/packages/demo").json(),
        serde_json::json!(["1.0.0", "1.1.0"])
    );
    assert_eq!(server.get("/guide/packages/demo/1.1.0").body, b"demo bytes");

    // Warm answers, documents and downloads alike, never enter wasm: only a
    // plugin call carries the Server-Timing of classify and handle.
    let file = "/guide/packages/demo/1.1.0";
    let warm = server.get(file);
    assert_eq!(warm.body, b"demo bytes");
    assert_eq!(warm.header("server-timing"), None, "served from the cache");
    let range = ureq::get(&format!("{}{file}", server.url)).set("range", "bytes=5-9");
    let range = wharf_tests::send(range);
    assert_eq!((range.status, range.body.as_slice()), (206, &b"bytes"[..]));
    let list = server.get("/guide/packages/demo");
    assert_eq!(list.header("server-timing"), None);
    // A write invalidates: the next read renders again, with the new version.
    assert_eq!(put("1.2.0").status, 201);
    let fresh = server.get("/guide/packages/demo");
    assert!(fresh.header("server-timing").is_some());
    assert_eq!(fresh.json(), serde_json::json!(["1.0.0", "1.1.0", "1.2.0"]));

    let missing = server.get("/guide/packages/nothing");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"], "no package nothing");
}

/// The plugin build that answered, from the host's Server-Timing entry
/// `plugin;desc="<first 16 hex digits of its hash>"`.
fn answered_by(reply: &wharf_tests::Reply) -> Option<String> {
    let timing = reply.header("server-timing")?;
    let desc = timing.split("plugin;desc=\"").nth(1)?;
    Some(desc.split('"').next()?.to_string())
}

/// Hammers the npm repository from several threads until told to stop;
/// returns (requests, failures with their statuses). Every build that
/// answers goes into `seen`.
fn load(
    server: &Server,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<HashSet<String>>>,
) -> Vec<std::thread::JoinHandle<(usize, Vec<u16>)>> {
    (0..4)
        .map(|i| {
            let url = server.url.clone();
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                let (mut count, mut failures) = (0, Vec::new());
                while !stop.load(Ordering::Relaxed) && count < 200_000 {
                    let path = if i % 2 == 0 {
                        "/npm/-/ping"
                    } else {
                        "/npm/no-such-package"
                    };
                    let reply = wharf_tests::send(ureq::get(&format!("{url}{path}")));
                    let expected = if i % 2 == 0 { 200 } else { 404 };
                    if reply.status != expected {
                        failures.push(reply.status);
                    }
                    if let Some(build) = answered_by(&reply) {
                        seen.lock().unwrap().insert(build);
                    }
                    count += 1;
                }
                (count, failures)
            })
        })
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn plugin_status(server: &Server, format: &str) -> serde_json::Value {
    server
        .plugins()
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["format"] == format)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn plugins_reload_under_load_without_a_failed_request() {
    let server = Server::start(&[NPM, FAULTY]);
    let original = std::fs::read(server.plugin_path("npm")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let workers = load(&server, stop.clone(), seen.clone());
    let answered = |hash: &str| seen.lock().unwrap().contains(&hash[..16]);

    // Ten new builds of the npm component, each a different hash, swapped in
    // while the load runs: the build before each swap and the build after it
    // both answer requests of the same load, and none fails.
    let mut builds = vec![blake3_hex(&original)];
    wait_for("the first build to answer", Duration::from_secs(30), || {
        answered(&builds[0])
    });
    for i in 0..10 {
        let build = with_custom_section(&original, &format!("build {i}"));
        let hash = blake3_hex(&build);
        replace_file(&server.plugin_path("npm"), &build);
        wait_for(
            "the new npm build to answer the load",
            Duration::from_secs(30),
            || answered(&hash),
        );
        assert_eq!(plugin_status(&server, "npm")["hash"], hash.as_str());
        builds.push(hash);
    }

    // A broken build leaves the last good one serving, and says why.
    let last_good = plugin_status(&server, "npm")["hash"].clone();
    replace_file(&server.plugin_path("npm"), b"\0asm this is not a component");
    wait_for(
        "the load error to be reported",
        Duration::from_secs(30),
        || !plugin_status(&server, "npm")["last_error"].is_null(),
    );
    assert_eq!(plugin_status(&server, "npm")["hash"], last_good);
    replace_file(&server.plugin_path("npm"), &original);
    wait_for("the fixed build to load", Duration::from_secs(30), || {
        plugin_status(&server, "npm")["last_error"].is_null()
    });

    // Editing the registry disables and re-enables a format; limits change too.
    let registry = std::fs::read_to_string(server.registry_path()).unwrap();
    let without_faulty = registry
        .split("[[plugin]]")
        .filter(|s| !s.contains("faulty"))
        .collect::<Vec<_>>()
        .join("[[plugin]]");
    replace_file(&server.registry_path(), without_faulty.as_bytes());
    wait_for("faulty to be disabled", Duration::from_secs(30), || {
        server.get("/faulty/ok").status == 404
    });
    replace_file(
        &server.registry_path(),
        registry
            .replace("timeout = \"1s\"", "timeout = \"2s\"")
            .as_bytes(),
    );
    wait_for(
        "faulty to be enabled again",
        Duration::from_secs(30),
        || server.get("/faulty/ok").status == 200,
    );
    let started = Instant::now();
    assert_eq!(server.get("/faulty/spin").status, 504);
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "the new 2s deadline applies"
    );

    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for w in workers {
        let (count, failures) = w.join().unwrap();
        assert!(
            failures.is_empty(),
            "failed requests during reload: {failures:?}"
        );
        total += count;
    }
    assert!(total > 100, "the load ran ({total} requests)");
    for build in &builds {
        assert!(answered(build), "build {build} answered no request");
    }
}

fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
