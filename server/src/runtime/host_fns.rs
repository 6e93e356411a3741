//! Host functions the sandbox's globals are built on: WHATWG URL parsing (the `url` crate)
//! and digests for `crypto.createHash` / `createHmac` (the RustCrypto crates).

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::Digest;

/// Parses `href` (against `base`), then sets `part` to `value` when given; answers the parts
/// as JSON (`href`, `origin`, `protocol`, `username`, `password`, `host`, `hostname`, `port`,
/// `pathname`, `search`, `hash`), or the message of a `TypeError`.
pub(super) fn url(href: &str, base: Option<&str>, part: Option<&str>, value: Option<&str>) -> Result<String, String> {
    let invalid = || format!("Invalid URL: {href}");
    let mut url = match base {
        Some(base) => url::Url::parse(base).and_then(|b| b.join(href)).map_err(|_| invalid())?,
        None => url::Url::parse(href).map_err(|_| invalid())?,
    };
    if let (Some(part), Some(value)) = (part, value) {
        // Setters never throw in the WHATWG API: an unusable value leaves the URL unchanged.
        let _ = match part {
            "protocol" => url.set_scheme(value.trim_end_matches(':')).map_err(|_| ()),
            "username" => url.set_username(value),
            "password" => url.set_password(Some(value).filter(|v| !v.is_empty())),
            "host" => url.set_host(Some(value)).map_err(|_| ()),
            "hostname" => url.set_host(Some(value.split(':').next().unwrap_or(value))).map_err(|_| ()),
            "port" => url.set_port(if value.is_empty() { None } else { value.parse().ok() }),
            "pathname" => {
                url.set_path(value);
                Ok(())
            }
            "search" => {
                let q = value.trim_start_matches('?');
                url.set_query(if q.is_empty() { None } else { Some(q) });
                Ok(())
            }
            "hash" => {
                let f = value.trim_start_matches('#');
                url.set_fragment(if f.is_empty() { None } else { Some(f) });
                Ok(())
            }
            _ => Err(()),
        };
    }
    let port = url.port().map(|p| p.to_string()).unwrap_or_default();
    let hostname = url.host_str().unwrap_or_default().to_owned();
    let host = if port.is_empty() { hostname.clone() } else { format!("{hostname}:{port}") };
    let origin = url.origin().ascii_serialization();
    let nonempty =
        |prefix: &str, s: Option<&str>| s.filter(|s| !s.is_empty()).map(|s| format!("{prefix}{s}")).unwrap_or_default();
    Ok(serde_json::json!({
        "href": url.as_str(),
        "origin": origin,
        "protocol": format!("{}:", url.scheme()),
        "username": url.username(),
        "password": url.password().unwrap_or_default(),
        "host": host,
        "hostname": hostname,
        "port": port,
        "pathname": url.path(),
        "search": nonempty("?", url.query()),
        "hash": nonempty("#", url.fragment()),
    })
    .to_string())
}

/// The digest of base64 `data` with `alg` (`md5`, `sha1`, `sha256`, `sha384`, `sha512`),
/// keyed (HMAC) when `key` (base64) is given; base64 out.
pub(super) fn digest(alg: &str, key: Option<&str>, data: &str) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let data = b64.decode(data).map_err(|e| e.to_string())?;
    let out = match key {
        None => match alg {
            "md5" => md5::Md5::digest(&data).to_vec(),
            "sha1" => sha1::Sha1::digest(&data).to_vec(),
            "sha256" => sha2::Sha256::digest(&data).to_vec(),
            "sha384" => sha2::Sha384::digest(&data).to_vec(),
            "sha512" => sha2::Sha512::digest(&data).to_vec(),
            other => return Err(format!("Digest method not supported: {other}")),
        },
        Some(key) => {
            let key = b64.decode(key).map_err(|e| e.to_string())?;
            fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
                let mut m = <M as KeyInit>::new_from_slice(key).map_err(|e| e.to_string())?;
                m.update(data);
                Ok(m.finalize().into_bytes().to_vec())
            }
            match alg {
                "md5" => mac::<hmac::Hmac<md5::Md5>>(&key, &data),
                "sha1" => mac::<hmac::Hmac<sha1::Sha1>>(&key, &data),
                "sha256" => mac::<hmac::Hmac<sha2::Sha256>>(&key, &data),
                "sha384" => mac::<hmac::Hmac<sha2::Sha384>>(&key, &data),
                "sha512" => mac::<hmac::Hmac<sha2::Sha512>>(&key, &data),
                other => return Err(format!("Invalid digest: {other}")),
            }?
        }
    };
    Ok(b64.encode(out))
}
