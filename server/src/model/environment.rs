//! An environment: the tenant every other resource belongs to.

use super::id::EnvironmentId;

/// The environment a request acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub id: EnvironmentId,
    pub uuid: String,
    pub name: String,
}
