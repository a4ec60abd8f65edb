//! Backoff of password guessing, per account name and per client address.
//!
//! Each key counts its failed password checks in a row. The first
//! `free_failures` cost nothing; each one after that locks the key for 1 s,
//! 2 s, 4 s … up to `max_lockout`. While a key is locked its checks are
//! refused before argon2 runs (a lockout costs the server nothing), and
//! failures are forgotten once a key has been quiet for `max_lockout` after
//! its lockout ended. A success resets the account, not the address: one
//! good password must not buy an address more guesses at other accounts.
//!
//! Checks under way count as failures to come: a key runs at most as many
//! checks at once as it has failures left free (at least one), so guesses
//! sent in parallel cannot all slip past the count before the first fails.
//!
//! Unknown names are counted like real ones, so a lockout tells nothing
//! about which accounts exist. Both tables are bounded caches: rotating
//! through names or addresses evicts old keys instead of growing memory.
//! The state is per process; several nodes each keep their own.

use sha2::Digest;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Keys kept per table (~8 MiB at most, measured); a key needs a completed
/// argon2 check to stay, which bounds how fast they are made (~100 a second).
const CAPACITY: usize = 100_000;

/// Wait suggested when a key already has as many checks under way as it
/// may: they finish within a second (or the password queue refuses them).
const CHECKS_UNDER_WAY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Failures in a row of one account name that lock nothing.
    pub free_failures: u32,
    /// Failures in a row from one client address that lock nothing.
    pub free_failures_per_address: u32,
    /// The longest lockout, and how long a key stays remembered after its
    /// lockout ended. Zero turns the backoff off.
    pub max_lockout: Duration,
}

/// A check refused: the caller may try again after this long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Locked(pub Duration);

impl Locked {
    /// Whole seconds for `Retry-After`, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

pub struct Backoff {
    tables: Option<(Table<[u8; 32]>, Table<IpAddr>)>,
}

impl Backoff {
    pub fn new(rule: Rule) -> Self {
        Self::with_capacity(rule, CAPACITY)
    }

    fn with_capacity(rule: Rule, capacity: usize) -> Self {
        let tables = (!rule.max_lockout.is_zero()).then(|| {
            (
                Table::new(rule.free_failures, rule.max_lockout, capacity),
                Table::new(rule.free_failures_per_address, rule.max_lockout, capacity),
            )
        });
        Backoff { tables }
    }

    /// No backoff at all.
    pub fn off() -> Self {
        Backoff { tables: None }
    }

    /// Forgets an account's failures: an administrator lifts its lockout.
    /// (A client address's lockout runs out by itself.)
    pub fn unlock(&self, account: &str) {
        let account_key: [u8; 32] = sha2::Sha256::digest(account.as_bytes()).into();
        if let Some((accounts, _)) = &self.tables {
            accounts.update(&account_key, |entry| {
                entry.failures = 0;
                entry.until = None;
            });
        }
    }

    /// Starts a password check of `account` from `address`, unless either
    /// key is locked or already has as many checks under way as it may.
    pub fn begin(&self, account: &str, address: Option<IpAddr>) -> Result<Attempt<'_>, Locked> {
        let account_key: [u8; 32] = sha2::Sha256::digest(account.as_bytes()).into();
        let address = address.map(address_key);
        if let Some((accounts, addresses)) = &self.tables {
            let now = Instant::now();
            accounts.begin(&account_key, now)?;
            if let Some(address) = &address
                && let Err(locked) = addresses.begin(address, now)
            {
                accounts.release(&account_key);
                return Err(locked);
            }
        }
        Ok(Attempt {
            backoff: self,
            account_key,
            account: crate::telemetry::bounded(account, 64).into_owned(),
            address,
            settled: false,
        })
    }
}

/// One password check under way. Dropped without an outcome (the password
/// queue was full, the client went away), it counts as nothing.
pub struct Attempt<'a> {
    backoff: &'a Backoff,
    account_key: [u8; 32],
    /// For the log, bounded: it is whatever the client sent.
    account: String,
    address: Option<IpAddr>,
    settled: bool,
}

impl Attempt<'_> {
    pub fn failed(mut self) {
        self.settled = true;
        let Some((accounts, addresses)) = &self.backoff.tables else {
            return;
        };
        let now = Instant::now();
        if let Some(lockout) = accounts.failed(&self.account_key, now) {
            tracing::warn!(account = %self.account, secs = lockout.as_secs(), "failed logins: account locked");
        }
        if let Some(address) = &self.address
            && let Some(lockout) = addresses.failed(address, now)
        {
            tracing::warn!(%address, secs = lockout.as_secs(), "failed logins: client address locked");
        }
    }

    pub fn succeeded(mut self) {
        self.settled = true;
        let Some((accounts, addresses)) = &self.backoff.tables else {
            return;
        };
        accounts.succeeded(&self.account_key);
        if let Some(address) = &self.address {
            addresses.release(address);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if let Some((accounts, addresses)) = &self.backoff.tables {
            accounts.release(&self.account_key);
            if let Some(address) = &self.address {
                addresses.release(address);
            }
        }
    }
}

