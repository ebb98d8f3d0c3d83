//! The replay provider for offline tests (`modelport.testing.ReplayServer`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use modelport::replay::{self, ReplayConfig, Snapshot};

use crate::callbacks::lock;
use crate::error::{config, to_py_err};
use crate::runtime::{Owned, future_into_py};
use crate::session::events::value_to_py;

/// A recorded request: method, path (with query), headers, JSON body.
type Request<'py> = (String, String, Bound<'py, PyDict>, Py<PyAny>);

/// A running replay server on 127.0.0.1.
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct ReplayServer {
    inner: Owned<Mutex<Option<Arc<replay::ReplayServer>>>>,
    url: String,
    openai_url: String,
}

impl ReplayServer {
    fn server(&self) -> PyResult<Arc<replay::ReplayServer>> {
        lock(self.inner.get()?)
            .clone()
            .ok_or_else(|| config("the replay server is stopped"))
    }
}

#[pymethods]
impl ReplayServer {
    /// Starts a server playing the snapshot files or folders in `paths` and the YAML `documents`;
    /// `options` is the JSON text `{port?, deltaChars?, chunkDelayMs?, record?}` for core's
    /// [`ReplayConfig::from_json`].
    #[staticmethod]
    #[pyo3(signature = (paths, documents, options=""))]
    fn start<'py>(
        py: Python<'py>,
        paths: Vec<PathBuf>,
        documents: Vec<String>,
        options: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config = ReplayConfig::from_json(options).map_err(to_py_err)?;
        let snapshots = py
            .detach(|| -> modelport::Result<Vec<Snapshot>> {
                let mut snapshots = Vec::new();
                for path in &paths {
                    snapshots.extend(replay::snapshot::load(path)?.into_iter().map(|(_, s)| s));
                }
                for doc in &documents {
                    snapshots.push(replay::snapshot::parse(doc)?);
                }
                Ok(snapshots)
            })
            .map_err(to_py_err)?;
        future_into_py(py, async move {
            let server = replay::ReplayServer::start(snapshots, config)
                .await
                .map_err(to_py_err)?;
            Ok(ReplayServer {
                url: server.url(),
                openai_url: server.openai_url(),
                inner: Owned::new(Mutex::new(Some(Arc::new(server)))),
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

    /// The requests received: `(method, path, headers, body)`, body parsed from JSON (`None` if not).
    fn requests<'py>(&self, py: Python<'py>) -> PyResult<Vec<Request<'py>>> {
        self.server()?
            .requests()
            .into_iter()
            .map(|r| {
                let headers = PyDict::new(py);
                for (name, value) in &r.headers {
                    headers.set_item(name, value)?;
                }
                Ok((r.method, r.path, headers, value_to_py(py, &r.body)?))
            })
            .collect()
    }

    /// How many requests arrived.
    #[getter]
    fn request_count(&self) -> PyResult<u64> {
        Ok(self.server()?.request_count())
    }

    /// How many streams the client closed before their end.
    #[getter]
    fn disconnects(&self) -> PyResult<u64> {
        Ok(self.server()?.disconnects())
    }

    /// How many streams were sent to the end.
    #[getter]
    fn completed_streams(&self) -> PyResult<u64> {
        Ok(self.server()?.completed_streams())
    }

    /// Resolves once the client has closed at least `n` streams early.
    fn wait_disconnects<'py>(&self, py: Python<'py>, n: u64) -> PyResult<Bound<'py, PyAny>> {
        let server = self.server()?;
        future_into_py(py, async move {
            server.wait_disconnects(n).await;
            Ok(())
        })
    }

    /// Stops the server and closes its connections.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let server = lock(self.inner.get()?).take();
        future_into_py(py, async move {
            if let Some(server) = server {
                match Arc::try_unwrap(server) {
                    Ok(server) => server.stop().await,
                    // A wait_disconnects() still holds it: it shuts down when that ends.
                    Err(shared) => drop(shared),
                }
            }
            Ok(())
        })
    }
}
