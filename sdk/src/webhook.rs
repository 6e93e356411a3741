//! Checking the webhooks the server sends to your backend.
//!
//! Every webhook carries `X-Nango-Hmac-Sha256`: the hex HMAC-SHA256 of the raw request body
//! keyed with your environment's signing key (`GET /environment/webhook`, or
//! `NANGO_WEBHOOK_SIGNING_KEY_<ENV>`). Verify it over the bytes you received, before parsing:
//!
//! ```
//! let key = "my-signing-key";
//! let body = br#"{"from":"nango","type":"auth"}"#;
//! let header = nango_sdk::webhook::signature(key, body);
//! assert!(nango_sdk::webhook::verify(key, body, &header));
//! assert!(!nango_sdk::webhook::verify(key, b"tampered", &header));
//! ```

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The name of the header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Nango-Hmac-Sha256";

/// The expected `X-Nango-Hmac-Sha256` value of `body` under `signing_key`.
pub fn signature(signing_key: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(signing_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `header` (the `X-Nango-Hmac-Sha256` value) signs `body` under `signing_key`,
/// compared in constant time (Node: `nango.verifyIncomingWebhookRequest(body, headers)`).
pub fn verify(signing_key: &str, body: &[u8], header: &str) -> bool {
    let expected = signature(signing_key, body);
    let given = header.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn nangos_test_vector() {
        assert_eq!(
            super::signature("secret", b"payload"),
            "b82fcb791acec57859b989b430a826488ce2e479fdf92326bd0a2e8375a42ba4"
        );
    }
}
