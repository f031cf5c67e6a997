//! Reading request headers, whatever map the caller holds them in.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Looks up a request header by lower-case name; lets callers adapt any header map.
pub trait HeaderSource {
    /// The value of header `name` (given in lower case), if sent.
    fn header(&self, name: &str) -> Option<&str>;
}

/// Case-insensitive: an exact (lower-case) key is found directly, any other
/// casing by a scan, so tests may write keys as they appear on the wire.
impl<S: BuildHasher> HeaderSource for HashMap<String, String, S> {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name)
            .or_else(|| self.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
            .map(String::as_str)
    }
}

/// The shape [`sign`](super::sign) returns, so its output can be verified directly.
impl HeaderSource for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A header value as sent, trimmed; `None` when absent or blank, because an
/// empty credential header carries nothing to verify.
pub(super) fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}
