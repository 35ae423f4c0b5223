//! Which request a reply answers. The reply rules differ slightly between requests (a pending
//! code means "wait" only on a poll, OpenAI's 404 means "device login is off" only on the
//! user-code request, a bare 401 kills the grant only on a token request), and messages name the
//! request, so the request/process pairs and the host's adapter pass this along.

/// The request a reply answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// The user-code (OpenAI) or device authorization (RFC 8628) request.
    DeviceAuthorization,
    /// One poll for the user's approval.
    Poll,
    /// OpenAI's authorization-code exchange after an approved poll.
    CodeExchange,
    /// A refresh of the access token.
    Refresh,
    /// A token revocation (logout).
    Revocation,
}

impl RequestKind {
    /// How messages name the request.
    pub fn describe(self) -> &'static str {
        match self {
            RequestKind::DeviceAuthorization => "device authorization",
            RequestKind::Poll => "poll",
            RequestKind::CodeExchange => "code exchange",
            RequestKind::Refresh => "refresh",
            RequestKind::Revocation => "revocation",
        }
    }
}
