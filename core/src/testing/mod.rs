//! Test helpers for code built on modelport (feature `testing`): the scripted [`MockTransport`],
//! [`check_event_order`] (the event-order rules of a session as code), the fan-out harness of the
//! benchmarks and the invariants the fuzz targets check.

mod fanout;
pub mod invariants;
mod order;

pub use crate::transport::mock::{MockReply, MockTransport, Recorded, connection_error};
pub use crate::wire::encode::{Answer, split_chars};
pub use fanout::FanOut;
pub use order::{check_event_order, count_kinds};
