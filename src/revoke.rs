//! Revocation (logout): OpenAI's JSON form of it, or RFC 7009. Any 2xx is success whatever the
//! body, since RFC 7009 answers 200 even for an unknown token.

use crate::classify::{classify, ReplyContext};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::provider::{Provider, ProviderKind};
use crate::request;
use crate::secret::Secret;
use crate::request_kind::RequestKind;

/// The revocation request for `token` (a refresh token); `invalid_config` when the provider has
/// no revocation endpoint or the token is empty or too long.
pub fn revocation_request(p: &Provider, token: &Secret) -> Result<HttpRequest, Error> {
    let url = p.revocation_endpoint().ok_or_else(|| {
        Error::invalid_config(
            "provider.revocationEndpoint is not set: this provider cannot revoke tokens",
        )
    })?;
    let t = token.expose();
    if t.is_empty() {
        return Err(Error::invalid_config("token must be a non-empty string"));
    }
    crate::limits::check_len("token", t, crate::limits::MAX_TOKEN_LEN)?;
    Ok(match p.kind() {
        ProviderKind::OpenAiCodex => request::json(
            p,
            url,
            &[
                ("token", t),
                ("token_type_hint", "refresh_token"),
                ("client_id", p.client_id()),
            ],
        ),
        ProviderKind::Rfc8628 => request::client_form(
            p,
            url,
            &[
                ("token", t),
                ("token_type_hint", "refresh_token"),
                ("client_id", p.client_id()),
            ],
            &[],
        ),
    })
}

/// Reads the revocation reply: any 2xx is success.
pub fn process_revocation(
    p: &Provider,
    token: &Secret,
    resp: &HttpResponse,
    now: f64,
) -> Result<(), Error> {
    if (200..300).contains(&resp.status) {
        return Ok(());
    }
    let ctx = ReplyContext {
        request: RequestKind::Revocation,
        kind: p.kind(),
        now,
        success_marker: "",
        secrets: &[token.expose(), p.client_secret_text()],
    };
    classify(&ctx, resp).map(|_| ())
}
