//! Row ids as distinct types, so an environment id can never be passed where an integration
//! id is expected (`delete(db, env, integration, "c1")` cannot swap its arguments).

use std::fmt;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id! {
    /// The row id of an environment (the tenant of every other resource).
    EnvironmentId
}

row_id! {
    /// The row id of an integration.
    IntegrationId
}
