//! Tests of the pages the gateway serves: /admin (the find-partner console) and /graphiql.
//!
//! The tests marked `#[ignore]` drive a real headless Chromium over WebDriver and need
//! Debian's `chromium` and `chromium-driver` packages (/usr/bin/chromium, /usr/bin/chromedriver;
//! set `CHROMIUM` and `CHROMEDRIVER` for other paths). Run them with
//!
//! ```text
//! apt-get install chromium chromium-driver
//! cargo test --test browser -- --ignored
//! ```
//!
//! They write screenshots to target/test-output/browser/. The other tests need no browser and
//! run with plain `cargo test`.

mod admin;
mod graphiql;
mod headers;
mod support;
