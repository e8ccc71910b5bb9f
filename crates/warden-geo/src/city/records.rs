//! Borrowed record layouts for the two city schemas.
//!
//! Only the fields Warden uses are declared; everything else is skipped by
//! the decoder without allocating. Strings borrow from the database buffer.
//! Numbers are read leniently ([`Num`]): DB-IP writes coordinates as
//! `float`, MaxMind as `double`, and some tools as strings.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

/// A number stored as float, double, integer or numeric string.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Num(pub Option<f64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f32<E>(self, v: f32) -> Result<Num, E> {
                Ok(Num(Some(f64::from(v))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse().ok()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
                Ok(Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The first element of an array; the rest is skipped without allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct First<T>(pub Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        First(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// A DB-IP Lite city record.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DbipRecord<'a> {
    #[serde(borrow, default)]
    pub country_code: Option<&'a str>,
    #[serde(borrow, default)]
    pub state1: Option<&'a str>,
    #[serde(borrow, default)]
    pub city: Option<&'a str>,
    #[serde(default)]
    pub latitude: Num,
    #[serde(default)]
    pub longitude: Num,
    #[serde(borrow, default)]
    pub timezone: Option<&'a str>,
}

/// Localised names: English and simplified Chinese.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MmNames<'a> {
    #[serde(borrow, default)]
    pub en: Option<&'a str>,
    #[serde(borrow, default, rename = "zh-CN")]
    pub zh: Option<&'a str>,
}

/// A named place (`city`, a subdivision).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MmPlace<'a> {
    #[serde(borrow, default)]
    pub names: MmNames<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MmCountry<'a> {
    #[serde(borrow, default)]
    pub iso_code: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MmLocation<'a> {
    #[serde(default)]
    pub latitude: Num,
    #[serde(default)]
    pub longitude: Num,
    #[serde(default)]
    pub accuracy_radius: Num,
    #[serde(borrow, default)]
    pub time_zone: Option<&'a str>,
}

/// A GeoLite2-City / GeoIP2-City record (the parts Warden reads).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MaxMindRecord<'a> {
    #[serde(borrow, default)]
    pub country: MmCountry<'a>,
    #[serde(borrow, default)]
    pub subdivisions: First<MmPlace<'a>>,
    #[serde(borrow, default)]
    pub city: MmPlace<'a>,
    #[serde(borrow, default)]
    pub location: MmLocation<'a>,
}

/// Treats empty strings (DB-IP's "unknown") as absent.
pub(crate) fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}
