//! The error parser: any status, retry headers and body give a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelport::testing::invariants::fuzz_error_parser;

fuzz_target!(|data: &[u8]| fuzz_error_parser(data));
