//! Keyset pagination for the Relay connections of every tab.
//!
//! A cursor is the sort column's timestamp and the row id, base64url-encoded, so the next page
//! starts with an index seek instead of skipping rows: page 1,000 costs what page 1 costs.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, Func, IntoColumnRef, LikeExpr, SimpleExpr},
    ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::error::{GatewayError, Result};

/// Largest page a connection returns.
pub const MAX_PAGE_SIZE: i32 = 100;
/// Page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// A position in a sorted list: the sort timestamp and the row id that breaks ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.at.timestamp_micros(), self.id))
    }

    pub fn decode(text: &str) -> Result<Self> {
        let invalid = || {
            GatewayError::bad_input(
                "after",
                "invalid cursor; pass an endCursor or an edge cursor returned by this connection",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (micros, id) = text.split_once(':').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let id: i64 = id.parse().map_err(|_| invalid())?;
        let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        Ok(Cursor { at, id })
    }
}

/// A validated page request.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Cursor>,
    pub descending: bool,
}

impl PageRequest {
    /// Validates `first` (1 to 100, default 20) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<&str>, descending: bool) -> Result<Self> {
        let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&first) {
            return Err(GatewayError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_PAGE_SIZE}, got {first}; page through longer lists with `after`"),
            ));
        }
        let after = after.map(Cursor::decode).transpose()?;
        Ok(PageRequest {
            first: first as u64,
            after,
            descending,
        })
    }
}

/// One page of rows with the cursor of each.
pub struct Page<T> {
    pub rows: Vec<(Cursor, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// Applies the keyset condition, the order and the limit of `page` to `select`, sorting by
/// `sort` and then `id`. It fetches one row more than asked to learn whether a next page exists.
pub fn keyset<E, C>(select: Select<E>, sort: C, id: C, page: &PageRequest) -> Select<E>
where
    E: EntityTrait,
    C: ColumnTrait + IntoColumnRef + Copy,
{
    let order = if page.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let mut select = select;
    if let Some(cursor) = page.after {
        let (past_sort, past_id): (SimpleExpr, SimpleExpr) = if page.descending {
            (sort.lt(cursor.at), id.lt(cursor.id))
        } else {
            (sort.gt(cursor.at), id.gt(cursor.id))
        };
        select = select.filter(
            Condition::any()
                .add(past_sort)
                .add(Condition::all().add(sort.eq(cursor.at)).add(past_id)),
        );
    }
    select
        .order_by(sort, order.clone())
        .order_by(id, order)
        .limit(page.first + 1)
}

/// Splits the rows fetched by [`keyset`] into a page.
pub fn into_page<T>(
    mut rows: Vec<T>,
    page: &PageRequest,
    cursor_of: impl Fn(&T) -> Cursor,
) -> Page<T> {
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Page {
        rows: rows.into_iter().map(|row| (cursor_of(&row), row)).collect(),
        has_next_page,
        has_previous_page: page.after.is_some(),
    }
}

/// A `LIKE` pattern that matches `keyword` anywhere, with `%`, `_` and `\` taken literally.
pub fn contains_pattern(keyword: &str) -> String {
    let mut pattern = String::with_capacity(keyword.len() + 2);
    pattern.push('%');
    for c in keyword.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `LOWER(column) LIKE pattern ESCAPE '\'`, case-insensitive on SQLite and PostgreSQL alike.
pub fn like_lower(column: impl IntoColumnRef, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            at: DateTime::from_timestamp_micros(1_733_300_000_123_456).unwrap(),
            id: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn cursor_rejects_garbage() {
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("12")).is_err());
    }

    #[test]
    fn page_size_is_bounded() {
        assert!(PageRequest::new(Some(0), None, true).is_err());
        assert!(PageRequest::new(Some(101), None, true).is_err());
        assert_eq!(PageRequest::new(None, None, true).unwrap().first, 20);
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(contains_pattern("50%_A"), "%50\\%\\_a%");
    }
}
