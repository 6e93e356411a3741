//! Secrets at rest: the sealed-column format (AES-256-GCM-SIV) and the keyed hash of secret
//! keys. Nothing outside `db::repo` seals or opens columns.
//!
//! Sealed format, version 1: `[0x01][key id: 4 bytes][nonce: 12 bytes][ciphertext || tag]`.
//! The key id names the key that sealed the value so several keys can be configured during a
//! rotation; the associated data binds a value to its row, so a value copied onto another row
//! fails to open.

use std::fmt;

use aes_gcm_siv::{
    Aes256GcmSiv, Nonce,
    aead::{Aead, Generate, KeyInit, Payload},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const FORMAT_V1: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// Errors of sealing and opening.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key material is not 32 bytes.
    #[error("an encryption key must be exactly 32 bytes (base64 of 32 random bytes), got {0} bytes")]
    KeyLength(usize),
    /// The value is shorter than the fixed header and tag, or has an unknown format byte.
    #[error("sealed value is malformed")]
    Malformed,
    /// No configured key has the id the value was sealed with.
    #[error("sealed value was written with a key that is not configured (key id {0})")]
    UnknownKey(String),
    /// Authentication failed: wrong key, tampered value or value moved to another row.
    #[error("sealed value failed authentication")]
    Open,
    /// Encryption failed (not expected with valid keys).
    #[error("sealing failed")]
    Seal,
}

/// A 32-byte encryption key. `Debug` never prints the bytes.
#[derive(Clone)]
pub struct EncryptionKey {
    bytes: [u8; 32],
    id: [u8; KEY_ID_LEN],
}

impl EncryptionKey {
    /// Builds a key from raw bytes, checking the length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| Error::KeyLength(bytes.len()))?;
        let tag = hmac_sha256(&bytes, b"nango key id v1");
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&tag[..KEY_ID_LEN]);
        Ok(Self { bytes, id })
    }

    /// Generates a fresh random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // The OS random source failing is unrecoverable for a secrets server.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        #[allow(clippy::expect_used)]
        Self::from_bytes(&bytes).expect("32 bytes")
    }

    /// The key's raw bytes (to write a newly generated key to its file).
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The public identifier stored in front of every value this key seals.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey(id={}, ***)", self.id_hex())
    }
}

/// Seals and opens column values. The first key is the primary (used to seal); the others
/// only open values written before a rotation.
#[derive(Clone)]
pub struct Cipher {
    keys: Vec<(EncryptionKey, Aes256GcmSiv)>,
    /// HMAC-SHA256 keyed with each key's hash key, ready to take a message: the key's two
    /// pad blocks are hashed once here, not for every secret key a request presents.
    hash_macs: Vec<Hmac<Sha256>>,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.keys.iter().map(|(k, _)| k.id_hex()).collect();
        f.debug_struct("Cipher").field("key_ids", &ids).finish()
    }
}

