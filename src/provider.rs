//! Provider configuration: which protocol, which client, which endpoints. It arrives from the host
//! as plain data (possibly hand-built or loaded from a file), so it is validated on every use, not
//! only in the factories: a provider that reaches the wire is always one the contract allows.

use crate::endpoint::check_endpoint;
use crate::error::{Error, ErrorCode};
use crate::header_rules::{check_headers, printable};
use crate::json::{ObjectWriter, Value};
use crate::limits::{
    check_len, js_length, MAX_CLIENT_ID_LEN, MAX_CLIENT_SECRET_LEN, MAX_ENTRIES,
    MAX_HEADERS_TOTAL_LEN, MAX_NAME_LEN, MAX_SCOPE_LEN, MAX_URL_LEN, MAX_VALUE_LEN,
};
use crate::secret::Secret;

pub const OPENAI_ISSUER: &str = "https://auth.openai.com";
pub const OPENAI_CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI "Sign in with ChatGPT" (not RFC 8628: JSON user code, 403/404 pending, PKCE exchange).
    OpenAiCodex,
    /// A standard RFC 8628 authorization server.
    Rfc8628,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAiCodex => "openai-codex",
            ProviderKind::Rfc8628 => "rfc8628",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

impl ClientAuth {
    fn as_str(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::ClientSecretBasic => "client_secret_basic",
        }
    }
}

/// A validated provider. Build it with [`Provider::from_json`], [`openai_codex_provider`] or
/// [`rfc8628_provider`].
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    pub kind: ProviderKind,
    pub client_id: String,
    pub device_authorization_endpoint: String,
    pub token_endpoint: String,
    pub device_poll_endpoint: Option<String>,
    pub redirect_uri: Option<String>,
    pub verification_uri: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub scope: Option<String>,
    pub client_secret: Option<Secret>,
    /// `None` when the host did not say (then it means `"none"`).
    pub client_auth: Option<ClientAuth>,
    pub extra_params: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

/// Fields of the device authorization request that `extraParams` may not repeat.
const STANDARD_DEVICE_FIELDS: [&str; 3] = ["client_id", "client_secret", "scope"];

impl Provider {
    pub fn auth(&self) -> ClientAuth {
        self.client_auth.unwrap_or(ClientAuth::None)
    }

    /// Validates a provider object (`OAuthProvider` in the contract).
    pub fn from_json(v: &Value) -> Result<Provider, Error> {
        if !v.is_object() {
            return Err(Error::invalid_config("provider must be an object"));
        }
        let kind = match v.get("kind").and_then(Value::as_str) {
            Some("openai-codex") => ProviderKind::OpenAiCodex,
            Some("rfc8628") => ProviderKind::Rfc8628,
            _ => {
                return Err(Error::invalid_config(
                    "provider.kind must be \"openai-codex\" or \"rfc8628\"",
                ))
            }
        };
        let client_id = required_string(v, "clientId", MAX_CLIENT_ID_LEN)?;
        let url = |field: &str, required: bool| -> Result<Option<String>, Error> {
            let value = if required {
                Some(required_string(v, field, MAX_URL_LEN)?)
            } else {
                optional_string(v, field, MAX_URL_LEN)?
            };
            if let Some(u) = &value {
                check_endpoint(&format!("provider.{field}"), u)?;
            }
            Ok(value)
        };
        let codex = kind == ProviderKind::OpenAiCodex;
        let device_authorization_endpoint =
            url("deviceAuthorizationEndpoint", true)?.unwrap_or_default();
        let token_endpoint = url("tokenEndpoint", true)?.unwrap_or_default();
        let device_poll_endpoint = url("devicePollEndpoint", codex)?;
        let redirect_uri = url("redirectUri", codex)?;
        let verification_uri = url("verificationUri", codex)?;
        let revocation_endpoint = url("revocationEndpoint", false)?;
        let scope = optional_string(v, "scope", MAX_SCOPE_LEN)?;
        let client_secret =
            optional_string(v, "clientSecret", MAX_CLIENT_SECRET_LEN)?.map(Secret::new);
        let client_auth = match v.get("clientAuth") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "none" => Some(ClientAuth::None),
            Some(Value::String(s)) if s == "client_secret_post" => Some(ClientAuth::ClientSecretPost),
            Some(Value::String(s)) if s == "client_secret_basic" => Some(ClientAuth::ClientSecretBasic),
            Some(_) => {
                return Err(Error::invalid_config(
                    "provider.clientAuth must be \"none\", \"client_secret_post\" or \"client_secret_basic\"",
                ))
            }
        };
        let extra_params = string_map(v, "extraParams")?;
        let headers = string_map(v, "headers")?;
        let total: usize = headers
            .iter()
            .map(|(k, v)| js_length(k) + js_length(v))
            .sum();
        if total > MAX_HEADERS_TOTAL_LEN {
            return Err(Error::invalid_config(format!(
                "provider.headers are too long: at most {MAX_HEADERS_TOTAL_LEN} characters of names and values in total"
            )));
        }

