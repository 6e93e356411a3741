//! An environment: the tenant every other resource belongs to.

/// The environment a request acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub id: i64,
    pub uuid: String,
    pub name: String,
}
