//! partner-gateway: the GraphQL gateway of the 找伙伴 (find partner) feature.
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod state;
pub mod http;
pub mod app;
pub mod cli;
pub mod demo;
pub mod telemetry;