        let provider = Provider {
            kind,
            client_id,
            device_authorization_endpoint,
            token_endpoint,
            device_poll_endpoint,
            redirect_uri,
            verification_uri,
            revocation_endpoint,
            scope,
            client_secret,
            client_auth,
            extra_params,
            headers,
        };
        provider.check_kind_rules()?;
        check_headers(&provider.headers)?;
        Ok(provider)
    }

    fn check_kind_rules(&self) -> Result<(), Error> {
        let cfg = |m: &str| Error::invalid_config(m);
        match self.kind {
            ProviderKind::OpenAiCodex => {
                let only_rfc = [
                    ("scope", self.scope.is_some()),
                    ("clientSecret", self.client_secret.is_some()),
                    ("extraParams", !self.extra_params.is_empty()),
                    (
                        "clientAuth other than \"none\"",
                        self.auth() != ClientAuth::None,
                    ),
                ];
                if let Some((field, _)) = only_rfc.iter().find(|(_, set)| *set) {
                    return Err(Error::invalid_config(format!(
                        "provider.{field} is not allowed for openai-codex (a public client without scope)"
                    )));
                }
            }
            ProviderKind::Rfc8628 => {
                let only_codex = [
                    ("devicePollEndpoint", self.device_poll_endpoint.is_some()),
                    ("redirectUri", self.redirect_uri.is_some()),
                    ("verificationUri", self.verification_uri.is_some()),
                ];
                if let Some((field, _)) = only_codex.iter().find(|(_, set)| *set) {
                    return Err(Error::invalid_config(format!(
                        "provider.{field} is for openai-codex only; an RFC 8628 server sends verification_uri itself"
                    )));
                }
                match (self.auth(), &self.client_secret) {
                    (ClientAuth::None, Some(_)) => {
                        return Err(cfg(
                            "provider.clientSecret is set but clientAuth is \"none\": set clientAuth to \"client_secret_post\" or \"client_secret_basic\"",
                        ))
                    }
                    (ClientAuth::ClientSecretPost | ClientAuth::ClientSecretBasic, None) => {
                        return Err(Error::invalid_config(format!(
                            "provider.clientAuth \"{}\" needs provider.clientSecret",
                            self.auth().as_str()
                        )))
                    }
                    _ => {}
                }
                if let Some((k, _)) = self
                    .extra_params
                    .iter()
                    .find(|(k, _)| STANDARD_DEVICE_FIELDS.contains(&k.as_str()))
                {
                    return Err(Error::invalid_config(format!(
                        "provider.extraParams may not repeat the standard field \"{k}\""
                    )));
                }
                if self.extra_params.iter().any(|(k, _)| k.is_empty()) {
                    return Err(cfg("provider.extraParams has an empty name"));
                }
            }
        }
        Ok(())
    }

    /// The provider as the plain object the contract's factories return.
    pub fn to_json(&self) -> String {
        let pairs = |items: &[(String, String)]| {
            items
                .iter()
                .fold(ObjectWriter::new(), |w, (k, v)| w.string(k, v))
                .finish()
        };
        let mut w = ObjectWriter::new()
            .string("kind", self.kind.as_str())
            .string("clientId", &self.client_id)
            .string(
                "deviceAuthorizationEndpoint",
                &self.device_authorization_endpoint,
            )
            .string("tokenEndpoint", &self.token_endpoint)
            .opt_string("devicePollEndpoint", self.device_poll_endpoint.as_deref())
            .opt_string("redirectUri", self.redirect_uri.as_deref())
            .opt_string("verificationUri", self.verification_uri.as_deref())
            .opt_string("revocationEndpoint", self.revocation_endpoint.as_deref())
            .opt_string("scope", self.scope.as_deref())
            .opt_string(
                "clientSecret",
                self.client_secret.as_ref().map(Secret::expose),
            )
            .opt_string("clientAuth", self.client_auth.map(ClientAuth::as_str));
        if !self.extra_params.is_empty() {
            w = w.raw("extraParams", &pairs(&self.extra_params));
        }
        if !self.headers.is_empty() {
            w = w.raw("headers", &pairs(&self.headers));
        }
        w.finish()
    }
}

