//! One field of a partial update, as both doors read it: absent keeps the
//! field, `null` clears it, a value sets it. The contract's own type, so the
//! services that apply updates depend on no door's library.

use std::borrow::Cow;

use async_graphql::registry::Registry;
use async_graphql::{InputType, InputValueError, InputValueResult, Value};
use serde::{Deserialize, Deserializer};

/// A field of a partial update (declare it `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Absent: keep the stored value.
    #[default]
    Keep,
    /// `null`: clear it.
    Clear,
    /// A value: set it.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the field was absent.
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }

    /// `None` when absent, `Some(None)` when cleared, `Some(Some(v))` when set.
    pub fn as_opt_ref(&self) -> Option<Option<&T>> {
        match self {
            Self::Keep => None,
            Self::Clear => Some(None),
            Self::Set(v) => Some(Some(v)),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Self::Clear, Self::Set))
    }
}

/// In GraphQL a patch field is its value's type, nullable; an omitted
/// argument field keeps, an explicit `null` clears.
impl<T: InputType> InputType for Patch<T> {
    type RawValueType = T::RawValueType;

    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::type_name().to_string()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry);
        T::type_name().to_string()
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        match value {
            None => Ok(Self::Keep),
            Some(Value::Null) => Ok(Self::Clear),
            Some(v) => T::parse(Some(v)).map(Self::Set).map_err(InputValueError::propagate),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Self::Set(v) => v.to_value(),
            _ => Value::Null,
        }
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        match self {
            Self::Set(v) => v.as_raw_value(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    struct Input {
        #[serde(default)]
        name: Patch<String>,
    }

    #[test]
    fn absent_keeps_null_clears_a_value_sets() {
        let read = |json: &str| serde_json::from_str::<Input>(json).map(|i| i.name).ok();
        assert_eq!(read("{}"), Some(Patch::Keep));
        assert_eq!(read(r#"{"name": null}"#), Some(Patch::Clear));
        assert_eq!(read(r#"{"name": "Ann"}"#), Some(Patch::Set("Ann".into())));
        assert_eq!(read(r#"{"name": 1}"#), None);
        assert_eq!(<Patch<String> as InputType>::parse(None).ok(), Some(Patch::Keep));
        assert_eq!(
            <Patch<String> as InputType>::parse(Some(Value::Null)).ok(),
            Some(Patch::Clear)
        );
    }
}
