//! Small helpers every module shares: a poison-tolerant lock, event ids and event timestamps.

use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

/// Locks a mutex, recovering from poisoning (a panicking handler must not wedge the session).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `2026-11-27T08:04:14.123Z`: RFC 3339, UTC, milliseconds.
pub(crate) fn rfc3339_millis(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Written digit by digit: `format!` with widths costs more than the rest of an event.
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year.clamp(0, 9999) as u64);
    put(5, 2, month as u64);
    put(8, 2, day as u64);
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    put(20, 3, u64::from(d.subsec_millis()));
    String::from_utf8_lossy(&buf).into_owned()
}

/// Now as [`rfc3339_millis`], rendered at most once per millisecond on each thread: a turn stamps
/// several events within the same millisecond.
pub(crate) fn now_rfc3339_millis() -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(u128, String)> = const {
            std::cell::RefCell::new((u128::MAX, String::new()))
        };
    }
    let now = SystemTime::now();
    let ms = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    LAST.with_borrow_mut(|(last, text)| {
        if *last != ms {
            *text = rfc3339_millis(now);
            *last = ms;
        }
        text.clone()
    })
}

/// A fresh event id.
///
/// A v4 UUID from a thread-local generator seeded once: ids only need to be unique, and a
/// `getrandom` syscall per event costs more than the rest of the event.
pub(crate) fn new_id() -> String {
    let bytes = fastrand::u128(..).to_le_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::rfc3339_millis;

    #[test]
    fn the_cached_timestamp_is_now() {
        let before = rfc3339_millis(SystemTime::now());
        let cached = super::now_rfc3339_millis();
        let again = super::now_rfc3339_millis();
        let after = rfc3339_millis(SystemTime::now());
        // RFC 3339 UTC texts of one width order as the times do.
        assert!(before <= cached && cached <= again && again <= after);
        assert_eq!(cached.len(), "1970-01-01T00:00:00.000Z".len());
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_millis() {
        // Expected values from Python's datetime (see the commit that added this test).
        let at = |ms: u64| SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(rfc3339_millis(at(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(at(951_868_800_500)),
            "2000-03-01T00:00:00.500Z"
        );
        assert_eq!(
            rfc3339_millis(at(1_709_164_800_001)),
            "2024-02-29T00:00:00.001Z"
        );
        assert_eq!(
            rfc3339_millis(at(1_700_000_000_123)),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            rfc3339_millis(at(4_102_444_799_999)),
            "2099-12-31T23:59:59.999Z"
        );
    }
}
