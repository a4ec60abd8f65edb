//! RubyGems, end to end: Debian's `gem` and `bundle` against a running
//! wharf, with HOME, GEM_HOME and Bundler's configuration in temporary
//! directories: build and push, `bundle install` from Wharf as the only
//! source, `gem install --source`, `bundle exec`, yank, the refused
//! republish, and `gem owner`.

use std::path::{Path, PathBuf};
use std::process::Command;
use wharf_tests::{PluginEntry, Server, run};

/// A Ruby user: their own HOME (gem's credentials, Bundler's config) and
/// GEM_HOME, and an API key.
struct RubyUser {
    home: tempfile::TempDir,
    key: String,
    server_url: String,
}

impl RubyUser {
    fn new(server: &Server, key: &str) -> RubyUser {
        let home = tempfile::tempdir().unwrap();
        // gem's credentials file, 0600 as gem requires.
        let dot_gem = home.path().join(".gem");
        std::fs::create_dir_all(&dot_gem).unwrap();
        let credentials = dot_gem.join("credentials");
        let host = format!("{}/rubygems", server.url);
        std::fs::write(&credentials, format!("---\n\"{host}\": {key}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600)).unwrap();
        RubyUser {
            home,
            key: key.to_string(),
            server_url: server.url.clone(),
        }
    }

    fn gem_home(&self) -> PathBuf {
        self.home.path().join("gems")
    }

    fn command(&self, dir: &Path, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.arg("300").arg(program).args(args).current_dir(dir);
        for var in ["GEM_HOST_API_KEY", "RUBYOPT", "BUNDLE_GEMFILE", "GEM_PATH"] {
            cmd.env_remove(var);
        }
        let home = self.home.path();
        cmd.env("HOME", home)
            .env("GEM_HOME", self.gem_home())
            .env("GEM_PATH", self.gem_home())
            .env("GEM_SPEC_CACHE", home.join("specs"))
            .env("BUNDLE_USER_HOME", home.join("bundle-home"))
            .env("BUNDLE_APP_CONFIG", home.join("bundle-config"))
            .env("BUNDLE_PATH", home.join("bundle"))
            .env("BUNDLE_DISABLE_VERSION_CHECK", "true")
            .env("BUNDLE_SILENCE_ROOT_WARNING", "true")
            // Bundler's credentials for the host (anonymous reads work too).
            .env("BUNDLE_127__0__0__1", format!("ruby:{}", self.key));
        cmd
    }

    fn gem(&self, dir: &Path, args: &[&str]) -> (bool, String, String) {
        run(&mut self.command(dir, "gem", args))
    }

    fn gem_ok(&self, dir: &Path, args: &[&str]) -> String {
        let (ok, out, err) = self.gem(dir, args);
        assert!(ok, "gem {args:?} failed\nstdout:\n{out}\nstderr:\n{err}");
        out
    }

    fn bundle_ok(&self, dir: &Path, args: &[&str]) -> String {
        let (ok, out, err) = run(&mut self.command(dir, "bundle", args));
        assert!(ok, "bundle {args:?} failed\nstdout:\n{out}\nstderr:\n{err}");
        out
    }

    fn host(&self) -> String {
        format!("{}/rubygems", self.server_url)
    }

    /// `gem push` of a built .gem, with the key from ~/.gem/credentials.
    fn push(&self, dir: &Path, file: &str) -> (bool, String, String) {
        self.gem(dir, &["push", file, "--host", &self.host()])
    }
}

/// A gem's source: a gemspec and `lib/{file}.rb`; builds it, returns the .gem.
fn build(user: &RubyUser, dir: &Path, name: &str, version: &str, deps: &str, code: &str) -> String {
    let path = dir.join(format!("{name}-{version}-src"));
    std::fs::create_dir_all(path.join("lib")).unwrap();
    let file = name.replace('-', "_");
    std::fs::write(
        path.join(format!("{name}.gemspec")),
        format!(
            "Gem::Specification.new do |s|\n  s.name = \"{name}\"\n  s.version = \"{version}\"\n  \
             s.summary = \"{name} for the wharf end-to-end test\"\n  s.authors = [\"Wharf\"]\n  \
             s.license = \"MIT\"\n  s.files = [\"lib/{file}.rb\"]\n  \
             s.required_ruby_version = \">= 2.5\"\n{deps}end\n"
        ),
    )
    .unwrap();
    std::fs::write(path.join("lib").join(format!("{file}.rb")), code).unwrap();
    user.gem_ok(&path, &["build", &format!("{name}.gemspec")]);
    let built = format!("{name}-{version}.gem");
    std::fs::rename(path.join(&built), dir.join(&built)).unwrap();
    built
}

fn base(user: &RubyUser, dir: &Path) -> String {
    build(
        user,
        dir,
        "wharf-e2e-base",
        "1.0.0",
        "",
        "module WharfE2eBase\n  def self.word; \"hello from wharf-e2e-base\"; end\nend\n",
    )
}

fn hello(user: &RubyUser, dir: &Path, version: &str) -> String {
    build(
        user,
        dir,
        "wharf-e2e-hello",
        version,
        "  s.add_dependency \"wharf-e2e-base\", \">= 1.0\"\n",
        &format!(
            "require \"wharf_e2e_base\"\nmodule WharfE2eHello\n  \
             def self.greet; \"#{{WharfE2eBase.word}} via hello {version}\"; end\nend\n"
        ),
    )
}

/// A project whose Gemfile's only source is wharf.
fn project(dir: &Path, name: &str, url: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(
        path.join("Gemfile"),
        format!("source \"{url}/rubygems/\"\n\ngem \"wharf-e2e-hello\"\n"),
    )
    .unwrap();
    path
}

fn locked(project: &Path, name: &str) -> Option<String> {
    let lock = std::fs::read_to_string(project.join("Gemfile.lock")).unwrap();
    let prefix = format!("    {name} (");
    lock.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.trim_end_matches(')').to_string())
}

#[test]
fn rubygems_end_to_end() {
    let plugin = PluginEntry {
        format: "rubygems",
        extra: "",
    };
    let server = Server::start(&[plugin]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let alice = RubyUser::new(&server, &server.create_user("alice", "alice-password"));
    let bob = RubyUser::new(&server, &server.create_user("bob", "bob-password"));

    // Push a base gem, then two versions of a gem depending on it.
    let base_gem = base(&alice, dir);
    let (ok, out, err) = alice.push(dir, &base_gem);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("Successfully registered gem: wharf-e2e-base (1.0.0)"),
        "{out}"
    );
    for version in ["1.0.0", "1.1.0"] {
        let file = hello(&alice, dir, version);
        let (ok, out, err) = alice.push(dir, &file);
        assert!(ok, "{out}{err}");
    }
    let info = server.get("/rubygems/info/wharf-e2e-hello").text();
    assert!(
        info.contains("1.1.0 wharf-e2e-base:>= 1.0|checksum:"),
        "{info}"
    );

    // Pushing an existing version is refused, as rubygems.org refuses it.
    let (ok, out, err) = alice.push(dir, "wharf-e2e-hello-1.0.0.gem");
    assert!(!ok, "a republish succeeded: {out}");
    assert!(
        format!("{out}{err}").contains("Repushing of gem versions is not allowed"),
        "{out}{err}"
    );

    // The compact index's validators, as Bundler checks them: the ETag is
    // the quoted MD5 of the body, a Range appends, the ETag revalidates.
    let url = format!("{}/rubygems/versions", server.url);
    let full = wharf_tests::send(ureq::get(&url).set("Accept-Encoding", "gzip"));
    assert_eq!(full.status, 200);
    let md5 = format!("\"{:x}\"", md5::compute(&full.body));
    assert_eq!(full.header("etag"), Some(md5.as_str()));
    assert!(full.header("repr-digest").unwrap().starts_with("sha-256=:"));
    let tail = wharf_tests::send(ureq::get(&url).set("Range", "bytes=10-"));
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, full.body[10..]);
    let same = wharf_tests::send(ureq::get(&url).set("If-None-Match", &md5));
    assert_eq!(same.status, 304);

