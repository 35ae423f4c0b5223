//! The token session's decisions about its store: which error a failed, refused or hung store
//! call becomes, and what to do when `save` reports that it dropped the session's tokens.
//!
//! Why apart from `session.rs`: the store is the host's code (a file, a database, a cache), so
//! every answer it gives needs a rule: a store that cannot be reached is worth retrying, a store
//! whose contents are unusable is not (retrying forever would hide it), a call that never
//! settles must not block every caller, and a compare-and-swap `save` that lost to a sign-out or
//! a newer sign-in must never be reported as success.

use crate::error::{Error, ErrorCode};
use crate::session::same_tokens;
use crate::tokens::Tokens;

/// The store call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreCall {
    Load,
    Save,
    Lock,
    /// `lock` settled without ever running the session's function.
    LockSkipped,
    /// `replace` (the session's `signIn` or `signOut`).
    Replace,
}

impl StoreCall {
    pub(crate) fn parse(s: &str) -> Option<StoreCall> {
        match s {
            "load" => Some(StoreCall::Load),
            "save" => Some(StoreCall::Save),
            "lock" => Some(StoreCall::Lock),
            "lock_skipped" => Some(StoreCall::LockSkipped),
            "replace" => Some(StoreCall::Replace),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StoreCall::Load => "load()",
            StoreCall::Save => "save()",
            StoreCall::Lock | StoreCall::LockSkipped => "lock()",
            StoreCall::Replace => "replace()",
        }
    }
}

/// How the store call went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreFault {
    /// It rejected (or threw): the store could not be reached or written.
    Failed,
    /// It rejected with an error that says retrying cannot help (`retryable: false`: a damaged
    /// file, a file written by a newer version, unsafe permissions).
    Unusable,
    /// It did not settle within the session's `storeTimeoutMs`.
    TimedOut,
}

impl StoreFault {
    pub(crate) fn parse(s: &str) -> Option<StoreFault> {
        match s {
            "failed" => Some(StoreFault::Failed),
            "unusable" => Some(StoreFault::Unusable),
            "timeout" => Some(StoreFault::TimedOut),
            _ => None,
        }
    }
}

/// A `storage_error` with its own `retryable` (the code alone says retryable; a store that says
/// its contents are unusable makes it not retryable).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoreFailure {
    pub error: Error,
    pub retryable: bool,
}


/// The session's error for a failed store call. The store's own error is not quoted: it may
/// carry the tokens it failed to write.
pub(crate) fn store_failure(call: StoreCall, fault: StoreFault, store_timeout_ms: f64) -> StoreFailure {
    let name = call.name();
    let message = match (call, fault) {
        (StoreCall::LockSkipped, _) => {
            "The token store's lock() settled without running the session's function; it must \
             call it and return its result."
                .to_owned()
        }
        (_, StoreFault::TimedOut) => format!(
            "The token store's {name} did not settle within {} ms (storeTimeoutMs); try again. {}",
            store_timeout_ms.ceil(),
            after(call)
        ),
        (_, StoreFault::Unusable) => format!(
            "The token store's {name} reports that retrying cannot help (damaged or unusable \
             contents, or a file it must not touch): fix the store, or sign in again to replace \
             its contents. {}",
            after(call)
        ),
        (StoreCall::Lock, StoreFault::Failed) => {
            "The token store's lock() failed before running the session; try again.".to_owned()
        }
        (_, StoreFault::Failed) => format!(
            "The token store's {name} failed; try again. {}",
            after(call)
        ),
    };
    StoreFailure {
        error: Error::new(ErrorCode::StorageError, message.trim_end()),
        retryable: fault != StoreFault::Unusable,
    }
}

/// What happens to the session's state after a failed call, for the message.
fn after(call: StoreCall) -> &'static str {
    match call {
        StoreCall::Save => {
            "The new tokens are kept in memory and the next call saves them again before using \
             them (the old refresh token is already spent)."
        }
        StoreCall::Replace => "The session's tokens are unchanged.",
        StoreCall::Lock => "No refresh request was sent.",
        StoreCall::Load | StoreCall::LockSkipped => "",
    }
}

/// What the session does after `save(next, previous)` resolved `false` (dropped), given what
/// the store holds when read again.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum DroppedSave {
    /// The store holds `next` after all: count the save as written.
    Written,
    /// The store holds other tokens (a newer sign-in, or a holder that won): discard `next` and
    /// decide again on the stored tokens.
    Adopt,
    /// The store is empty: a sign-out won. Discard `next` and reject with this error.
    SignedOut(Error),
    /// The store still holds `previous`, which contradicts the compare-and-swap: keep `next` in
    /// memory (it is the only set that works) and save it again on the next call; reject with
    /// this error meanwhile.
    Keep(StoreFailure),
}


/// A dropped save is never reported as success: the session adopts what the store holds.
pub(crate) fn after_dropped_save(
    stored: Option<&Tokens>,
    next: &Tokens,
    previous: &Tokens,
) -> DroppedSave {
    match stored {
        None => DroppedSave::SignedOut(signed_out_during_refresh()),
        Some(s) if same_tokens(s, next) => DroppedSave::Written,
        Some(s) if holds_spent(s, next, previous) => DroppedSave::Keep(StoreFailure {
            error: Error::new(
                ErrorCode::StorageError,
                "The token store's save() reported the new tokens dropped although it still holds \
                 the ones they replace; a compare-and-swap save must store them then. The new \
                 tokens are kept in memory and saved again on the next call.",
            ),
            retryable: true,
        }),
        Some(_) => DroppedSave::Adopt,
    }
}

