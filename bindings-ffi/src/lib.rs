#![doc = include_str!("../README.md")]
//!
//! The Rust side of the C ABI: every exported function converts its arguments, calls core, and maps
//! the outcome to a status code. No provider logic lives here. The header `include/modelport.h` is
//! generated from these sources by `build.rs` (cbindgen).

mod client;
mod error;
mod events;
mod gate;
mod hooks;
mod logging;
mod models;
#[cfg(test)]
mod overhead;
mod provider;
mod replay;
mod runtime;
mod session;
mod tools;
mod util;
