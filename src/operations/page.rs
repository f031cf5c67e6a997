//! Pages of a list read in key order: fetch one row more than the page, cut it off, and make the
//! cursor from the last row shown. Every list of the admin API and the CLI pages this way.

use crate::db::{DbConn, StoreError};

/// One page of rows, and the key to pass as the cursor for the next page (`None` on the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

impl<T, K> Page<T, K> {
    /// Reads a page of at most `limit` rows. `query` is asked for one row more than that: when it
    /// comes, another page follows, starting after the key of the last row shown.
    pub fn read(
        conn: &mut DbConn,
        limit: i64,
        query: impl FnOnce(&mut DbConn, i64) -> Result<Vec<T>, StoreError>,
        key: impl Fn(&T) -> K,
    ) -> Result<Self, StoreError> {
        let rows = query(conn, limit.saturating_add(1))?;
        Ok(Self::cut(rows, limit, key))
    }

    /// `rows`, read with a limit of `limit + 1`, cut to a page of `limit`.
    pub fn cut(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> Self {
        let size = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > size;
        rows.truncate(size);
        let next = if more { rows.last().map(key) } else { None };
        Self { items: rows, next }
    }

    /// The same page with each row turned into what a door shows.
    pub fn map<U>(self, show: impl FnMut(T) -> U) -> Page<U, K> {
        Page {
            items: self.items.into_iter().map(show).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    fn cut(rows: usize, limit: i64) -> Page<i64, i64> {
        // Newest first, as the event lists read them.
        let rows: Vec<i64> = (0..rows as i64).rev().map(|i| i + 100).collect();
        Page::cut(rows, limit, |id| *id)
    }

    #[test]
    fn the_extra_row_says_another_page_follows_and_is_not_shown() {
        let cases = [
            (0, 3, vec![], None, "nothing to show"),
            (2, 3, vec![101, 100], None, "fewer rows than a page"),
            (3, 3, vec![102, 101, 100], None, "exactly a page, and no extra row"),
            (
                4,
                3,
                vec![103, 102, 101],
                Some(101),
                "the extra row came: the cursor is the last row shown",
            ),
        ];
        for (rows, limit, items, next, why) in cases {
            assert_eq!(cut(rows, limit), Page { items, next }, "{why}");
        }
    }

    #[test]
    fn map_keeps_the_cursor() {
        let page = cut(4, 3).map(|id| format!("event {id}"));
        assert_eq!(page.items, ["event 103", "event 102", "event 101"]);
        assert_eq!(page.next, Some(101));
    }
}
