//! What every session of a client shares with the client: the transport, retry and timeout
//! defaults, the cancellation root, the default provider, the live sessions and the session
//! store. Sessions depend on this, not on the client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio_util::sync::CancellationToken;

use super::SessionInner;
use crate::provider::{ProviderConfig, ProviderState};
use crate::store::{Holder, LeaseOptions, SessionStore};
use crate::transport::{RetryPolicy, Timeouts, Transport};

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
    /// Where sessions are kept.
    pub store: Arc<dyn SessionStore>,
    /// This client's identity as a lease holder.
    pub holder: Holder,
    pub lease: LeaseOptions,
}
