//! Waiting for something a test expects to happen, with a deadline.
//!
//! A deadline bounds how long a broken run hangs; it is not a timed assertion: the
//! condition is checked once more at the deadline, and callers assert on what they waited
//! for, never on how long it took.

use std::time::{Duration, Instant};

/// Call `ready` every `every` until it returns a value or `timeout` has passed; the value,
/// or `None` if it never came.
pub fn wait_for<T>(
    timeout: Duration,
    every: Duration,
    mut ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = ready() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(every.min(deadline - now));
    }
}

/// Call `done` every `every` until it is true or `timeout` has passed; whether it became
/// true.
pub fn wait_until(timeout: Duration, every: Duration, mut done: impl FnMut() -> bool) -> bool {
    wait_for(timeout, every, || done().then_some(())).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_or_none_at_the_deadline() {
        let mut n = 0;
        let got = wait_for(Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(got, Some(3));
        let mut calls = 0;
        let never = wait_until(Duration::from_millis(30), Duration::from_millis(5), || {
            calls += 1;
            false
        });
        assert!(!never);
        // Checked at the start and again at (or after) the deadline.
        assert!(calls >= 2, "{calls}");
    }
}
