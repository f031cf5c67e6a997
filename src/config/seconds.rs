//! A list of seconds that may also come from one environment variable: `0.2,0.4,0.8` arrives as
//! a list of strings, and a single `30` arrives as a number rather than a list of one.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::Deserializer;

/// Seconds as durations (validated finite and non-negative at load).
pub fn durations(secs: &[f64]) -> Vec<std::time::Duration> {
    secs.iter().map(|s| std::time::Duration::from_secs_f64(*s)).collect()
}

/// Deserializes a list of seconds, a single number, or a comma-separated string of numbers.
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    d.deserialize_any(SecondsVisitor)
}

struct SecondsVisitor;

impl<'de> Visitor<'de> for SecondsVisitor {
    type Value = Vec<f64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of seconds, e.g. [30, 120, 600] or \"30,120,600\"")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(value) = seq.next_element::<f64>()? {
            out.push(value);
        }
        Ok(out)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(vec![v])
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(vec![v as f64])
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(vec![v as f64])
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.split(',')
            .map(|part| {
                part.trim()
                    .parse::<f64>()
                    .map_err(|_| E::custom(format!("`{part}` is not a number of seconds")))
            })
            .collect()
    }
}
