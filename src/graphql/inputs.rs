//! Input types shared by several tabs.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};

use super::validate;
use crate::error::Result;

/// The two ends of a checked [`DateRange`]; `None` leaves that end open.
pub type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A time range, `from` inclusive and `to` exclusive. Either end may be left open.
#[derive(InputObject, Clone, Copy, Default)]
pub struct DateRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl DateRange {
    /// Returns `(from, to)` after checking that the range is not reversed.
    pub fn checked(range: Option<DateRange>, field: &str) -> Result<Bounds> {
        let range = range.unwrap_or_default();
        validate::date_range(field, range.from, range.to)?;
        Ok((range.from, range.to))
    }
}

/// Keyword filters shorter than this are ignored; longer than [`MAX_KEYWORD`] is an error.
pub const MAX_KEYWORD: usize = 50;

/// Trims a keyword filter; a blank keyword means no filter.
pub fn keyword(value: Option<String>) -> Result<Option<String>> {
    validate::optional_text("keyword", value.as_deref(), MAX_KEYWORD)
}
