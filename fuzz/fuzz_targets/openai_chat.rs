//! The openai_chat stream decoder: any bytes, cut anywhere, give the same events as whole, and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelport::testing::invariants::stream_decoder_split_invariance;
use modelport::wire::WireFormat;

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose two cut points; the rest is the stream.
    let (cuts, body) = data.split_at(data.len().min(2));
    let cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c) * 7).collect();
    stream_decoder_split_invariance(WireFormat::OpenAiChat, body, &cuts);
});
