pub mod sign;
pub mod simulator;
