//! Data section encoding: control bytes, payloads and pointers.

use std::collections::HashMap;

use super::{Value, WriterError};

const POINTER: u8 = 1;
const STRING: u8 = 2;
const DOUBLE: u8 = 3;
const U16: u8 = 5;
const U32: u8 = 6;
const MAP: u8 = 7;
const U64: u8 = 9;
const ARRAY: u8 = 11;
const BOOL: u8 = 14;
const FLOAT: u8 = 15;

/// Largest payload size the control byte can express.
const MAX_SIZE: usize = 65_821 + (1 << 24) - 1;

/// Strings shorter than this are always written inline.
const MIN_POINTED_STRING: usize = 3;

/// The data section being built. Strings seen before become pointers.
#[derive(Default)]
pub(super) struct DataSection {
    buf: Vec<u8>,
    strings: HashMap<String, u32>,
}

impl DataSection {
    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Appends a value; returns its offset in the data section.
    pub(super) fn push(&mut self, v: &Value) -> Result<u32, WriterError> {
        let offset = u32::try_from(self.buf.len()).map_err(|_| WriterError::TooLarge)?;
        self.value(v)?;
        Ok(offset)
    }

    fn value(&mut self, v: &Value) -> Result<(), WriterError> {
        match v {
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                control(&mut self.buf, ARRAY, items.len())?;
                items.iter().try_for_each(|i| self.value(i))
            }
            Value::Map(pairs) => {
                control(&mut self.buf, MAP, pairs.len())?;
                for (k, v) in pairs {
                    self.string(k)?;
                    self.value(v)?;
                }
                Ok(())
            }
            scalar => scalar_into(&mut self.buf, scalar),
        }
    }

    fn string(&mut self, s: &str) -> Result<(), WriterError> {
        if s.len() >= MIN_POINTED_STRING {
            if let Some(&at) = self.strings.get(s) {
                pointer(&mut self.buf, at);
                return Ok(());
            }
            let at = u32::try_from(self.buf.len()).map_err(|_| WriterError::TooLarge)?;
            self.strings.insert(s.to_string(), at);
        }
        control(&mut self.buf, STRING, s.len())?;
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Encodes a value with no pointers (metadata; record identity).
pub(super) fn plain(v: &Value) -> Result<Vec<u8>, WriterError> {
    let mut out = Vec::new();
    plain_into(&mut out, v)?;
    Ok(out)
}

fn plain_into(out: &mut Vec<u8>, v: &Value) -> Result<(), WriterError> {
    match v {
        Value::String(s) => {
            control(out, STRING, s.len())?;
            out.extend_from_slice(s.as_bytes());
            Ok(())
        }
        Value::Array(items) => {
            control(out, ARRAY, items.len())?;
            items.iter().try_for_each(|i| plain_into(out, i))
        }
        Value::Map(pairs) => {
            control(out, MAP, pairs.len())?;
            for (k, v) in pairs {
                control(out, STRING, k.len())?;
                out.extend_from_slice(k.as_bytes());
                plain_into(out, v)?;
            }
            Ok(())
        }
        scalar => scalar_into(out, scalar),
    }
}

fn scalar_into(out: &mut Vec<u8>, v: &Value) -> Result<(), WriterError> {
    match v {
        Value::Double(d) => {
            control(out, DOUBLE, 8)?;
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::Float(f) => {
            control(out, FLOAT, 4)?;
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::U16(n) => uint(out, U16, u64::from(*n))?,
        Value::U32(n) => uint(out, U32, u64::from(*n))?,
        Value::U64(n) => uint(out, U64, *n)?,
        // A boolean's value is its size; there is no payload.
        Value::Bool(b) => control(out, BOOL, usize::from(*b))?,
        Value::String(_) | Value::Array(_) | Value::Map(_) => {
            // Containers and strings are handled by the callers.
            return plain_into(out, v);
        }
    }
    Ok(())
}

/// An unsigned integer in as few big-endian bytes as needed (0 → none).
fn uint(out: &mut Vec<u8>, type_num: u8, n: u64) -> Result<(), WriterError> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, type_num, 8 - skip)?;
    out.extend_from_slice(&bytes[skip..]);
    Ok(())
}

/// The control byte(s): type in the top 3 bits (0 = extended, the type
/// minus 7 in the next byte), then the size in 5 bits plus 0–3 bytes.
fn control(out: &mut Vec<u8>, type_num: u8, size: usize) -> Result<(), WriterError> {
    let (bits, extra): (u8, Vec<u8>) = match size {
        0..=28 => (size as u8, vec![]),
        29..=284 => (29, vec![(size - 29) as u8]),
        285..=65_820 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        65_821..=MAX_SIZE => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
        _ => return Err(WriterError::TooLarge),
    };
    if type_num <= 7 {
        out.push(type_num << 5 | bits);
    } else {
        out.push(bits);
        out.push(type_num - 7);
    }
    out.extend_from_slice(&extra);
    Ok(())
}

/// A pointer to `at` in the data section (`001SSVVV` + 1–4 bytes).
fn pointer(out: &mut Vec<u8>, at: u32) {
    let p = POINTER << 5;
    match at {
        0..=2_047 => {
            out.push(p | ((at >> 8) as u8 & 0x07));
            out.push(at as u8);
        }
        2_048..=526_335 => {
            let v = at - 2_048;
            out.push(p | 0x08 | ((v >> 16) as u8 & 0x07));
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        526_336..=134_744_063 => {
            let v = at - 526_336;
            out.push(p | 0x10 | ((v >> 24) as u8 & 0x07));
            out.extend_from_slice(&v.to_be_bytes()[1..]);
        }
        _ => {
            out.push(p | 0x18);
            out.extend_from_slice(&at.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_follow_the_spec_examples() {
        let enc = |t, n| {
            let mut v = Vec::new();
            control(&mut v, t, n).unwrap();
            v
        };
        assert_eq!(enc(STRING, 2), [0b0100_0010]);
        assert_eq!(enc(STRING, 28), [0b0101_1100]);
        assert_eq!(enc(STRING, 80), [0b0101_1101, 51]);
        assert_eq!(enc(STRING, 13_392), [0b0101_1110, 0x33, 0x33]);
        assert_eq!(enc(STRING, 3_421_264), [0b0101_1111, 0x33, 0x33, 0x33]);
        assert_eq!(enc(ARRAY, 0), [0x00, 0x04]);
        assert_eq!(enc(FLOAT, 4), [0x04, 0x08]);
        assert!(control(&mut Vec::new(), STRING, MAX_SIZE + 1).is_err());
    }

    #[test]
    fn pointers_use_the_smallest_form() {
        let enc = |at| {
            let mut v = Vec::new();
            pointer(&mut v, at);
            v
        };
        assert_eq!(enc(5), [0x20, 5]);
        assert_eq!(enc(2_047), [0x27, 0xff]);
        assert_eq!(enc(2_048), [0x28, 0, 0]);
        assert_eq!(enc(526_336), [0x30, 0, 0, 0]);
        assert_eq!(enc(134_744_064), [0x38, 0x08, 0x08, 0x08, 0x00]);
    }

    #[test]
    fn integers_are_minimal() {
        assert_eq!(plain(&Value::U16(0)).unwrap(), [0xa0]);
        assert_eq!(plain(&Value::U16(300)).unwrap(), [0xa2, 0x01, 0x2c]);
        assert_eq!(plain(&Value::U32(28)).unwrap(), [0xc1, 28]);
        assert_eq!(plain(&Value::Bool(true)).unwrap(), [0x01, 0x07]);
    }

    #[test]
    fn repeated_strings_become_pointers() {
        let mut d = DataSection::default();
        let a = d.push(&Value::from("Shenzhen")).unwrap();
        let len_after_first = d.len();
        d.push(&Value::from("Shenzhen")).unwrap();
        assert_eq!(a, 0);
        assert_eq!(d.len() - len_after_first, 2);
        assert_eq!(&d.bytes()[len_after_first..], [0x20, 0x00]);
    }
}
