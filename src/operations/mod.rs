//! Operator actions and reads, one function each, shared by every door: the admin API
//! (`http::admin`), the command line (`cli::events`) and the console to come. A door parses its
//! input, calls one function here and shows the answer.
//!
//! Lists (events, tenants, a subscription's deliveries) come a [`Page`] at a time.

pub mod deliveries;
pub mod events;
pub mod page;
pub mod tenants;

pub use page::Page;
