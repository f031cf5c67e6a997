//! Every status a stored row can have, each spelled once, here: the Rust enum and the text it is
//! stored as. Each converts to and from that text for Diesel (both backends) and serde, and
//! compares equal to it (`row.status == "dead"`), so reads and answers keep the stored words.

use std::fmt;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stored text that is no status of its kind; names the kind and the allowed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{got:?} is not a {kind} (one of: {allowed})")]
pub struct UnknownStatus {
    pub kind: &'static str,
    pub allowed: String,
    pub got: String,
}

macro_rules! stored_status {
    ($(#[$meta:meta])* $name:ident as $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow, Serialize, Deserialize, ToSchema)]
        #[diesel(sql_type = Text)]
        // The document's names; `http::openapi`'s tests hold them equal to the stored texts.
        #[schema(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in the order of their life.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Every value's stored text, in the same order.
            pub const TEXTS: &'static [&'static str] = &[$($text),+];

            /// The stored text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;

            fn from_str(text: &str) -> Result<Self, UnknownStatus> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownStatus {
                        kind: $kind,
                        allowed: Self::TEXTS.join(", "),
                        got: text.to_owned(),
                    }),
                }
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, text: &&str) -> bool {
                self.as_str() == *text
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, text: &str) -> bool {
                self.as_str() == text
            }
        }

        impl<DB: Backend> ToSql<Text, DB> for $name
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $name
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                Ok(String::from_sql(bytes)?.parse()?)
            }
        }
    };
}

stored_status! {
    /// Where an event of the inbox stands.
    EventStatus as "event status" {
        Pending = "pending",
        Processing = "processing",
        Succeeded = "succeeded",
        FailedRetrying = "failed_retrying",
        Dead = "dead",
        Ignored = "ignored",
        Skipped = "skipped",
    }
}

impl EventStatus {
    /// The statuses an event can be replayed from: it has finished.
    pub const FINISHED: [Self; 4] = [Self::Succeeded, Self::Dead, Self::Skipped, Self::Ignored];
}

stored_status! {
    /// Where one notification delivery to one subscriber stands.
    DeliveryStatus as "delivery status" {
        Pending = "pending",
        Delivering = "delivering",
        Succeeded = "succeeded",
        FailedRetrying = "failed_retrying",
        Dead = "dead",
    }
}

stored_status! {
    /// Where a tenant's workspace mapping stands.
    MappingStatus as "mapping status" {
        /// Claimed for a create; the workspace id is set as soon as the create answers.
        Provisioning = "provisioning",
        Active = "active",
        Archived = "archived",
        Deleted = "deleted",
        /// Deleted before any workspace was made: an older create arriving later is skipped.
        Tombstone = "tombstone",
    }
}

impl MappingStatus {
    /// The tenant is gone: a create older than this must not bring it back.
    pub const fn is_gone(self) -> bool {
        matches!(self, Self::Archived | Self::Deleted | Self::Tombstone)
    }
}

stored_status! {
    /// A user's status in a tenant.
    UserStatus as "user status" {
        /// Invited to the tenant, not activated yet (Frontegg's `activatedForTenant: false`).
        Invited = "invited",
        Active = "active",
        /// Deactivated in, deleted from or removed from the tenant.
        Deactivated = "deactivated",
        /// Soft-deleted with the tenant.
        Deleted = "deleted",
    }
}

stored_status! {
    /// Where a reconciler run stands (a run that found drift and held deletions back by its
    /// brake still succeeded: the brake is reported apart).
    RunStatus as "run status" {
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_reads_back_from_its_text_and_an_unknown_text_names_the_choices() {
        for s in EventStatus::ALL {
            assert_eq!(s.as_str().parse::<EventStatus>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(MappingStatus::Tombstone, "tombstone");
        let e = "done".parse::<DeliveryStatus>().unwrap_err().to_string();
        assert_eq!(
            e,
            r#""done" is not a delivery status (one of: pending, delivering, succeeded, failed_retrying, dead)"#
        );
    }
}
