//! Invariants the fuzz targets and property tests check on arbitrary input.

use crate::wire::sse::SseDecoder;
use crate::wire::{Decoder, StreamEvent, WireFormat};

fn decode(format: WireFormat, chunks: &[&[u8]]) -> Vec<String> {
    let mut d = Decoder::new(format);
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut out);
    }
    d.finish(&mut out);
    out.iter().map(describe).collect()
}

fn describe(e: &StreamEvent) -> String {
    match e {
        StreamEvent::Error(err) => format!("Error({:?}, {})", err.kind(), err.message()),
        other => format!("{other:?}"),
    }
}

/// Cuts `data` at `cuts` (taken modulo its length, sorted).
fn split<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::with_capacity(at.len() + 1);
    let mut prev = 0;
    for c in at {
        out.push(&data[prev..c]);
        prev = c;
    }
    out.push(&data[prev..]);
    out
}

/// The stream decoder of `format` gives the same events for `data` whole and cut at `cuts`
/// (and does not panic on anything).
pub fn stream_decoder_split_invariance(format: WireFormat, data: &[u8], cuts: &[usize]) {
    let whole = decode(format, &[data]);
    let pieces = decode(format, &split(data, cuts));
    assert_eq!(
        whole, pieces,
        "{format:?}: the events depend on where the chunks end"
    );
    // At most one error, and nothing after it.
    if let Some(i) = whole.iter().position(|e| e.starts_with("Error(")) {
        assert_eq!(
            i + 1,
            whole.len(),
            "{format:?}: events after an error: {whole:?}"
        );
    }
}

/// The SSE decoder gives the same events whole and cut at `cuts`.
pub fn sse_split_invariance(data: &[u8], cuts: &[usize]) {
    let run = |chunks: &[&[u8]]| {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        let mut f = |e: crate::wire::sse::SseEvent<'_>| {
            out.push((e.event.map(str::to_owned), e.data.to_owned()))
        };
        for c in chunks {
            d.feed(c, &mut f);
        }
        d.finish(&mut f);
        out
    };
    assert_eq!(
        run(&[data]),
        run(&split(data, cuts)),
        "SSE events depend on chunking"
    );
}

/// How many bytes of a fuzz input choose where it is cut: two little-endian `u16`s.
const CUT_PREFIX: usize = 4;

/// Splits a fuzz input into its cut points and the rest. Each `u16` of the prefix is a fraction
/// of the rest's length (0 its start, 65535 its end), so the cuts reach every byte of an input of
/// any length; equal cuts make an empty chunk. The seeds carry such a prefix in front of the
/// fixture (see `fuzz/run.sh`), so a fixture's own bytes are never taken as cut points.
pub fn cut_input(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let (prefix, rest) = data.split_at(data.len().min(CUT_PREFIX));
    let cuts = prefix
        .chunks(2)
        .map(|c| {
            let fraction = u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
            usize::from(fraction) * rest.len() / usize::from(u16::MAX)
        })
        .collect();
    (cuts, rest)
}

/// A fuzz input for a stream decoder: a cut prefix ([`cut_input`]), then the stream. Shared by
/// the fuzz targets and the regression tests, so a kept crash input replays exactly.
pub fn fuzz_stream_decoder(format: WireFormat, data: &[u8]) {
    let (cuts, body) = cut_input(data);
    stream_decoder_split_invariance(format, body, &cuts);
}

/// A fuzz input for the SSE decoder (laid out as for [`fuzz_stream_decoder`]).
pub fn fuzz_sse(data: &[u8]) {
    let (cuts, body) = cut_input(data);
    sse_split_invariance(body, &cuts);
}

/// A fuzz input for the error parser: a little-endian `u16` status (taken into 100..600), then a
/// cut prefix whose first cut splits the rest into a retry header value and a body.
pub fn fuzz_error_parser(data: &[u8]) {
    let (status, rest) = data.split_at(data.len().min(2));
    let status = 100
        + u16::from_le_bytes([
            status.first().copied().unwrap_or(0),
            status.get(1).copied().unwrap_or(0),
        ]) % 500;
    let (cuts, rest) = cut_input(rest);
    let (header, body) = rest.split_at(cuts.first().copied().unwrap_or(0));
    let value = String::from_utf8_lossy(header).into_owned();
    let headers = vec![
        ("retry-after".to_owned(), value.clone()),
        ("retry-after-ms".to_owned(), value),
    ];
    error_parser_total(status, &headers, body);
}

/// The error parser types any status and body without panicking, keeps the status, and always
/// gives a message and an error type.
pub fn error_parser_total(status: u16, headers: &[(String, String)], body: &[u8]) {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            map.append(k, v);
        }
    }
    let e = crate::wire::error::parse_error(status, &map, body);
    assert_eq!(e.status(), Some(status));
    assert!(!e.message().is_empty());
    assert!(!e.error_type().is_empty());
    assert!(!e.to_string().is_empty());
    // A 1xx-3xx status is never worth retrying unless the server says so.
    let server_says_retry = map.get("x-should-retry").is_some_and(|v| v == "true");
    if (100..400).contains(&status) && !server_says_retry {
        assert!(!e.is_retryable(), "HTTP {status} was called retryable: {e}");
    }
    let _ = e.retry_after();
}

#[cfg(test)]
mod tests {
    use super::cut_input;

    #[test]
    fn cut_points_reach_the_whole_input_and_leave_its_bytes_alone() {
        let body = vec![b'x'; 100_000];
        let input = |prefix: &[u8]| [prefix, &body].concat();
        let data = input(&[0xff, 0xff, 0x00, 0x00]);
        let (cuts, rest) = cut_input(&data);
        assert_eq!(rest, &body[..], "the seed's bytes are all there");
        assert_eq!(cuts, [body.len(), 0], "the largest fraction is the end");
        let data = input(&[0x00, 0x80, 0x00, 0x80]);
        assert_eq!(cut_input(&data).0, [50_000; 2], "the middle fraction");
        // Every position of a short input is reachable.
        let short = [0u8, 0, 0, 0, b'a', b'b', b'c'];
        let reached: std::collections::BTreeSet<usize> = (0..=u16::MAX)
            .map(|v| {
                let mut d = short;
                d[..2].copy_from_slice(&v.to_le_bytes());
                cut_input(&d).0[0]
            })
            .collect();
        assert_eq!(reached.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
    }
}
