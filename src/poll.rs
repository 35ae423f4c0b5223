//! Step 2: one poll. RFC 8628 polls the token endpoint and reads `error` at any status. OpenAI
//! polls its own endpoint, where 403/404 means "not yet" and a 2xx hands over an authorization
//! code plus a server-made PKCE verifier, which step 3 ([`process_code_exchange`]) redeems.

use crate::classify::{classify, Reply, ReplyContext};
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
use crate::Step;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// What `slow_down` adds to the interval (RFC 8628 section 3.5).
pub const SLOW_DOWN_STEP_MS: f64 = 5000.0;

#[derive(Clone, Debug, PartialEq)]
pub enum PollResult {
    /// Wait `interval_ms` before the next poll.
    Pending {
        interval_ms: f64,
    },
    /// Already increased by 5 s: keep it as the code's interval from now on.
    SlowDown {
        interval_ms: f64,
    },
    Success(Tokens),
}

impl PollResult {
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
pub enum PollStep {
    Done(PollResult),
    /// OpenAI approved: send this exchange, then read its reply with [`process_code_exchange`].
    Exchange(CodeExchange),
}

/// OpenAI's authorization-code exchange, with the secrets it carries (for scrubbing replies).
#[derive(Debug, PartialEq)]
pub struct CodeExchange {
    pub request: HttpRequest,
    pub authorization_code: Secret,
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
    Ok(match p.kind {
        ProviderKind::OpenAiCodex => request::json(
            p,
            p.device_poll_endpoint.as_deref().unwrap_or_default(),
            &[
                ("device_auth_id", device_code),
                ("user_code", &code.user_code),
            ],
        ),
        ProviderKind::Rfc8628 => request::client_form(
            p,
            &p.token_endpoint,
            &[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", device_code),
                ("client_id", &p.client_id),
            ],
            &[],
        ),
    })
}

pub fn process_poll(
    p: &Provider,
    code: &DeviceCode,
    resp: &HttpResponse,
    now: f64,
) -> Result<PollStep, Error> {
    let codex = p.kind == ProviderKind::OpenAiCodex;
    let client_secret = p.client_secret.as_ref().map(Secret::expose).unwrap_or("");
    let ctx = ReplyContext {
        step: Step::Poll,
        kind: p.kind,
        now,
        success_marker: if codex {
            "authorization_code"
        } else {
            "access_token"
        },
        secrets: &[code.device_code.expose(), client_secret],
    };
    let step = Step::Poll.describe();
    let body = match classify(&ctx, resp)? {
        Reply::Pending => {
            return Ok(PollStep::Done(PollResult::Pending {
                interval_ms: code.interval_ms,
            }))
        }
        Reply::SlowDown => {
            return Ok(PollStep::Done(PollResult::SlowDown {
                interval_ms: (code.interval_ms + SLOW_DOWN_STEP_MS).min(MAX_INTERVAL_MS),
            }))
        }
        Reply::Success(body) => body,
    };
    if !codex {
        let tokens = Tokens::from_reply(&body, step, now).map_err(|e| resp.annotate(e, now))?;
        return Ok(PollStep::Done(PollResult::Success(tokens)));
    }
    let authorization_code = Secret::new(
        reply_string(&body, step, &["authorization_code"]).map_err(|e| resp.annotate(e, now))?,
    );
    let code_verifier = Secret::new(
        reply_string(&body, step, &["code_verifier"]).map_err(|e| resp.annotate(e, now))?,
    );
    Ok(PollStep::Exchange(CodeExchange {
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
        &p.token_endpoint,
        &[
            ("grant_type", "authorization_code"),
            ("code", authorization_code.expose()),
            (
                "redirect_uri",
                p.redirect_uri.as_deref().unwrap_or_default(),
            ),
            ("client_id", &p.client_id),
            ("code_verifier", code_verifier.expose()),
        ],
    )
}

pub fn process_code_exchange(
    p: &Provider,
    exchange: &CodeExchange,
    resp: &HttpResponse,
    now: f64,
) -> Result<Tokens, Error> {
    let ctx = ReplyContext {
        step: Step::CodeExchange,
        kind: p.kind,
        now,
        success_marker: "access_token",
        secrets: &[
            exchange.authorization_code.expose(),
            exchange.code_verifier.expose(),
        ],
    };
    match classify(&ctx, resp)? {
        Reply::Success(body) => Tokens::from_reply(&body, Step::CodeExchange.describe(), now)
            .map_err(|e| resp.annotate(e, now)),
        Reply::Pending | Reply::SlowDown => Err(Error::invalid_response(
            "The code exchange reply is a polling answer.",
        )
        .with_status(resp.status)
        .with_retry_after(resp.retry_after_ms(now))),
    }
}
