//! Small wire types shared by several resources.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// A UTC timestamp written as Nango writes them: RFC 3339 with milliseconds, ending in `Z`
/// (`Z = true`, e.g. `2026-11-23T09:17:35.736Z`) or in `+00:00` (`Z = false`, what Nango's
/// connection reads return).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ts<const Z: bool>(pub DateTime<Utc>);

/// `2026-11-23T09:17:35.736Z`.
pub type Timestamp = Ts<true>;
/// `2026-11-23T09:17:35.736+00:00`.
pub type TimestampTz = Ts<false>;

impl<const Z: bool> Type for Ts<Z> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<const Z: bool> ToJSON for Ts<Z> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, Z)))
    }
}

impl<const Z: bool> ParseFromJSON for Ts<Z> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        let Value::String(s) = &value else {
            return Err(ParseError::expected_type(value));
        };
        DateTime::parse_from_rfc3339(s).map(|t| Self(t.with_timezone(&Utc))).map_err(ParseError::custom)
    }
}

/// A timestamp whose ending (`Z` or `+00:00`) is chosen per response, for the endpoints where
/// Nango uses one form on create and the other on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireTime {
    pub time: DateTime<Utc>,
    /// `true`: `…Z`; `false`: `…+00:00`.
    pub z: bool,
}

impl Type for WireTime {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for WireTime {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.time.to_rfc3339_opts(SecondsFormat::Millis, self.z)))
    }
}

impl ParseFromJSON for WireTime {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ts::<true>::parse_from_json(value).map(|t| Self { time: t.0, z: true }).map_err(ParseError::propagate)
    }
}

/// A JSON value sent exactly as it is, documented with `T`'s schema (for responses that echo
/// the request or pass stored data through).
#[derive(Debug, Clone)]
pub struct RawJson<T> {
    value: Value,
    _schema: std::marker::PhantomData<fn() -> T>,
}

impl<T> RawJson<T> {
    /// Wraps a value.
    pub fn new(value: Value) -> Self {
        Self { value, _schema: std::marker::PhantomData }
    }
}

impl<T: Type> Type for RawJson<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Value;
    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Value> {
        Some(&self.value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        Box::new(std::iter::once(&self.value))
    }
}

impl<T: Type> ToJSON for RawJson<T> {
    fn to_json(&self) -> Option<Value> {
        Some(self.value.clone())
    }
}

impl<T: Type> ParseFromJSON for RawJson<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(Self::new(value.unwrap_or_default()))
    }
}