    // bundle install with wharf as the only source, then bundle exec.
    let app = project(dir, "app", &server.url);
    alice.bundle_ok(&app, &["install"]);
    assert_eq!(locked(&app, "wharf-e2e-hello").as_deref(), Some("1.1.0"));
    assert_eq!(locked(&app, "wharf-e2e-base").as_deref(), Some("1.0.0"));
    let out = alice.bundle_ok(
        &app,
        &[
            "exec",
            "ruby",
            "-e",
            "require 'wharf_e2e_hello'; puts WharfE2eHello.greet",
        ],
    );
    assert_eq!(out.trim(), "hello from wharf-e2e-base via hello 1.1.0");
    // Again: Bundler revalidates its compact index copy (ETag, Range).
    alice.bundle_ok(&app, &["install"]);

    // gem install --source, dependencies included.
    let out = bob.gem_ok(
        dir,
        &[
            "install",
            "wharf-e2e-hello",
            "--source",
            &format!("{}/rubygems/", server.url),
            "--no-document",
        ],
    );
    assert!(out.contains("wharf-e2e-hello-1.1.0"), "{out}");
    assert!(bob.gem_home().join("gems/wharf-e2e-base-1.0.0").is_dir());

    // The Marshal indexes: latest_specs, specs (--all), prerelease_specs.
    let source = format!("{}/rubygems/", server.url);
    let remote = |extra: &[&str]| {
        let mut args = vec!["list", "--remote", "--clear-sources", "--source", &source];
        args.extend_from_slice(extra);
        bob.gem_ok(dir, &args)
    };
    let out = remote(&[]);
    assert!(out.contains("wharf-e2e-hello (1.1.0)"), "{out}");
    let out = remote(&["--all"]);
    assert!(out.contains("wharf-e2e-hello (1.1.0, 1.0.0)"), "{out}");
    let pre = hello(&alice, dir, "2.0.0.rc1");
    let (ok, out, err) = alice.push(dir, &pre);
    assert!(ok, "{out}{err}");
    let out = remote(&["--prerelease"]);
    assert!(out.contains("wharf-e2e-hello (2.0.0.rc1)"), "{out}");
    let out = remote(&[]);
    assert!(out.contains("wharf-e2e-hello (1.1.0)"), "{out}");