/// The store still holds `previous`, or another set with its refresh token although the refresh
/// rotated it: adopting that would spend a spent refresh token.
fn holds_spent(stored: &Tokens, next: &Tokens, previous: &Tokens) -> bool {
    let refresh = |t: &Tokens| t.refresh_token.as_ref().map(|r| r.expose().to_owned());
    let rotated = refresh(next) != refresh(previous);
    same_tokens(stored, previous)
        || (rotated && refresh(stored).is_some() && refresh(stored) == refresh(previous))
}

/// The store was emptied (a sign-out) while the session refreshed: the refreshed tokens are
/// discarded, never saved behind the sign-out's back.
pub(crate) fn signed_out_during_refresh() -> Error {
    Error::new(
        ErrorCode::ReauthRequired,
        "The token store was emptied (signed out) while the session refreshed; the refreshed \
         tokens were discarded: sign in first.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn tokens(access: &str, refresh: &str) -> Tokens {
        Tokens {
            access_token: Secret::new(access),
            token_type: "Bearer".to_owned(),
            refresh_token: Some(Secret::new(refresh)),
            id_token: None,
            scope: None,
            expires_at: None,
        }
    }

    const CALLS: [&str; 5] = ["load", "save", "lock", "lock_skipped", "replace"];

    #[test]
    fn failed_and_hung_store_calls_are_retryable_storage_errors() {
        for name in CALLS {
            let call = StoreCall::parse(name).unwrap_or_else(|| panic!("{name}"));
            for fault in [StoreFault::Failed, StoreFault::TimedOut] {
                let f = store_failure(call, fault, 60_000.0);
                assert_eq!(f.error.code, ErrorCode::StorageError);
                assert!(f.retryable, "{name} {fault:?}");
            }
        }
        assert_eq!(StoreCall::parse("other"), None);
        assert_eq!(StoreFault::parse("other"), None);
    }

    #[test]
    fn a_store_that_says_retrying_cannot_help_stays_not_retryable() {
        for name in CALLS {
            let call = StoreCall::parse(name).unwrap_or_else(|| panic!("{name}"));
            let f = store_failure(call, StoreFault::Unusable, 60_000.0);
            assert_eq!(f.error.code, ErrorCode::StorageError);
            assert!(!f.retryable, "{name}");
        }
        let f = store_failure(StoreCall::Load, StoreFault::Unusable, 1.0);
        assert!(
            f.error.message.contains("sign in again"),
            "{}",
            f.error.message
        );
    }

    #[test]
    fn a_timeout_names_the_call_and_the_bound() {
        let f = store_failure(StoreCall::Save, StoreFault::TimedOut, 1500.5);
        assert!(
            f.error
                .message
                .contains("save() did not settle within 1501 ms"),
            "{}",
            f.error.message
        );
        assert!(
            f.error.message.contains("kept in memory"),
            "{}",
            f.error.message
        );
    }

    #[test]
    fn a_dropped_save_is_never_success() {
        let previous = tokens("at_1", "rt_1");
        let next = tokens("at_2", "rt_2");
        let other = tokens("at_9", "rt_9");
        assert_eq!(
            after_dropped_save(None, &next, &previous),
            DroppedSave::SignedOut(signed_out_during_refresh())
        );
        assert_eq!(signed_out_during_refresh().code, ErrorCode::ReauthRequired);
        assert!(!signed_out_during_refresh().retryable());
        assert_eq!(
            after_dropped_save(Some(&other), &next, &previous),
            DroppedSave::Adopt
        );
        assert_eq!(
            after_dropped_save(Some(&next.clone()), &next, &previous),
            DroppedSave::Written
        );
        // Only the access token differs: another set.
        let same_refresh = tokens("at_3", "rt_2");
        assert_eq!(
            after_dropped_save(Some(&same_refresh), &next, &previous),
            DroppedSave::Adopt
        );
        // Another access token beside the refresh token the refresh spent: never adopted.
        let spent_refresh = tokens("at_3", "rt_1");
        assert!(matches!(
            after_dropped_save(Some(&spent_refresh), &next, &previous),
            DroppedSave::Keep(_)
        ));
        // A server that does not rotate: the same refresh token in another set is a newer one.
        let not_rotated = tokens("at_2", "rt_1");
        assert_eq!(
            after_dropped_save(Some(&spent_refresh), &not_rotated, &previous),
            DroppedSave::Adopt
        );
        match after_dropped_save(Some(&previous.clone()), &next, &previous) {
            DroppedSave::Keep(f) => {
                assert_eq!(f.error.code, ErrorCode::StorageError);
                assert!(f.retryable);
            }
            other => panic!("{other:?}"),
        }
    }

    /// Only the calls that are handed tokens can leak them: each one is named, and must give
    /// the error it is checked for (no count of messages that might silently shrink).
    #[test]
    fn errors_made_from_tokens_never_carry_them() {
        let previous = tokens("at_secret_1", "rt_secret_1");
        let next = tokens("at_secret_2", "rt_secret_2");
        let DroppedSave::SignedOut(signed_out) = after_dropped_save(None, &next, &previous) else {
            panic!("an empty store means a sign-out won")
        };
        let DroppedSave::Keep(kept) = after_dropped_save(Some(&previous), &next, &previous) else {
            panic!("a store still holding `previous` keeps `next`")
        };
        for (what, message) in [
            ("signed out", signed_out.message),
            ("kept", kept.error.message),
        ] {
            for secret in ["at_secret_1", "rt_secret_1", "at_secret_2", "rt_secret_2"] {
                assert!(!message.contains(secret), "{what}: {message}");
            }
        }
    }
}
