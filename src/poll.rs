//! Step 2: one poll. RFC 8628 polls the token endpoint and reads `error` at any status. OpenAI
//! polls its own endpoint, where 403/404 means "not yet" and a 2xx hands over an authorization
//! code plus a server-made PKCE verifier, which step 3 ([`process_code_exchange`]) redeems.

use crate::classify::{classify, classify_poll, PollReply, ReplyContext};
use crate::clock::check_reading;
use crate::device_code::{DeviceCode, MAX_INTERVAL_MS};
use crate::error::{Error, ErrorCode};
use crate::fields::reply_string;
use crate::http::{HttpRequest, HttpResponse};
use crate::json::ObjectWriter;
use crate::provider::{Provider, ProviderKind};
use crate::request;
use crate::secret::Secret;
use crate::tokens::Tokens;
use crate::request_kind::RequestKind;

/// The `grant_type` of an RFC 8628 poll.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// What `slow_down` adds to the interval (RFC 8628 section 3.5).
pub const SLOW_DOWN_STEP_MS: f64 = 5000.0;

#[derive(Clone, Debug, PartialEq)]
/// The outcome of one poll, as the host sees it.
pub enum PollResult {
    /// Wait `interval_ms` before the next poll.
    Pending {
        /// The interval to keep, in milliseconds.
        interval_ms: f64,
    },
    /// Already increased by 5 s: keep it as the code's interval from now on.
    SlowDown {
        /// The new interval, in milliseconds.
        interval_ms: f64,
    },
    /// Approved: the tokens.
    Success(Tokens),
}

impl PollResult {
    /// The result as the drop-in's `PollResult` JSON object.
    pub fn to_json(&self) -> String {
        match self {
            PollResult::Pending { interval_ms } => ObjectWriter::new()
                .string("status", "pending")
                .number("intervalMs", *interval_ms)
                .finish(),
            PollResult::SlowDown { interval_ms } => ObjectWriter::new()
                .string("status", "slow_down")
                .number("intervalMs", *interval_ms)
                .finish(),
            PollResult::Success(t) => ObjectWriter::new()
                .string("status", "success")
                .raw("tokens", &t.to_json())
                .finish(),
        }
    }
}

/// What follows a poll reply.
#[derive(Debug, PartialEq)]
pub enum AfterPoll {
    /// Settled by this reply alone.
    Done(PollResult),
    /// OpenAI approved: send this exchange, then read its reply with [`process_code_exchange`].
    Exchange(CodeExchange),
}

/// OpenAI's authorization-code exchange, with the secrets it carries (for scrubbing replies).
#[derive(Debug, PartialEq)]
pub struct CodeExchange {
    /// The exchange request to send.
    pub request: HttpRequest,
    /// The authorization code it redeems: a secret.
    pub authorization_code: Secret,
    /// The server-made PKCE verifier it sends: a secret.
    pub code_verifier: Secret,
}

fn expired() -> Error {
    Error::new(
        ErrorCode::ExpiredToken,
        "The device code has expired: start the sign-in again.",
    )
}

/// The poll request; a code already expired on `now` is `expired_token` with no request, and a
/// reading that is not a finite number >= 0 is `invalid_config` with no request (a NaN would
/// otherwise compare as "not expired" and send the device code).
pub fn poll_request(p: &Provider, code: &DeviceCode, now: f64) -> Result<HttpRequest, Error> {
    let now = check_reading(now)?;
    if now >= code.expires_at {
        return Err(expired());
    }
    let device_code = code.device_code.expose();
    Ok(match p.kind() {
        ProviderKind::OpenAiCodex => request::json(
            p,
            p.device_poll_endpoint().unwrap_or_default(),
            &[
                ("device_auth_id", device_code),
                ("user_code", &code.user_code),
            ],
        ),
        ProviderKind::Rfc8628 => request::client_form(
            p,
            p.token_endpoint(),
            &[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", device_code),
                ("client_id", p.client_id()),
            ],
            &[],
        ),
    })
}

/// Reads a poll reply; `now` is the poll's clock reading. An OpenAI approval is not yet
/// tokens: it is an [`AfterPoll::Exchange`] to send.
pub fn process_poll(
    p: &Provider,
    code: &DeviceCode,
    resp: &HttpResponse,
    now: f64,
) -> Result<AfterPoll, Error> {
    let codex = p.kind() == ProviderKind::OpenAiCodex;
    let ctx = ReplyContext {
        request: RequestKind::Poll,
        kind: p.kind(),
        now,
        success_marker: if codex {
            "authorization_code"
        } else {
            "access_token"
        },
        secrets: &[code.device_code.expose(), p.client_secret_text()],
    };
    let step = RequestKind::Poll.describe();
    let body = match classify_poll(&ctx, resp)? {
        PollReply::Pending => {
            return Ok(AfterPoll::Done(PollResult::Pending {
                interval_ms: code.interval_ms,
            }))
        }
        PollReply::SlowDown => {
            return Ok(AfterPoll::Done(PollResult::SlowDown {
                interval_ms: (code.interval_ms + SLOW_DOWN_STEP_MS).min(MAX_INTERVAL_MS),
            }))
        }
        PollReply::Success(body) => body,
    };
    if !codex {
        let tokens = Tokens::from_reply(&body, step, now).map_err(|e| resp.annotate(e, now))?;
        return Ok(AfterPoll::Done(PollResult::Success(tokens)));
    }
    let authorization_code = Secret::new(
        reply_string(&body, step, &["authorization_code"]).map_err(|e| resp.annotate(e, now))?,
    );
    let code_verifier = Secret::new(
        reply_string(&body, step, &["code_verifier"]).map_err(|e| resp.annotate(e, now))?,
    );
    Ok(AfterPoll::Exchange(CodeExchange {
        request: code_exchange_request(p, &authorization_code, &code_verifier),
        authorization_code,
        code_verifier,
    }))
}

/// OpenAI's PKCE code exchange: a form, unlike every other OpenAI request.
pub fn code_exchange_request(
    p: &Provider,
    authorization_code: &Secret,
    code_verifier: &Secret,
) -> HttpRequest {
    request::form(
        p,
        p.token_endpoint(),
        &[
            ("grant_type", "authorization_code"),
            ("code", authorization_code.expose()),
            (
                "redirect_uri",
                p.redirect_uri().unwrap_or_default(),
            ),
            ("client_id", p.client_id()),
            ("code_verifier", code_verifier.expose()),
        ],
    )
}

/// Reads the code exchange's reply into tokens; `now` is the operation's clock reading.
pub fn process_code_exchange(
    p: &Provider,
    exchange: &CodeExchange,
    resp: &HttpResponse,
    now: f64,
) -> Result<Tokens, Error> {
    let ctx = ReplyContext {
        request: RequestKind::CodeExchange,
        kind: p.kind(),
        now,
        success_marker: "access_token",
        secrets: &[
            exchange.authorization_code.expose(),
            exchange.code_verifier.expose(),
        ],
    };
    let body = classify(&ctx, resp)?;
    Tokens::from_reply(&body, RequestKind::CodeExchange.describe(), now)
        .map_err(|e| resp.annotate(e, now))
}
