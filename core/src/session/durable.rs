//! A session's link to its store: the lease it holds, what it has committed, and the commits
//! themselves (at the start of a send, after each model call with tools, and before
//! `session.idle`).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::SessionInner;
use super::events::EventData;
use crate::error::Result;
use crate::store::{Commit, Lease, SessionStore, now_ms, summarize};
use crate::util::lock;

/// What a session has written to its store.
pub(crate) struct Durable {
    pub store: Arc<dyn SessionStore>,
    pub lease: Lease,
    pub ttl: Duration,
    /// Serialises commits; holds how much of the log and history the store has.
    committed: tokio::sync::Mutex<Committed>,
    /// Stops the lease renewal.
    pub renewal: CancellationToken,
    /// The lowest history index rewritten since the last commit (a compaction), or usize::MAX.
    rewritten: std::sync::atomic::AtomicUsize,
}

#[derive(Debug, Default)]
struct Committed {
    events: usize,
    history: usize,
    summary: bool,
}

impl Durable {
    /// `events` and `history` are already in the store (a resumed session's).
    pub(crate) fn new(
        store: Arc<dyn SessionStore>,
        lease: Lease,
        ttl: Duration,
        events: usize,
        history: usize,
        summary: bool,
    ) -> Self {
        Durable {
            store,
            lease,
            ttl,
            committed: tokio::sync::Mutex::new(Committed {
                events,
                history,
                summary,
            }),
            renewal: CancellationToken::new(),
            rewritten: std::sync::atomic::AtomicUsize::new(usize::MAX),
        }
    }

    /// Renews the lease every third of its lifetime until the session ends or the lease is lost.
    pub(crate) fn spawn_renewal(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        if !self.store.durable() {
            return;
        }
        let this = self.clone();
        runtime.spawn(async move {
            let every = (this.ttl / 3).max(Duration::from_millis(10));
            loop {
                tokio::select! {
                    _ = this.renewal.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                if let Err(e) = this.store.renew(&this.lease, this.ttl).await {
                    tracing::warn!(session = %this.lease.session_id, error = %e, "lease renewal failed");
                    if e.kind() == crate::ErrorKind::SessionBusy {
                        return;
                    }
                }
            }
        });
    }

    /// Gives the lease up after a last commit.
    pub(crate) async fn close(&self, session: &SessionInner) {
        self.renewal.cancel();
        if let Err(e) = self.commit(session).await {
            tracing::warn!(session = %session.id, error = %e, "the last commit failed");
        }
        if let Err(e) = self.store.release(&self.lease).await {
            tracing::debug!(session = %session.id, error = %e, "releasing the lease failed");
        }
    }

    /// Records that the history changed from index `from` on (the next commit rewrites it).
    pub(crate) fn history_rewritten_from(&self, from: usize) {
        self.rewritten
            .fetch_min(from, std::sync::atomic::Ordering::SeqCst);
    }

    /// Writes what the store does not have yet: new events and new history.
    pub(crate) async fn commit(&self, session: &SessionInner) -> Result<()> {
        let mut c = self.committed.lock().await;
        let rewritten = self
            .rewritten
            .swap(usize::MAX, std::sync::atomic::Ordering::SeqCst);
        c.history = c.history.min(rewritten);
        let events = session.bus.log_since(c.events);
        let (history_from, history, model) = {
            let state = lock(&session.state);
            let from = c.history.min(state.history.len());
            (from, state.history[from..].to_vec(), state.model.clone())
        };
        if events.is_empty() && history.is_empty() && history_from == c.history {
            return Ok(());
        }
        let summary = (!c.summary)
            .then(|| {
                events.iter().find_map(|e| match &e.data {
                    EventData::UserMessage(m) => Some(summarize(&m.content)),
                    _ => None,
                })
            })
            .flatten();
        self.store
            .commit(
                &self.lease,
                self.ttl,
                Commit {
                    events_from: c.events,
                    events: &events,
                    history_from,
                    history: &history,
                    model: &model,
                    summary: summary.as_deref(),
                    now_ms: now_ms(),
                },
            )
            .await?;
        c.events += events.len();
        c.history = history_from + history.len();
        c.summary |= summary.is_some();
        Ok(())
    }
}

impl SessionInner {
    /// Commits to the store (nothing to do without one).
    pub(crate) async fn persist(&self) -> Result<()> {
        match &self.durable {
            Some(d) => d.commit(self).await,
            None => Ok(()),
        }
    }
}
