//! Outbound safety: where tenantgate may send notifications. A subscription URL must use https
//! (plain http only where `notifications.allow_http` allows it), and one that resolves to a
//! loopback, private, link-local or otherwise non-public address is refused, unless that
//! address lies in a network the configuration allows. The checks run when a subscription is
//! created or changed, and again on every delivery (the address through the HTTP client's
//! resolver), so a URL stored before the rules tightened, or a name that later resolves
//! elsewhere (DNS rebinding), gets no request either.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;

/// Longest wait for the name of a subscription URL to resolve when it is checked.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A subscription URL as shown to a reader who may not act on it: the scheme, host and port,
/// and `/…` for a path or query there is (some subscribers take a token in them, and the URL is
/// all an unsigned receiver checks). A URL that does not parse shows as `…`.
pub fn redacted(url: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return "…".to_owned();
    };
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if parsed.path() == "/" && parsed.query().is_none() {
        "/"
    } else {
        "/…"
    };
    format!("{}://{}{port}{rest}", parsed.scheme(), parsed.host_str().unwrap_or("…"))
}

/// `text` (a subscriber's answer) with what [`redacted`] leaves out of `url` replaced by `/…`:
/// receivers often echo the path they were called on ("Cannot POST /services/T0/B0/XXXX").
pub fn redacted_in(text: &str, url: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return text.to_owned();
    };
    let whole = &parsed[url::Position::BeforePath..];
    let mut shown = text.to_owned();
    for hidden in [whole, parsed.path()] {
        if hidden.len() > 1 {
            shown = shown.replace(hidden, "/…");
        }
    }
    shown
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("`{0}` is not a valid URL")]
    InvalidUrl(String),
    #[error("the URL must use http or https, not `{0}`")]
    UnsupportedScheme(String),
    #[error("the URL must use https: plain http is refused unless notifications.allow_http is true")]
    HttpNotAllowed,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("{host} could not be resolved: {reason}")]
    Unresolvable { host: String, reason: String },
    #[error("{host} resolves to {address}, a loopback, private or link-local address; allow it in notifications.allowed_private_networks")]
    NotAllowed { host: String, address: IpAddr },
}

/// Which URLs and addresses notifications may go to. Cheap to clone. https only unless
/// [`DestinationPolicy::allowing_http`] says otherwise.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    allowed_private: Arc<Vec<IpNet>>,
    allow_http: bool,
}

impl DestinationPolicy {
    pub fn new(allowed_private: Vec<IpNet>) -> Self {
        Self {
            allowed_private: Arc::new(allowed_private),
            allow_http: false,
        }
    }

    /// The same policy, accepting plain http URLs too when `allowed` (`notifications.allow_http`).
    pub fn allowing_http(self, allowed: bool) -> Self {
        Self {
            allow_http: allowed,
            ..self
        }
    }

    /// Public addresses always; others only inside an allowed network.
    pub fn is_allowed(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        is_public(address) || self.allowed_private.iter().any(|net| net.contains(&address))
    }

    /// Parses a subscription URL and checks every address its host resolves to now.
    pub async fn check_url(&self, url: &str) -> Result<Url, DestinationError> {
        let parsed = self.check_form(url)?;
        let host = host_of(&parsed);
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = match host_literal(&parsed) {
            Some(ip) => vec![SocketAddr::new(ip, port)],
            None => tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| DestinationError::Unresolvable {
                    host: host.clone(),
                    reason: format!("no answer within {} s", LOOKUP_TIMEOUT.as_secs()),
                })?
                .map_err(|e| DestinationError::Unresolvable {
                    host: host.clone(),
                    reason: e.to_string(),
                })?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(DestinationError::Unresolvable {
                host,
                reason: "no address".into(),
            });
        }
        match addresses.iter().find(|a| !self.is_allowed(a.ip())) {
            Some(refused) => Err(DestinationError::NotAllowed {
                host,
                address: refused.ip(),
            }),
            None => Ok(parsed),
        }
    }

    /// The URL's form alone, and its host when it is an address: what can be checked before
    /// sending without a look-up (the resolver checks names).
    pub fn check_form(&self, url: &str) -> Result<Url, DestinationError> {
        let parsed =
            Url::parse(url.trim()).map_err(|_| DestinationError::InvalidUrl(url.chars().take(200).collect()))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(DestinationError::HttpNotAllowed),
            other => return Err(DestinationError::UnsupportedScheme(other.to_owned())),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(DestinationError::Credentials);
        }
        if parsed.host().is_none() {
            return Err(DestinationError::InvalidUrl(url.chars().take(200).collect()));
        }
        if let Some(ip) = host_literal(&parsed).filter(|ip| !self.is_allowed(*ip)) {
            return Err(DestinationError::NotAllowed {
                host: host_of(&parsed),
                address: ip,
            });
        }
        Ok(parsed)
    }

    /// A resolver for the HTTP client that drops every address this policy refuses.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { policy: self.clone() })
    }
}

