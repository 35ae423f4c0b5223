//! Provider configuration: which protocol, which client, which endpoints. It arrives from the host
//! as plain data (possibly hand-built or loaded from a file), so it is validated on every use, not
//! only in the factories. Its fields are private and its only constructors validate, so a
//! provider that reaches the wire is always one `docs/behaviour.md` ("Providers and
//! configuration") allows: no struct literal can carry an `http://` endpoint past the check.

use crate::endpoint::check_endpoint;
use crate::error::{Error, ErrorCode};
use crate::header_rules::{check_headers, printable};
use crate::json::{ObjectWriter, Value};
use crate::limits::{
    check_len, js_length, MAX_CLIENT_ID_LEN, MAX_CLIENT_SECRET_LEN, MAX_ENTRIES,
    MAX_HEADERS_TOTAL_LEN, MAX_NAME_LEN, MAX_SCOPE_LEN, MAX_URL_LEN, MAX_VALUE_LEN,
};
use crate::secret::Secret;

use std::fmt;

/// OpenAI's authorization server, the default issuer of [`openai_codex_provider`].
pub const OPENAI_ISSUER: &str = "https://auth.openai.com";
/// The Codex CLI's public client id, the default of [`openai_codex_provider`].
pub const OPENAI_CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// Which protocol a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI "Sign in with ChatGPT" (not RFC 8628: JSON user code, 403/404 pending, PKCE exchange).
    OpenAiCodex,
    /// A standard RFC 8628 authorization server.
    Rfc8628,
}

impl ProviderKind {
    /// The kind as `provider.kind` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAiCodex => "openai-codex",
            ProviderKind::Rfc8628 => "rfc8628",
        }
    }

    /// The kind `provider.kind` names (`"openai-codex"` or `"rfc8628"`), if any.
    pub fn parse(s: &str) -> Option<ProviderKind> {
        [ProviderKind::OpenAiCodex, ProviderKind::Rfc8628]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// How an RFC 8628 client authenticates (OpenAI's client is public: always `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// A public client: `client_id` only.
    None,
    /// `client_secret` in the form body.
    ClientSecretPost,
    /// `Authorization: Basic` with the form-encoded id and secret.
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
/// [`rfc8628_provider`]; its fields are read through accessors. A struct literal does not
/// compile outside the crate, so no provider skips validation:
///
/// ```compile_fail,E0451
/// use oauth_device_flow::{Provider, ProviderKind};
/// let p = Provider { kind: ProviderKind::Rfc8628 };
/// ```
///
/// Its `Debug` output shows the endpoints and the names of the provider's headers and extra
/// parameters, never their values (an API-key header is a secret) nor the client secret.
#[derive(Clone, PartialEq)]
pub struct Provider {
    kind: ProviderKind,
    client_id: String,
    device_authorization_endpoint: String,
    token_endpoint: String,
    device_poll_endpoint: Option<String>,
    redirect_uri: Option<String>,
    verification_uri: Option<String>,
    revocation_endpoint: Option<String>,
    scope: Option<String>,
    client_secret: Option<Secret>,
    /// `None` when the host did not say (then it means `"none"`).
    client_auth: Option<ClientAuth>,
    extra_params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field(
                "device_authorization_endpoint",
                &self.device_authorization_endpoint,
            )
            .field("token_endpoint", &self.token_endpoint)
            .field("device_poll_endpoint", &self.device_poll_endpoint)
            .field("redirect_uri", &self.redirect_uri)
            .field("verification_uri", &self.verification_uri)
            .field("revocation_endpoint", &self.revocation_endpoint)
            .field("scope", &self.scope)
            .field("client_secret", &self.client_secret)
            .field("client_auth", &self.client_auth)
            .field("extra_params", &Redacted(&self.extra_params))
            .field("headers", &Redacted(&self.headers))
            .finish()
    }
}

/// Name/value pairs shown by name only.
pub(crate) struct Redacted<'a>(pub(crate) &'a [(String, String)]);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, _)| (k, format_args!("[redacted]"))))
            .finish()
    }
}

/// Fields of the device authorization request that `extraParams` may not repeat.
const STANDARD_DEVICE_FIELDS: [&str; 3] = ["client_id", "client_secret", "scope"];

impl Provider {
    /// The protocol.
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Where the user code (OpenAI) or device authorization (RFC 8628) is requested.
    pub fn device_authorization_endpoint(&self) -> &str {
        &self.device_authorization_endpoint
    }

    /// Where codes are exchanged and tokens refreshed (and RFC 8628 polls).
    pub fn token_endpoint(&self) -> &str {
        &self.token_endpoint
    }

    /// OpenAI's poll endpoint (OpenAI only).
    pub fn device_poll_endpoint(&self) -> Option<&str> {
        self.device_poll_endpoint.as_deref()
    }

    /// The `redirect_uri` of OpenAI's code exchange (OpenAI only).
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }

    /// Where the user enters the code (OpenAI only: an RFC 8628 server sends it).
    pub fn verification_uri(&self) -> Option<&str> {
        self.verification_uri.as_deref()
    }

    /// The revocation endpoint, when the provider has one.
    pub fn revocation_endpoint(&self) -> Option<&str> {
        self.revocation_endpoint.as_deref()
    }

    /// The requested scope (RFC 8628 only).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The client secret of a confidential RFC 8628 client.
    pub fn client_secret(&self) -> Option<&Secret> {
        self.client_secret.as_ref()
    }

    /// The client secret as sent, empty for a public client: the one place requests and the
    /// reply rules (which scrub it from quoted server text) read it.
    pub(crate) fn client_secret_text(&self) -> &str {
        self.client_secret.as_ref().map_or("", Secret::expose)
    }

    /// `clientAuth` as the host gave it (`None` when it did not say).
    pub fn client_auth(&self) -> Option<ClientAuth> {
        self.client_auth
    }

    /// How the client authenticates (`"none"` when the host did not say).
    pub fn auth(&self) -> ClientAuth {
        self.client_auth.unwrap_or(ClientAuth::None)
    }

    /// Extra device authorization parameters, in order (RFC 8628 only).
    pub fn extra_params(&self) -> &[(String, String)] {
        &self.extra_params
    }

    /// The provider's own headers, sent with every request after the protocol's, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Validates a provider object (the drop-in's `OAuthProvider`).
    pub fn from_json(v: &Value) -> Result<Provider, Error> {
        if !v.is_object() {
            return Err(Error::invalid_config("provider must be an object"));
        }
        let kind = v
            .get("kind")
            .and_then(Value::as_str)
            .and_then(ProviderKind::parse)
            .ok_or_else(|| {
                Error::invalid_config("provider.kind must be \"openai-codex\" or \"rfc8628\"")
            })?;
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

    /// The provider as the plain object the factories return (`OAuthProvider`).
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
