//! One error type for every call, with the server's error `code` readable without parsing.

use crate::types;

/// Why a call failed.
///
/// ```no_run
/// # async fn demo(nango: nango_sdk::Nango) {
/// match nango.get_integration("acme-internal", &[]).await {
///     Ok(integration) => println!("{}", integration.display_name),
///     Err(e) if e.code() == Some("not_found") => println!("no such integration"),
///     Err(e) => eprintln!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error envelope (`{"error": {"code", ...}}`).
    #[error("the server answered {status} {}: {}", body.error.code, body.error.message.as_deref().unwrap_or("(no message)"))]
    Api {
        /// HTTP status.
        status: u16,
        /// The envelope: `error.code` is stable and matches Nango's codes.
        body: Box<types::ErrorEnvelope>,
    },
    /// The server answered something the API does not describe.
    #[error("unexpected response with status {status}")]
    UnexpectedResponse {
        /// HTTP status.
        status: u16,
        /// The raw body (for diagnostics).
        body: String,
    },
    /// The request could not be built (e.g. a value that is not allowed in a header).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The request did not reach the server, or the response could not be read.
    #[error("transport error")]
    Transport(#[source] reqwest::Error),
    /// The server's response did not match the API description.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

impl Error {
    /// The server's error code (`invalid_body`, `not_found`, `unknown_account`, ...), when the
    /// server answered with an error envelope.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body, .. } => Some(&body.error.code),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::UnexpectedResponse { status, .. } => Some(*status),
            Self::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The validation issues (`error.errors`) of a `400`, empty otherwise.
    pub fn issues(&self) -> &[types::ValidationIssue] {
        match self {
            Self::Api { body, .. } => &body.error.errors,
            _ => &[],
        }
    }
}

impl From<progenitor_client::Error<types::ErrorEnvelope>> for Error {
    fn from(err: progenitor_client::Error<types::ErrorEnvelope>) -> Self {
        use progenitor_client::Error as E;
        match err {
            E::ErrorResponse(response) => {
                Self::Api { status: response.status().as_u16(), body: Box::new(response.into_inner()) }
            }
            E::InvalidRequest(message) | E::Custom(message) => Self::InvalidRequest(message),
            E::CommunicationError(e) | E::InvalidUpgrade(e) | E::ResponseBodyError(e) => Self::Transport(e),
            E::InvalidResponsePayload(_, e) => Self::InvalidResponse(e.to_string()),
            E::UnexpectedResponse(response) => {
                Self::UnexpectedResponse { status: response.status().as_u16(), body: String::new() }
            }
        }
    }
}
