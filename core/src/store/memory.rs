//! The memory store: sessions live as long as the store (one per Client unless shared).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt};
use serde_json::Value;

use super::{
    Commit, Holder, Lease, LeaseRequest, NewSession, SessionMetadata, SessionStore, StoredSession,
    busy, exists, lost_lease, not_found, rfc3339,
};
use crate::error::Result;
use crate::events::Event;
use crate::types::Message;
use crate::util::lock;

struct Record {
    metadata: SessionMetadata,
    modified_ms: i64,
    provider: Option<Value>,
    events: Vec<Event>,
    history: Vec<Message>,
    holder: Option<(String, Instant)>,
    generation: i64,
}

impl Record {
    /// The metadata with its modification time rendered now (commits store milliseconds only).
    fn current_metadata(&self) -> SessionMetadata {
        SessionMetadata {
            modified_time: rfc3339(self.modified_ms),
            ..self.metadata.clone()
        }
    }
}

/// Sessions kept in memory: they survive a disconnect and a resume within the process, not a
/// restart. Cheap: a commit clones shared events, never renders JSON.
#[derive(Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, Record>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn take_lease(record: &mut Record, request: &LeaseRequest, id: &str) -> Result<Lease> {
        if let Some((holder, until)) = &record.holder
            && holder != request.holder.as_str()
            && *until > Instant::now()
        {
            return Err(busy(id, Some(holder)));
        }
        record.generation += 1;
        record.holder = Some((
            request.holder.as_str().to_owned(),
            Instant::now() + request.ttl,
        ));
        Ok(Lease {
            session_id: id.to_owned(),
            holder: request.holder.as_str().to_owned(),
            generation: record.generation,
        })
    }

    fn held<'a>(
        sessions: &'a mut HashMap<String, Record>,
        lease: &Lease,
    ) -> Result<&'a mut Record> {
        match sessions.get_mut(&lease.session_id) {
            Some(r)
                if r.generation == lease.generation
                    && r.holder.as_ref().is_some_and(|(h, _)| *h == lease.holder) =>
            {
                Ok(r)
            }
            _ => Err(lost_lease(&lease.session_id)),
        }
    }
}

impl SessionStore for MemoryStore {
    fn describe(&self) -> String {
        "memory".to_owned()
    }

    fn durable(&self) -> bool {
        false
    }

    fn create<'a>(
        &'a self,
        session: &'a NewSession,
        lease: &'a LeaseRequest,
    ) -> BoxFuture<'a, Result<Lease>> {
        let result = (|| {
            let mut sessions = lock(&self.sessions);
            if sessions.contains_key(&session.session_id) {
                return Err(exists(&session.session_id));
            }
            let mut record = Record {
                metadata: SessionMetadata {
                    session_id: session.session_id.clone(),
                    start_time: rfc3339(session.start_ms),
                    modified_time: rfc3339(session.start_ms),
                    summary: None,
                    model: session.model.clone(),
                },
                modified_ms: session.start_ms,
                provider: session.provider.clone(),
                events: Vec::new(),
                history: Vec::new(),
                holder: None,
                generation: 0,
            };
            let lease = Self::take_lease(&mut record, lease, &session.session_id)?;
            sessions.insert(session.session_id.clone(), record);
            Ok(lease)
        })();
        async move { result }.boxed()
    }

    fn open<'a>(
        &'a self,
        session_id: &'a str,
        lease: &'a LeaseRequest,
    ) -> BoxFuture<'a, Result<(Lease, StoredSession)>> {
        let result = (|| {
            let mut sessions = lock(&self.sessions);
            let record = sessions
                .get_mut(session_id)
                .ok_or_else(|| not_found(session_id))?;
            let lease = Self::take_lease(record, lease, session_id)?;
            Ok((
                lease,
                StoredSession {
                    metadata: record.current_metadata(),
                    provider: record.provider.clone(),
                    events: record.events.clone(),
                    history: record.history.clone(),
                },
            ))
        })();
        async move { result }.boxed()
    }

    fn commit<'a>(
        &'a self,
        lease: &'a Lease,
        ttl: Duration,
        commit: Commit<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        let result = (|| {
            let mut sessions = lock(&self.sessions);
            let record = Self::held(&mut sessions, lease)?;
            record.events.truncate(commit.events_from);
            record.events.extend_from_slice(commit.events);
            record.history.truncate(commit.history_from);
            record.history.extend_from_slice(commit.history);
            // Only what changed is written: a commit on the send path allocates little.
            if record.metadata.model != commit.model {
                record.metadata.model = commit.model.to_owned();
            }
            if record.metadata.summary.is_none() {
                record.metadata.summary = commit.summary.map(str::to_owned);
            }
            record.modified_ms = commit.now_ms;
            if let Some((_, until)) = &mut record.holder {
                *until = Instant::now() + ttl;
            }
            Ok(())
        })();
        async move { result }.boxed()
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> BoxFuture<'a, Result<()>> {
        let result = Self::held(&mut lock(&self.sessions), lease).map(|r| {
            r.holder = Some((lease.holder.clone(), Instant::now() + ttl));
        });
        async move { result }.boxed()
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<()>> {
        if let Ok(r) = Self::held(&mut lock(&self.sessions), lease) {
            r.holder = None;
        }
        async { Ok(()) }.boxed()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        let mut all: Vec<(i64, SessionMetadata)> = lock(&self.sessions)
            .values()
            .map(|r| (r.modified_ms, r.current_metadata()))
            .collect();
        all.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| b.1.session_id.cmp(&a.1.session_id))
        });
        let list = all.into_iter().map(|(_, m)| m).collect();
        async move { Ok(list) }.boxed()
    }

    fn metadata<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionMetadata>>> {
        let m = lock(&self.sessions)
            .get(session_id)
            .map(Record::current_metadata);
        async move { Ok(m) }.boxed()
    }

    fn delete<'a>(
        &'a self,
        session_id: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<bool>> {
        let result = (|| {
            let mut sessions = lock(&self.sessions);
            if let Some(Record {
                holder: Some((h, until)),
                ..
            }) = sessions.get(session_id)
                && h != holder.as_str()
                && *until > Instant::now()
            {
                return Err(busy(session_id, Some(h)));
            }
            Ok(sessions.remove(session_id).is_some())
        })();
        async move { result }.boxed()
    }
}
