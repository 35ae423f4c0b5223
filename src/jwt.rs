//! JWT claims read WITHOUT signature verification. The module only uses them to schedule a
//! refresh and to address the Codex backend; the tokens came straight from the authorization
//! server over TLS, and the resource server verifies them. Anything that is not a three-part JWS
//! with a base64url JSON-object payload simply has no claims.

use crate::json::{self, ObjectWriter, Value};
use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;

const AUTH_CLAIM: &str = "https://api.openai.com/auth";
const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The payload of a compact JWS, if it is one. A token longer than any reply could carry
/// ([`crate::limits::MAX_TOKEN_LEN`]) has none.
#[cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests and fuzz targets
pub fn payload(token: &str) -> Option<Value> {
    if crate::limits::check_len("token", token, crate::limits::MAX_TOKEN_LEN).is_err() {
        return None;
    }
    let mut parts = token.split('.');
    let (_header, body, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_ANY_PADDING.decode(body).ok()?;
    json::parse(&bytes).filter(Value::is_object)
}

/// `exp` of a JWT, in epoch milliseconds (a JSON number within the range of a JS date only).
#[cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests and fuzz targets
pub fn expires_at(token: &str) -> Option<f64> {
    payload(token)?
        .get("exp")
        .and_then(Value::as_f64)
        .map(|e| e * 1000.0)
        .filter(|ms| (0.0..=crate::clock::MAX_TIME_MS).contains(ms))
}

/// The claims a host reads from the tokens (the drop-in's `TokenClaims`, docs/behaviour.md "Types").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TokenClaims {
    /// The ChatGPT account (`chatgpt_account_id`).
    pub account_id: Option<String>,
    /// The ChatGPT plan (`chatgpt_plan_type`).
    pub plan_type: Option<String>,
    /// The user's email, from the id token.
    pub email: Option<String>,
    /// The ChatGPT user (`chatgpt_user_id`).
    pub user_id: Option<String>,
    /// The access token's `exp`, in epoch milliseconds.
    pub expires_at: Option<f64>,
    /// The access token's `aud`, always as a list.
    pub audience: Option<Vec<String>>,
}

impl TokenClaims {
    /// The claims as the drop-in's `TokenClaims` JSON object (absent claims left out).
    pub fn to_json(&self) -> String {
        let audience = self.audience.as_ref().map(|a| {
            let mut out = String::from("[");
            for (i, s) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::write_string(&mut out, s);
            }
            out.push(']');
            out
        });
        let w = ObjectWriter::new()
            .opt_string("accountId", self.account_id.as_deref())
            .opt_string("planType", self.plan_type.as_deref())
            .opt_string("email", self.email.as_deref())
            .opt_string("userId", self.user_id.as_deref())
            .opt_number("expiresAt", self.expires_at);
        match audience {
            Some(a) => w.raw("audience", &a),
            None => w,
        }
        .finish()
    }
}

fn string_at<'a>(v: Option<&'a Value>, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v?, |cur, key| cur.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Account, plan and user from the id token's OpenAI auth claim (else the access token's),
/// email from the id token, expiry and audience from the access token. Never fails.
pub fn decode_claims(access_token: Option<&str>, id_token: Option<&str>) -> TokenClaims {
    let id = id_token.and_then(payload);
    let access = access_token.and_then(payload);
    let auth = |field: &str| {
        string_at(id.as_ref(), &[AUTH_CLAIM, field])
            .or_else(|| string_at(access.as_ref(), &[AUTH_CLAIM, field]))
            .map(str::to_owned)
    };
    let audience = match access.as_ref().and_then(|a| a.get("aud")) {
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    };
    TokenClaims {
        account_id: auth("chatgpt_account_id"),
        plan_type: auth("chatgpt_plan_type"),
        user_id: auth("chatgpt_user_id"),
        email: string_at(id.as_ref(), &["email"])
            .or_else(|| string_at(id.as_ref(), &[PROFILE_CLAIM, "email"]))
            .map(str::to_owned),
        expires_at: access_token.and_then(expires_at),
        audience,
    }
}
