//! The canonical binary encoding of every consensus object.
//!
//! Watt uses [borsh](https://borsh.io): little-endian fixed-width integers,
//! `u32` little-endian length prefixes for byte strings and sequences, one
//! byte for `bool` (0 or 1 only) and for enum and `Option` tags, and maps as
//! sorted sequences of pairs with strictly ascending keys. Every object has
//! exactly one encoding: [`decode`] refuses trailing bytes, out-of-range tags,
//! non-0/1 booleans, invalid UTF-8, unsorted or duplicate map keys and
//! collections above their bound. `docs/encoding.md` specifies every byte.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Deref;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a canonical encoding of the expected type.
    #[error("invalid encoding of {kind}: {reason}")]
    Invalid {
        /// The type that was being decoded.
        kind: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// The object decoded but bytes were left over.
    #[error("{extra} trailing bytes after {kind}")]
    TrailingBytes {
        /// The type that was decoded.
        kind: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
}

/// Encodes a value canonically.
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    // Writing into a Vec cannot fail.
    borsh::to_vec(value).unwrap_or_default()
}

/// Decodes a value, refusing anything but its one canonical encoding.
pub fn decode<T: BorshDeserialize>(bytes: &[u8]) -> Result<T, DecodeError> {
    let kind = std::any::type_name::<T>()
        .rsplit("::")
        .next()
        .unwrap_or("object");
    let mut rest = bytes;
    let value = T::deserialize(&mut rest).map_err(|e| DecodeError::Invalid {
        kind,
        reason: e.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes {
            kind,
            extra: rest.len(),
        });
    }
    Ok(value)
}

fn invalid_data(msg: String) -> borsh::io::Error {
    borsh::io::Error::new(borsh::io::ErrorKind::InvalidData, msg)
}

/// A sequence of at most `MAX` items. Encoded like a `Vec` (u32 length, then
/// items); decoding refuses a length above `MAX` before reading any item.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BoundedVec<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> BoundedVec<T, MAX> {
    /// Wraps a vector, or returns it back if it is too long.
    pub fn new(items: Vec<T>) -> Result<Self, Vec<T>> {
        if items.len() > MAX {
            Err(items)
        } else {
            Ok(BoundedVec(items))
        }
    }

    /// An empty sequence.
    pub fn empty() -> Self {
        BoundedVec(Vec::new())
    }

    /// The items.
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: usize> Default for BoundedVec<T, MAX> {
    fn default() -> Self {
        BoundedVec(Vec::new())
    }
}

impl<T, const MAX: usize> Deref for BoundedVec<T, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: fmt::Debug, const MAX: usize> fmt::Debug for BoundedVec<T, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: BorshSerialize, const MAX: usize> BorshSerialize for BoundedVec<T, MAX> {
    fn serialize<W: borsh::io::Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        self.0.serialize(writer)
    }
}

impl<T: BorshDeserialize, const MAX: usize> BorshDeserialize for BoundedVec<T, MAX> {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let len = u32::deserialize_reader(reader)? as usize;
        if len > MAX {
            return Err(invalid_data(format!(
                "sequence of {len} items exceeds the bound of {MAX}"
            )));
        }
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(T::deserialize_reader(reader)?);
        }
        Ok(BoundedVec(items))
    }
}

/// UTF-8 text of at most `MAX` bytes, without control characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BoundedString<const MAX: usize>(String);

/// Why text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Longer than allowed.
    #[error("text of {len} bytes exceeds the bound of {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Contains a control character.
    #[error("text contains a control character")]
    Control,
}

impl<const MAX: usize> BoundedString<MAX> {
    /// Checks and wraps text.
    pub fn new(s: impl Into<String>) -> Result<Self, TextError> {
        let s = s.into();
        if s.len() > MAX {
            return Err(TextError::TooLong {
                len: s.len(),
                max: MAX,
            });
        }
        if s.chars().any(char::is_control) {
            return Err(TextError::Control);
        }
        Ok(BoundedString(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> TryFrom<String> for BoundedString<MAX> {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, TextError> {
        Self::new(s)
    }
}

impl<const MAX: usize> From<BoundedString<MAX>> for String {
    fn from(s: BoundedString<MAX>) -> String {
        s.0
    }
}

impl<const MAX: usize> fmt::Debug for BoundedString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<const MAX: usize> fmt::Display for BoundedString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<const MAX: usize> BorshSerialize for BoundedString<MAX> {
    fn serialize<W: borsh::io::Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        BorshSerialize::serialize(&self.0, writer)
    }
}

impl<const MAX: usize> BorshDeserialize for BoundedString<MAX> {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let len = u32::deserialize_reader(reader)? as usize;
        if len > MAX {
            return Err(invalid_data(format!(
                "text of {len} bytes exceeds the bound of {MAX}"
            )));
        }
        let mut buf = vec![0u8; len];
        reader.read_exact(&mut buf)?;
        let s = String::from_utf8(buf).map_err(|e| invalid_data(e.to_string()))?;
        BoundedString::new(s).map_err(|e| invalid_data(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_vec_refuses_length_above_bound_without_allocating() {
        // A length prefix of u32::MAX must be refused before any allocation.
        let bytes = u32::MAX.to_le_bytes();
        let got = decode::<BoundedVec<u64, 16>>(&bytes);
        assert!(matches!(got, Err(DecodeError::Invalid { .. })), "{got:?}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&7u32);
        bytes.push(0);
        assert_eq!(
            decode::<u32>(&bytes),
            Err(DecodeError::TrailingBytes {
                kind: "u32",
                extra: 1
            })
        );
    }

    #[test]
    fn non_canonical_bool_and_option_tags_are_refused() {
        assert!(decode::<bool>(&[2]).is_err());
        assert!(decode::<Option<u8>>(&[2, 0]).is_err());
    }

    #[test]
    fn bounded_string_refuses_control_characters_and_length() {
        assert!(BoundedString::<4>::new("abcde").is_err());
        assert!(BoundedString::<8>::new("a\nb").is_err());
        let bytes = encode(&"a\u{7}".to_string());
        assert!(decode::<BoundedString<8>>(&bytes).is_err());
    }
}
