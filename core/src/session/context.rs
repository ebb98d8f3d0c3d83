//! What every session of a client shares with the client: the transport, retry and timeout
//! defaults, the cancellation root, the default provider, the live sessions and what disconnected
//! sessions leave behind. Sessions depend on this, not on the client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio_util::sync::CancellationToken;

use super::SessionInner;
use super::events::Event;
use crate::provider::{ProviderConfig, ProviderState};
use crate::transport::{RetryPolicy, Timeouts, Transport};
use crate::types::Message;
use crate::util::lock;

/// What a disconnected session leaves behind for `resume_session`.
pub(crate) struct Stored {
    pub model: String,
    pub history: Vec<Message>,
    pub log: Vec<Event>,
}

/// What every session of a client shares.
pub(crate) struct ClientShared {
    pub transport: Arc<dyn Transport>,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    /// Cancelled by `stop()`.
    pub root: CancellationToken,
    pub default_provider: Option<ProviderConfig>,
    pub default_state: Arc<ProviderState>,
    pub sessions: Mutex<HashMap<String, Weak<SessionInner>>>,
    pub stored: Mutex<HashMap<String, Stored>>,
}

impl ClientShared {
    /// Keeps a disconnected session's history for `resume_session`.
    pub(crate) fn store(&self, session: &SessionInner) {
        let (model, history) = {
            let state = lock(&session.state);
            (state.model.clone(), state.history.clone())
        };
        lock(&self.stored).insert(
            session.id.clone(),
            Stored {
                model,
                history,
                log: session.bus.log(),
            },
        );
        lock(&self.sessions).remove(&session.id);
    }
}