impl Cipher {
    /// Builds a cipher from the primary key followed by older keys.
    pub fn new(primary: EncryptionKey, older: Vec<EncryptionKey>) -> Self {
        let keys: Vec<(EncryptionKey, Aes256GcmSiv)> = std::iter::once(primary)
            .chain(older)
            .map(|k| {
                #[allow(clippy::expect_used)]
                let aead = Aes256GcmSiv::new_from_slice(&k.bytes).expect("32-byte key");
                (k, aead)
            })
            .collect();
        let hash_macs = keys
            .iter()
            .map(|(k, _)| {
                let hash_key = hmac_sha256(&k.bytes, b"nango secret key hash v1");
                #[allow(clippy::expect_used)]
                <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&hash_key).expect("HMAC takes any key length")
            })
            .collect();
        Self { keys, hash_macs }
    }

    /// Seals `plaintext` under the primary key, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, Error> {
        let (key, aead) = &self.keys[0];
        let nonce = Nonce::generate();
        let ct = aead.encrypt(&nonce, Payload { msg: plaintext, aad }).map_err(|_| Error::Seal)?;
        let mut out = Vec::with_capacity(HEADER_LEN + ct.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed value bound to `aad` with whichever configured key sealed it.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, Error> {
        if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != FORMAT_V1 {
            return Err(Error::Malformed);
        }
        let id = &sealed[1..1 + KEY_ID_LEN];
        let (_, aead) = self.keys.iter().find(|(k, _)| k.id == id).ok_or_else(|| Error::UnknownKey(hex::encode(id)))?;
        let nonce = Nonce::try_from(&sealed[1 + KEY_ID_LEN..HEADER_LEN]).map_err(|_| Error::Malformed)?;
        aead.decrypt(&nonce, Payload { msg: &sealed[HEADER_LEN..], aad }).map_err(|_| Error::Open)
    }

    /// The id of the primary key (what new values are sealed with).
    pub fn primary_key_id(&self) -> String {
        self.keys[0].0.id_hex()
    }

    /// The id of the key that sealed `sealed`, if it is a well-formed value.
    pub fn sealed_with(sealed: &[u8]) -> Option<String> {
        (sealed.len() >= HEADER_LEN + TAG_LEN && sealed[0] == FORMAT_V1)
            .then(|| hex::encode(&sealed[1..1 + KEY_ID_LEN]))
    }

    /// Whether `sealed` was sealed with the primary key (so a rotation can skip it).
    pub fn is_sealed_with_primary(&self, sealed: &[u8]) -> bool {
        sealed.len() > 1 + KEY_ID_LEN && sealed[1..1 + KEY_ID_LEN] == self.keys[0].0.id
    }

    /// Opens `sealed` and seals it again under the primary key (key rotation).
    pub fn reseal(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, Error> {
        self.seal(&self.open(sealed, aad)?, aad)
    }

    /// Keyed hash of a secret key under the primary key (what is stored).
    pub fn hash_secret(&self, secret: &str) -> Vec<u8> {
        keyed_hash(&self.hash_macs[0], secret)
    }

    /// Keyed hashes of a secret key under every configured key, primary first (what is looked
    /// up, so keys hashed before a rotation still authenticate).
    pub fn secret_hash_candidates(&self, secret: &str) -> Vec<Vec<u8>> {
        self.hash_macs.iter().map(|mac| keyed_hash(mac, secret)).collect()
    }

    /// A cipher with a fixed key, for tests.
    #[cfg(test)]
    pub fn for_testing() -> Self {
        #[allow(clippy::unwrap_used)]
        Self::new(EncryptionKey::from_bytes(&[7u8; 32]).unwrap(), vec![])
    }
}

fn keyed_hash(keyed: &Hmac<Sha256>, secret: &str) -> Vec<u8> {
    let mut mac = keyed.clone();
    mac.update(secret.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in constant time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_random_nonce() {
        let c = Cipher::for_testing();
        let a = c.seal(b"secret", b"row-1").unwrap();
        let b = c.seal(b"secret", b"row-1").unwrap();
        assert_ne!(a, b, "each seal uses a fresh nonce");
        assert_eq!(a.len(), HEADER_LEN + 6 + TAG_LEN);
        assert_eq!(c.open(&a, b"row-1").unwrap(), b"secret");
    }

    #[test]
    fn tampered_truncated_moved_and_wrong_key_fail_cleanly() {
        let c = Cipher::for_testing();
        let mut sealed = c.seal(b"secret", b"row-1").unwrap();
        assert!(matches!(c.open(&sealed, b"row-2"), Err(Error::Open)));
        assert!(matches!(c.open(&sealed[..HEADER_LEN + 3], b"row-1"), Err(Error::Malformed)));
        let other = Cipher::new(EncryptionKey::from_bytes(&[9u8; 32]).unwrap(), vec![]);
        assert!(matches!(other.open(&sealed, b"row-1"), Err(Error::UnknownKey(_))));
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(matches!(c.open(&sealed, b"row-1"), Err(Error::Open)));
    }

    #[test]
    fn older_keys_still_open_and_hash() {
        let old = EncryptionKey::from_bytes(&[1u8; 32]).unwrap();
        let sealed = Cipher::new(old.clone(), vec![]).seal(b"v", b"a").unwrap();
        let old_hash = Cipher::new(old.clone(), vec![]).hash_secret("k");
        let rotated = Cipher::new(EncryptionKey::from_bytes(&[2u8; 32]).unwrap(), vec![old]);
        assert_eq!(rotated.open(&sealed, b"a").unwrap(), b"v");
        assert!(rotated.secret_hash_candidates("k").contains(&old_hash));
        assert_ne!(rotated.hash_secret("k"), old_hash);
    }

    #[test]
    fn key_length_is_checked_and_debug_redacts() {
        assert!(matches!(EncryptionKey::from_bytes(&[0u8; 16]), Err(Error::KeyLength(16))));
        let k = EncryptionKey::from_bytes(&[0xAB; 32]).unwrap();
        assert!(!format!("{k:?}").contains("ab, ab") && !format!("{k:?}").contains("171"));
    }
}
