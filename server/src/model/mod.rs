//! The domain model: the types that services decide on and repositories store. This module
//! imports neither `service` nor `db` (nor any web crate): both layers depend on it, and it on
//! nothing of ours above `crate::chain`, so there is no import cycle between them.
//!
//! Types serialised into columns (sealed or JSON) are stored formats: each has a test that a
//! row written today still reads, so renaming a field cannot silently break stored rows.

pub mod activity;
pub mod connect;
pub mod connection;
pub mod environment;
pub mod function;
pub mod id;
pub mod integration;
pub mod provider;
pub mod record_schema;
pub mod sync;
pub mod webhook;
