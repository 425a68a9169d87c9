//! The GraphQL schema: one module per find-partner area, assembled here.
//!
//! Reading order: `overview` (the admin home screen), then the tabs (`matches`, `pools`,
//! `bookings`, `resources`, `recruits`, `plans`, `leads`), then the shared pieces
//! (`connection`, `loaders`, `validate`, `privacy`).

pub mod bookings;
pub mod connection;
pub mod context;
pub mod inputs;
pub mod lead_mutations;
pub mod leads;
pub mod loaders;
pub mod matches;
pub mod members;
pub mod overview;
pub mod plans;
pub mod pools;
pub mod privacy;
pub mod recruits;
pub mod resources;
pub mod validate;
pub mod viewer;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::config::LimitSettings;

/// Every query of the gateway.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    overview::OverviewQuery,
    matches::MatchesQuery,
    pools::PoolsQuery,
    bookings::BookingsQuery,
    resources::ResourcesQuery,
    recruits::RecruitsQuery,
    plans::PlansQuery,
    leads::LeadsQuery,
    members::MembersQuery,
    viewer::ViewerQuery,
);

/// Every mutation of the gateway.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    matches::MatchesMutation,
    pools::PoolsMutation,
    bookings::BookingsMutation,
    resources::ResourcesMutation,
    recruits::RecruitsMutation,
    plans::PlansMutation,
    lead_mutations::LeadsMutation,
    members::MembersMutation,
);

pub type GatewaySchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The schema builder with the query limits applied; the caller adds the state.
pub fn schema_builder(
    limits: &LimitSettings,
) -> SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_directives(limits.max_directives)
}

/// The schema's SDL, as written to `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .finish()
    .sdl()
}
