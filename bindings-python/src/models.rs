//! `on_list_models` from a Python callable.

use std::sync::Arc;

use pyo3::prelude::*;

use modelport::{Error, ListModelsHandler, ModelInfo};

use crate::callbacks::EventLoop;

/// The core handler for `handler() -> Awaitable[json list of ModelInfo]` (`modelport.models` adapts
/// the user's sync or async callable and its dicts or `ModelInfo` objects to that shape).
pub(crate) fn list_models_handler(event_loop: &EventLoop, handler: Py<PyAny>) -> ListModelsHandler {
    let handler = Arc::new(handler);
    let event_loop = event_loop.clone();
    ListModelsHandler::new(move || {
        let handler = handler.clone();
        let event_loop = event_loop.clone();
        async move {
            let outcome = event_loop.call(&handler, Vec::new()).await;
            let json = Python::attach(|py| outcome.and_then(|v| v.extract::<String>(py))).map_err(
                |e| Error::config(format!("the on_list_models handler failed: {e}")).with_source(e),
            )?;
            ModelInfo::list_from_json("the on_list_models handler", &json)
        }
    })
}
