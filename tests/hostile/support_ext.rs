//! What the hostile tests share beyond `wharf_tests`: the server's memory.

pub use wharf_tests::rss_kib;

/// Lets this test process hold many sockets: the soft open-file limit
/// (often 1,024) raised to the hard one.
pub fn raise_open_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `limit`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Samples a process's resident memory every few milliseconds until
/// `done` is set; returns the peak, in KiB.
pub fn peak_rss_while(pid: u32, done: &std::sync::atomic::AtomicBool) -> u64 {
    let mut peak = 0;
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        peak = peak.max(rss_kib(pid));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    peak.max(rss_kib(pid))
}
