//! partner-gateway: the GraphQL gateway of the 找伙伴 (find partner) feature.
pub mod app;
pub mod auth;
pub mod ckb;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod state;
pub mod telemetry;
