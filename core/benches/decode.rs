//! Stream decoder throughput on large streams made of recorded-size chunks: one or a few tokens per
//! delta, chunk envelopes shaped like the recorded gpt-4o and Claude streams in ../shared/fixtures.
//!
//! `cargo bench -p modelport --bench decode`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelport::wire::sse::SseDecoder;
use modelport::wire::{Decoder, WireFormat};

/// Tokens of 1-6 characters, like real deltas (some with characters that JSON escapes).
fn tokens(n: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        " the",
        " weather",
        " in",
        " San",
        " Francisco",
        " is",
        " currently",
        " 18",
        "°C",
        ",",
        " partly",
        " cloudy",
        ".",
        "\n",
        " I",
        "'m",
        " \"quoted\"",
        " and",
        " a",
        " tab\t",
    ];
    (0..n).map(|i| WORDS[i % WORDS.len()].to_owned()).collect()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

fn chat_stream(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for t in tokens(n) {
        out.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-ABfw8WKuB5nUm6ZOk6kFzBxrU2gRA\",\"object\":\"chat.completion.chunk\",\"created\":1727346176,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_5050236cbd\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n",
            json_str(&t)
        ));
    }
    out.push_str("data: {\"id\":\"chatcmpl-ABfw8WKuB5nUm6ZOk6kFzBxrU2gRA\",\"object\":\"chat.completion.chunk\",\"created\":1727346176,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_5050236cbd\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    out.into_bytes()
}

fn responses_stream(n: usize) -> Vec<u8> {
    let mut out = String::from(
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
    );
    for (i, t) in tokens(n).iter().enumerate() {
        out.push_str(&format!(
            "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{},\"item_id\":\"msg_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654\",\"output_index\":0,\"content_index\":0,\"delta\":{},\"logprobs\":[]}}\n\n",
            i + 1,
            json_str(t)
        ));
    }
    out.push_str("event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":99999,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":10,\"output_tokens\":10,\"total_tokens\":20}}}\n\n");
    out.into_bytes()
}

fn anthropic_stream(n: usize) -> Vec<u8> {
    let mut out = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":377,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    for t in tokens(n) {
        out.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{}}}}}\n\n",
            json_str(&t)
        ));
    }
    out.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":65}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    out.into_bytes()
}

/// Feeds `body` in network-sized pieces, as the transport does.
fn decode(format: WireFormat, body: &[u8]) -> usize {
    let mut decoder = Decoder::new(format);
    let mut events = Vec::with_capacity(64);
    let mut count = 0;
    for piece in body.chunks(16 * 1024) {
        decoder.feed(piece, &mut events);
        count += events.len();
        events.clear();
    }
    decoder.finish(&mut events);
    count + events.len()
}

fn bench(c: &mut Criterion) {
    const N: usize = 20_000;
    let streams = [
        ("openai_chat", WireFormat::OpenAiChat, chat_stream(N)),
        (
            "openai_responses",
            WireFormat::OpenAiResponses,
            responses_stream(N),
        ),
        (
            "anthropic_messages",
            WireFormat::AnthropicMessages,
            anthropic_stream(N),
        ),
    ];
    let mut g = c.benchmark_group("decode_bytes");
    for (name, format, body) in &streams {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(*name, |b| b.iter(|| decode(*format, black_box(body))));
    }
    g.finish();
    let mut g = c.benchmark_group("decode_events");
    for (name, format, body) in &streams {
        let events = decode(*format, body) as u64;
        g.throughput(Throughput::Elements(events));
        g.bench_function(*name, |b| b.iter(|| decode(*format, black_box(body))));
    }
    g.finish();
    let (_, _, chat) = &streams[0];
    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Bytes(chat.len() as u64));
    g.bench_function("split_only", |b| {
        b.iter(|| {
            let mut d = SseDecoder::new();
            let mut n = 0usize;
            for piece in black_box(chat).chunks(16 * 1024) {
                d.feed(piece, &mut |e| n += e.data.len());
            }
            d.finish(&mut |e| n += e.data.len());
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
