//! `onListModels` from JavaScript as a core [`ListModelsHandler`].

use std::sync::Arc;

use modelport::{Error, ListModelsHandler, ModelInfo};

use crate::callback::{JsCallback, call};

/// Wraps `() => ModelInfo[] | Promise<ModelInfo[]>`.
pub(crate) fn list_models_handler(cb: JsCallback) -> ListModelsHandler {
    let cb = Arc::new(cb);
    ListModelsHandler::new(move || {
        let cb = cb.clone();
        async move {
            let value = call(&cb, "null".to_owned())
                .await
                .map_err(|m| Error::config(format!("onListModels failed: {m}")))?;
            ModelInfo::list_from_value("onListModels", value)
        }
    })
}
