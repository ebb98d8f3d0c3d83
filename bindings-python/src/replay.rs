//! The replay provider for offline tests (`modelport.testing.ReplayServer`).

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;

use modelport::replay::{self, ReplayConfig};

use crate::error::to_py_err;
use crate::runtime::{Owned, future_into_py, spawn};
use crate::session::events::json_to_py;

/// A running replay server on 127.0.0.1.
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct ReplayServer {
    inner: Owned<Arc<replay::ReplayServer>>,
    /// Kept as text: a forked child may still read the addresses.
    url: String,
    openai_url: String,
}

impl ReplayServer {
    /// The server, or a `ConfigError` once it is stopped.
    fn running(&self) -> PyResult<&replay::ReplayServer> {
        self.inner.get()?.running().map_err(to_py_err)
    }
}

#[pymethods]
impl ReplayServer {
    /// Starts a server playing the snapshot files or folders in `paths` and the YAML `documents`;
    /// `options` is the JSON text `{port?, deltaChars?, chunkDelayMs?, record?, fallback?,
    /// contextWindow?}` for core's [`ReplayConfig::from_json`].
    #[staticmethod]
    #[pyo3(signature = (paths, documents, options=""))]
    fn start<'py>(
        py: Python<'py>,
        paths: Vec<PathBuf>,
        documents: Vec<String>,
        options: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config = ReplayConfig::from_json(options).map_err(to_py_err)?;
        spawn(py, async move {
            let server = replay::ReplayServer::load(&paths, &documents, config).await?;
            Ok(ReplayServer {
                url: server.url(),
                openai_url: server.openai_url(),
                inner: Owned::new(Arc::new(server)),
            })
        })
    }

    /// `http://127.0.0.1:PORT` (the Anthropic and Azure base URL).
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// `http://127.0.0.1:PORT/v1` (the OpenAI base URL).
    #[getter]
    fn openai_url(&self) -> &str {
        &self.openai_url
    }

    /// The requests received: dicts `{method, path, headers, body}`, body parsed from JSON (`None`
    /// if not).
    fn requests(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &self.running()?.requests_json().to_string())
    }

    /// How many requests arrived.
    #[getter]
    fn request_count(&self) -> PyResult<u64> {
        Ok(self.running()?.request_count())
    }

    /// How many streams the client closed before their end.
    #[getter]
    fn disconnects(&self) -> PyResult<u64> {
        Ok(self.running()?.disconnects())
    }

    /// How many streams were sent to the end.
    #[getter]
    fn completed_streams(&self) -> PyResult<u64> {
        Ok(self.running()?.completed_streams())
    }

    /// Resolves once the client has closed at least `n` streams early; a `ConfigError` when the
    /// server stops first.
    fn wait_disconnects<'py>(&self, py: Python<'py>, n: u64) -> PyResult<Bound<'py, PyAny>> {
        let server = self.inner.get()?.clone();
        spawn(py, async move { server.try_wait_disconnects(n).await })
    }

    /// Stops the server and closes its connections.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let server = self.inner.get()?.clone();
        future_into_py(py, async move {
            server.stop().await;
            Ok(())
        })
    }
}
