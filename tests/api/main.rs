//! Integration tests: each starts the real gateway on a loopback port with its own database.

mod access;
mod cli;
mod errors;
mod http;
mod leads;
mod matches;
mod overview;
mod plans;
mod pools;
mod processes;
mod schema;
mod security;
mod stats;
mod support;
mod tabs;