/// IPv4 as is; IPv6 by its /64, the block one host usually holds (rotating
/// through its 2^64 addresses must not reset the count).
fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// The lockout after `failures` in a row: none for the free ones, then
/// 1 s, 2 s, 4 s … up to `max`.
fn lockout(failures: u32, free: u32, max: Duration) -> Duration {
    match failures.checked_sub(free).and_then(|n| n.checked_sub(1)) {
        None => Duration::ZERO,
        Some(doublings) => {
            let secs = 1u64.checked_shl(doublings).unwrap_or(u64::MAX);
            Duration::from_secs(secs).min(max)
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Entry {
    /// Failed checks in a row.
    failures: u32,
    /// Checks under way.
    checking: u32,
    /// When the lockout ends (the time of the last failure when it locked
    /// nothing); `None` with no failure to remember.
    until: Option<Instant>,
}

impl Entry {
    /// The entry as of `now`: failures are forgotten a quiet `forget` after
    /// the lockout ended.
    fn at(mut self, now: Instant, forget: Duration) -> Self {
        if self.until.is_some_and(|until| now >= until + forget) {
            self.failures = 0;
            self.until = None;
        }
        self
    }

    /// Whether one more check may start.
    fn admit(&self, now: Instant, free: u32) -> Result<(), Locked> {
        if let Some(until) = self.until.filter(|until| *until > now) {
            return Err(Locked(until - now));
        }
        let at_once = free.saturating_sub(self.failures).max(1);
        match self.checking < at_once {
            true => Ok(()),
            false => Err(Locked(CHECKS_UNDER_WAY)),
        }
    }

    fn is_empty(&self) -> bool {
        self.failures == 0 && self.checking == 0
    }
}

/// The counts of one kind of key: a bounded cache (quick_cache: a few dozen
/// bytes of bookkeeping per key, where moka's took ~450). Keys that keep
/// failing stay; keys seen once are evicted first when it is full. Nothing
/// expires by time: the rule forgets inside the entry (`Entry::at`).
struct Table<K> {
    free: u32,
    max: Duration,
    entries: quick_cache::sync::Cache<K, Entry>,
}

impl<K> Table<K>
where
    K: std::hash::Hash + Eq + Clone,
{
    fn new(free: u32, max: Duration, capacity: usize) -> Self {
        let entries = quick_cache::sync::Cache::new(capacity);
        Table { free, max, entries }
    }

    /// Reads, changes and writes back one key's entry atomically; an entry
    /// with nothing left to remember is removed.
    fn update<T>(&self, key: &K, change: impl FnOnce(&mut Entry) -> T) -> T {
        use quick_cache::sync::{EntryAction, EntryResult};
        let mut change = Some(change);
        let mut out = None;
        let result = self.entries.entry(key, None, |_, entry| {
            out = change.take().map(|change| change(entry));
            match entry.is_empty() {
                true => EntryAction::Remove,
                false => EntryAction::Retain(()),
            }
        });
        // Absent: the slot is held (others wait on it) until filled or dropped.
        if let EntryResult::Vacant(slot) = result {
            let mut entry = Entry::default();
            out = change.take().map(|change| change(&mut entry));
            if !entry.is_empty() {
                let _ = slot.insert(entry);
            }
        }
        out.expect("the change ran")
    }

    fn begin(&self, key: &K, now: Instant) -> Result<(), Locked> {
        self.update(key, |entry| {
            *entry = entry.at(now, self.max);
            entry.admit(now, self.free)?;
            entry.checking += 1;
            Ok(())
        })
    }

    fn release(&self, key: &K) {
        self.update(key, |entry| {
            entry.checking = entry.checking.saturating_sub(1)
        });
    }

    /// Counts a failure; returns the lockout it started, if any.
    fn failed(&self, key: &K, now: Instant) -> Option<Duration> {
        self.update(key, |entry| {
            *entry = entry.at(now, self.max);
            entry.checking = entry.checking.saturating_sub(1);
            entry.failures = entry.failures.saturating_add(1);
            let lockout = lockout(entry.failures, self.free, self.max);
            entry.until = Some(now + lockout);
            (!lockout.is_zero()).then_some(lockout)
        })
    }

    fn succeeded(&self, key: &K) {
        self.update(key, |entry| {
            entry.checking = entry.checking.saturating_sub(1);
            entry.failures = 0;
            entry.until = None;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn rule(free: u32, per_address: u32, max_secs: u64) -> Rule {
        Rule {
            free_failures: free,
            free_failures_per_address: per_address,
            max_lockout: Duration::from_secs(max_secs),
        }
    }

    #[test]
    fn lockouts_double_after_the_free_failures_up_to_the_cap() {
        let max = Duration::from_secs(900);
        let secs: Vec<u64> = (1..=17).map(|f| lockout(f, 5, max).as_secs()).collect();
        assert_eq!(
            secs,
            [
                0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900
            ]
        );
        assert_eq!(lockout(1, 0, max), SECOND);
        assert_eq!(lockout(u32::MAX, 0, max), max);
    }

    #[test]
    fn a_locked_entry_refuses_until_its_lockout_ends_then_forgets() {
        let t0 = Instant::now();
        let table = Table::<u8>::new(1, Duration::from_secs(60), 100);
        for failure in 0..2 {
            table.begin(&1, t0).unwrap();
            table.failed(&1, t0 + failure * SECOND);
        }
        // The second failure (at t0+1s) locked for 1 s.
        let locked = table.begin(&1, t0 + Duration::from_millis(1500));
        assert_eq!(locked, Err(Locked(Duration::from_millis(500))));
        assert_eq!(locked.unwrap_err().retry_after_secs(), 1);
        table.begin(&1, t0 + 2 * SECOND).unwrap();
        assert_eq!(table.failed(&1, t0 + 2 * SECOND), Some(2 * SECOND));
        // Quiet for `max` after the lockout ended: failures forgotten.
        let later = t0 + 4 * SECOND + Duration::from_secs(60);
        table.begin(&1, later).unwrap();
        assert_eq!(table.failed(&1, later), None, "free again");
    }

    #[test]
    fn an_administrator_lifts_an_accounts_lockout() {
        let backoff = Backoff::new(Rule {
            free_failures: 0,
            free_failures_per_address: 100,
            max_lockout: Duration::from_secs(900),
        });
        // No free failure: the first locks alice out for a second.
        backoff.begin("alice", None).unwrap().failed();
        assert!(backoff.begin("alice", None).is_err());
        backoff.unlock("alice");
        let attempt = backoff.begin("alice", None).expect("unlocked");
        attempt.succeeded();
    }

    #[test]
    fn checks_under_way_count_against_the_free_failures() {
        let now = Instant::now();
        let table = Table::<u8>::new(3, Duration::from_secs(60), 100);
        for _ in 0..3 {
            table.begin(&1, now).unwrap();
        }
        assert_eq!(table.begin(&1, now), Err(Locked(CHECKS_UNDER_WAY)));
        table.release(&1);
        table.begin(&1, now).unwrap();
        // Past the free failures, one check at a time.
        for _ in 0..3 {
            table.failed(&1, now);
        }
        table.begin(&1, now).unwrap();
        assert_eq!(table.begin(&1, now), Err(Locked(CHECKS_UNDER_WAY)));
    }

    #[test]
    fn a_success_resets_the_account_but_not_the_address() {
        let backoff = Backoff::new(rule(1, 2, 60));
        let here = Some("192.0.2.7".parse().unwrap());
        for _ in 0..2 {
            backoff.begin("alice", here).unwrap().failed();
        }
        assert!(backoff.begin("alice", here).is_err(), "account locked");
        // Another account from the same address: one failure left there.
        backoff.begin("bob", here).unwrap().succeeded();
        backoff.begin("bob", here).unwrap().failed();
        assert!(backoff.begin("carol", here).is_err(), "address locked");
        assert!(backoff.begin("carol", None).is_ok(), "no address, no lock");
    }

    #[test]
    fn success_unlocks_the_account_for_later_checks() {
        let backoff = Backoff::new(rule(2, 100, 60));
        for _ in 0..2 {
            backoff.begin("alice", None).unwrap().failed();
        }
        backoff.begin("alice", None).unwrap().succeeded();
        for _ in 0..2 {
            backoff.begin("alice", None).unwrap().failed();
        }
        assert!(backoff.begin("alice", None).is_ok(), "the count restarted");
    }

    #[test]
    fn an_attempt_without_an_outcome_counts_nothing() {
        let backoff = Backoff::new(rule(0, 0, 60));
        drop(backoff.begin("alice", None).unwrap());
        let attempt = backoff.begin("alice", None).unwrap();
        assert!(backoff.begin("alice", None).is_err(), "one at a time");
        drop(attempt);
        backoff.begin("alice", None).unwrap().failed();
        assert!(backoff.begin("alice", None).is_err(), "locked");
    }

    #[test]
    fn zero_lockout_turns_it_off() {
        let backoff = Backoff::new(rule(0, 0, 0));
        for _ in 0..10 {
            backoff.begin("alice", None).unwrap().failed();
        }
        assert!(backoff.begin("alice", None).is_ok());
    }

    #[test]
    fn ipv6_hosts_are_counted_by_their_64_block() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn rotating_names_stays_within_the_capacity() {
        let backoff = Backoff::with_capacity(rule(5, 1_000_000, 60), 1_000);
        for i in 0..20_000 {
            backoff.begin(&format!("user-{i}"), None).unwrap().failed();
        }
        let (accounts, _) = backoff.tables.as_ref().unwrap();
        assert!(accounts.entries.len() <= 1_000);
    }
}
