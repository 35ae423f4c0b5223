//! The token set, read from a token endpoint's success reply or handed back by the host.
//! `expiresAt` comes from `expires_in` on the operation's clock reading, else from the access
//! token's JWT `exp`, else it is absent (the host then relies on a 401).

use crate::error::Error;
use crate::fields::{
    expires_in, input_opt_number, input_opt_string, reply_opt_string, reply_string,
};
use crate::json::{ObjectWriter, Value};
use crate::jwt;
use crate::limits::{check_len, MAX_TOKEN_LEN};
use crate::secret::Secret;

#[derive(Clone, Debug, PartialEq)]
/// A token set, as a token endpoint's success reply gives it.
pub struct Tokens {
    /// The access token.
    pub access_token: Secret,
    /// The token type, `"Bearer"` when the server said none (any casing becomes `"Bearer"`).
    pub token_type: String,
    /// The refresh token, when there is one (OpenAI's is single-use).
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect id token, when there is one.
    pub id_token: Option<Secret>,
    /// The granted scope, when the server said.
    pub scope: Option<String>,
    /// When the access token expires, in epoch milliseconds, when known.
    pub expires_at: Option<f64>,
}

impl Tokens {
    /// Reads a token endpoint's success body; `step` names the request for messages.
    pub(crate) fn from_reply(body: &Value, step: &str, now: f64) -> Result<Tokens, Error> {
        let access_token = reply_string(body, step, &["access_token"])?;
        let expires_at = match expires_in(body) {
            Some(s) => Some(now + s * 1000.0),
            None => jwt::expires_at(&access_token),
        };
        Ok(Tokens {
            token_type: normalize_token_type(reply_opt_string(body, "token_type")),
            refresh_token: reply_opt_string(body, "refresh_token").map(Secret::new),
            id_token: reply_opt_string(body, "id_token").map(Secret::new),
            scope: reply_opt_string(body, "scope"),
            access_token: Secret::new(access_token),
            expires_at,
        })
    }

    /// Validates an `OAuthTokens` object from the host.
    pub fn from_json(v: &Value) -> Result<Tokens, Error> {
        if !v.is_object() {
            return Err(Error::invalid_config(
                "tokens must be an OAuthTokens object",
            ));
        }
        let access_token = match v.get("accessToken") {
            Some(Value::String(s)) => {
                check_len("tokens.accessToken", s, MAX_TOKEN_LEN)?;
                s.clone()
            }
            _ => return Err(Error::invalid_config("tokens.accessToken must be a string")),
        };
        Ok(Tokens {
            access_token: Secret::new(access_token),
            token_type: normalize_token_type(input_opt_string(v, "tokens", "tokenType")?),
            refresh_token: input_opt_string(v, "tokens", "refreshToken")?.map(Secret::new),
            id_token: input_opt_string(v, "tokens", "idToken")?.map(Secret::new),
            scope: input_opt_string(v, "tokens", "scope")?,
            expires_at: input_opt_number(v, "tokens", "expiresAt")?,
        })
    }

    /// The claims of these tokens (see [`jwt::decode_claims`]): the token set depends on the JWT
    /// reader, never the other way round.
    pub fn claims(&self) -> jwt::TokenClaims {
        jwt::decode_claims(
            Some(self.access_token.expose()),
            self.id_token.as_ref().map(Secret::expose),
        )
    }

    /// The tokens as the drop-in's `OAuthTokens` JSON object (what [`Tokens::from_json`] reads).
    pub fn to_json(&self) -> String {
        ObjectWriter::new()
            .string("accessToken", self.access_token.expose())
            .string("tokenType", &self.token_type)
            .opt_string(
                "refreshToken",
                self.refresh_token.as_ref().map(Secret::expose),
            )
            .opt_string("idToken", self.id_token.as_ref().map(Secret::expose))
            .opt_string("scope", self.scope.as_deref())
            .opt_number("expiresAt", self.expires_at)
            .finish()
    }
}

/// `"Bearer"` when absent; any casing of `bearer` becomes `"Bearer"`; other types are kept.
fn normalize_token_type(t: Option<String>) -> String {
    match t {
        Some(t) if !t.eq_ignore_ascii_case("bearer") => t,
        _ => "Bearer".to_owned(),
    }
}
