//! 100 concurrent uploads across the five formats, the process killed with
//! some answered, some half-sent, some answered but unread and some racing:
//! after the restart every answered upload is served byte for byte, nothing
//! of a half-sent one is visible, no temporary object is left, fsck finds
//! the store sound, and the clients' retries complete every upload.

use super::client::{Gate, Outcome, Pace, resend, run};
use super::uploads::{FORMATS, UPLOADS, upload};
use super::verify::{Seen, assert_fsck_clean, seen, swept_at_start};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wharf_tests::{PluginEntry, Server};

const fn plugin(format: &'static str) -> PluginEntry {
    PluginEntry { format, extra: "" }
}

const ALL: [PluginEntry; 5] = [
    plugin("npm"),
    plugin("oci"),
    plugin("pypi"),
    plugin("cargo"),
    plugin("maven"),
];

/// The uploads of a format take turns: one at full speed, answered before
/// the kill; one held half-sent through it; one paced, the later ones more
/// slowly, so the kill finds them at every stage; one sent whole, its
/// answer arrived but left unread, so that its retry meets what it already
/// published.
const FULL: usize = 0;
const HELD: usize = 1;
const PACED: usize = 2;
const LOST: usize = 3;

fn class(i: usize) -> usize {
    (i / 5) % 4
}

fn pace(i: usize) -> Pace {
    match class(i) {
        FULL => Pace::Full,
        HELD => Pace::Hold,
        LOST => Pace::LoseAnswer,
        _ => Pace::Over(Duration::from_millis(
            1000 + 400 * (i / 20 * 5 + i % 5) as u64,
        )),
    }
}

fn count(class_of: usize) -> usize {
    (0..UPLOADS).filter(|&i| class(i) == class_of).count()
}

