//! The decisions of `waitForDeviceToken`, as a pure state machine: given the outcome of a poll
//! and the time, what to tell the UI and how long to sleep. The adapter only performs the sleeps
//! and polls this machine asks for.
//!
//! Waits: the code's interval after a pending or slow_down reply (slow_down having added 5 s
//! for good); after the n-th consecutive retryable failure
//! `min(60 s, max(interval, Retry-After, interval * 2^(n-1)))`. When a wait would reach the
//! code's expiry, the loop ends with `expired_token` instead of sleeping past it. Without a
//! host `timeoutMs`, each poll's requests are bounded by [`default_fetch_timeout_ms`].

use crate::device_code::DeviceCode;
use crate::error::{Error, ErrorCode};
use crate::json::ObjectWriter;
use crate::poll::PollResult;
use crate::tokens::Tokens;

/// The longest wait after a failed poll.
pub const MAX_RETRY_DELAY_MS: f64 = 60_000.0;

/// Without `deps.timeoutMs`, each request of the waiting loop gets this bound...
pub const DEFAULT_WAIT_FETCH_TIMEOUT_MS: f64 = 30_000.0;

/// ...and never one that ends after the code's expiry: a request that never settles then ends
/// as a `network_error` (retried, or `expired_token` once the code is over) instead of keeping
/// the loop pending for good. `now` is the poll's clock reading (before the code's expiry, else
/// the poll sends nothing).
pub fn default_fetch_timeout_ms(code: &DeviceCode, now: f64) -> f64 {
    DEFAULT_WAIT_FETCH_TIMEOUT_MS.min(code.expires_at - now)
}

#[derive(Clone, Debug, PartialEq)]
/// What the waiting loop tells the host's UI.
pub enum WaitEvent {
    /// The next poll is due in `next_poll_in_ms`.
    Waiting {
        /// Milliseconds until the next poll.
        next_poll_in_ms: f64,
        /// When the code expires, in epoch milliseconds.
        expires_at: f64,
    },
    /// The server asked to poll less often.
    SlowedDown {
        /// The new interval, in milliseconds.
        interval_ms: f64,
    },
    /// A poll failed in a way worth retrying.
    Retrying {
        /// Why it failed.
        code: ErrorCode,
        /// How many polls in a row failed.
        attempt: u32,
        /// Milliseconds until the retry.
        delay_ms: f64,
    },
    /// The code expired: the loop ends.
    Expired,
}

impl WaitEvent {
    /// The event as the drop-in's `DeviceFlowEvent` JSON object.
    pub fn to_json(&self) -> String {
        match self {
            WaitEvent::Waiting {
                next_poll_in_ms,
                expires_at,
            } => ObjectWriter::new()
                .string("type", "waiting")
                .number("nextPollInMs", *next_poll_in_ms)
                .number("expiresAt", *expires_at)
                .finish(),
            WaitEvent::SlowedDown { interval_ms } => ObjectWriter::new()
                .string("type", "slowed_down")
                .number("intervalMs", *interval_ms)
                .finish(),
            WaitEvent::Retrying {
                code,
                attempt,
                delay_ms,
            } => ObjectWriter::new()
                .string("type", "retrying")
                .string("code", code.as_str())
                .number("attempt", f64::from(*attempt))
                .number("delayMs", *delay_ms)
                .finish(),
            WaitEvent::Expired => ObjectWriter::new().string("type", "expired").finish(),
        }
    }
}

/// What the loop does next: emit `events` (in order), then act.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitDecision {
    /// Events for the host, in order.
    pub events: Vec<WaitEvent>,
    /// What to do then.
    pub action: WaitAction,
}

#[derive(Clone, Debug, PartialEq)]
/// What the waiting loop does after emitting its events.
pub enum WaitAction {
    /// Sleep this long, then poll with [`WaitLoop::code`].
    Sleep(f64),
    /// Resolve with these tokens.
    Done(Tokens),
    /// Reject with this error.
    Fail(Error),
}

#[derive(Clone, Debug, PartialEq)]
/// The waiting loop's state: the code (with its interval as slowed down so far) and the count
/// of failed polls in a row.
pub struct WaitLoop {
    code: DeviceCode,
    attempt: u32,
}

impl WaitLoop {
    /// A loop for `code`.
    pub fn new(code: DeviceCode) -> Self {
        WaitLoop { code, attempt: 0 }
    }

    /// The code to poll with: the caller's code with the interval as slowed down so far.
    pub fn code(&self) -> &DeviceCode {
        &self.code
    }

    /// Before the first poll: wait one interval.
    pub fn start(&self, now: f64) -> WaitDecision {
        self.schedule(Vec::new(), self.code.interval_ms, now)
    }

    /// After a poll that ended in `outcome`, read on `now`.
    pub fn after_poll(&mut self, outcome: Result<PollResult, Error>, now: f64) -> WaitDecision {
        match outcome {
            Ok(PollResult::Success(tokens)) => WaitDecision {
                events: Vec::new(),
                action: WaitAction::Done(tokens),
            },
            Ok(PollResult::Pending { interval_ms }) => {
                self.attempt = 0;
                self.code.interval_ms = interval_ms;
                self.schedule(Vec::new(), interval_ms, now)
            }
            Ok(PollResult::SlowDown { interval_ms }) => {
                self.attempt = 0;
                self.code.interval_ms = interval_ms;
                self.schedule(
                    vec![WaitEvent::SlowedDown { interval_ms }],
                    interval_ms,
                    now,
                )
            }
            Err(e) if e.code == ErrorCode::ExpiredToken => WaitDecision {
                events: vec![WaitEvent::Expired],
                action: WaitAction::Fail(e),
            },
            Err(e) if e.retryable() => {
                self.attempt = self.attempt.saturating_add(1);
                let interval = self.code.interval_ms;
                let backoff = interval * 2f64.powi(self.attempt.saturating_sub(1).min(30) as i32);
                let delay = MAX_RETRY_DELAY_MS
                    .min(interval.max(e.retry_after_ms.unwrap_or(0.0)).max(backoff));
                let event = WaitEvent::Retrying {
                    code: e.code,
                    attempt: self.attempt,
                    delay_ms: delay,
                };
                self.schedule(vec![event], delay, now)
            }
            Err(e) => WaitDecision {
                events: Vec::new(),
                action: WaitAction::Fail(e),
            },
        }
    }

    fn schedule(&self, mut events: Vec<WaitEvent>, wait_ms: f64, now: f64) -> WaitDecision {
        let expires_at = self.code.expires_at;
        if now + wait_ms >= expires_at {
            events.push(WaitEvent::Expired);
            return WaitDecision {
                events,
                action: WaitAction::Fail(Error::new(
                    ErrorCode::ExpiredToken,
                    "The device code expired before the sign-in was approved: start again.",
                )),
            };
        }
        events.push(WaitEvent::Waiting {
            next_poll_in_ms: wait_ms,
            expires_at,
        });
        WaitDecision {
            events,
            action: WaitAction::Sleep(wait_ms),
        }
    }
}
