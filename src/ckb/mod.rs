//! Everything about 存客宝 (CKB): the signature, the lead client, the outbox that delivers
//! stored leads, and the simulator used by tests and the demo.

pub mod client;
pub mod outbox;
pub mod sign;
pub mod simulator;
