//! An MCP `tools/call` result as the model sees it: one text.
//!
//! Read from the result's JSON (the protocol's own shape) rather than the SDK's types, so a content
//! kind a newer server sends is described, not a failed call.

use serde_json::Value;

use crate::session::tools::ToolResult;

/// The model's text for a result: text contents joined by a blank line, images, audio and
/// resources described in a line each, structured content when there is nothing else; cut to
/// `limit` bytes (on a character boundary) with a note saying how much was left out. `isError`
/// makes it a failure result.
pub(crate) fn to_tool_result(result: &Value, limit: usize) -> ToolResult {
    let mut parts: Vec<String> = Vec::new();
    for block in result["content"].as_array().into_iter().flatten() {
        parts.push(describe(block));
    }
    if parts.iter().all(|p| p.is_empty()) {
        parts.clear();
        if let Some(structured) = result.get("structuredContent").filter(|v| !v.is_null()) {
            parts.push(structured.to_string());
        }
    }
    let text = cut(parts.join("\n\n"), limit);
    if result["isError"].as_bool() == Some(true) {
        ToolResult::failure(text)
    } else {
        ToolResult::text(text)
    }
}

fn describe(block: &Value) -> String {
    let field = |name: &str| block[name].as_str().unwrap_or_default();
    match field("type") {
        "text" => field("text").to_owned(),
        "image" | "audio" => {
            let data = field("data").trim_end();
            let bytes = data.len() / 4 * 3 - (data.len() - data.trim_end_matches('=').len());
            format!(
                "[{} content: {}, {bytes} bytes, not shown to the model]",
                field("type"),
                block["mimeType"].as_str().unwrap_or("unknown type")
            )
        }
        "resource" => {
            let r = &block["resource"];
            let uri = r["uri"].as_str().unwrap_or_default();
            match r["text"].as_str() {
                Some(text) => format!("[resource {uri}]\n{text}"),
                None => format!(
                    "[resource {uri}: {} binary data, not shown to the model]",
                    r["mimeType"].as_str().unwrap_or("unknown type")
                ),
            }
        }
        "resource_link" => format!("[resource link: {} {}]", field("name"), field("uri")),
        other => format!("[{other} content, not shown to the model]"),
    }
}

/// `text` within `limit` bytes; what is cut is said.
fn cut(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[output cut: {} of {} bytes shown; the server's maxOutputBytes is {limit}]",
        &text[..end],
        end,
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tools::ToolResultType;
    use serde_json::json;

    #[test]
    fn texts_are_joined_and_other_content_is_described() {
        // Content blocks as the MCP schema (2025-06-18 and later) defines them.
        let result = json!({"content": [
            {"type": "text", "text": "first"},
            // The 8-byte PNG signature.
            {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "file:///tmp/note.txt", "text": "note body"}},
            {"type": "resource_link", "uri": "file:///x", "name": "x"},
        ]});
        let r = to_tool_result(&result, 1000);
        assert_eq!(r.result_type, ToolResultType::Success);
        assert_eq!(
            r.text_result_for_llm,
            "first\n\n[image content: image/png, 8 bytes, not shown to the model]\n\n\
             [resource file:///tmp/note.txt]\nnote body\n\n[resource link: x file:///x]"
        );
    }

    #[test]
    fn is_error_is_a_failure_and_structured_content_fills_an_empty_answer() {
        let failed = to_tool_result(
            &json!({"content": [{"type": "text", "text": "no such row"}], "isError": true}),
            100,
        );
        assert_eq!(failed.result_type, ToolResultType::Failure);
        assert_eq!(failed.text_result_for_llm, "no such row");
        let structured =
            to_tool_result(&json!({"content": [], "structuredContent": {"a": 1}}), 100);
        assert_eq!(structured.text_result_for_llm, r#"{"a":1}"#);
    }

    #[test]
    fn output_over_the_limit_is_cut_on_a_character_boundary_with_a_note() {
        let text = "é".repeat(10); // 20 bytes
        let r = to_tool_result(&json!({"content": [{"type": "text", "text": text}]}), 5);
        assert_eq!(
            r.text_result_for_llm,
            "éé\n[output cut: 4 of 20 bytes shown; the server's maxOutputBytes is 5]"
        );
    }
}
