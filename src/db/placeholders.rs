//! Whole SQL statements kept in `sql/*.sql` with numbered placeholders (`$1`, `$2`, …), bound by
//! fixed statements that Diesel prepares once per connection. Diesel numbers the placeholders it
//! writes itself, in order, so a statement is walked piece by piece: its text, and at each
//! placeholder the value that number names (a number used twice is bound twice).

/// A piece of a statement: text, or the number of a placeholder.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Sql(&'a str),
    Bind(u32),
}

/// The pieces of `sql`, in order.
pub fn split(sql: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let number = rest[at + 1..at + 1 + digits].parse::<u32>();
        let Ok(number) = number else {
            // A `$` that is no placeholder stays text.
            pieces.push(Piece::Sql(&rest[..=at]));
            rest = &rest[at + 1..];
            continue;
        };
        if at > 0 {
            pieces.push(Piece::Sql(&rest[..at]));
        }
        pieces.push(Piece::Bind(number));
        rest = &rest[at + 1 + digits..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Sql(rest));
    }
    pieces
}

/// The error for a placeholder the statement's binder does not know: a statement edited without
/// its binder.
pub fn unknown(number: u32) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(format!("no value for placeholder ${number}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_splits_into_text_and_numbered_placeholders() {
        assert_eq!(
            split("SET a = $1 WHERE b <= $2 OR c < $2 LIMIT $10"),
            [
                Piece::Sql("SET a = "),
                Piece::Bind(1),
                Piece::Sql(" WHERE b <= "),
                Piece::Bind(2),
                Piece::Sql(" OR c < "),
                Piece::Bind(2),
                Piece::Sql(" LIMIT "),
                Piece::Bind(10),
            ]
        );
        assert_eq!(split("SELECT '$x'"), [Piece::Sql("SELECT '$"), Piece::Sql("x'")]);
    }
}
