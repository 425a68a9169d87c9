//! Relay connections with a `totalCount` that is computed only when asked for.

use std::future::Future;

use async_graphql::{
    connection::{Connection, Edge},
    Object, OutputType,
};
use futures::future::BoxFuture;

use crate::{db::page::Page, error::Result};

/// The extra field every connection carries.
pub struct TotalCount {
    count: Box<dyn Fn() -> BoxFuture<'static, Result<u64>> + Send + Sync>,
}

impl TotalCount {
    pub fn new<F, Fut>(count: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<u64>> + Send + 'static,
    {
        TotalCount {
            count: Box::new(move || Box::pin(count())),
        }
    }
}

#[Object]
impl TotalCount {
    /// Number of items that match the filters, over all pages. It costs one COUNT query, so
    /// ask for it on the first page only.
    async fn total_count(&self) -> Result<i64> {
        Ok((self.count)().await? as i64)
    }
}

/// A connection of `N` with its total count.
pub type PageConnection<N> = Connection<String, N, TotalCount>;

/// Turns a page of rows into a connection of nodes.
pub fn connection<M, N: OutputType>(
    page: Page<M>,
    to_node: impl Fn(M) -> N,
    total: TotalCount,
) -> PageConnection<N> {
    let mut connection =
        Connection::with_additional_fields(page.has_previous_page, page.has_next_page, total);
    connection.edges.extend(
        page.rows
            .into_iter()
            .map(|(cursor, row)| Edge::new(cursor.encode(), to_node(row))),
    );
    connection
}
