//! Black-box tests of the CKB simulator over HTTP on 127.0.0.1.

mod faults;
mod helpers;
mod lead;
mod manage;