/// Resolves names with the system resolver, keeping only allowed addresses; a name with none
/// left fails to resolve, so no connection is ever opened to a refused address.
#[derive(Debug)]
pub struct GuardedResolver {
    policy: DestinationPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let refused = resolved.iter().find(|a| !policy.is_allowed(a.ip())).map(|a| a.ip());
            let allowed: Vec<SocketAddr> = resolved.into_iter().filter(|a| policy.is_allowed(a.ip())).collect();
            match (allowed.is_empty(), refused) {
                (true, Some(address)) => Err(Box::new(DestinationError::NotAllowed { host, address }) as _),
                (true, None) => Err(Box::new(DestinationError::Unresolvable {
                    host,
                    reason: "no address".into(),
                }) as _),
                (false, _) => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

fn host_literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether an address is reachable on the public internet: not loopback, private, link-local,
/// shared (CGNAT), unspecified, broadcast, multicast, documentation or reserved.
pub fn is_public(address: IpAddr) -> bool {
    match canonical(address) {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let first = s[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || s[..6] == [0; 6] // IPv4-compatible (::a.b.c.d, deprecated)
        || s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 // IPv4-translated (::ffff:0:a.b.c.d)
        || first == 0x2001 && s[1] == 0x0db8 // documentation
        || first == 0x2001 && s[1] == 0 // Teredo: tunnels to an IPv4 address
        || first == 0x2002 // 6to4: embeds an IPv4 address, which may be private
        || first == 0x0064 && s[1] == 0xff9b) // NAT64 (well-known and local): IPv4 behind it
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_url_keeps_the_scheme_host_and_port_alone() {
        assert_eq!(
            redacted("https://hooks.example.com/services/T0/B0/XXXX"),
            "https://hooks.example.com/…"
        );
        assert_eq!(
            redacted("https://hooks.example.com/in?token=s3cret"),
            "https://hooks.example.com/…"
        );
        assert_eq!(redacted("http://crm.internal:8443/"), "http://crm.internal:8443/");
        assert_eq!(redacted("https://[2001:db8::1]/t/abc"), "https://[2001:db8::1]/…");
        assert_eq!(redacted("not a url"), "…");
    }

    #[test]
    fn an_answer_echoing_the_path_is_redacted_too() {
        let url = "https://hooks.example.com/services/T0/XXXX?token=s3cret";
        assert_eq!(
            redacted_in("Cannot POST /services/T0/XXXX?token=s3cret", url),
            "Cannot POST /…"
        );
        assert_eq!(redacted_in("no route /services/T0/XXXX", url), "no route /…");
        assert_eq!(
            redacted_in("{\"error\":\"no\"}", "https://hooks.example.com/"),
            "{\"error\":\"no\"}"
        );
        assert_eq!(redacted_in("thanks", "not a url"), "thanks");
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "::10.0.0.1",
            "::ffff:0:a00:1",
            "2002:a00:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ];
        for address in private {
            assert!(
                !is_public(address.parse().unwrap()),
                "{address} must not count as public"
            );
        }
        for address in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(address.parse().unwrap()), "{address} is public");
        }
    }

    #[test]
    fn an_allowed_network_lets_its_private_addresses_through_and_no_others() {
        let policy = DestinationPolicy::new(vec!["127.0.0.1/32".parse().unwrap()]);
        assert!(policy.is_allowed("127.0.0.1".parse().unwrap()));
        assert!(policy.is_allowed("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!policy.is_allowed("127.0.0.2".parse().unwrap()));
        assert!(!policy.is_allowed("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn urls_are_refused_for_their_form_with_the_reason() {
        let policy = DestinationPolicy::default();
        let cases = [
            ("not a url", "not a valid URL"),
            ("ftp://example.com/hook", "http or https"),
            ("http://hooks.example.com/tenantgate", "notifications.allow_http"),
            ("https://user:pw@example.com/hook", "user name or password"),
            ("https://127.0.0.1:8080/hook", "127.0.0.1"),
            ("https://[::1]/hook", "::1"),
            ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ];
        for (url, reason) in cases {
            let error = policy.check_form(url).unwrap_err().to_string();
            assert!(error.contains(reason), "{url}: `{error}` should say {reason}");
        }
        assert!(policy.check_form("https://hooks.example.com/tenantgate").is_ok());
    }

    #[test]
    fn plain_http_passes_only_where_allowed_and_still_meets_the_address_rules() {
        let url = "http://hooks.example.com/tenantgate";
        assert_eq!(
            DestinationPolicy::default().check_form(url).unwrap_err(),
            DestinationError::HttpNotAllowed
        );
        let allowing = DestinationPolicy::default().allowing_http(true);
        assert!(allowing.check_form(url).is_ok());
        assert!(matches!(
            allowing.check_form("http://127.0.0.1:8080/hook"),
            Err(DestinationError::NotAllowed { .. })
        ));
        assert!(matches!(
            allowing.check_form("ftp://example.com/hook"),
            Err(DestinationError::UnsupportedScheme(_))
        ));
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_unless_allowed() {
        let refused = DestinationPolicy::default().check_url("https://localhost:9/hook").await;
        assert!(
            matches!(refused, Err(DestinationError::NotAllowed { ref host, .. }) if host == "localhost"),
            "{refused:?}"
        );
        let allowed = DestinationPolicy::new(vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        assert!(allowed.check_url("https://localhost:9/hook").await.is_ok());
    }
}
