//! Provider error bodies and headers, for every format: OpenAI, Azure, LiteLLM, vLLM and llama.cpp
//! `{error:{message,type,param,code}}` (code a string, null or an integer), Ollama `{error:"text"}`,
//! vLLM's top-level `{object:"error",message,type,code}` and Anthropic
//! `{type:"error",error:{type,message},request_id}`.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind, TimeoutKind};

/// The error codes and types providers use, mapped to the kind a caller acts on.
pub(crate) fn kind_for_code(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "overloaded_error"
        | "api_error"
        | "server_error"
        | "internal_error"
        | "service_unavailable" => ErrorKind::Server,
        "rate_limit_error"
        | "rate_limit_exceeded"
        | "insufficient_quota"
        | "tokens"
        | "requests" => ErrorKind::RateLimited,
        "authentication_error" | "invalid_api_key" | "unauthorized" => ErrorKind::Auth,
        "permission_error" | "permission_denied" => ErrorKind::PermissionDenied,
        "not_found_error" | "model_not_found" | "DeploymentNotFound" | "NotFound" => {
            ErrorKind::NotFound
        }
        "context_length_exceeded" | "string_above_max_length" | "exceed_context_size_error" => {
            ErrorKind::ContextLength
        }
        "invalid_request_error" | "request_too_large" | "invalid_prompt" | "invalid_value" => {
            ErrorKind::InvalidRequest
        }
        "timeout_error" => ErrorKind::Timeout,
        _ => return None,
    })
}

fn looks_like_context_overflow(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "context length",
        "context_length",
        "maximum context",
        "context window",
        "context size",
        "prompt is too long",
        "too many tokens",
        "exceeds the context",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// What an error body says.
#[derive(Debug, Default)]
pub(crate) struct ErrorBody {
    pub message: Option<String>,
    /// The provider's `code`, or its `type` when there is no usable code.
    pub code: Option<String>,
    pub request_id: Option<String>,
}

fn string_or_number(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads an error object (`{message, type, code}`), wherever it sits in the body.
pub(crate) fn read_error_value(v: &Value) -> ErrorBody {
    let obj = match v.get("error") {
        Some(e @ Value::Object(_)) => e,
        Some(Value::String(s)) => {
            return ErrorBody {
                message: Some(s.clone()),
                code: None,
                request_id: v.get("request_id").and_then(string_or_number),
            };
        }
        _ => v,
    };
    let message = obj
        .get("message")
        .or_else(|| obj.get("detail"))
        .and_then(|m| match m {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        });
    // A numeric code (llama.cpp's 400, LiteLLM's "429") repeats the status; the type says more.
    let code = obj
        .get("code")
        .and_then(string_or_number)
        .filter(|c| !c.bytes().all(|b| b.is_ascii_digit()))
        .or_else(|| {
            obj.get("type")
                .and_then(Value::as_str)
                .filter(|t| *t != "error")
                .map(str::to_owned)
        });
    ErrorBody {
        message,
        code,
        request_id: v.get("request_id").and_then(string_or_number),
    }
}

/// The request id from the headers providers use.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-request-id", "request-id", "apim-request-id"]
        .iter()
        .find_map(|h| headers.get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// How long the provider asks us to wait: `retry-after-ms` (milliseconds), else `retry-after` in
/// seconds or as an HTTP date. Negative, non-finite or unparsable values give `None`.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && (0.0..1e12).contains(&ms)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && (0.0..1e9).contains(&secs))
            .then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Turns an HTTP error response into a typed [`Error`].
pub fn parse_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed = serde_json::from_slice::<Value>(body)
        .ok()
        .map(|v| read_error_value(&v))
        .unwrap_or_default();
    let text_body = || {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        (!text.is_empty()).then(|| {
            let mut t: String = text.chars().take(500).collect();
            if t.len() < text.len() {
                t.push_str("...");
            }
            t
        })
    };
    let message = parsed.message.clone().or_else(text_body);

    let by_code = parsed.code.as_deref().and_then(kind_for_code);
    let mut kind = match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        409 => ErrorKind::Server,
        429 => ErrorKind::RateLimited,
        400..=499 => ErrorKind::InvalidRequest,
        // A redirect that was not followed (no Location, or too many hops): retrying will not help,
        // the base_url needs fixing.
        300..=399 => ErrorKind::Config,
        // Not an error status at all: an answer modelport cannot read.
        0..=299 => ErrorKind::Decode,
        _ => ErrorKind::Server,
    };
    if kind == ErrorKind::InvalidRequest
        && (by_code == Some(ErrorKind::ContextLength)
            || message.as_deref().is_some_and(looks_like_context_overflow))
    {
        kind = ErrorKind::ContextLength;
    }

    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or(if status == 529 { "Overloaded" } else { "Error" });
    let mut text = match &message {
        Some(m) => format!("the provider answered HTTP {status} {reason}: {m}"),
        None => format!("the provider answered HTTP {status} {reason}"),
    };
    if kind == ErrorKind::Config {
        let to = headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| format!(" to {l}"))
            .unwrap_or_default();
        text.push_str(&format!(
            " (a redirect{to} that was not followed): set base_url to the address the provider \
             answers on, e.g. https:// instead of http://"
        ));
    }
    let mut err = Error::new(kind, text).with_status(status);
    if kind == ErrorKind::Timeout {
        err = err.with_timeout_kind(TimeoutKind::Server);
    }
    if let Some(code) = parsed.code {
        err = err.with_code(code);
    }
    if let Some(id) = request_id(headers).or(parsed.request_id) {
        err = err.with_request_id(id);
    }
    if let Some(after) = retry_after(headers, SystemTime::now()) {
        err = err.with_retry_after(after);
    }
    match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
        Some("true") => err = err.with_should_retry(true),
        Some("false") => err = err.with_should_retry(false),
        _ => {}
    }
    err
}

