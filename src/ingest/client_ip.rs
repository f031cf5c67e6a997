//! Who is posting: the peer address, or the address a trusted proxy forwarded.

use std::net::IpAddr;

use ipnet::IpNet;

/// The address the allow-list is checked against. `X-Forwarded-For` counts only when the peer
/// is a trusted proxy; then the client is the right-most entry that is not itself a trusted proxy
/// (entries further left were written by the client and can be forged).
pub fn client_address(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    let mut hops = header.split(',').map(str::trim).rev();
    let mut client = peer;
    for hop in hops.by_ref() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A garbled entry ends the trusted chain; the last good hop is the client.
            Err(_) => break,
        }
    }
    Some(client)
}

/// Whether `client` may post: an empty allow-list allows everyone.
pub fn is_allowed(client: Option<IpAddr>, allowed: &[IpNet]) -> bool {
    allowed.is_empty() || client.is_some_and(|ip| allowed.iter().any(|net| net.contains(&ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let client = client_address(ip("203.0.113.9"), Some("23.21.59.58"), &nets(&["127.0.0.1/32"]));
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_forwards_the_right_most_untrusted_address() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        let client = client_address(ip("127.0.0.1"), Some("1.2.3.4, 23.21.59.58, 10.1.1.1"), &trusted);
        assert_eq!(client, ip("23.21.59.58"));
    }

    #[test]
    fn the_allow_list_is_open_when_empty_and_closed_otherwise() {
        assert!(is_allowed(ip("1.2.3.4"), &[]));
        assert!(is_allowed(ip("23.21.59.58"), &nets(&["23.21.59.58/32"])));
        assert!(!is_allowed(ip("1.2.3.4"), &nets(&["23.21.59.58/32"])));
        assert!(!is_allowed(None, &nets(&["23.21.59.58/32"])));
    }
}
