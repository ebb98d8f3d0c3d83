//! The Rust examples live beside this file (`quickstart.rs`, `tools.rs`, `streaming.rs`); run one with
//! `cargo run --example quickstart`.
