//! `waitForDeviceToken` as the pure `wait::WaitLoop`: driven here by a fake clock that advances by
//! exactly the sleeps the loop asks for, with the real poll/exchange functions answering scripted
//! replies.

use crate::support::*;
use oauth_device_flow::wait::{WaitAction, WaitDecision, WaitEvent, WaitLoop, MAX_RETRY_DELAY_MS};
use oauth_device_flow::{
    poll_request, process_code_exchange, process_poll, AfterPoll, DeviceCode, Error, ErrorCode,
    HttpResponse, PollResult, Provider, Secret, Tokens,
};

struct Run {
    events: Vec<WaitEvent>,
    outcome: Result<Tokens, Error>,
    /// The fake clock when the loop ended.
    now: f64,
    /// Clock readings at which a request went out.
    requests_at: Vec<f64>,
}

/// Drives the loop to its end: sleeps advance the clock, each poll (and a codex exchange) takes
/// the next scripted reply. Panics if the loop asks for more replies than scripted.
fn drive(p: &Provider, code: DeviceCode, start: f64, replies: Vec<HttpResponse>) -> Run {
    let mut wl = WaitLoop::new(code);
    let mut now = start;
    let mut events = Vec::new();
    let mut requests_at = Vec::new();
    let mut replies = replies.into_iter();
    let mut decision = wl.start(now);
    loop {
        events.extend(decision.events.iter().cloned());
        match decision.action {
            WaitAction::Sleep(ms) => now += ms,
            WaitAction::Done(tokens) => {
                assert!(replies.next().is_none(), "unused replies");
                return Run {
                    events,
                    outcome: Ok(tokens),
                    now,
                    requests_at,
                };
            }
            WaitAction::Fail(e) => {
                assert!(replies.next().is_none(), "unused replies");
                return Run {
                    events,
                    outcome: Err(e),
                    now,
                    requests_at,
                };
            }
        }
        let outcome = match poll_request(p, wl.code(), now) {
            Err(e) => Err(e),
            Ok(_request) => {
                requests_at.push(now);
                let resp = replies.next().expect("a scripted poll reply");
                match process_poll(p, wl.code(), &resp, now) {
                    Ok(AfterPoll::Done(result)) => Ok(result),
                    Ok(AfterPoll::Exchange(exchange)) => {
                        requests_at.push(now);
                        let resp = replies.next().expect("a scripted exchange reply");
                        process_code_exchange(p, &exchange, &resp, now).map(PollResult::Success)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        decision = wl.after_poll(outcome, now);
    }
}

fn waiting(ms: f64, expires_at: f64) -> WaitEvent {
    WaitEvent::Waiting {
        next_poll_in_ms: ms,
        expires_at,
    }
}

fn retrying(code: ErrorCode, attempt: u32, delay_ms: f64) -> WaitEvent {
    WaitEvent::Retrying {
        code,
        attempt,
        delay_ms,
    }
}

fn tokens_body() -> String {
    format!(r#"{{"access_token":"{ACCESS}","refresh_token":"{REFRESH}","expires_in":3600}}"#)
}

fn error(code: ErrorCode) -> Error {
    Error::new(code, "test failure")
}

const EXP: f64 = NOW + FIFTEEN_MIN_MS;

#[test]
fn first_wait_is_the_interval_with_a_waiting_event() {
    let wl = WaitLoop::new(device_code());
    assert_eq!(
        wl.start(NOW),
        WaitDecision {
            events: vec![waiting(5000.0, EXP)],
            action: WaitAction::Sleep(5000.0),
        }
    );
    assert_eq!(wl.code(), &device_code());
}

#[test]
fn codex_loop_waits_through_403_404_and_slow_down_then_exchanges_the_code() {
    let run = drive(
        &codex(),
        device_code(),
        NOW,
        vec![
            reply(403, ""),
            reply(404, ""),
            reply(403, r#"{"error":{"code":"slow_down"}}"#),
            reply(
                403,
                r#"{"error":{"code":"deviceauth_authorization_pending"}}"#,
            ),
            reply(
                200,
                &format!(
                    r#"{{"authorization_code":"{AUTH_CODE}","code_verifier":"{CODE_VERIFIER}"}}"#
                ),
            ),
            reply(200, &tokens_body()),
        ],
    );
    assert_eq!(
        run.events,
        vec![
            waiting(5000.0, EXP),
            waiting(5000.0, EXP),
            waiting(5000.0, EXP),
            WaitEvent::SlowedDown {
                interval_ms: 10_000.0
            },
            waiting(10_000.0, EXP),
            waiting(10_000.0, EXP),
        ]
    );
    assert_eq!(
        run.requests_at,
        vec![
            NOW + 5000.0,
            NOW + 10_000.0,
            NOW + 15_000.0,
            NOW + 25_000.0,
            NOW + 35_000.0,
            NOW + 35_000.0
        ]
    );
    let tokens = run.outcome.unwrap();
    assert_eq!(tokens.access_token, Secret::new(ACCESS));
    assert_eq!(tokens.expires_at, Some(run.now + 3_600_000.0));
}

#[test]
fn slow_down_keeps_the_new_interval_in_the_loops_code() {
    let mut wl = WaitLoop::new(device_code());
    let d = wl.after_poll(
        Ok(PollResult::SlowDown {
            interval_ms: 10_000.0,
        }),
        NOW + 5000.0,
    );
    assert_eq!(
        d,
        WaitDecision {
            events: vec![
                WaitEvent::SlowedDown {
                    interval_ms: 10_000.0
                },
                waiting(10_000.0, EXP)
            ],
            action: WaitAction::Sleep(10_000.0),
        }
    );
    assert_eq!(wl.code().interval_ms, 10_000.0);
    assert_eq!(wl.code().expires_at, EXP);
    assert_eq!(wl.code().device_code, Secret::new(DEVICE_CODE));
    // The next poll is built from the slowed-down code, so a second slow_down adds 5 s again.
    let step = process_poll(
        &rfc(Auth::Public),
        wl.code(),
        &reply(400, r#"{"error":"slow_down"}"#),
        NOW + 15_000.0,
    );
    assert_eq!(
        step,
        Ok(AfterPoll::Done(PollResult::SlowDown {
            interval_ms: 15_000.0
        }))
    );
}

#[test]
fn retryable_errors_back_off_exponentially_and_any_non_error_poll_resets_the_attempt() {
    let run = drive(
        &rfc(Auth::Basic),
        device_code(),
        NOW,
        vec![
            reply(503, ""),
            reply_after(503, "", "30"),
            reply(502, &html_page()),
            reply(400, r#"{"error":"authorization_pending"}"#),
            reply(500, ""),
            reply(200, &tokens_body()),
        ],
    );
    assert_eq!(
        run.events,
        vec![
            waiting(5000.0, EXP),
            retrying(ErrorCode::ServerError, 1, 5000.0),
            waiting(5000.0, EXP),
            retrying(ErrorCode::ServerError, 2, 30_000.0),
            waiting(30_000.0, EXP),
            retrying(ErrorCode::ServerError, 3, 20_000.0),
            waiting(20_000.0, EXP),
            waiting(5000.0, EXP),
            retrying(ErrorCode::ServerError, 1, 5000.0),
            waiting(5000.0, EXP),
        ]
    );
    assert!(run.outcome.is_ok());
}

#[test]
fn retry_delay_is_min_60s_of_max_interval_retry_after_and_doubling() {
    let mut wl = WaitLoop::new(device_code());
    let mut delays = Vec::new();
    for _ in 0..7 {
        let d = wl.after_poll(Err(error(ErrorCode::NetworkError)), NOW);
        let WaitAction::Sleep(ms) = d.action else {
            panic!("{d:?}")
        };
        delays.push(ms);
    }
    assert_eq!(
        delays,
        vec![5000.0, 10_000.0, 20_000.0, 40_000.0, 60_000.0, 60_000.0, 60_000.0]
    );
    assert_eq!(MAX_RETRY_DELAY_MS, 60_000.0);
}

#[test]
fn retry_after_longer_than_the_backoff_wins_up_to_60s() {
    for (retry_after, expected) in [
        (Some(1000.0), 5000.0),
        (Some(12_000.0), 12_000.0),
        (Some(60_000.0), 60_000.0),
        (Some(120_000.0), 60_000.0),
        (None, 5000.0),
        (Some(0.0), 5000.0),
    ] {
        let mut wl = WaitLoop::new(device_code());
        let e = error(ErrorCode::ServerError)
            .with_status(503)
            .with_retry_after(retry_after);
        let d = wl.after_poll(Err(e), NOW);
        assert_eq!(
            d,
            WaitDecision {
                events: vec![
                    retrying(ErrorCode::ServerError, 1, expected),
                    waiting(expected, EXP)
                ],
                action: WaitAction::Sleep(expected),
            },
            "{retry_after:?}"
        );
    }
}

#[test]
fn backoff_starts_from_the_slowed_down_interval() {
    let mut wl = WaitLoop::new(device_code());
    wl.after_poll(
        Ok(PollResult::SlowDown {
            interval_ms: 10_000.0,
        }),
        NOW,
    );
    let d = wl.after_poll(Err(error(ErrorCode::InvalidResponse)), NOW);
    assert_eq!(
        d.events[0],
        retrying(ErrorCode::InvalidResponse, 1, 10_000.0)
    );
    let d = wl.after_poll(Err(error(ErrorCode::Redirect)), NOW);
    assert_eq!(d.events[0], retrying(ErrorCode::Redirect, 2, 20_000.0));
}

#[test]
fn slow_down_also_resets_the_attempt() {
    let mut wl = WaitLoop::new(device_code());
    wl.after_poll(Err(error(ErrorCode::ServerError)), NOW);
    wl.after_poll(Err(error(ErrorCode::ServerError)), NOW);
    wl.after_poll(
        Ok(PollResult::SlowDown {
            interval_ms: 10_000.0,
        }),
        NOW,
    );
    let d = wl.after_poll(Err(error(ErrorCode::ServerError)), NOW);
    assert_eq!(d.events[0], retrying(ErrorCode::ServerError, 1, 10_000.0));
}

#[test]
fn the_loop_expires_when_the_next_wait_would_reach_expires_at() {
    let code = device_code_with(5000.0, NOW + 12_000.0);
    let run = drive(
        &rfc(Auth::Public),
        code,
        NOW,
        vec![
            reply(400, r#"{"error":"authorization_pending"}"#),
            reply(400, r#"{"error":"authorization_pending"}"#),
        ],
    );
    assert_eq!(
        run.events,
        vec![
            waiting(5000.0, NOW + 12_000.0),
            waiting(5000.0, NOW + 12_000.0),
            WaitEvent::Expired
        ]
    );
    assert_eq!(run.requests_at, vec![NOW + 5000.0, NOW + 10_000.0]);
    let e = run.outcome.unwrap_err();
    assert_err(&e, want(ErrorCode::ExpiredToken, false, None));
}

#[test]
fn a_wait_that_lands_exactly_on_expires_at_is_expired() {
    let wl = WaitLoop::new(device_code_with(5000.0, NOW + 5000.0));
    let d = wl.start(NOW);
    assert_eq!(d.events, vec![WaitEvent::Expired]);
    let WaitAction::Fail(e) = d.action else {
        panic!("{d:?}")
    };
    assert_err(&e, want(ErrorCode::ExpiredToken, false, None));

    let wl = WaitLoop::new(device_code_with(5000.0, NOW + 5001.0));
    assert_eq!(wl.start(NOW).action, WaitAction::Sleep(5000.0));
}

#[test]
fn a_retry_delay_reaching_expiry_emits_retrying_then_expired() {
    let mut wl = WaitLoop::new(device_code_with(5000.0, NOW + 40_000.0));
    let d = wl.after_poll(
        Err(error(ErrorCode::ServerError).with_retry_after(Some(45_000.0))),
        NOW,
    );
    assert_eq!(
        d.events,
        vec![
            retrying(ErrorCode::ServerError, 1, 45_000.0),
            WaitEvent::Expired
        ]
    );
    let WaitAction::Fail(e) = d.action else {
        panic!("{d:?}")
    };
    assert_err(&e, want(ErrorCode::ExpiredToken, false, None));
}

#[test]
fn a_server_expired_token_ends_the_loop_with_expired() {
    for (p, resp, status, server) in [
        (
            rfc(Auth::Post),
            reply(400, r#"{"error":"expired_token"}"#),
            400,
            "expired_token",
        ),
        (
            codex(),
            reply(403, r#"{"error":{"code":"deviceauth_expired"}}"#),
            403,
            "deviceauth_expired",
        ),
    ] {
        let run = drive(&p, device_code(), NOW, vec![resp]);
        assert_eq!(run.events, vec![waiting(5000.0, EXP), WaitEvent::Expired]);
        assert_err(
            &run.outcome.unwrap_err(),
            want(ErrorCode::ExpiredToken, false, Some(status)).server(server),
        );
    }
}

#[test]
fn permanent_errors_fail_at_once_without_events() {
    for (p, resp, w) in [
        (
            rfc(Auth::Public),
            reply(400, r#"{"error":"access_denied"}"#),
            want(ErrorCode::AccessDenied, false, Some(400)).server("access_denied"),
        ),
        (
            codex(),
            reply(
                403,
                r#"{"error":{"code":"unsupported_country_region_territory"}}"#,
            ),
            want(ErrorCode::OAuthError, false, Some(403))
                .server("unsupported_country_region_territory"),
        ),
        (
            rfc(Auth::Basic),
            reply(401, r#"{"error":"invalid_client"}"#),
            want(ErrorCode::OAuthError, false, Some(401)).server("invalid_client"),
        ),
    ] {
        let run = drive(&p, device_code(), NOW, vec![resp]);
        assert_eq!(run.events, vec![waiting(5000.0, EXP)]);
        assert_err(&run.outcome.unwrap_err(), w);
    }
    let mut wl = WaitLoop::new(device_code());
    let d = wl.after_poll(Err(error(ErrorCode::Aborted)), NOW);
    assert!(d.events.is_empty());
    assert!(matches!(d.action, WaitAction::Fail(ref e) if e.code == ErrorCode::Aborted));
}

#[test]
fn a_codex_exchange_that_fails_transiently_is_retried_by_the_next_poll() {
    let approved = reply(
        200,
        &format!(r#"{{"authorization_code":"{AUTH_CODE}","code_verifier":"{CODE_VERIFIER}"}}"#),
    );
    let run = drive(
        &codex(),
        device_code(),
        NOW,
        vec![
            approved.clone(),
            reply_after(503, "", "8"),
            approved,
            reply(200, &tokens_body()),
        ],
    );
    assert_eq!(
        run.events,
        vec![
            waiting(5000.0, EXP),
            retrying(ErrorCode::ServerError, 1, 8000.0),
            waiting(8000.0, EXP),
        ]
    );
    assert!(run.outcome.is_ok());
}

#[test]
fn a_codex_exchange_rejected_for_good_fails_the_loop() {
    let run = drive(
        &codex(),
        device_code(),
        NOW,
        vec![
            reply(
                200,
                &format!(
                    r#"{{"authorization_code":"{AUTH_CODE}","code_verifier":"{CODE_VERIFIER}"}}"#
                ),
            ),
            reply(400, r#"{"error":"invalid_grant"}"#),
        ],
    );
    assert_eq!(run.events, vec![waiting(5000.0, EXP)]);
    assert_err(
        &run.outcome.unwrap_err(),
        want(ErrorCode::InvalidGrant, false, Some(400)).server("invalid_grant"),
    );
}

#[test]
fn success_resolves_with_the_tokens_and_no_event() {
    let mut wl = WaitLoop::new(device_code());
    let t = Tokens {
        access_token: Secret::new(ACCESS),
        token_type: "Bearer".into(),
        refresh_token: None,
        id_token: None,
        scope: None,
        expires_at: None,
    };
    assert_eq!(
        wl.after_poll(Ok(PollResult::Success(t.clone())), NOW),
        WaitDecision {
            events: vec![],
            action: WaitAction::Done(t)
        }
    );
}

#[test]
fn wait_events_serialise_to_the_documented_shapes() {
    assert_eq!(
        waiting(5000.0, EXP).to_json(),
        r#"{"type":"waiting","nextPollInMs":5000,"expiresAt":1700000900000}"#
    );
    assert_eq!(
        WaitEvent::SlowedDown {
            interval_ms: 10_000.0
        }
        .to_json(),
        r#"{"type":"slowed_down","intervalMs":10000}"#
    );
    assert_eq!(
        retrying(ErrorCode::NetworkError, 2, 10_000.0).to_json(),
        r#"{"type":"retrying","code":"network_error","attempt":2,"delayMs":10000}"#
    );
    assert_eq!(WaitEvent::Expired.to_json(), r#"{"type":"expired"}"#);
}

#[test]
fn a_code_already_expired_on_the_clock_fails_the_first_poll_without_a_request() {
    // The loop schedules from `start`; if the clock jumps past expiry during the sleep, the poll
    // request itself refuses.
    let code = device_code_with(5000.0, NOW + 6000.0);
    let mut wl = WaitLoop::new(code);
    assert_eq!(wl.start(NOW).action, WaitAction::Sleep(5000.0));
    let late = NOW + 7000.0;
    let e = poll_request(&rfc(Auth::Public), wl.code(), late).expect_err("no request");
    let d = wl.after_poll(Err(e), late);
    assert_eq!(d.events, vec![WaitEvent::Expired]);
    let WaitAction::Fail(e) = d.action else {
        panic!("{d:?}")
    };
    assert_err(&e, want(ErrorCode::ExpiredToken, false, None));
}