/// An error reported inside a stream (after HTTP 200): Chat `{error:{...}}` chunks, Responses `error`
/// and `response.failed`, Anthropic `error` events. Transient codes are `Server` so that the engine
/// may retry when nothing was output yet.
pub(crate) fn stream_error(body: ErrorBody) -> Error {
    let kind = body
        .code
        .as_deref()
        .and_then(kind_for_code)
        .unwrap_or(ErrorKind::Server);
    let kind = if kind == ErrorKind::InvalidRequest
        && body
            .message
            .as_deref()
            .is_some_and(looks_like_context_overflow)
    {
        ErrorKind::ContextLength
    } else {
        kind
    };
    let message = match (&body.message, &body.code) {
        (Some(m), _) => format!("the provider reported an error mid-stream: {m}"),
        (None, Some(c)) => format!("the provider reported an error mid-stream: {c}"),
        (None, None) => "the provider reported an error mid-stream".to_owned(),
    };
    let mut err = Error::new(kind, message);
    if let Some(code) = body.code {
        err = err.with_code(code);
    }
    if let Some(id) = body.request_id {
        err = err.with_request_id(id);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_status_below_400_is_never_retried() {
        let e = parse_error(
            301,
            &headers(&[("location", "https://api.example.com/v1/chat/completions")]),
            b"",
        );
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(!e.is_retryable());
        assert!(
            e.message()
                .contains("redirect to https://api.example.com/v1/chat/completions")
                && e.message().contains("base_url"),
            "{e}"
        );
        for status in [100, 200, 204, 304, 399] {
            let e = parse_error(status, &HeaderMap::new(), b"{}");
            assert!(!e.is_retryable(), "HTTP {status}: {e:?}");
        }
        // The server's own word still wins.
        let e = parse_error(200, &headers(&[("x-should-retry", "true")]), b"");
        assert!(e.is_retryable());
    }

    #[test]
    fn openai_error_with_string_code_and_request_id() {
        let body = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        let e = parse_error(429, &headers(&[("x-request-id", "req_123")]), body);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.code(), Some("insufficient_quota"));
        assert_eq!(e.request_id(), Some("req_123"));
        assert_eq!(e.status(), Some(429));
        assert!(e.is_quota());
        assert!(!e.is_retryable());
        assert!(e.message().contains("You exceeded your current quota"));
    }

    #[test]
    fn null_and_integer_codes_fall_back_to_type() {
        let e = parse_error(
            400,
            &HeaderMap::new(),
            br#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(e.code(), Some("invalid_request_error"));
        // llama.cpp: integer code repeating the status.
        let e = parse_error(
            400,
            &HeaderMap::new(),
            br#"{"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::ContextLength);
        assert_eq!(e.code(), Some("exceed_context_size_error"));
        // LiteLLM / Azure: "429" as a string.
        let e = parse_error(
            429,
            &HeaderMap::new(),
            br#"{"error":{"message":"Rate limit","type":"None","param":null,"code":"429"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.code(), Some("None"));
    }

    #[test]
    fn anthropic_error_body() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011"}"#;
        let e = parse_error(529, &headers(&[("request-id", "req_hdr")]), body);
        assert_eq!(e.kind(), ErrorKind::Server);
        assert_eq!(e.code(), Some("overloaded_error"));
        assert_eq!(
            e.request_id(),
            Some("req_hdr"),
            "the header wins over the body"
        );
        assert!(e.is_retryable());
        let e = parse_error(
            401,
            &HeaderMap::new(),
            br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_9"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert_eq!(e.request_id(), Some("req_9"));
    }

    #[test]
    fn ollama_string_error_and_plain_text_bodies() {
        let e = parse_error(
            404,
            &HeaderMap::new(),
            br#"{"error":"model \"llama9\" not found, try pulling it first"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("llama9"));
        let e = parse_error(502, &HeaderMap::new(), b"<html>Bad gateway</html>");
        assert_eq!(e.kind(), ErrorKind::Server);
        assert!(e.message().contains("Bad gateway"));
    }

    #[test]
    fn azure_request_id_and_status_mapping() {
        let e = parse_error(
            403,
            &headers(&[("apim-request-id", "apim-1")]),
            br#"{"error":{"code":"PermissionDenied","message":"no access"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(e.request_id(), Some("apim-1"));
        for (status, kind) in [
            (408, ErrorKind::Timeout),
            (409, ErrorKind::Server),
            (413, ErrorKind::InvalidRequest),
            (500, ErrorKind::Server),
            (503, ErrorKind::Server),
        ] {
            assert_eq!(parse_error(status, &HeaderMap::new(), b"").kind(), kind);
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "1500")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(7))
        );
        // ms wins over seconds.
        assert_eq!(
            retry_after(
                &headers(&[("retry-after-ms", "250"), ("retry-after", "9")]),
                now
            ),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "NaN")]), now),
            None
        );
    }

    #[test]
    fn x_should_retry_is_recorded() {
        let e = parse_error(500, &headers(&[("x-should-retry", "false")]), b"{}");
        assert!(!e.is_retryable());
        let e = parse_error(400, &headers(&[("x-should-retry", "true")]), b"{}");
        assert!(e.is_retryable());
    }
}
