//! Session expiry: how an expiry is converted, rounded, bounded and read back, in one place,
//! and the clock the store reads "now" from.
//!
//! Every face converts its own time type through these functions (epoch milliseconds in
//! JavaScript, `datetime` in Python, epoch seconds in C), so the valid range, the rounding and
//! the reading of legacy values are decided here only:
//!
//! - The store writes whole epoch seconds, rounded up, so DynamoDB's TTL reads them
//!   unambiguously and a session never expires before the time it was given.
//! - An expiry the store accepts lies from the epoch up to, not including, 10^11 seconds (the
//!   year 5138): larger stored values are read as milliseconds, so none may be written.
//! - A stored value of 10^11 or more is epoch milliseconds (connect-dynamodb up to 1.0.11);
//!   fractional seconds (3.0.3 and later) and whole seconds are read as they are. A stored
//!   value past the last second of the year 9999 is not a usable expiry.
//! - A session is expired when its expiry is at or before now.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Stored `expires` values at or above this are epoch milliseconds (connect-dynamodb <= 1.0.11).
pub const MILLIS_THRESHOLD: f64 = 1e11;
/// The latest expiry the store writes, in epoch seconds: one second below [`MILLIS_THRESHOLD`].
pub const MAX_EXPIRES_SECS: i64 = 99_999_999_999;
/// The last second of the year 9999: a stored expiry past it is not a usable expiry.
pub(crate) const LATEST_STORED_SECS: f64 = 253_402_300_799.0;

const OUT_OF_RANGE: &str = "expiry must lie between 1970 and 10^11 epoch seconds (the year 5138)";

