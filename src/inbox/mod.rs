//! The inbox: every received event, stored once, then claimed, leased and finished by the
//! provisioning queue. Its rows and statuses, the insert (group commit), the claim and finish
//! statements (whole in `sql/`), and the listings operators read.

pub mod activity;
mod claim_plan;
pub mod claims;
mod claims_pg;
mod insert;
mod insert_pg;
pub mod listing;
mod rows;

pub use insert::*;
pub use rows::*;