#[test]
fn a_kill_during_100_uploads_loses_nothing_published() {
    let began = Instant::now();
    let mut server = Server::start_with_env(
        &ALL,
        // No scrub competing for the disk; held bodies outlast the kill.
        &[
            ("WHARF_SCRUB_BYTES_PER_SEC", "0"),
            ("WHARF_BODY_IDLE_TIMEOUT_SECS", "120"),
        ],
    );
    let auth = server.admin_basic();
    let address = server.url.trim_start_matches("http://").to_string();
    let gate = Arc::new(Gate::default());
    let finished: Arc<[AtomicUsize; 4]> = Arc::default();
    // One body built at a time: building takes a few copies of it.
    let building = Arc::new(std::sync::Mutex::new(()));
    let clients: Vec<_> = (0..UPLOADS)
        .map(|i| {
            let (auth, address) = (auth.clone(), address.clone());
            let (gate, finished) = (gate.clone(), finished.clone());
            let building = building.clone();
            std::thread::spawn(move || {
                let upload = {
                    let _one = building.lock().unwrap();
                    let mut upload = upload(i, &auth);
                    // What to expect is rebuilt after the restart.
                    upload.steps.iter_mut().for_each(|s| s.shows.clear());
                    upload
                };
                let outcomes = run(&address, &upload, pace(i), &gate);
                finished[class(i)].fetch_add(1, Ordering::SeqCst);
                outcomes
            })
        })
        .collect();

    // Kill once every full-speed upload is answered, every held one is
    // half-sent, every lost answer has arrived, and a third of the paced
    // uploads are answered. (A held or lost upload finished before the kill
    // was refused: the outcomes below say so.)
    let until = Instant::now() + Duration::from_secs(90);
    let done = |class: usize| finished[class].load(Ordering::SeqCst);
    let ready = || {
        done(FULL) == count(FULL)
            && gate.holding.load(Ordering::SeqCst) + done(HELD) == count(HELD)
            && gate.unread.load(Ordering::SeqCst) + done(LOST) == count(LOST)
            && done(PACED) >= count(PACED) / 3
    };
    while !ready() {
        assert!(
            Instant::now() < until,
            "uploads stuck: {finished:?} finished, {:?} held, {:?} unread",
            gate.holding,
            gate.unread,
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    *gate.killed.write().unwrap() = true;
    let killed_at = began.elapsed();
    server.restart(); // SIGKILL, then a fresh start on the same data
    gate.restarted.store(true, Ordering::SeqCst);
    let outcomes: Vec<Vec<Outcome>> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let tally = |f: fn(&Outcome) -> bool| outcomes.iter().flatten().filter(|o| f(o)).count();
    eprintln!(
        "killed after {killed_at:?}: requests answered {}, answer lost {}, unanswered {}, \
         half-sent {}, unsent {}",
        tally(|o| matches!(o, Outcome::Answered(_))),
        tally(|o| *o == Outcome::Lost),
        tally(|o| *o == Outcome::Unanswered),
        tally(|o| *o == Outcome::Partial),
        tally(|o| *o == Outcome::Unsent),
    );
    for (i, o) in outcomes.iter().enumerate() {
        let what = format!("upload {i} ({})", FORMATS[i % FORMATS.len()]);
        if class(i) == FULL {
            assert!(o.iter().all(|o| o.succeeded()), "{what}: {o:?}");
        }
        // Refused before the kill: a bug, not the crash.
        let refused = |o: &Outcome| matches!(o, Outcome::Answered(_)) && !o.succeeded();
        assert!(!o.iter().any(refused), "{what}: {o:?}");
    }

    // The restart swept what the killed ingests were writing: at least the
    // held bodies' temporary objects.
    let tmp = server.dir.path().join("data/objects/tmp");
    let left = std::fs::read_dir(&tmp).unwrap().count();
    assert_eq!(left, 0, "temporary objects left in {}", tmp.display());
    let swept = swept_at_start(&server.log());
    assert!(swept >= count(HELD), "{swept} temporary objects swept");

    // Answered: served. Half-sent or unsent: invisible. Sent but unanswered:
    // all or nothing (the kill may have come before or after the commit).
    let mut before = Vec::new();
    for (i, outcomes) in outcomes.iter().enumerate() {
        let up = upload(i, &auth);
        let mut seen_now = Vec::new();
        for (n, (o, step)) in outcomes.iter().zip(&up.steps).enumerate() {
            let expected = match o.succeeded() || *o == Outcome::Lost {
                true => Seen::Present,
                false => Seen::Absent,
            };
            let s = seen(&server, step, expected);
            let fine = match o {
                o if o.succeeded() => s == Seen::Present,
                Outcome::Lost => s == Seen::Present,
                Outcome::Unanswered => !matches!(s, Seen::Mixed(_)),
                _ => s == Seen::Absent,
            };
            assert!(
                fine,
                "{} request {n}, {o:?}, after the restart: {s:?}",
                up.label
            );
            seen_now.push(s);
        }
        before.push(seen_now);
    }
    assert_fsck_clean(&server);
    let checked_at = began.elapsed();

    // The clients retry what they did not see succeed. A retry succeeds, or
    // (only for what is visible already: the answer, not the commit, was
    // lost) gets the format's "already exists": npm 403, PyPI 400, Cargo and
    // Maven 409. OCI pushes are idempotent: always 201.
    let mut retried = 0;
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for (i, outcomes) in outcomes.iter().enumerate() {
        let Some(first) = outcomes.iter().position(|o| !o.succeeded()) else {
            continue;
        };
        retried += 1;
        let up = upload(i, &auth);
        for (n, step) in up.steps.iter().enumerate().skip(first) {
            let status = resend(&server.url, &step.request);
            *answers.entry(status).or_default() += 1;
            let exists = step.exists == Some(status) && before[i][n] == Seen::Present;
            assert!(
                (200..300).contains(&status) || exists,
                "{} request {n} retried after {:?}: {status}",
                up.label,
                outcomes[n]
            );
        }
    }
    for i in 0..UPLOADS {
        let up = upload(i, &auth);
        for (n, step) in up.steps.iter().enumerate() {
            let s = seen(&server, step, Seen::Present);
            assert_eq!(
                s,
                Seen::Present,
                "{} request {n} after the retries",
                up.label
            );
        }
    }
    assert_fsck_clean(&server);
    eprintln!(
        "{swept} temporary objects swept; {retried} uploads retried (answers {answers:?}); \
         checked after {checked_at:?}, done after {:?}",
        began.elapsed()
    );
}