/// Seconds since the Unix epoch, as a float; negative before 1970.
pub fn epoch_secs(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// Milliseconds since the Unix epoch, as a float (JavaScript's `Date` value).
pub fn epoch_millis(t: SystemTime) -> f64 {
    epoch_secs(t) * 1000.0
}

/// The expiry at `secs` seconds after the epoch, as a caller gives it: `INVALID_ARGUMENT`
/// unless it lies in the range the store writes (NaN and infinities included).
pub fn from_epoch_secs(secs: f64) -> Result<SystemTime> {
    if !(0.0..=MAX_EXPIRES_SECS as f64).contains(&secs) {
        return Err(Error::invalid_argument(OUT_OF_RANGE));
    }
    Ok(UNIX_EPOCH + Duration::from_secs_f64(secs))
}

/// The expiry at `millis` milliseconds after the epoch (a JavaScript `Date` value), checked
/// as [`from_epoch_secs`] checks it.
pub fn from_epoch_millis(millis: f64) -> Result<SystemTime> {
    from_epoch_secs(millis / 1000.0)
}

/// The `expires` number the store writes for `expires_at`: whole epoch seconds, rounded up;
/// `INVALID_ARGUMENT` out of range.
pub fn stored_secs(expires_at: SystemTime) -> Result<i64> {
    let secs = ceil_secs(expires_at);
    if !(0..=i128::from(MAX_EXPIRES_SECS)).contains(&secs) {
        return Err(Error::invalid_argument(OUT_OF_RANGE));
    }
    Ok(secs as i64)
}

/// An expiry as whole epoch seconds, rounded up as the store writes them, for a face that
/// reports an expiry to its caller (C's `int64_t`). Never fails: an expiry read from a legacy
/// item may lie past the range the store writes (milliseconds up to the year 9999) and is
/// reported as it is.
pub fn whole_secs(t: SystemTime) -> i64 {
    ceil_secs(t).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `t` in whole epoch seconds, rounded up, exactly: a float would lose the sub-microsecond
/// part of today's times and round some of them down.
fn ceil_secs(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::from(d.as_secs()) + i128::from(d.subsec_nanos() > 0),
        Err(before) => -i128::from(before.duration().as_secs()),
    }
}

/// A time from epoch seconds that are known to be in range (stored or already checked).
pub(crate) fn at_epoch_secs(secs: f64) -> SystemTime {
    if secs >= 0.0 {
        UNIX_EPOCH + Duration::from_secs_f64(secs)
    } else {
        UNIX_EPOCH - Duration::from_secs_f64(-secs)
    }
}

/// Reads a stored `expires` number in any published encoding, as epoch seconds.
pub(crate) fn parse_stored(number: &str) -> Option<f64> {
    let value: f64 = number.trim().parse().ok()?;
    let secs = if value >= MILLIS_THRESHOLD {
        value / 1000.0
    } else {
        value
    };
    // Also rejects NaN and infinities, which no comparison holds for.
    (-LATEST_STORED_SECS..=LATEST_STORED_SECS)
        .contains(&secs)
        .then_some(secs)
}

/// The `expires` value to write for an expiry, as DynamoDB number text and as seconds.
pub(crate) fn encode(expires_at: SystemTime) -> Result<(String, f64)> {
    let secs = stored_secs(expires_at)?;
    Ok((secs.to_string(), secs as f64))
}

/// Where the store reads the current time: the system clock, or a [`ManualClock`] in tests.
///
/// Every expiry decision of the store (is a session expired, is a touch throttled, when does a
/// session stored without an expiry end, which items the reaper deletes) reads this clock.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock, the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to, for tests of expiry and touch throttling that must not
/// wait on the wall clock. Clones share the same time.
///
/// Its time stays in the range of expiries the store accepts ([`from_epoch_secs`]): a move
/// out of it is refused with `INVALID_ARGUMENT` and leaves the clock where it was, so every
/// face's clock has the same bounds.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock standing at `start`: `INVALID_ARGUMENT` outside the range the store accepts.
    pub fn new(start: SystemTime) -> Result<Self> {
        Ok(ManualClock {
            now: Arc::new(Mutex::new(in_range(start)?)),
        })
    }

    /// A clock standing at the system clock's current time.
    pub fn starting_now() -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(SystemTime::now())),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) -> Result<()> {
        self.shift(|now| now.checked_add(by))
    }

    /// Moves the clock back by `by`, not before 1970.
    pub fn rewind(&self, by: Duration) -> Result<()> {
        self.shift(|now| now.checked_sub(by))
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: SystemTime) -> Result<()> {
        self.shift(|_| Some(to))
    }

    fn shift(&self, to: impl FnOnce(SystemTime) -> Option<SystemTime>) -> Result<()> {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        let moved = to(*now).ok_or_else(|| Error::invalid_argument(CLOCK_OUT_OF_RANGE))?;
        *now = in_range(moved)?;
        Ok(())
    }
}

const CLOCK_OUT_OF_RANGE: &str =
    "a manual clock stays between 1970 and 10^11 epoch seconds (the year 5138)";

/// `t`, when it lies in the range [`from_epoch_secs`] accepts.
fn in_range(t: SystemTime) -> Result<SystemTime> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) if d <= Duration::from_secs(MAX_EXPIRES_SECS as u64) => Ok(t),
        _ => Err(Error::invalid_argument(CLOCK_OUT_OF_RANGE)),
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A shareable clock, as a [`Config`](crate::Config) holds it.
#[derive(Clone)]
pub(crate) struct SharedClock(pub(crate) Arc<dyn Clock>);

impl Default for SharedClock {
    fn default() -> Self {
        SharedClock(Arc::new(SystemClock))
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// `epoch` seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC, proleptic Gregorian): how the ops CLI and
/// the benchmarks print a time.
pub fn iso8601(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso8601(253_402_300_799), "9999-12-31T23:59:59Z");
    }
    use crate::ErrorKind;

