//! Reading a subscription's delivery log, a page at a time.

use super::Page;
use crate::db::{Database, StoreError};
use crate::notifications::store::{self as store, AttemptRecord, Delivery, Message};

/// One delivery of a notification to a subscription, with its attempts, oldest first.
#[derive(Debug, Clone)]
pub struct DeliveryEntry {
    pub delivery: Delivery,
    pub message: Message,
    pub attempts: Vec<AttemptRecord>,
}

/// The deliveries of the subscription `subscription_id`, newest first, at most `limit`, with ids
/// below `before` (the cursor of the previous page).
pub async fn list(
    db: &Database,
    subscription_id: String,
    before: Option<i64>,
    limit: i64,
) -> Result<Page<DeliveryEntry, i64>, StoreError> {
    db.run(move |c| {
        let page = Page::read(
            c,
            limit,
            |c, rows| store::deliveries_of(c, &subscription_id, before, rows),
            |(d, _)| d.id,
        )?;
        let ids: Vec<i64> = page.items.iter().map(|(d, _)| d.id).collect();
        let log = store::attempts_of(c, &ids)?;
        Ok(page.map(|(delivery, message)| DeliveryEntry {
            attempts: log.iter().filter(|a| a.delivery_id == delivery.id).cloned().collect(),
            delivery,
            message,
        }))
    })
    .await
}
