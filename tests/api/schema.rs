//! The committed SDL matches the schema the code builds.

#[test]
fn schema_file_matches_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    let built = partner_gateway::graphql::sdl();
    assert!(
        committed == built,
        "schema.graphql differs from the schema the code builds; run `cargo run -- export-schema > schema.graphql` and review the diff"
    );
}
