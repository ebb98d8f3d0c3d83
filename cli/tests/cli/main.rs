//! The `modelport` binary, run as a child process against the replay provider on 127.0.0.1.

mod chat;
mod commands;
mod support;
