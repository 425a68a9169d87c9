//! The overview resolver in-process, on a SQLite database of 10,000 match records, without
//! HTTP: regressions in the resolver and its SQL show here without a load generator.

use async_graphql::dataloader::DataLoader;
use criterion::{criterion_group, criterion_main, Criterion};
use partner_gateway::{
    app::App,
    auth::Caller,
    config::Settings,
    demo::{self, DemoOptions, DemoSize},
    domain::Role,
    graphql::{loaders::DbLoader, schema_builder},
};

const OVERVIEW: &str = "{ findPartnerOverview(window: LAST_30_DAYS) { since tabs { key count }
    matchesByKind { kind matches matchesWithLead leadsAccepted friendsAdded }
    totals { matches leads { submitted accepted pending friendsAdded deliverySuccessRate } }
    plans { plan { name } local { submitted accepted friendsAdded } lastLeadAt } } }";

fn overview(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let settings =
        Settings::try_from_args(["bench", "--database-url", &url, "--outbox-worker", "false"])
            .unwrap();
    let schema = runtime.block_on(async {
        let state = App::build_state(settings).await.unwrap();
        demo::generate(
            &state.db,
            DemoSize::scaled(10_000),
            1,
            &DemoOptions::default(),
        )
        .await
        .unwrap();
        schema_builder(&state.settings.limits).data(state).finish()
    });
    let db = runtime.block_on(async {
        schema
            .data::<partner_gateway::state::AppState>()
            .unwrap()
            .db
            .clone()
    });
    let caller = Caller {
        token_id: 0,
        name: "bench".into(),
        role: Role::Admin,
    };

    c.bench_function("findPartnerOverview, 10,000 matches", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = async_graphql::Request::new(OVERVIEW)
                .data(caller.clone())
                .data(DataLoader::new(DbLoader::new(db.clone()), tokio::spawn));
            let response = schema.execute(request).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
        })
    });
}

criterion_group!(benches, overview);
criterion_main!(benches);