    // A yanked version leaves resolution.
    let out = alice.gem_ok(
        dir,
        &[
            "yank",
            "wharf-e2e-hello",
            "-v",
            "1.1.0",
            "--host",
            &alice.host(),
        ],
    );
    assert!(out.contains("Successfully deleted gem"), "{out}");
    let info = server.get("/rubygems/info/wharf-e2e-hello").text();
    assert!(!info.contains("1.1.0"), "{info}");
    // A fresh machine: Bundler counts gems already installed as candidates
    // (against rubygems.org too), so the project of `app` would keep 1.1.0.
    let fresh = RubyUser::new(&server, &bob.key);
    let after = project(dir, "after-yank", &server.url);
    fresh.bundle_ok(&after, &["install"]);
    assert_eq!(locked(&after, "wharf-e2e-hello").as_deref(), Some("1.0.0"));
    let out = fresh.bundle_ok(
        &after,
        &[
            "exec",
            "ruby",
            "-e",
            "require 'wharf_e2e_hello'; puts WharfE2eHello.greet",
        ],
    );
    assert_eq!(out.trim(), "hello from wharf-e2e-base via hello 1.0.0");

    // gem owner: a non-owner's push is refused until an owner adds them.
    let out = alice.gem_ok(dir, &["owner", "wharf-e2e-hello", "--host", &alice.host()]);
    assert!(out.contains("- alice"), "{out}");
    let next = hello(&bob, dir, "1.2.0");
    let (ok, out, err) = bob.push(dir, &next);
    assert!(!ok, "a non-owner's push succeeded: {out}");
    assert!(
        format!("{out}{err}").contains("You do not have permission"),
        "{out}{err}"
    );
    let out = alice.gem_ok(
        dir,
        &[
            "owner",
            "wharf-e2e-hello",
            "--add",
            "bob",
            "--host",
            &alice.host(),
        ],
    );
    assert!(out.contains("Owner added successfully"), "{out}");
    let (ok, out, err) = bob.push(dir, &next);
    assert!(ok, "{out}{err}");
    let out = alice.gem_ok(dir, &["owner", "wharf-e2e-hello", "--host", &alice.host()]);
    assert!(out.contains("- alice") && out.contains("- bob"), "{out}");
    let out = bob.gem_ok(
        dir,
        &[
            "owner",
            "wharf-e2e-hello",
            "--remove",
            "alice",
            "--host",
            &bob.host(),
        ],
    );
    assert!(out.contains("Owner removed successfully"), "{out}");
    let out = bob.gem_ok(dir, &["owner", "wharf-e2e-hello", "--host", &bob.host()]);
    assert!(out.contains("- bob") && !out.contains("- alice"), "{out}");
}

