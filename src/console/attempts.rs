//! Sign-in attempts: failures are counted per client address (an IPv6 client by its /64, which
//! one host usually holds whole) in windows of a minute; an address that failed too often is
//! refused until its window ends. Only failures count, so nobody can lock out an operator who
//! holds a valid token by failing from elsewhere.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The length of a counting window.
const WINDOW: Duration = Duration::from_secs(60);

/// Addresses tracked at once; past that, expired windows are dropped, and when the map is still
/// full, new addresses share one window (an attack from that many addresses is slowed as one).
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    V4(u32),
    /// The /64 an IPv6 address is in.
    V6(u64),
    /// Every address that found the map full.
    Overflow,
}

impl Key {
    fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Key::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Key::V4(u32::from(v4)),
                None => Key::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failed sign-in attempts per address.
#[derive(Debug)]
pub struct SignInLimits {
    per_window: u32,
    windows: Mutex<HashMap<Key, Window>>,
}

impl SignInLimits {
    pub fn new(failures_per_minute: u32) -> Self {
        Self {
            per_window: failures_per_minute.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` while `client` has failed too often in its current window.
    pub fn admit(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(windows) = self.windows.lock() else {
            return Ok(());
        };
        let key = Key::of(client);
        let window = windows
            .get(&key)
            .or_else(|| windows.get(&Key::Overflow).filter(|_| windows.len() >= MAX_TRACKED));
        match window {
            Some(w) if now.duration_since(w.started) < WINDOW && w.failures >= self.per_window => {
                Err((WINDOW - now.duration_since(w.started)).as_secs() + 1)
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed attempt of `client`.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        let mut key = Key::of(client);
        if !windows.contains_key(&key) && windows.len() >= MAX_TRACKED {
            windows.retain(|_, w| now.duration_since(w.started) < WINDOW);
            if windows.len() >= MAX_TRACKED {
                key = Key::Overflow;
            }
        }
        let window = windows.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_is_refused_after_its_failures_until_its_window_ends() {
        let limits = SignInLimits::new(2);
        let start = Instant::now();
        let client = ip("203.0.113.7");
        for _ in 0..2 {
            assert_eq!(limits.admit(client, start), Ok(()));
            limits.failed(client, start);
        }
        assert_eq!(limits.admit(client, start + Duration::from_secs(10)), Err(51));
        assert_eq!(
            limits.admit(ip("203.0.113.8"), start),
            Ok(()),
            "another address is not concerned"
        );
        assert_eq!(limits.admit(client, start + WINDOW), Ok(()), "a new window");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let limits = SignInLimits::new(1);
        let now = Instant::now();
        limits.failed(ip("2001:db8:1:2::1"), now);
        assert!(limits.admit(ip("2001:db8:1:2:ffff::9"), now).is_err(), "same /64");
        assert_eq!(limits.admit(ip("2001:db8:1:3::1"), now), Ok(()), "another /64");
        limits.failed(ip("::ffff:198.51.100.1"), now);
        assert!(
            limits.admit(ip("198.51.100.1"), now).is_err(),
            "a mapped IPv4 address is that address"
        );
    }

    #[test]
    fn a_full_map_drops_expired_windows_then_shares_one() {
        let limits = SignInLimits::new(1);
        let start = Instant::now();
        for i in 0..MAX_TRACKED as u32 {
            limits.failed(IpAddr::V4(i.into()), start);
        }
        let later = start + WINDOW;
        limits.failed(ip("2001:db8::1"), later);
        assert_eq!(
            limits.windows.lock().unwrap().len(),
            1,
            "the expired windows were dropped"
        );

        let limits = SignInLimits::new(1);
        for i in 0..MAX_TRACKED as u32 {
            limits.failed(IpAddr::V4(i.into()), start);
        }
        limits.failed(ip("2001:db8::1"), start);
        assert!(
            limits.admit(ip("2001:db8:9::1"), start).is_err(),
            "new addresses share the overflow window"
        );
        assert!(limits.windows.lock().unwrap().len() <= MAX_TRACKED + 1);
    }
}