/// `openaiCodexProvider({ issuer?, clientId?, headers? })`: every endpoint derived from the issuer.
pub fn openai_codex_provider(opts: &Value) -> Result<Provider, Error> {
    let opts = match opts {
        Value::Null => &Value::Object(Vec::new()),
        v if v.is_object() => v,
        _ => {
            return Err(Error::invalid_config(
                "openaiCodexProvider options must be an object",
            ))
        }
    };
    reject_unknown(
        opts,
        &["issuer", "clientId", "headers"],
        "openaiCodexProvider",
    )?;
    let issuer =
        optional_string(opts, "issuer", MAX_URL_LEN)?.unwrap_or_else(|| OPENAI_ISSUER.to_owned());
    let issuer = issuer.trim_end_matches('/');
    check_endpoint("issuer", issuer)?;
    if issuer.contains(['?', '#']) {
        return Err(Error::invalid_config(
            "issuer may not have a query or fragment",
        ));
    }
    let client_id = optional_string(opts, "clientId", MAX_CLIENT_ID_LEN)?
        .unwrap_or_else(|| OPENAI_CODEX_CLIENT_ID.to_owned());
    let mut members = vec![
        ("kind".to_owned(), Value::String("openai-codex".into())),
        ("clientId".to_owned(), Value::String(client_id)),
    ];
    for (field, path) in [
        (
            "deviceAuthorizationEndpoint",
            "/api/accounts/deviceauth/usercode",
        ),
        ("tokenEndpoint", "/oauth/token"),
        ("devicePollEndpoint", "/api/accounts/deviceauth/token"),
        ("redirectUri", "/deviceauth/callback"),
        ("verificationUri", "/codex/device"),
        ("revocationEndpoint", "/oauth/revoke"),
    ] {
        members.push((field.to_owned(), Value::String(format!("{issuer}{path}"))));
    }
    if let Some(h) = opts.get("headers") {
        members.push(("headers".to_owned(), h.clone()));
    }
    Provider::from_json(&Value::Object(members))
}

/// `rfc8628Provider(opts)`: the options are an `OAuthProvider` without `kind`.
pub fn rfc8628_provider(opts: &Value) -> Result<Provider, Error> {
    let Value::Object(members) = opts else {
        return Err(Error::invalid_config(
            "rfc8628Provider options must be an object",
        ));
    };
    match opts.get("kind") {
        None | Some(Value::Null) => {}
        Some(Value::String(k)) if k == "rfc8628" => {}
        Some(_) => {
            return Err(Error::invalid_config(
                "rfc8628Provider builds kind \"rfc8628\"; use openaiCodexProvider for OpenAI",
            ))
        }
    }
    reject_unknown(opts, &PROVIDER_FIELDS, "rfc8628Provider")?;
    let mut members: Vec<(String, Value)> = members
        .iter()
        .filter(|(k, _)| k != "kind")
        .cloned()
        .collect();
    members.insert(0, ("kind".to_owned(), Value::String("rfc8628".into())));
    Provider::from_json(&Value::Object(members))
}

const PROVIDER_FIELDS: [&str; 13] = [
    "kind",
    "clientId",
    "deviceAuthorizationEndpoint",
    "tokenEndpoint",
    "devicePollEndpoint",
    "redirectUri",
    "verificationUri",
    "revocationEndpoint",
    "scope",
    "clientSecret",
    "clientAuth",
    "extraParams",
    "headers",
];

/// The factories refuse options they do not know: a misspelt `clientSecret` or a `scope` given
/// to the OpenAI factory would otherwise be dropped without a word.
fn reject_unknown(opts: &Value, known: &[&str], factory: &str) -> Result<(), Error> {
    match opts.members().into_iter().find(|(k, _)| !known.contains(k)) {
        Some((k, _)) => Err(Error::invalid_config(format!(
            "{factory} does not take the option \"{}\" (it takes: {})",
            printable(k),
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn type_error(field: &str, what: &str) -> Error {
    Error::new(
        ErrorCode::InvalidConfig,
        format!("provider.{field} must be {what}"),
    )
}

fn required_string(v: &Value, field: &str, cap: usize) -> Result<String, Error> {
    match v.get(field) {
        Some(Value::String(s)) if !s.is_empty() => {
            check_len(&format!("provider.{field}"), s, cap)?;
            Ok(s.clone())
        }
        _ => Err(type_error(field, "a non-empty string")),
    }
}

fn optional_string(v: &Value, field: &str, cap: usize) -> Result<Option<String>, Error> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => {
            check_len(&format!("provider.{field}"), s, cap)?;
            Ok(Some(s.clone()))
        }
        Some(_) => Err(type_error(field, "a non-empty string when set")),
    }
}

/// `headers` or `extraParams`: at most [`MAX_ENTRIES`] string members, names and values within
/// their caps (checked in order, before anything else is done with them).
fn string_map(v: &Value, field: &str) -> Result<Vec<(String, String)>, Error> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(obj @ Value::Object(_)) => {
            if obj.member_count_up_to(MAX_ENTRIES) > MAX_ENTRIES {
                return Err(Error::invalid_config(format!(
                    "provider.{field} has more than {MAX_ENTRIES} members"
                )));
            }
            obj.members()
                .into_iter()
                .map(|(k, val)| match val {
                    Value::String(s) => {
                        check_len(&format!("a name in provider.{field}"), k, MAX_NAME_LEN)?;
                        check_len(&format!("a value in provider.{field}"), s, MAX_VALUE_LEN)?;
                        Ok((k.to_owned(), s.clone()))
                    }
                    _ => Err(Error::invalid_config(format!(
                        "provider.{field}.{} must be a string",
                        printable(k)
                    ))),
                })
                .collect()
        }
        Some(_) => Err(type_error(field, "an object of strings")),
    }
}
