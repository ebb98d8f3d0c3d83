//! The error parser: any status, retry headers and body give a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelport::testing::invariants::error_parser_total;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let split = usize::from(data[2]) % (data.len() - 2);
    let (header, body) = data[3..].split_at(split.min(data.len() - 3));
    let value = String::from_utf8_lossy(header).into_owned();
    let headers = vec![
        ("retry-after".to_owned(), value.clone()),
        ("retry-after-ms".to_owned(), value),
    ];
    error_parser_total(status, &headers, body);
});
