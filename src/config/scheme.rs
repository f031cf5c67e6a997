//! The names `sources.frontegg.schemes` lists: the ways a sender may prove that a request is its
//! own. The verifier (`verify`) implements each of them.

use std::fmt;
use std::str::FromStr;

/// A configured verification scheme. Serde names: "frontegg-jwt", "hmac-sha256", "standard-webhooks".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// A JWT signed with the shared secret, in the JWT header (`verify::jwt`).
    FronteggJwt,
    /// Hex HMAC-SHA256 of the body, in the HMAC header (`verify::hmac_hex`).
    HmacSha256,
    /// Standard Webhooks v1 `webhook-*` headers (`verify::standard`).
    StandardWebhooks,
}

impl Scheme {
    /// Every scheme, in declaration order.
    pub const ALL: [Scheme; 3] = [Scheme::FronteggJwt, Scheme::HmacSha256, Scheme::StandardWebhooks];

    /// The stable name, identical to the serde name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scheme::FronteggJwt => "frontegg-jwt",
            Scheme::HmacSha256 => "hmac-sha256",
            Scheme::StandardWebhooks => "standard-webhooks",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scheme name that is not one of [`Scheme::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown verification scheme {0:?}; expected one of: frontegg-jwt, hmac-sha256, standard-webhooks")]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;

    /// Accepts the serde names, ignoring ASCII case and surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownScheme(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_round_trip_through_serde_from_str_and_display() {
        for scheme in Scheme::ALL {
            let json = serde_json::to_string(&scheme).unwrap();
            assert_eq!(json, format!("\"{}\"", scheme.as_str()));
            assert_eq!(serde_json::from_str::<Scheme>(&json).unwrap(), scheme);
            assert_eq!(scheme.to_string().parse::<Scheme>(), Ok(scheme));
        }
        assert_eq!(" HMAC-SHA256 ".parse::<Scheme>(), Ok(Scheme::HmacSha256));
    }

    #[test]
    fn an_unknown_scheme_name_lists_the_allowed_names() {
        let message = "svix".parse::<Scheme>().unwrap_err().to_string();
        for scheme in Scheme::ALL {
            assert!(message.contains(scheme.as_str()), "{message}");
        }
    }
}
