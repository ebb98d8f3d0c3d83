//! One incremental Server-Sent Events decoder, shared by every wire format.
//!
//! Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; `:` starts a comment; `data:`
//! lines of one event are joined with `\n`; a blank line dispatches. Input may be split at any byte,
//! including between the CR and LF of one line break or inside a UTF-8 sequence. An event still
//! pending when the input ends is dispatched by [`SseDecoder::finish`] (several real Anthropic
//! recordings end without the final blank line).

/// One dispatched event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, when present.
    pub event: Option<&'a str>,
    /// The joined `data:` lines.
    pub data: &'a str,
}

/// The incremental decoder.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The unfinished line carried over from the previous chunk.
    line: Vec<u8>,
    /// The previous chunk ended with CR: a leading LF of the next one belongs to that line break.
    after_cr: bool,
    /// The first line has been seen (a byte-order mark is stripped from it).
    started: bool,
    event: String,
    data: Vec<u8>,
    has_data: bool,
}

impl SseDecoder {
    /// A new decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `chunk`, calling `f` for each complete event.
    pub fn feed(&mut self, mut chunk: &[u8], f: &mut impl FnMut(SseEvent<'_>)) {
        // An empty chunk says nothing about the byte after a CR (found by fuzzing).
        if chunk.is_empty() {
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(i) = memchr::memchr2(b'\n', b'\r', chunk) {
            if self.line.is_empty() {
                self.process_line(&chunk[..i], f);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&chunk[..i]);
                self.process_line(&line, f);
                line.clear();
                self.line = line;
            }
            if chunk[i] == b'\r' {
                match chunk.get(i + 1) {
                    Some(b'\n') => chunk = &chunk[i + 2..],
                    Some(_) => chunk = &chunk[i + 1..],
                    None => {
                        self.after_cr = true;
                        chunk = &[];
                    }
                }
            } else {
                chunk = &chunk[i + 1..];
            }
        }
        self.line.extend_from_slice(chunk);
    }

    /// The input ended: processes an unterminated last line and dispatches a pending event.
    pub fn finish(&mut self, f: &mut impl FnMut(SseEvent<'_>)) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, f);
        }
        self.dispatch(f);
    }

    fn process_line(&mut self, mut line: &[u8], f: &mut impl FnMut(SseEvent<'_>)) {
        if !self.started {
            // A byte-order mark can only open the first line.
            self.started = true;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(f);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, f: &mut impl FnMut(SseEvent<'_>)) {
        if !self.has_data {
            self.event.clear();
            return;
        }
        let event = (!self.event.is_empty()).then_some(self.event.as_str());
        match std::str::from_utf8(&self.data) {
            Ok(data) => f(SseEvent { event, data }),
            Err(_) => {
                let data = String::from_utf8_lossy(&self.data);
                f(SseEvent { event, data: &data });
            }
        }
        self.data.clear();
        self.has_data = false;
        self.event.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_chunks(chunks: &[&[u8]]) -> Vec<(Option<String>, String)> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        let mut f = |e: SseEvent<'_>| out.push((e.event.map(str::to_owned), e.data.to_owned()));
        for c in chunks {
            d.feed(c, &mut f);
        }
        d.finish(&mut f);
        out
    }

    fn ev(event: Option<&str>, data: &str) -> (Option<String>, String) {
        (event.map(str::to_owned), data.to_owned())
    }

    #[test]
    fn line_endings_comments_and_multiline_data() {
        let input = b": comment\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\ndata: x\rdata: y\r\rdata: z\n\n";
        let expected = vec![ev(Some("a"), "one\ntwo"), ev(None, "x\ny"), ev(None, "z")];
        assert_eq!(decode_chunks(&[input]), expected);
        // Split at every position, including between CR and LF.
        for i in 0..=input.len() {
            assert_eq!(
                decode_chunks(&[&input[..i], &input[i..]]),
                expected,
                "split at {i}"
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes), expected);
    }

    #[test]
    fn an_empty_chunk_between_cr_and_lf_is_still_one_line_break() {
        assert_eq!(
            decode_chunks(&[b"data: a\r", b"", b"\ndata: b\n\n"]),
            vec![ev(None, "a\nb")]
        );
    }

    #[test]
    fn pending_event_is_flushed_at_end_of_input() {
        assert_eq!(
            decode_chunks(&[b"event: message_stop\ndata: {\"type\":\"message_stop\"}"]),
            vec![ev(Some("message_stop"), "{\"type\":\"message_stop\"}")]
        );
        assert_eq!(
            decode_chunks(&[b"data: a\n"]),
            vec![ev(None, "a")],
            "an event without its blank line is still dispatched"
        );
    }

    #[test]
    fn event_without_data_is_not_dispatched_and_resets_the_name() {
        assert_eq!(
            decode_chunks(&[b"event: ping\n\ndata: x\n\n"]),
            vec![ev(None, "x")]
        );
    }

    #[test]
    fn utf8_split_across_chunks_and_bom() {
        let input = "\u{feff}data: héllo 🌍\n\n".as_bytes();
        for i in 0..=input.len() {
            assert_eq!(
                decode_chunks(&[&input[..i], &input[i..]]),
                vec![ev(None, "héllo 🌍")],
                "split at {i}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(
            decode_chunks(&[b"data: a\xffb\n\n"]),
            vec![ev(None, "a\u{fffd}b")]
        );
    }

    #[test]
    fn field_without_colon_and_space_rules() {
        // "data" alone is an empty data line; only one leading space is stripped.
        assert_eq!(
            decode_chunks(&[b"data\ndata:  two\n\n"]),
            vec![ev(None, "\n two")]
        );
    }
}
