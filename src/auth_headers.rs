//! The headers the ChatGPT Codex backend wants with an access token. These tokens are accepted
//! only there (the Responses API at `chatgpt.com/backend-api/codex`), not by the public OpenAI
//! API, and that backend also wants the ChatGPT account the token belongs to.

use crate::error::Error;
use crate::tokens::Tokens;

/// The headers for a Codex backend request: `Authorization: Bearer <access token>`, and
/// `ChatGPT-Account-ID` when the tokens' claims name an account.
pub fn codex_auth_headers(tokens: &Tokens) -> Result<Vec<(String, String)>, Error> {
    let access = tokens.access_token.expose();
    crate::limits::check_len("tokens.accessToken", access, crate::limits::MAX_TOKEN_LEN)?;
    let valid_value = |v: &str| !v.is_empty() && !v.chars().any(|c| c.is_control());
    if !valid_value(access) {
        return Err(Error::invalid_config(
            "tokens.accessToken must be a non-empty string without control characters",
        ));
    }
    let mut headers = vec![("Authorization".to_owned(), format!("Bearer {access}"))];
    if let Some(account) = tokens.claims().account_id {
        if !valid_value(&account) {
            return Err(Error::invalid_config(
                "the ChatGPT account id in the token contains control characters",
            ));
        }
        headers.push(("ChatGPT-Account-ID".to_owned(), account));
    }
    Ok(headers)
}
