//! The Client: sessions, the model list, stop.

use modelport::{ClientOptions, PermissionHandler, SessionConfig};
use pyo3::prelude::*;

use crate::callbacks::EventLoop;
use crate::error::to_py_err;
use crate::runtime::{Owned, future_into_py, spawn};
use crate::session::Session;
use crate::session::tools::{self, ToolDef};
use crate::{models, provider};

/// The entry point: one connection pool, the default provider, the sessions.
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct Client {
    inner: Owned<modelport::Client>,
    event_loop: EventLoop,
}

impl Client {
    /// The client, remembering the running loop for its callbacks.
    fn client(&self, py: Python<'_>) -> PyResult<modelport::Client> {
        self.event_loop.bind(py);
        self.inner.get().cloned()
    }
}

#[pymethods]
impl Client {
    /// A client from the JSON for core's [`ClientOptions::from_json`] and the provider's token
    /// provider and `on_list_models` callables.
    #[new]
    #[pyo3(signature = (*, options=None, bearer_token_provider=None, on_list_models=None))]
    fn new(
        py: Python<'_>,
        options: Option<&str>,
        bearer_token_provider: Option<Py<PyAny>>,
        on_list_models: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let event_loop = EventLoop::default();
        event_loop.bind(py);
        let mut options =
            ClientOptions::from_json(options.unwrap_or_default()).map_err(to_py_err)?;
        if let (Some(p), Some(token)) = (options.provider.as_mut(), bearer_token_provider) {
            p.bearer_token_provider = Some(provider::token_provider(&event_loop, token));
        }
        options.on_list_models =
            on_list_models.map(|h| models::list_models_handler(&event_loop, h));
        // Building the HTTP client loads the platform's certificate store: without the GIL.
        let client = py
            .detach(|| modelport::Client::new(options))
            .map_err(to_py_err)?;
        Ok(Client {
            inner: Owned::new(client),
            event_loop,
        })
    }

    /// Creates a session, or resumes `session_id` when given, from its JSON config and callables.
    /// `approve_all`: the handler is `PermissionHandler.approve_all`, answered in Rust (core's
    /// [`PermissionHandler::approve_all`]) without a round trip to Python.
    #[pyo3(signature = (session_id, config, tools, on_permission_request=None, bearer_token_provider=None, hooks=Vec::new(), approve_all=false))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per callable kind that crosses from Python"
    )]
    fn open_session<'py>(
        &self,
        py: Python<'py>,
        session_id: Option<String>,
        config: &str,
        tools: Vec<ToolDef>,
        on_permission_request: Option<Py<PyAny>>,
        bearer_token_provider: Option<Py<PyAny>>,
        hooks: Vec<(String, Py<PyAny>)>,
        approve_all: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        let mut config = SessionConfig::from_json(config).map_err(to_py_err)?;
        config.tools = tools
            .into_iter()
            .map(|def| tools::tool(&self.event_loop, def))
            .collect::<PyResult<_>>()?;
        config.on_permission_request = if approve_all {
            Some(PermissionHandler::approve_all())
        } else {
            on_permission_request.map(|h| tools::permission_handler(&self.event_loop, h))
        };
        if !hooks.is_empty() {
            config.hooks = Some(tools::hooks(&self.event_loop, hooks)?);
        }
        if let Some(p) = bearer_token_provider {
            let provider = config.provider.as_mut().ok_or_else(|| {
                crate::error::config(
                    "bearer_token_provider is a provider field: put it in provider",
                )
            })?;
            provider.bearer_token_provider = Some(provider::token_provider(&self.event_loop, p));
        }
        let event_loop = self.event_loop.clone();
        spawn(py, async move {
            let session = match session_id {
                Some(id) => client.resume_session(&id, config).await?,
                None => client.create_session(config).await?,
            };
            Ok(Session::new(session, event_loop))
        })
    }

    /// The stored sessions as a JSON array of `SessionMetadata`, most recently modified first.
    fn list_sessions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        spawn(py, async move {
            let list = client.list_sessions().await?;
            Ok(serde_json::to_string(&list).unwrap_or_default())
        })
    }

    /// The id of the most recently modified session, if any.
    fn get_last_session_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        spawn(py, async move { client.get_last_session_id().await })
    }

    /// One stored session's `SessionMetadata` as JSON (`null` when there is none).
    fn get_session_metadata<'py>(
        &self,
        py: Python<'py>,
        session_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        spawn(py, async move {
            let meta = client.get_session_metadata(&session_id).await?;
            Ok(serde_json::to_string(&meta).unwrap_or_default())
        })
    }

    /// Deletes a session from the store; false when there was none.
    fn delete_session<'py>(
        &self,
        py: Python<'py>,
        session_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        spawn(py, async move { client.delete_session(&session_id).await })
    }

    /// The models, as JSON.
    fn list_models<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        spawn(py, async move {
            let models = client.list_models().await?;
            Ok(serde_json::to_string(&models).unwrap_or_default())
        })
    }

    /// A no-op kept for the Copilot SDK's `client.start()`.
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        spawn(py, async move { client.start().await })
    }

    /// Aborts every running send, ends every session; resolves to the errors met (exceptions).
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        future_into_py(py, async move {
            let errors = client.stop().await;
            Ok(Python::attach(|py| {
                errors
                    .into_iter()
                    .map(|e| to_py_err(e).into_value(py))
                    .collect::<Vec<_>>()
            }))
        })
    }

    /// Whether `stop()` was called.
    #[getter]
    fn is_stopped(&self) -> PyResult<bool> {
        Ok(self.inner.get()?.is_stopped())
    }
}
