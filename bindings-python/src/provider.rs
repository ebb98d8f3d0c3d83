//! Provider configuration from Python: the `bearer_token_provider` callable (the JSON fields go to
//! core's parsers with the client options or the session config), and `provider_from_env()`.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use modelport::{BearerToken, Error, ErrorKind, ProviderConfig, TokenProvider};

use crate::callbacks::EventLoop;
use crate::error::to_py_err;

/// The core token provider for `provider() -> Awaitable[(token, expires_at_epoch_seconds | None)]`
/// (`modelport.provider` adapts the user's sync or async callable to that shape).
pub(crate) fn token_provider(event_loop: &EventLoop, provider: Py<PyAny>) -> TokenProvider {
    let provider = Arc::new(provider);
    let event_loop = event_loop.clone();
    TokenProvider::new(move |_request| {
        let provider = provider.clone();
        let event_loop = event_loop.clone();
        async move {
            let outcome = event_loop.call(&provider, Vec::new()).await;
            Python::attach(|py| {
                let (token, expires_at) = outcome
                    .and_then(|v| v.extract::<(String, Option<f64>)>(py))
                    .map_err(|e| Error::new(ErrorKind::Auth, e.to_string()).with_source(e))?;
                let expires_at = expires_at
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .and_then(|d| UNIX_EPOCH.checked_add(d));
                Ok(BearerToken {
                    token: token.into(),
                    expires_at,
                })
            })
        }
    })
}

/// The provider and model named by `MODELPORT_PROVIDER`, `MODELPORT_BASE_URL`, `MODELPORT_API_KEY`
/// (or the provider's usual key variable) and `MODELPORT_MODEL`; `None` when `MODELPORT_PROVIDER` is
/// unset. The provider is a snake_case dict, API key included.
#[pyfunction]
pub(crate) fn provider_from_env(py: Python<'_>) -> PyResult<Option<(Bound<'_, PyDict>, String)>> {
    let Some((provider, model)) = ProviderConfig::from_env().map_err(to_py_err)? else {
        return Ok(None);
    };
    let dict = PyDict::new(py);
    dict.set_item("type", provider.provider_type.as_str())?;
    dict.set_item("base_url", provider.base_url.as_deref())?;
    if let Some(key) = &provider.api_key {
        dict.set_item("api_key", key.expose())?;
    }
    dict.set_item("wire_api", provider.wire_api.as_str())?;
    if let Some(version) = provider
        .azure
        .as_ref()
        .and_then(|a| a.api_version.as_deref())
    {
        let azure = PyDict::new(py);
        azure.set_item("api_version", version)?;
        dict.set_item("azure", azure)?;
    }
    Ok(Some((dict, model)))
}
