//! Secrets that never show themselves: API keys, bearer tokens, and the values of sensitive headers.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeMap;

/// A secret string (API key, bearer token). `Debug` and `Display` print `[redacted]`; serde reads it
/// from a plain string and never writes it back out.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Arc<str>);

impl SecretString {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(Arc::from(value.into()))
    }

    /// The secret itself. Call this only where the value goes onto the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString::new(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretString::new)
    }
}

/// Whether a header's value is a credential, by its name (case-insensitive): `authorization`,
/// `proxy-authorization`, `api-key`, `x-api-key`, and any name containing `key`, `token`, `secret`,
/// `password`, `auth`, `signature` or `cookie` (`Ocp-Apim-Subscription-Key`, `X-Auth-Token`...).
pub fn is_sensitive_header(name: &str) -> bool {
    const PARTS: [&str; 7] = [
        "key",
        "token",
        "secret",
        "password",
        "auth",
        "signature",
        "cookie",
    ];
    let name = name.trim().to_ascii_lowercase();
    PARTS.iter().any(|part| name.contains(part))
}

/// One configured header value: plain, or a secret when the header's name is sensitive.
#[derive(Clone, PartialEq, Eq)]
enum HeaderValue {
    Plain(String),
    Secret(SecretString),
}

/// Extra HTTP headers (provider `headers`, per-send `requestHeaders`). Values of sensitive names
/// (see [`is_sensitive_header`]) are kept as [`SecretString`]s: `Debug` prints `[redacted]` for them,
/// serialising leaves them out, and errors that echo them are scrubbed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(BTreeMap<String, HeaderValue>);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers::default()
    }

    /// Sets `name` to `value` (a secret when the name is sensitive).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        let value = if is_sensitive_header(&name) {
            HeaderValue::Secret(SecretString::new(value))
        } else {
            HeaderValue::Plain(value)
        };
        self.0.insert(name, value);
    }

    /// The value of `name` as given (exact name), secret or not. Call this only where the value goes
    /// onto the wire.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(HeaderValue::expose)
    }

    /// Every `(name, value, sensitive)`, values exposed, in name order: for building requests.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.0.iter().map(|(name, value)| {
            (
                name.as_str(),
                value.expose(),
                matches!(value, HeaderValue::Secret(_)),
            )
        })
    }

    /// How many headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values of the sensitive headers.
    pub fn secrets(&self) -> impl Iterator<Item = &SecretString> {
        self.0.values().filter_map(|v| match v {
            HeaderValue::Secret(s) => Some(s),
            HeaderValue::Plain(_) => None,
        })
    }
}

impl HeaderValue {
    fn expose(&self) -> &str {
        match self {
            HeaderValue::Plain(s) => s,
            HeaderValue::Secret(s) => s.expose(),
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.0 {
            match value {
                HeaderValue::Plain(v) => map.entry(name, v),
                HeaderValue::Secret(v) => map.entry(name, v),
            };
        }
        map.finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.insert(name, value);
        }
        headers
    }
}

impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for Headers {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl From<BTreeMap<String, String>> for Headers {
    fn from(map: BTreeMap<String, String>) -> Self {
        map.into_iter().collect()
    }
}

impl serde::Serialize for Headers {
    /// Writes the plain headers only: a sensitive value never leaves the process this way.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (name, value) in &self.0 {
            if let HeaderValue::Plain(v) = value {
                map.serialize_entry(name, v)?;
            }
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Headers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<String, String>::deserialize(d).map(Headers::from)
    }
}

/// The texts to scrub for one secret header value: the whole value and, for `Scheme credential`
/// values (`Bearer K`, `Basic K`), the credential alone, since a provider may echo either.
pub(crate) fn scrub_texts(value: &SecretString) -> impl Iterator<Item = &str> {
    let whole = value.expose().trim();
    let credential = whole
        .split_once(' ')
        .map(|(_, c)| c.trim())
        .filter(|c| !c.is_empty() && *c != whole);
    std::iter::once(whole).chain(credential)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_names_follow_the_list() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "api-key",
            "X-API-KEY",
            "Ocp-Apim-Subscription-Key",
            "x-auth-token",
            "X-Client-Secret",
            "db-password",
            "X-Amz-Signature",
            "Cookie",
            "x-goog-api-key",
        ] {
            assert!(is_sensitive_header(name), "{name} should be sensitive");
        }
        for name in [
            "x-request-id",
            "openai-organization",
            "user-agent",
            "x-trace",
        ] {
            assert!(!is_sensitive_header(name), "{name} should not be sensitive");
        }
    }

    #[test]
    fn headers_hide_sensitive_values_in_debug_and_serde() {
        let headers = Headers::from([
            ("api-key", "K-secret-1"),
            ("Authorization", "Bearer T-secret-2"),
            ("x-team", "blue"),
        ]);
        let debug = format!("{headers:?} {headers:#?}");
        assert!(
            !debug.contains("K-secret-1") && !debug.contains("T-secret-2"),
            "{debug}"
        );
        assert!(
            debug.contains("blue") && debug.contains("[redacted]"),
            "{debug}"
        );
        let json = serde_json::to_string(&headers).expect("json");
        assert_eq!(json, r#"{"x-team":"blue"}"#);
        assert_eq!(headers.get("api-key"), Some("K-secret-1"));
        let back: Headers =
            serde_json::from_str(r#"{"api-key":"K-secret-1","x-team":"blue"}"#).expect("parse");
        assert_eq!(back.secrets().count(), 1);
        assert_eq!(back.iter().filter(|(_, _, s)| *s).count(), 1);
    }

    #[test]
    fn scheme_credentials_are_scrubbed_alone_too() {
        let v = SecretString::new("Bearer T-secret-2");
        assert_eq!(
            scrub_texts(&v).collect::<Vec<_>>(),
            ["Bearer T-secret-2", "T-secret-2"]
        );
        let k = SecretString::new("K-secret-1");
        assert_eq!(scrub_texts(&k).collect::<Vec<_>>(), ["K-secret-1"]);
    }

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = SecretString::new("sk-live-abcdef");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "sk-live-abcdef");
    }
}