    #[test]
    fn reads_every_expires_encoding() {
        assert_eq!(parse_stored("1764000100"), Some(1_764_000_100.0));
        assert_eq!(parse_stored("1764000100.523"), Some(1_764_000_100.523));
        assert_eq!(parse_stored("1764000100523"), Some(1_764_000_100.523));
        assert_eq!(parse_stored("1e3"), Some(1000.0));
        assert_eq!(parse_stored("abc"), None);
        assert_eq!(parse_stored("NaN"), None);
        assert_eq!(parse_stored("inf"), None);
        assert_eq!(parse_stored("1e300"), None, "beyond the year 9999");
        assert_eq!(parse_stored("-1e300"), None);
    }

    #[test]
    fn writes_whole_seconds_rounded_up() {
        let t = UNIX_EPOCH + Duration::from_millis(1_764_000_000_001);
        assert_eq!(encode(t).expect("valid").0, "1764000001");
        let t = UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        assert_eq!(encode(t).expect("valid").0, "1764000000");
        assert_eq!(stored_secs(t).expect("valid"), 1_764_000_000);
        let just_past = t + Duration::from_nanos(1);
        assert_eq!(stored_secs(just_past).expect("valid"), 1_764_000_001);
        assert_eq!(whole_secs(just_past), 1_764_000_001);
        let far = UNIX_EPOCH + Duration::from_secs(200_000_000_000);
        assert_eq!(
            encode(far).expect_err("too far").kind(),
            ErrorKind::InvalidArgument
        );
        let last = UNIX_EPOCH + Duration::from_secs(MAX_EXPIRES_SECS as u64);
        assert_eq!(stored_secs(last).expect("last"), MAX_EXPIRES_SECS);
        let before_epoch = UNIX_EPOCH - Duration::from_secs(2);
        assert!(stored_secs(before_epoch).is_err());
    }

    #[test]
    fn a_legacy_far_expiry_is_reported_not_refused() {
        // 2e14 stored milliseconds: the year 8307, readable, past what the store writes.
        let secs = parse_stored("200000000000000").expect("readable");
        let t = at_epoch_secs(secs);
        assert!(stored_secs(t).is_err());
        assert_eq!(whole_secs(t), 200_000_000_000);
        assert_eq!(whole_secs(UNIX_EPOCH + Duration::from_millis(1500)), 2);
    }

    #[test]
    fn callers_expiries_are_range_checked() {
        assert_eq!(
            epoch_secs(from_epoch_secs(1_764_000_000.5).expect("valid")),
            1_764_000_000.5
        );
        assert_eq!(
            epoch_millis(from_epoch_millis(1_764_000_000_500.0).expect("valid")),
            1_764_000_000_500.0
        );
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            1e11,
            1e300,
        ] {
            let err = from_epoch_secs(bad).expect_err("out of range");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
        assert!(from_epoch_millis(1e14).is_err());
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = ManualClock::new(start).expect("in range");
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        shared.advance(Duration::from_secs(5)).expect("forward");
        assert_eq!(clock.now(), start + Duration::from_secs(5));
        clock.set(start).expect("set");
        assert_eq!(shared.now(), start);
        clock
            .rewind(Duration::from_secs(1_000))
            .expect("back to 1970");
        assert_eq!(clock.now(), UNIX_EPOCH);
    }

    #[test]
    fn a_manual_clock_stays_in_the_range_of_expiries() {
        let last = UNIX_EPOCH + Duration::from_secs(MAX_EXPIRES_SECS as u64);
        let clock = ManualClock::new(last).expect("the last second");
        for refused in [
            clock.advance(Duration::from_millis(1)),
            clock.advance(Duration::MAX),
            clock.set(last + Duration::from_secs(1)),
        ] {
            assert_eq!(
                refused.map_err(|e| e.kind()),
                Err(ErrorKind::InvalidArgument)
            );
        }
        assert_eq!(clock.now(), last, "a refused move leaves the clock");
        clock.set(UNIX_EPOCH).expect("1970");
        let err = clock
            .rewind(Duration::from_nanos(1))
            .expect_err("before 1970");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(ManualClock::new(last + Duration::from_secs(1)).is_err());
        assert_eq!(clock.now(), UNIX_EPOCH);
    }
}
