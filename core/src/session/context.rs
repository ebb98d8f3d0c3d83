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
    /// The provider registry, when the client has one.
    pub registry: Option<crate::registry::Registry>,
    /// Endpoints already resolved, newest last: a provider config and model seen before (the
    /// Copilot SDK's BYOK mode repeats the provider in every session's config) are resolved once
    /// per client, not once per session.
    pub endpoints: Mutex<Vec<CachedEndpoint>>,
}

/// A resolved endpoint and what it was resolved from: `provider` is `None` for the client's own
/// providers (its default provider or its registry), which never change.
pub(crate) struct CachedEndpoint {
    pub(crate) provider: Option<ProviderConfig>,
    model: String,
    endpoint: crate::provider::Endpoint,
}

/// How many endpoints a client keeps resolved; the oldest goes first.
const ENDPOINT_CACHE: usize = 32;

impl ClientShared {
    /// The endpoint of `model` on `provider` (`None`: the client's own providers), from the cache
    /// or made by `resolve`. Endpoints are immutable once resolved, so sessions can share one;
    /// they then also share what the provider teaches at run time (`ProviderState`).
    pub(crate) fn cached_endpoint(
        &self,
        provider: Option<&ProviderConfig>,
        model: &str,
        resolve: impl FnOnce() -> crate::Result<crate::provider::Endpoint>,
    ) -> crate::Result<crate::provider::Endpoint> {
        let hit = |c: &CachedEndpoint| c.model == model && c.provider.as_ref() == provider;
        if let Some(c) = crate::util::lock(&self.endpoints).iter().find(|c| hit(c)) {
            return Ok(c.endpoint.clone());
        }
        let endpoint = resolve()?;
        let mut cache = crate::util::lock(&self.endpoints);
        if !cache.iter().any(hit) {
            if cache.len() == ENDPOINT_CACHE {
                cache.remove(0);
            }
            cache.push(CachedEndpoint {
                provider: provider.cloned(),
                model: model.to_owned(),
                endpoint: endpoint.clone(),
            });
        }
        Ok(endpoint)
    }

    /// The retry policy and timeouts of `endpoint`: its own, else the client's.
    pub(crate) fn policy_for(
        &self,
        endpoint: &crate::provider::Endpoint,
    ) -> (RetryPolicy, Timeouts) {
        (
            endpoint
                .retry()
                .cloned()
                .unwrap_or_else(|| self.retry.clone()),
            endpoint
                .timeouts()
                .cloned()
                .unwrap_or_else(|| self.timeouts.clone()),
        )
    }

    /// The endpoint of a model: a registry model (`"<provider>/<id>"`) when the client has a
    /// registry, else `name` on `provider` (a fallback on the same provider).
    pub(crate) fn endpoint_for(
        &self,
        name: &str,
        provider: &ProviderConfig,
    ) -> crate::Result<crate::provider::Endpoint> {
        match &self.registry {
            Some(registry) => self.cached_endpoint(None, name.trim(), || {
                let (config, state) = registry.resolve(name)?;
                Ok(config.resolve(Some(name))?.with_state(state))
            }),
            None => provider.resolve(Some(name)),
        }
    }

    /// A fallback model and its endpoint.
    pub(crate) fn fallback_endpoint(
        &self,
        name: &str,
        provider: &ProviderConfig,
    ) -> crate::Result<(String, crate::provider::Endpoint)> {
        self.endpoint_for(name, provider)
            .map(|e| (name.to_owned(), e))
            .map_err(|e| crate::Error::config(format!("fallbackModels: {}", e.message())))
    }
}
