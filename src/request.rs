//! The wire rules every request shares: `Accept: application/json`, the body's `Content-Type`,
//! client authentication for confidential RFC 8628 clients, then the provider's own headers.

use crate::form;
use crate::http::HttpRequest;
use crate::json::ObjectWriter;
use crate::provider::{ClientAuth, Provider};
use base64::Engine as _;

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

fn build(
    provider: &Provider,
    url: &str,
    content_type: &str,
    authorization: Option<String>,
    body: String,
) -> HttpRequest {
    let mut headers = vec![
        ("Accept".to_owned(), JSON.to_owned()),
        ("Content-Type".to_owned(), content_type.to_owned()),
    ];
    if let Some(a) = authorization {
        headers.push(("Authorization".to_owned(), a));
    }
    headers.extend(provider.headers().iter().cloned());
    HttpRequest {
        url: url.to_owned(),
        headers,
        body,
    }
}

/// A compact JSON body with string members in the given order.
pub(crate) fn json(provider: &Provider, url: &str, members: &[(&str, &str)]) -> HttpRequest {
    let body = members
        .iter()
        .fold(ObjectWriter::new(), |w, (k, v)| w.string(k, v))
        .finish();
    build(provider, url, JSON, None, body)
}

/// A form body without client authentication (OpenAI's code exchange).
pub(crate) fn form(provider: &Provider, url: &str, fields: &[(&str, &str)]) -> HttpRequest {
    build(provider, url, FORM, None, form::body(fields))
}

/// A form body for an RFC 8628 client: `fields` must end with `client_id`; `client_secret`
/// follows it for `client_secret_post`, an `Authorization: Basic` header is added for
/// `client_secret_basic`; `tail` (scope, extra params) comes last.
pub(crate) fn client_form(
    provider: &Provider,
    url: &str,
    fields: &[(&str, &str)],
    tail: &[(&str, &str)],
) -> HttpRequest {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    let secret = provider.client_secret_text();
    let mut authorization = None;
    match provider.auth() {
        ClientAuth::None => {}
        ClientAuth::ClientSecretPost => all.push(("client_secret", secret)),
        ClientAuth::ClientSecretBasic => {
            let pair = format!(
                "{}:{}",
                form::encode(provider.client_id()),
                form::encode(secret)
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            authorization = Some(format!("Basic {encoded}"));
        }
    }
    all.extend_from_slice(tail);
    build(provider, url, FORM, authorization, form::body(&all))
}
