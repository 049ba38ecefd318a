//! `cdyn_clock`: the core's manual clock, for tests of expiry and touch throttling that must
//! not wait on the wall clock.

use std::time::Duration;

use connect_dynamodb_core::{Clock, ManualClock, expiry};

use crate::error::{Failure, boundary, cdyn_error, cdyn_status, infallible};

/// A clock that moves only when told to (the core's `ManualClock`), from
/// `cdyn_manual_clock_new`. Give it to `cdyn_config_set_clock`: the stores built from that
/// configuration read "now" from it for every expiry and touch-throttle decision.
///
/// Thread safety: a clock may be read and moved from many threads at once; only
/// `cdyn_clock_free` must not run while another thread uses the same clock handle.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct cdyn_clock {
    manual: ManualClock,
}

impl cdyn_clock {
    pub(crate) fn manual(&self) -> &ManualClock {
        &self.manual
    }
}

/// A manual clock standing at `start_epoch_ms` (milliseconds since the Unix epoch), or NULL
/// when that time is out of the range the store accepts (1970 to 10^11 epoch seconds, the year
/// 5138).
///
/// Ownership: the caller owns the result and frees it with `cdyn_clock_free`. Configurations
/// and stores the clock was given to keep their own reference: freeing the handle does not
/// stop their time, and moving it before freeing moves theirs.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn cdyn_manual_clock_new(start_epoch_ms: i64) -> *mut cdyn_clock {
    infallible(std::ptr::null_mut(), || {
        match expiry::from_epoch_millis(start_epoch_ms as f64).and_then(ManualClock::new) {
            Ok(manual) => Box::into_raw(Box::new(cdyn_clock { manual })),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// Moves `clock` by `ms` milliseconds: forward when positive, back when negative. Every store
/// built with this clock sees the new time at once.
///
/// Ownership: borrows every argument; `*error` as for `cdyn_config_set_table`.
/// Thread safety: may be called from any thread.
/// Returns `CDYN_OK` or `CDYN_ERR_INVALID_ARGUMENT` (`clock` is NULL, or the time would leave
/// the range `cdyn_manual_clock_new` accepts; the clock then stays where it was).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_clock_advance_ms(
    clock: *const cdyn_clock,
    ms: i64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY: the caller passes NULL or a live clock.
        let clock = unsafe { clock.as_ref() }
            .ok_or_else(|| Failure::invalid_argument("`clock` is NULL"))?;
        let by = Duration::from_millis(ms.unsigned_abs());
        let moved = if ms >= 0 {
            clock.manual.advance(by)
        } else {
            clock.manual.rewind(by)
        };
        Ok(moved?)
    })
}

/// The time of `clock` in milliseconds since the Unix epoch (rounded down); 0 when `clock` is
/// NULL.
///
/// Ownership: borrows `clock`.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_clock_now_ms(clock: *const cdyn_clock) -> i64 {
    infallible(0, || {
        // SAFETY: the caller passes NULL or a live clock.
        unsafe { clock.as_ref() }.map_or(0, |c| expiry::epoch_millis(c.manual.now()).floor() as i64)
    })
}

/// Frees a clock handle. Configurations and stores it was given to keep their time.
/// `cdyn_clock_free(NULL)` does nothing.
///
/// Ownership: takes `clock`, which must not be used afterwards.
/// Thread safety: not while another thread uses `clock`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_clock_free(clock: *mut cdyn_clock) {
    infallible((), || {
        if !clock.is_null() {
            // SAFETY: a clock from cdyn_manual_clock_new, freed once (the caller's promise).
            drop(unsafe { Box::from_raw(clock) });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_moves_only_when_told() {
        let clock = cdyn_manual_clock_new(1_700_000_000_000);
        assert!(!clock.is_null());
        // SAFETY: the clock was just made and is freed once below.
        unsafe {
            assert_eq!(cdyn_clock_now_ms(clock), 1_700_000_000_000);
            assert_eq!(
                cdyn_clock_advance_ms(clock, 1500, std::ptr::null_mut()),
                cdyn_status::CDYN_OK
            );
            assert_eq!(cdyn_clock_now_ms(clock), 1_700_000_001_500);
            assert_eq!(
                cdyn_clock_advance_ms(clock, -500, std::ptr::null_mut()),
                cdyn_status::CDYN_OK
            );
            assert_eq!(cdyn_clock_now_ms(clock), 1_700_000_001_000);
            assert_eq!(
                cdyn_clock_advance_ms(clock, i64::MIN, std::ptr::null_mut()),
                cdyn_status::CDYN_ERR_INVALID_ARGUMENT
            );
            // The core's bound: the clock stays in the range of expiries, however often moved.
            for _ in 0..3 {
                assert_eq!(
                    cdyn_clock_advance_ms(clock, i64::MAX, std::ptr::null_mut()),
                    cdyn_status::CDYN_ERR_INVALID_ARGUMENT
                );
            }
            assert_eq!(cdyn_clock_now_ms(clock), 1_700_000_001_000, "refused moves");
            assert_eq!(
                cdyn_clock_advance_ms(std::ptr::null(), 1, std::ptr::null_mut()),
                cdyn_status::CDYN_ERR_INVALID_ARGUMENT
            );
            cdyn_clock_free(clock);
            cdyn_clock_free(std::ptr::null_mut());
        }
        assert!(cdyn_manual_clock_new(-1).is_null());
    }
}
