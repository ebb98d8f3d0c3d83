//! The SSE decoder: any bytes, cut anywhere, give the same events as whole, and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelport::testing::invariants::fuzz_sse;

fuzz_target!(|data: &[u8]| fuzz_sse(data));
