//! Environments and their secret keys: start-up provisioning and authentication.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{db::repo, model::environment::Environment};

use super::{Context, Error};

/// Secret-key lookups remembered by this replica: keyed hash (never the key) to environment,
/// each used for `ttl` (the bound on how long another replica's key change goes unseen).
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<Vec<u8>, (Instant, Environment)>>,
}

impl KeyCache {
    /// An empty cache whose entries are used for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn get(&self, hash: &[u8]) -> Option<Environment> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(hash).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, env)| env.clone())
    }

    fn remember(&self, hash: Vec<u8>, env: Environment) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(hash, (Instant::now(), env));
    }

    /// Forgets every remembered lookup (after a key changed).
    fn forget(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Finds the environment whose secret key is `secret`. Keys hashed under an older encryption
/// key still match (see `Cipher::secret_hash_candidates`). Successful lookups are remembered
/// per replica for the proxy cache's TTL, so the hot path does not query the database; the
/// keyed hash (never the key) is what is remembered.
pub async fn authenticate(ctx: &Context, secret: &str) -> Result<Option<Environment>, Error> {
    // The primary key's hash first: it is what the cache holds, and a cache hit needs no other.
    let primary = ctx.cipher.hash_secret(secret);
    if let Some(env) = ctx.keys.get(&primary) {
        return Ok(Some(env));
    }
    let candidates = ctx.cipher.secret_hash_candidates(secret);
    // Boxed: keeps the futures of authenticated calls (the proxy's among them) small.
    let found = Box::pin(repo::environment::find_by_key_hash(&ctx.db, &candidates))
        .await
        .map_err(Error::internal("Failed to authenticate"))?;
    if let Some(env) = &found {
        ctx.keys.remember(primary, env.clone());
    }
    Ok(found)
}

/// What `ensure` did for one environment.
#[derive(Debug, PartialEq, Eq)]
pub enum Provisioned {
    /// The environment existed and its key was left as it was.
    Kept,
    /// The environment's key was set from configuration (created or updated).
    Configured,
    /// The environment was created with `generated` as its secret key.
    Generated { secret: String },
}

/// Makes sure environment `name` exists. With `configured` the stored key hash is set to it;
/// without, a missing environment is created with a fresh random key (returned once so the
/// caller can hand it to the user) when `create_if_missing` is set.
pub async fn ensure(
    ctx: &Context,
    name: &str,
    configured: Option<&str>,
    create_if_missing: bool,
) -> Result<Option<Provisioned>, Error> {
    let existing =
        repo::environment::find_by_name(&ctx.db, name).await.map_err(Error::internal("Failed to load environments"))?;
    let (secret, outcome) = match (configured, &existing) {
        (Some(key), _) => (key.to_owned(), Provisioned::Configured),
        (None, Some(_)) => return Ok(Some(Provisioned::Kept)),
        (None, None) if create_if_missing => {
            let secret = uuid::Uuid::new_v4().to_string();
            (secret.clone(), Provisioned::Generated { secret })
        }
        (None, None) => return Ok(None),
    };
    let hash = ctx.cipher.hash_secret(&secret);
    repo::environment::upsert(&ctx.db, name, hash).await.map_err(Error::internal("Failed to save the environment"))?;
    ctx.keys.forget();
    Ok(Some(outcome))
}

/// The environment called `name`, if it exists.
pub async fn find(ctx: &Context, name: &str) -> Result<Option<Environment>, Error> {
    repo::environment::find_by_name(&ctx.db, name).await.map_err(Error::internal("Failed to load environments"))
}
