//! Refresh. OpenAI takes JSON and rotates its single-use refresh token on every call, so the
//! reply's refresh token must replace the old one; a server that omits it (RFC 6749 allows that)
//! leaves the old one valid, so we keep it. `idToken`/`scope` likewise survive an omitting reply.

use crate::classify::{classify, ReplyContext};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::json::Value;
use crate::limits::{check_len, MAX_TOKEN_LEN};
use crate::provider::{Provider, ProviderKind};
use crate::request;
use crate::secret::Secret;
use crate::tokens::Tokens;
use crate::request_kind::RequestKind;

/// What the host passed as `previous`: a bare refresh token, or the whole token set.
#[derive(Clone, Debug, PartialEq)]
pub struct RefreshInput {
    /// The refresh token to send.
    pub refresh_token: Secret,
    /// The whole token set, when the host passed one (its id token and scope survive a reply
    /// that omits them).
    pub previous: Option<Tokens>,
}

impl RefreshInput {
    /// Reads what the host passed: a refresh token string or an `OAuthTokens` object.
    pub fn from_json(v: &Value) -> Result<RefreshInput, Error> {
        match v {
            Value::String(s) if !s.is_empty() => {
                check_len("previous (the refresh token)", s, MAX_TOKEN_LEN)?;
                Ok(RefreshInput {
                    refresh_token: Secret::new(s.clone()),
                    previous: None,
                })
            }
            Value::Object(_) => {
                let tokens = Tokens::from_json(v)?;
                let refresh_token = tokens.refresh_token.clone().ok_or_else(|| {
                    Error::invalid_config("tokens.refreshToken is missing: these tokens cannot be refreshed; sign in again")
                })?;
                Ok(RefreshInput {
                    refresh_token,
                    previous: Some(tokens),
                })
            }
            _ => Err(Error::invalid_config(
                "previous must be a refresh token string or an OAuthTokens object",
            )),
        }
    }
}

/// The refresh request: JSON for OpenAI, a form with client authentication for RFC 8628.
pub fn refresh_request(p: &Provider, refresh_token: &Secret) -> HttpRequest {
    let rt = refresh_token.expose();
    match p.kind() {
        ProviderKind::OpenAiCodex => request::json(
            p,
            p.token_endpoint(),
            &[
                ("client_id", p.client_id()),
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
            ],
        ),
        ProviderKind::Rfc8628 => request::client_form(
            p,
            p.token_endpoint(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", p.client_id()),
            ],
            &[],
        ),
    }
}

/// Reads the refresh reply into the new tokens; `now` is the operation's clock reading.
pub fn process_refresh(
    p: &Provider,
    input: &RefreshInput,
    resp: &HttpResponse,
    now: f64,
) -> Result<Tokens, Error> {
    let previous_access = input
        .previous
        .as_ref()
        .map(|t| t.access_token.expose())
        .unwrap_or("");
    let ctx = ReplyContext {
        request: RequestKind::Refresh,
        kind: p.kind(),
        now,
        success_marker: "access_token",
        secrets: &[
            input.refresh_token.expose(),
            p.client_secret_text(),
            previous_access,
        ],
    };
    let body = classify(&ctx, resp)?;
    let mut next = Tokens::from_reply(&body, RequestKind::Refresh.describe(), now)
        .map_err(|e| resp.annotate(e, now))?;
    if next.refresh_token.is_none() {
        next.refresh_token = Some(input.refresh_token.clone());
    }
    if let Some(prev) = &input.previous {
        if next.id_token.is_none() {
            next.id_token = prev.id_token.clone();
        }
        if next.scope.is_none() {
            next.scope = prev.scope.clone();
        }
    }
    Ok(next)
}
