//! Structured output: answers as JSON matching a schema. The schema goes on the wire
//! (`responseFormat`), the answer is validated here (JSON Schema), and an answer that does not
//! validate gets one more try telling the model what was wrong, then a typed error.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{SendOptions, Session};
use crate::error::{Error, Result};
use crate::types::ResponseFormat;

/// OpenAI strict mode's rules applied to a schema: every object gets `additionalProperties: false`
/// and lists all its properties as required; a property that was optional becomes nullable (its
/// type gains "null", or it is wrapped in `anyOf` with `{"type": "null"}`). Applied recursively to
/// properties, items, `anyOf`/`oneOf`/`allOf` and `$defs`/`definitions`.
pub fn strict_schema(schema: &Value) -> Value {
    let mut out = schema.clone();
    make_strict(&mut out);
    out
}

/// The format as sent: a strict schema transformed by [`strict_schema`], anything else as is.
pub fn prepared(format: &ResponseFormat) -> ResponseFormat {
    match format {
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict: Some(true),
        } => ResponseFormat::JsonSchema {
            name: name.clone(),
            schema: strict_schema(schema),
            strict: Some(true),
        },
        other => other.clone(),
    }
}

fn make_strict(v: &mut Value) {
    let Value::Object(map) = v else {
        return;
    };
    for key in ["$defs", "definitions", "properties"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            for child in children.values_mut() {
                make_strict(child);
            }
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(items)) = map.get_mut(key) {
            items.iter_mut().for_each(make_strict);
        }
    }
    if let Some(items) = map.get_mut("items") {
        make_strict(items);
    }
    let is_object = map.get("type") == Some(&json!("object")) || map.contains_key("properties");
    if !is_object {
        return;
    }
    map.insert("additionalProperties".into(), Value::Bool(false));
    let required: Vec<String> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let Some(Value::Object(props)) = map.get_mut("properties") else {
        map.insert("required".into(), json!([]));
        return;
    };
    let names: Vec<String> = props.keys().cloned().collect();
    for name in &names {
        if !required.contains(name)
            && let Some(p) = props.get_mut(name)
        {
            make_nullable(p);
        }
    }
    map.insert("required".into(), json!(names));
}

fn make_nullable(p: &mut Value) {
    let Value::Object(m) = p else {
        return;
    };
    match m.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = t.clone();
            m.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
        }
        _ => {
            let inner = Value::Object(std::mem::take(m));
            let mut wrapped = Map::new();
            wrapped.insert("anyOf".into(), json!([inner, {"type": "null"}]));
            *m = wrapped;
        }
    }
}

/// What the model is told when its answer did not fit the schema.
fn retry_prompt(errors: &[String]) -> String {
    format!(
        "Your previous answer does not match the required JSON schema: {}. Answer again with only \
         the corrected JSON.",
        errors.join("; ")
    )
}

/// Checks `text` against `schema`: the parsed value, or the errors.
pub fn validate(schema: &Value, text: &str) -> std::result::Result<Value, Vec<String>> {
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| vec![format!("the answer is not JSON: {e}")])?;
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| vec![format!("the schema itself is not valid: {e}")])?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("at {path}: {e}")
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

impl Session {
    /// Sends and returns the answer as JSON validated against `format`'s schema. An answer that
    /// does not validate is retried `retries` times (the model is told what was wrong); then an
    /// [`crate::ErrorKind::InvalidOutput`] error carries the raw text and the validation errors.
    pub async fn send_and_parse_json(
        &self,
        options: impl Into<SendOptions>,
        format: ResponseFormat,
        retries: usize,
        timeout: Option<std::time::Duration>,
    ) -> Result<Value> {
        format.check()?;
        // In strict mode the model answers the transformed schema (optional properties as null).
        let schema = prepared(&format).schema();
        let mut options = options.into();
        options.response_format = Some(format.clone());
        let mut attempt = 0;
        loop {
            let answer = self.send_and_wait(options.clone(), timeout).await?;
            let raw = answer
                .as_ref()
                .and_then(|e| e.content().map(str::to_owned))
                .unwrap_or_default();
            match validate(&schema, &raw) {
                Ok(value) => return Ok(value),
                Err(errors) if attempt < retries => {
                    attempt += 1;
                    options = SendOptions {
                        prompt: retry_prompt(&errors),
                        response_format: Some(format.clone()),
                        cancel: options.cancel.take(),
                        ..Default::default()
                    };
                }
                Err(errors) => {
                    return Err(Error::invalid_output(
                        format!(
                            "the answer does not match the schema \"{}\" after {} tries: {}",
                            format.name(),
                            attempt + 1,
                            errors.join("; ")
                        ),
                        raw,
                        errors,
                    ));
                }
            }
        }
    }

    /// Sends and returns the answer as a `T`: its JSON schema (schemars, in strict mode) goes to
    /// the provider, the answer is validated, retried once when it does not fit, and deserialised.
    pub async fn send_and_parse<T: JsonSchema + DeserializeOwned>(
        &self,
        options: impl Into<SendOptions>,
    ) -> Result<T> {
        let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
        let name: String = T::schema_name()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let format = ResponseFormat::JsonSchema {
            name,
            schema,
            strict: Some(true),
        };
        let value = self.send_and_parse_json(options, format, 1, None).await?;
        serde_json::from_value(value.clone()).map_err(|e| {
            Error::invalid_output(
                format!("the answer matches the schema but not the Rust type: {e}"),
                value.to_string(),
                vec![e.to_string()],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_mode_closes_objects_and_makes_optional_properties_nullable() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
                "pet": {"$ref": "#/$defs/Pet"}
            },
            "required": ["name"],
            "$defs": {"Pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}}, "required": ["kind"]}}
        });
        // What OpenAI's structured-outputs guide requires of such a schema (JSON object keys, and
        // so the required list, come out sorted).
        let expected = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": ["integer", "null"]},
                "tags": {"type": ["array", "null"], "items": {"type": "object",
                    "properties": {"k": {"type": ["string", "null"]}},
                    "required": ["k"], "additionalProperties": false}},
                "pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}]}
            },
            "required": ["age", "name", "pet", "tags"],
            "additionalProperties": false,
            "$defs": {"Pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}},
                "required": ["kind"], "additionalProperties": false}}
        });
        assert_eq!(strict_schema(&schema), expected);
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let schema =
            json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
        assert_eq!(validate(&schema, r#" {"n": 3} "#).unwrap(), json!({"n": 3}));
        let errors = validate(&schema, r#"{"n": "three"}"#).unwrap_err();
        assert!(
            errors[0].contains("/n") && errors[0].contains("integer"),
            "{errors:?}"
        );
        let errors = validate(&schema, "Sure! Here it is").unwrap_err();
        assert!(
            errors[0].starts_with("the answer is not JSON"),
            "{errors:?}"
        );
    }
}
