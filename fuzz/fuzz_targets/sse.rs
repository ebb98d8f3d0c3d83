//! The SSE decoder: any bytes, cut anywhere, give the same events as whole, and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelport::testing::invariants::sse_split_invariance;

fuzz_target!(|data: &[u8]| {
    let (cuts, body) = data.split_at(data.len().min(2));
    let cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c) * 3).collect();
    sse_split_invariance(body, &cuts);
});
