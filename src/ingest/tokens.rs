//! One body per single-use token. A `frontegg-jwt` token proves who sent a request, not what it
//! carried, so a captured token could carry any body for as long as it is fresh. A token with a
//! `jti` claim is single-use by its sender's promise: it is bound to the first body it carried
//! until it can no longer be used; the same body again is a redelivery (answered `duplicate` by
//! the inbox), another body is refused. A token without `jti` may legitimately repeat (the same
//! `{"iat": …}` token for every request of one second), so nothing is bound to it.
//!
//! The binding lives in this process: with several instances, a captured token can carry one
//! other body per instance, within the token's short life. The allow-list closes that door.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use crate::verify::jwt::AcceptedToken;

/// Most tokens remembered; beyond it the oldest are forgotten (a bound on memory that a sender
/// holding the secret could otherwise grow). About 100 bytes each.
const CAPACITY: usize = 100_000;

type Digest = [u8; 32];

/// The tokens accepted recently, each with the body it carried.
#[derive(Debug, Default)]
pub struct TokenLedger {
    inner: Mutex<Ledger>,
}

#[derive(Debug, Default)]
struct Ledger {
    bodies: HashMap<Digest, (Digest, i64)>,
    /// Tokens in the order they were first seen, with their last usable second.
    order: VecDeque<(i64, Digest)>,
}

/// The token already carried another body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenReused;

impl TokenLedger {
    /// Binds a single-use `token` to `body` (its SHA-256), or refuses when it is bound to
    /// another body. A token without an id binds nothing.
    pub fn bind(&self, token: &AcceptedToken, body: Digest, now_unix: i64) -> Result<(), TokenReused> {
        let Some(id) = token.id else {
            return Ok(());
        };
        let mut ledger = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.forget(now_unix);
        match ledger.bodies.get(&id) {
            Some((bound, _)) if *bound == body => Ok(()),
            Some(_) => Err(TokenReused),
            None => {
                ledger.bodies.insert(id, (body, token.usable_until));
                ledger.order.push_back((token.usable_until, id));
                Ok(())
            }
        }
    }
}

impl Ledger {
    /// Drops tokens that can no longer be used from the front, and the oldest beyond capacity.
    fn forget(&mut self, now_unix: i64) {
        while let Some(&(until, fingerprint)) = self.order.front() {
            if until >= now_unix && self.order.len() < CAPACITY {
                break;
            }
            self.order.pop_front();
            self.bodies.remove(&fingerprint);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::jwt::RequestClaims;

    fn token(n: u8, usable_until: i64) -> AcceptedToken {
        AcceptedToken {
            id: Some([n; 32]),
            usable_until,
            claims: RequestClaims::default(),
        }
    }

    #[test]
    fn a_token_carries_one_body_however_often() {
        let ledger = TokenLedger::default();
        let t = token(1, 1_000);
        assert_eq!(ledger.bind(&t, [7; 32], 900), Ok(()));
        assert_eq!(ledger.bind(&t, [7; 32], 901), Ok(()));
        assert_eq!(ledger.bind(&t, [8; 32], 902), Err(TokenReused));
        assert_eq!(ledger.bind(&token(2, 1_000), [8; 32], 902), Ok(()));
    }

    #[test]
    fn a_token_without_an_id_binds_nothing() {
        let ledger = TokenLedger::default();
        let repeatable = AcceptedToken {
            id: None,
            ..token(0, 1_000)
        };
        assert_eq!(ledger.bind(&repeatable, [7; 32], 900), Ok(()));
        assert_eq!(ledger.bind(&repeatable, [8; 32], 900), Ok(()));
        assert!(ledger.inner.lock().unwrap().bodies.is_empty());
    }

    #[test]
    fn a_token_past_its_life_is_forgotten() {
        let ledger = TokenLedger::default();
        ledger.bind(&token(1, 1_000), [7; 32], 900).unwrap();
        ledger.bind(&token(2, 5_000), [7; 32], 1_001).unwrap();
        let inner = ledger.inner.lock().unwrap();
        assert_eq!(inner.bodies.len(), 1);
        assert!(inner.bodies.contains_key(&[2; 32]));
    }

    #[test]
    fn memory_is_bounded() {
        let ledger = TokenLedger::default();
        for n in 0..(CAPACITY + 10) {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(n as u64).to_le_bytes());
            let t = AcceptedToken {
                id: Some(id),
                usable_until: 10_000,
                claims: RequestClaims::default(),
            };
            ledger.bind(&t, [1; 32], 0).unwrap();
        }
        let inner = ledger.inner.lock().unwrap();
        assert_eq!(inner.bodies.len(), CAPACITY);
        assert_eq!(inner.order.len(), CAPACITY);
    }
}
