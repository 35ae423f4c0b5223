//! Where tokens may be sent. An endpoint must be `https:`; plain `http:` is allowed only to the
//! loopback host, so a test server works but a typo or a hostile config cannot send a refresh
//! token in clear text. The check is deliberately stricter than a browser's URL parser: userinfo,
//! backslashes, whitespace and control characters are refused outright (they are how
//! "`http://localhost@evil`" style confusions are built), and only the literal loopback spellings
//! count (`localhost`, four decimal octets starting with 127, `[::1]`). An `http:` URL whose host,
//! as a parser reads it, is not loopback is `insecure_endpoint` before any of that.

use crate::error::{Error, ErrorCode};

/// Checks one endpoint URL; `name` is the field it came from, for the message.
#[cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests and fuzz targets
pub fn check_endpoint(name: &str, url: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::invalid_config(format!("{name} is not a usable URL: {why}"));
    if url.is_empty() {
        return Err(bad("it is empty"));
    }
    crate::limits::check_len(name, url, crate::limits::MAX_URL_LEN)?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it contains whitespace or control characters"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad("it is not an absolute URL (scheme://host/...)"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(insecure(name, url));
    }
    // Clear text goes to the host a URL parser reads: after the last `@` of an authority that
    // ends at the first `/`, `\`, `?` or `#`. When that host is not loopback the URL is insecure,
    // whatever else is wrong with it, so `http://127.0.0.1@evil.example` and
    // `http://evil.example\@localhost` are named for what they are.
    if scheme == "http" {
        if let Some((host, _)) = split_host_port(parser_host_port(rest)) {
            if !host.is_empty() && !is_loopback(host) {
                return Err(insecure(name, url));
            }
        }
    }
    if url.contains('\\') {
        return Err(bad("it contains a backslash"));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or("");
    if authority.contains('@') {
        return Err(bad("credentials in the URL are not allowed"));
    }
    let (host, port) =
        split_host_port(authority).ok_or_else(|| bad("the host or port is malformed"))?;
    if host.is_empty() {
        return Err(bad("the host is missing"));
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the port is malformed"));
        }
        if port.parse::<u32>().map_or(true, |p| p > 65_535) {
            return Err(bad("the port is out of range"));
        }
    }
    if scheme == "http" && !is_loopback(host) {
        return Err(insecure(name, url));
    }
    Ok(())
}

/// `host[:port]` of an authority as a URL parser splits it (see [`check_endpoint`]).
fn parser_host_port(after_scheme: &str) -> &str {
    let end = after_scheme
        .find(['/', '\\', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = after_scheme.get(..end).unwrap_or("");
    authority.rsplit('@').next().unwrap_or(authority)
}

fn insecure(name: &str, url: &str) -> Error {
    // The URL of an endpoint is configuration, not a secret: naming it helps the user fix it.
    // Userinfo may hold a password, so it is not shown.
    let url = match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
            match rest.get(..end).and_then(|a| a.rfind('@')) {
                Some(at) => format!("{scheme}://[redacted]@{}", rest.get(at + 1..).unwrap_or("")),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    };
    let shown: String = url.chars().take(200).collect();
    Error::new(
        ErrorCode::InsecureEndpoint,
        format!("{name} must use https: (http: is allowed only for localhost, 127.0.0.0/8 and [::1]): {shown}"),
    )
}

/// Splits `host[:port]` / `[v6]:port`; `None` when brackets are unbalanced.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = authority.get(..close + 2)?;
        let after = rest.get(close + 1..)?;
        return match after {
            "" => Some((host, None)),
            _ => after.strip_prefix(':').map(|p| (host, Some(p))),
        };
    }
    if authority.contains(['[', ']']) {
        return None;
    }
    Some(match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    })
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host == "[::1]" {
        return true;
    }
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets.first() == Some(&"127")
        && octets.iter().all(|o| {
            (1..=3).contains(&o.len())
                && o.bytes().all(|b| b.is_ascii_digit())
                && o.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(url: &str) -> Option<ErrorCode> {
        check_endpoint("tokenEndpoint", url).err().map(|e| e.code)
    }

    #[test]
    fn https_anywhere_and_http_only_on_loopback_are_accepted() {
        for ok in [
            "https://auth.openai.com/oauth/token",
            "HTTPS://Example.COM:8443/x?y=1",
            "http://localhost/token",
            "http://LOCALHOST:3000",
            "http://127.0.0.1:8080/t",
            "http://127.255.3.9/t",
            "http://[::1]:9000/t",
            "https://[2001:db8::1]/t",
        ] {
            assert_eq!(code(ok), None, "{ok}");
        }
    }

    #[test]
    fn clear_text_to_other_hosts_is_an_insecure_endpoint() {
        for url in [
            "http://auth.example.com/token",
            "http://127.0.0.1.nip.io/t",
            "http://localhost.evil.com/t",
            "http://128.0.0.1/t",
            "http://0177.0.0.1/t",
            "http://[::2]/t",
            "http://[0:0:0:0:0:0:0:1]/t",
            "ftp://example.com/t",
            "javascript://x",
            // Look-alikes: the host a URL parser reads is not loopback.
            "http://127.0.0.1@example.com/t",
            "http://localhost@evil.com/t",
            "http://127.0.0.1:80@evil.com/t",
            "http://evil.com\\@localhost/t",
            "http://evil.com#@127.0.0.1/t",
            "http://evil.com?@localhost/t",
        ] {
            assert_eq!(code(url), Some(ErrorCode::InsecureEndpoint), "{url}");
        }
    }

    #[test]
    fn an_insecure_endpoint_message_names_the_url_without_its_userinfo() {
        let e = check_endpoint("tokenEndpoint", "http://user:pa55word@evil.com/t").unwrap_err();
        assert_eq!(e.code, ErrorCode::InsecureEndpoint);
        assert!(
            e.message.ends_with("http://[redacted]@evil.com/t"),
            "{}",
            e.message
        );
        let e = check_endpoint("tokenEndpoint", "http://evil.com/t?x=@y").unwrap_err();
        assert!(
            e.message.ends_with("http://evil.com/t?x=@y"),
            "{}",
            e.message
        );
    }

    #[test]
    fn confusable_or_malformed_urls_are_invalid_config() {
        for url in [
            "",
            "auth.example.com/token",
            "https:auth.example.com",
            "http://evil@localhost/t",
            "https://user@example.com/t",
            "https://evil.com\\@localhost/t",
            "http://[::1].evil.com/t",
            "https://exa mple.com/",
            "https://example.com/\n",
            "https://:443/t",
            "https://example.com:99999/t",
            "https://example.com:8a/t",
            "https://[::1/t",
        ] {
            assert_eq!(code(url), Some(ErrorCode::InvalidConfig), "{url:?}");
        }
    }
}
