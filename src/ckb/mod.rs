//! Everything about 存客宝 (CKB): the signature, the lead client, the outbox that delivers
//! stored leads, the management API client with its statistics cache and friend-status sync,
//! and the simulator used by tests and the demo.

pub mod client;
pub mod manage;
pub mod outbox;
pub mod sign;
pub mod simulator;
pub mod stats;
pub mod sync;
