//! Integration tests: each starts the real gateway on a loopback port with its own database.

mod access;
mod errors;
mod http;
mod matches;
mod overview;
mod plans;
mod pools;
mod schema;
mod support;
mod tabs;
