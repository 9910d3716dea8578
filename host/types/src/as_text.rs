//! Serde for types whose JSON form is the text a person writes (`acme/sku-1`,
//! `POST https://router.internal/v1/`): written with `Display`, read back with `FromStr`, so
//! the wire and the command line share one format and one parser, and a bad value fails with
//! the parser's own message.

/// `Serialize` and `Deserialize` through `Display` and `FromStr` (its error must be `Display`).
macro_rules! serde_as_text {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use serde_as_text;
