//! Helpers shared by the unit tests: fixture locations and the split-everywhere decode check.

use std::path::PathBuf;

use crate::wire::{Decoder, ModelResponse, ResponseBuilder, StreamEvent, WireFormat};

/// `../shared/fixtures` beside the checkout (or `MODELPORT_SHARED_FIXTURES`). When absent: panics
/// under CI=true, otherwise returns `None` after saying which folder is missing.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("MODELPORT_SHARED_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "the shared fixtures folder {} is missing, and CI=true requires it",
            dir.display()
        );
    }
    eprintln!(
        "skipping: the shared fixtures folder {} is absent (set MODELPORT_SHARED_FIXTURES)",
        dir.display()
    );
    None
}

/// The project's own fixtures: `tests/fixtures` at the workspace root.
pub fn own_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// The outcome of decoding one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The assembled answer.
    pub response: ModelResponse,
    /// The kinds of the errors reported, in order.
    pub errors: Vec<crate::ErrorKind>,
    /// The text deltas, concatenated (equal to the answer text unless the stream failed).
    pub streamed_text: String,
}

/// Decodes `chunks` in order.
pub fn decode_chunks<'a>(
    format: WireFormat,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Decoded {
    let mut decoder = Decoder::new(format);
    let mut events = Vec::new();
    for c in chunks {
        decoder.feed(c, &mut events);
    }
    decoder.finish(&mut events);
    let mut builder = ResponseBuilder::default();
    let mut errors = Vec::new();
    let mut streamed_text = String::new();
    for e in &events {
        match e {
            StreamEvent::Error(err) => errors.push(err.kind()),
            StreamEvent::TextDelta(t) => streamed_text.push_str(t),
            _ => {}
        }
        builder.push(e);
    }
    Decoded {
        response: builder.finish(),
        errors,
        streamed_text,
    }
}

/// Decodes `body` whole, one byte at a time, in uneven chunks, and (up to 8 KB) split in two at every
/// byte; every way must give the same result, which is returned.
pub fn decode_every_way(format: WireFormat, body: &[u8], name: &str) -> Decoded {
    let whole = decode_chunks(format, [body]);
    let bytewise = decode_chunks(format, body.chunks(1));
    assert_eq!(whole, bytewise, "{name}: byte-by-byte decode differs");
    let uneven = decode_chunks(format, body.chunks(7));
    assert_eq!(whole, uneven, "{name}: 7-byte chunk decode differs");
    if body.len() <= 8 * 1024 {
        for i in 0..=body.len() {
            let split = decode_chunks(format, [&body[..i], &body[i..]]);
            assert_eq!(whole, split, "{name}: split at byte {i} differs");
        }
    }
    whole
}