#[test]
fn bundle_installs_through_a_proxy_and_from_its_cache_when_the_upstream_is_gone() {
    let upstream = Server::start(&[PluginEntry {
        format: "rubygems",
        extra: "",
    }]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let alice = RubyUser::new(&upstream, &upstream.create_user("alice", "alice-password"));
    for file in [
        base(&alice, dir),
        hello(&alice, dir, "1.0.0"),
        hello(&alice, dir, "1.1.0"),
    ] {
        let (ok, out, err) = alice.push(dir, &file);
        assert!(ok, "{out}{err}");
    }

    let proxy = Server::start_proxy("rubygems", &format!("{}/rubygems/", upstream.url), "", &[]);
    let key = proxy.create_user("bob", "bob-password");
    let source = format!("{}/rubygems-proxy/", proxy.url);
    let gemfile = |name: &str| {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(
            path.join("Gemfile"),
            format!("source \"{source}\"\n\ngem \"wharf-e2e-hello\"\n"),
        )
        .unwrap();
        path
    };
    let greet = |user: &RubyUser, app: &Path| {
        let script = "require 'wharf_e2e_hello'; puts WharfE2eHello.greet";
        user.bundle_ok(app, &["exec", "ruby", "-e", script])
    };

    // bundle install with the proxy as the only source.
    let bob = RubyUser::new(&proxy, &key);
    let app = gemfile("app");
    bob.bundle_ok(&app, &["install"]);
    assert_eq!(locked(&app, "wharf-e2e-hello").as_deref(), Some("1.1.0"));
    assert_eq!(locked(&app, "wharf-e2e-base").as_deref(), Some("1.0.0"));
    assert_eq!(
        greet(&bob, &app).trim(),
        "hello from wharf-e2e-base via hello 1.1.0"
    );
    // The .gem is the upstream's, byte for byte.
    let pulled = proxy.get("/rubygems-proxy/gems/wharf-e2e-hello-1.1.0.gem");
    assert_eq!(pulled.status, 200);
    assert_eq!(
        pulled.body,
        std::fs::read(dir.join("wharf-e2e-hello-1.1.0.gem")).unwrap()
    );
    // gem install --source: the proxy's Marshal indexes and quick specs.
    let carol = RubyUser::new(&proxy, &key);
    let out = carol.gem_ok(
        dir,
        &[
            "install",
            "wharf-e2e-hello",
            "--clear-sources",
            "--source",
            &source,
            "--no-document",
        ],
    );
    assert!(out.contains("wharf-e2e-hello-1.1.0"), "{out}");
    assert!(carol.gem_home().join("gems/wharf-e2e-base-1.0.0").is_dir());

    // The upstream goes away: a fresh machine installs what the proxy has
    // seen, and the compact index says it is stale.
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let fresh = RubyUser::new(&proxy, &key);
    let again = gemfile("again");
    fresh.bundle_ok(&again, &["install"]);
    assert_eq!(locked(&again, "wharf-e2e-hello").as_deref(), Some("1.1.0"));
    assert_eq!(
        greet(&fresh, &again).trim(),
        "hello from wharf-e2e-base via hello 1.1.0"
    );
    let stale = proxy.get("/rubygems-proxy/info/wharf-e2e-hello");
    assert_eq!(stale.status, 200);
    assert!(stale.is_stale(), "{:?}", stale.headers);
    // A gem it never saw is gem's "not found", not a hang.
    let never = proxy.get("/rubygems-proxy/gems/never-seen-1.0.0.gem");
    assert!(matches!(never.status, 404 | 502 | 504), "{}", never.status);
}

/// A group of a hosted (`rubygems-private`) and a proxy member holding the
/// same gem: the group's compact index and Marshal indexes list both
/// members' versions, the hosted one wins the version both hold, and a
/// push through the group shows at once, to Bundler's cached index too.
#[test]
fn a_group_of_a_hosted_and_a_proxy_repository_serves_both_and_takes_pushes() {
    let upstream = Server::start(&[PluginEntry {
        format: "rubygems",
        extra: "",
    }]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let alice = RubyUser::new(&upstream, &upstream.create_user("alice", "alice-password"));
    for file in [
        base(&alice, dir),
        hello(&alice, dir, "1.0.0"),
        hello(&alice, dir, "1.1.0"),
    ] {
        let (ok, out, err) = alice.push(dir, &file);
        assert!(ok, "{out}{err}");
    }

    let group = "\n[[repository]]\nname = \"rubygems-private\"\nformat = \"rubygems\"\n\
                 \n[[repository]]\nname = \"rubygems-all\"\nformat = \"rubygems\"\nkind = \"group\"\n\
                 members = [\"rubygems-private\", \"rubygems-proxy\"]\n";
    let proxy = Server::start_proxy(
        "rubygems",
        &format!("{}/rubygems/", upstream.url),
        group,
        &[],
    );
    let key = proxy.create_user("bob", "bob-password");
    let bob = RubyUser::new(&proxy, &key);
    let source = format!("{}/rubygems-all", proxy.url);
    // gem's key for the group's URL.
    std::fs::write(
        bob.home.path().join(".gem/credentials"),
        format!("---\n\"{source}\": {key}\n"),
    )
    .unwrap();
    let private = dir.join("private");
    std::fs::create_dir_all(&private).unwrap();
    let private_hello = |version: &str| {
        build(
            &bob,
            &private,
            "wharf-e2e-hello",
            version,
            "  s.add_dependency \"wharf-e2e-base\", \">= 1.0\"\n",
            &format!(
                "module WharfE2eHello\n  def self.greet; \"private hello {version}\"; end\nend\n"
            ),
        )
    };
    let push = |file: &str| {
        let (ok, out, err) = bob.gem(&private, &["push", file, "--host", &source]);
        assert!(ok, "gem push through the group failed:\n{out}{err}");
    };

    // The push through the group lands in the hosted member: the same
    // version as the upstream's 1.0.0, other bytes.
    let shadow = private_hello("1.0.0");
    push(&shadow);
    let hosted = proxy.get("/rubygems-private/info/wharf-e2e-hello");
    assert_eq!(hosted.status, 200, "{}", hosted.text());
    assert!(hosted.text().contains("\n1.0.0 "), "{}", hosted.text());

    // The group's compact index: both members' versions, the hosted line
    // for 1.0.0, and the validators Bundler checks computed on the merge.
    let info = proxy.get("/rubygems-all/info/wharf-e2e-hello");
    assert_eq!(info.status, 200, "{}", info.text());
    let text = info.text();
    let sha = |file: &Path| {
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            std::fs::read(file).unwrap(),
        ))
    };
    assert!(
        text.contains(&format!(
            "1.0.0 wharf-e2e-base:>= 1.0|checksum:{}",
            sha(&private.join(&shadow))
        )),
        "{text}"
    );
    assert!(text.contains("\n1.1.0 "), "{text}");
    assert_eq!(text.matches("---").count(), 1, "{text}");
    assert_eq!(
        info.header("etag"),
        Some(format!("\"{:x}\"", md5::compute(&info.body)).as_str())
    );
    let versions = proxy.get("/rubygems-all/versions");
    assert_eq!(versions.status, 200);
    let versions = versions.text();
    assert!(
        versions
            .lines()
            .any(|l| l.starts_with("wharf-e2e-hello 1.0.0,1.1.0 ")),
        "{versions}"
    );
    assert!(
        versions
            .lines()
            .any(|l| l.starts_with("wharf-e2e-base 1.0.0 "))
    );
    let names = proxy.get("/rubygems-all/names").text();
    assert_eq!(names, "---\nwharf-e2e-base\nwharf-e2e-hello\n");

    // bundle install through the group: 1.1.0 is only the proxy's, and
    // its dependency too.
    let gemfile = |name: &str, requirement: &str| {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(
            path.join("Gemfile"),
            format!("source \"{source}/\"\n\ngem \"wharf-e2e-hello\"{requirement}\n"),
        )
        .unwrap();
        path
    };
    let greet = |user: &RubyUser, app: &Path| {
        let script = "require 'wharf_e2e_hello'; puts WharfE2eHello.greet";
        user.bundle_ok(app, &["exec", "ruby", "-e", script])
            .trim()
            .to_string()
    };
    let app = gemfile("app", "");
    bob.bundle_ok(&app, &["install"]);
    assert_eq!(locked(&app, "wharf-e2e-hello").as_deref(), Some("1.1.0"));
    assert_eq!(locked(&app, "wharf-e2e-base").as_deref(), Some("1.0.0"));
    assert_eq!(
        greet(&bob, &app),
        "hello from wharf-e2e-base via hello 1.1.0"
    );
    // 1.0.0, held by both, is the hosted member's.
    let pinned = gemfile("pinned", ", \"1.0.0\"");
    bob.bundle_ok(&pinned, &["install"]);
    assert_eq!(greet(&bob, &pinned), "private hello 1.0.0");

    // gem install through the group (the Marshal indexes and quick specs).
    let carol = RubyUser::new(&proxy, &key);
    let install = |version: &[&str]| {
        let mut args = vec![
            "install",
            "wharf-e2e-hello",
            "--clear-sources",
            "--source",
            &source,
            "--no-document",
        ];
        args.extend_from_slice(version);
        // Not from `dir`, where gem would take the .gem files built there.
        carol.gem_ok(carol.home.path(), &args)
    };
    let out = install(&[]);
    assert!(out.contains("wharf-e2e-hello-1.1.0"), "{out}");
    let out = install(&["-v", "1.0.0"]);
    let code = carol
        .gem_home()
        .join("gems/wharf-e2e-hello-1.0.0/lib/wharf_e2e_hello.rb");
    let code = std::fs::read_to_string(code).unwrap();
    assert!(
        code.contains("private hello"),
        "the upstream's 1.0.0 was installed:\n{code}\n{out}"
    );

    // A newer private version pushed through the group shows at once, to
    // Bundler with its compact index cached and to gem.
    push(&private_hello("1.2.0"));
    let info = proxy.get("/rubygems-all/info/wharf-e2e-hello").text();
    assert!(info.contains("\n1.2.0 "), "{info}");
    bob.bundle_ok(&app, &["update", "wharf-e2e-hello"]);
    assert_eq!(locked(&app, "wharf-e2e-hello").as_deref(), Some("1.2.0"));
    assert_eq!(greet(&bob, &app), "private hello 1.2.0");
    let out = install(&[]);
    assert!(out.contains("wharf-e2e-hello-1.2.0"), "{out}");
}
