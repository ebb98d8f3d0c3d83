//! Short property runs of the fuzz invariants (the long runs are cargo-fuzz, see TESTING.md): every
//! decoder and the error parser on arbitrary bytes, on streams assembled from real SSE fragments,
//! and on mutated copies of the fixtures, cut at arbitrary points.

use proptest::prelude::*;

use crate::test_support::own_fixtures;
use crate::testing::invariants::{
    error_parser_total, fuzz_error_parser, fuzz_sse, fuzz_stream_decoder, sse_split_invariance,
    stream_decoder_split_invariance,
};
use crate::wire::WireFormat;

const FORMATS: [WireFormat; 3] = [
    WireFormat::OpenAiChat,
    WireFormat::OpenAiResponses,
    WireFormat::AnthropicMessages,
];

/// Pieces real streams are made of, so that random streams get past the SSE and JSON layers.
const FRAGMENTS: &[&str] = &[
    "data: ",
    "event: ",
    ": keep-alive",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "data: [DONE]\n\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "é",
    "🌍",
    "\\u00e9",
    "\\\"",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}",
    "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}",
    "{\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}",
    "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\"}}",
    "{\"type\":\"response.function_call_arguments.delta\",\"output_index\":0,\"delta\":\"{}\"}",
    "{\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}}",
    "{\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}}",
    "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5}}}",
    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}",
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"x\\\":1}\"}}",
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}",
    "{\"type\":\"content_block_stop\",\"index\":0}",
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":4}}",
    "{\"type\":\"message_stop\"}",
    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
];

fn assembled() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0..FRAGMENTS.len(), 0..60).prop_map(|picks| {
        picks
            .into_iter()
            .flat_map(|i| FRAGMENTS[i].bytes())
            .collect()
    })
}

/// Every fixture stream of the project (recorded ones stay in ../shared and run in wire::tests).
fn corpus() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for folder in ["openai-chat", "openai-responses", "anthropic-messages"] {
        let dir = own_fixtures().join("wire").join(folder);
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "sse") {
                files.push(std::fs::read(path).expect("read"));
            }
        }
    }
    files
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let corpus = corpus();
    let n = corpus.len();
    (
        0..n,
        proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
    )
        .prop_map(move |(i, edits)| {
            let mut data = corpus[i].clone();
            for (at, byte, op) in edits {
                if data.is_empty() {
                    break;
                }
                let at = at % data.len();
                match op {
                    0 => data[at] = byte,
                    1 => {
                        data.remove(at);
                    }
                    _ => data.insert(at, byte),
                }
            }
            data
        })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        assembled(),
        mutated(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sse_decoder(data in input(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        sse_split_invariance(&data, &cuts);
    }

    #[test]
    fn stream_decoders(data in input(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        for format in FORMATS {
            stream_decoder_split_invariance(format, &data, &cuts);
        }
    }

    #[test]
    fn error_parser(
        status in 100u16..600,
        headers in proptest::collection::vec(
            (prop_oneof![Just("retry-after".to_owned()), Just("retry-after-ms".to_owned()),
                         Just("x-should-retry".to_owned()), Just("x-request-id".to_owned()), "[a-z-]{1,12}"],
             "[ -~]{0,40}"),
            0..4),
        body in prop_oneof![proptest::collection::vec(any::<u8>(), 0..512), assembled()],
    ) {
        error_parser_total(status, &headers, &body);
    }
}

/// Inputs that once broke a decoder (found by cargo-fuzz), kept as regression tests and replayed
/// exactly as the fuzz target read them: tests/fixtures/fuzz-regressions/<target>/*.
#[test]
fn fuzz_regressions() {
    let dir = own_fixtures().join("fuzz-regressions");
    let mut count = 0;
    for target in std::fs::read_dir(&dir).expect("fuzz-regressions") {
        let target = target.expect("entry").path();
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        for file in std::fs::read_dir(&target).expect("dir") {
            let data = std::fs::read(file.expect("entry").path()).expect("read");
            match name.as_str() {
                "sse" => fuzz_sse(&data),
                "error_parser" => fuzz_error_parser(&data),
                "openai_chat" => fuzz_stream_decoder(WireFormat::OpenAiChat, &data),
                "openai_responses" => fuzz_stream_decoder(WireFormat::OpenAiResponses, &data),
                "anthropic_messages" => fuzz_stream_decoder(WireFormat::AnthropicMessages, &data),
                other => panic!("unknown fuzz target folder {other}"),
            }
            count += 1;
        }
    }
    assert!(count >= 2, "the kept crash inputs are there");
}
