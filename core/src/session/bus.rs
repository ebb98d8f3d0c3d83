//! The bus that stamps, records and delivers a session's events, and the one delivery primitive
//! behind every front door: a subscriber queue, read as an [`EventStream`] (Rust), by core's `on()`
//! dispatcher, or as an [`EventFeed`] (the bindings).
//!
//! Delivery: every subscriber gets every non-delta event, losslessly and in order. Only
//! `assistant.message_delta` and `assistant.reasoning_delta` may be dropped, and only for a subscriber
//! that has fallen behind by more than its buffer; the engine never waits for a subscriber.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::Stream;

use super::events::{Event, EventData};
use crate::util::{lock, new_id, now_rfc3339_millis};

/// Deltas a subscriber missed because it fell behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagged {
    /// How many deltas were dropped.
    pub skipped: u64,
}

impl std::fmt::Display for Lagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "subscriber fell behind: {} deltas dropped", self.skipped)
    }
}

impl std::error::Error for Lagged {}

/// What a subscriber's queue holds: events, and the barriers a host asked for.
#[derive(Clone, Debug)]
pub enum FeedItem {
    /// An event.
    Event(Event),
    /// Every event emitted before [`EventFeed::barrier`] returned this id comes before it.
    Barrier(u64),
}

/// A host's notification that a feed has items: called on the thread that emitted, once until the
/// host has taken what is queued.
type Notify = Arc<dyn Fn() + Send + Sync>;

/// Whom a push must wake.
enum Wake {
    Task(Waker),
    Host(Notify),
}

impl Wake {
    fn fire(self) {
        match self {
            Wake::Task(w) => w.wake(),
            Wake::Host(notify) => notify(),
        }
    }
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<FeedItem>,
    /// Deltas currently buffered.
    deltas: usize,
    skipped: u64,
    closed: bool,
    waker: Option<Waker>,
    notify: Option<Notify>,
    /// `notify` was called and the host has not taken everything since.
    scheduled: bool,
    next_barrier: u64,
}

/// Which events a subscriber receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Everything.
    All,
    /// What `send_and_wait` reads: user.message, assistant.message, session.error, session.idle.
    Outcome,
}

/// One subscriber's queue: the one delivery primitive behind `events()`, `on()` and every binding.
/// Non-delta events are never dropped; deltas beyond `capacity` are, and counted.
pub(crate) struct Subscriber {
    state: Mutex<QueueState>,
    capacity: usize,
    interest: Interest,
    /// The reader takes events as JSON: the bus renders it as it emits, on the emitting thread, so
    /// that the host's thread (JavaScript's event loop) only copies it.
    json: bool,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("capacity", &self.capacity)
            .field("interest", &self.interest)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

impl Subscriber {
    fn wants(&self, data: &EventData) -> bool {
        match self.interest {
            Interest::All => true,
            Interest::Outcome => matches!(
                data,
                EventData::UserMessage(_)
                    | EventData::AssistantMessage(_)
                    | EventData::SessionError(_)
                    | EventData::SessionIdle(_)
            ),
        }
    }

    /// Queues `event`; returns whom to wake, for the caller to wake once it holds no lock (a host's
    /// notify may take the host's own lock, such as Python's GIL).
    fn push(&self, event: &Event) -> Option<Wake> {
        if !self.wants(&event.data) {
            return None;
        }
        let droppable = event.data.is_droppable();
        let mut q = lock(&self.state);
        if q.closed {
            return None;
        }
        if droppable && q.deltas >= self.capacity {
            q.skipped += 1;
            tracing::trace!(kind = event.kind(), "subscriber behind: delta dropped");
            return None;
        }
        if droppable {
            q.deltas += 1;
        }
        q.items.push_back(FeedItem::Event(event.clone()));
        Self::to_wake(&mut q)
    }

    /// Who must hear of new items: the waiting task, or the host's notify (once until it takes).
    fn to_wake(q: &mut QueueState) -> Option<Wake> {
        if let Some(w) = q.waker.take() {
            return Some(Wake::Task(w));
        }
        if q.scheduled {
            return None;
        }
        let notify = q.notify.clone()?;
        q.scheduled = true;
        Some(Wake::Host(notify))
    }

    /// Wakes the reader after releasing the queue's lock.
    fn wake(mut q: std::sync::MutexGuard<'_, QueueState>) {
        let wake = Self::to_wake(&mut q);
        drop(q);
        if let Some(w) = wake {
            w.fire();
        }
    }

    /// Ends the queue: the reader is woken for what is still queued. The host's notify callback is
    /// let go (it may hold the host's event loop open) once nothing is left for it to take: at once
    /// when the queue is empty, else by the [`take`](Self::take) that empties it, so that a host
    /// taking in bounded batches still hears of every batch.
    fn close(&self) {
        let mut q = lock(&self.state);
        q.closed = true;
        let notify = if q.waker.is_none() && !q.scheduled && !q.items.is_empty() {
            q.scheduled = true;
            q.notify.clone()
        } else {
            None
        };
        let released = if q.items.is_empty() {
            q.notify.take()
        } else {
            None
        };
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
        if let Some(notify) = notify {
            notify();
        }
        drop(released);
    }

    fn pop(q: &mut QueueState) -> Option<FeedItem> {
        let item = q.items.pop_front()?;
        if let FeedItem::Event(e) = &item
            && e.data.is_droppable()
        {
            q.deltas -= 1;
        }
        Some(item)
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Lagged>>> {
        let mut q = lock(&self.state);
        if q.skipped > 0 {
            let skipped = std::mem::take(&mut q.skipped);
            return Poll::Ready(Some(Err(Lagged { skipped })));
        }
        while let Some(item) = Self::pop(&mut q) {
            if let FeedItem::Event(e) = item {
                return Poll::Ready(Some(Ok(e)));
            }
        }
        if q.closed {
            return Poll::Ready(None);
        }
        q.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Takes up to `max` queued items; `None` once closed and empty.
    fn take(&self, max: usize) -> Option<FeedBatch> {
        let mut q = lock(&self.state);
        let mut items = Vec::with_capacity(q.items.len().min(max));
        while items.len() < max.max(1) {
            match Self::pop(&mut q) {
                Some(item) => items.push(item),
                None => break,
            }
        }
        let skipped = std::mem::take(&mut q.skipped);
        let done = q.closed && q.items.is_empty();
        q.scheduled = false;
        // Closed and emptied: nothing more will come, so the host's notify is let go (outside the
        // lock: dropping it may release the host's callback).
        let released = if done { q.notify.take() } else { None };
        if items.is_empty() && skipped == 0 && done {
            drop(q);
            drop(released);
            return None;
        }
        // More left: the host hears of it again, so a bounded take never strands events, also
        // after the feed was closed.
        if q.items.is_empty() {
            drop(q);
        } else {
            Self::wake(q);
        }
        drop(released);
        Some(FeedBatch {
            items,
            skipped,
            closed: done,
        })
    }

    fn poll_batch(&self, cx: &mut Context<'_>, max: usize) -> Poll<Option<FeedBatch>> {
        {
            let mut q = lock(&self.state);
            if q.items.is_empty() && q.skipped == 0 && !q.closed {
                q.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        Poll::Ready(self.take(max))
    }

    fn barrier(&self) -> Option<u64> {
        let mut q = lock(&self.state);
        // Closed with nothing left to hand over and no take pending: no barrier would ever be
        // taken, and everything emitted has been taken already.
        if q.closed && q.items.is_empty() && !q.scheduled && q.waker.is_none() {
            return None;
        }
        q.next_barrier += 1;
        let id = q.next_barrier;
        q.items.push_back(FeedItem::Barrier(id));
        Self::wake(q);
        Some(id)
    }
}

/// Items taken from an [`EventFeed`] at once.
#[derive(Clone, Debug, Default)]
pub struct FeedBatch {
    /// Events and barriers, in order.
    pub items: Vec<FeedItem>,
    /// Deltas dropped because the reader fell behind, since the previous batch.
    pub skipped: u64,
    /// The feed is closed and this is its last batch.
    pub closed: bool,
}

impl FeedBatch {
    /// The batch as one JSON array: each event's cached JSON, and each barrier as its number.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(
            2 + self
                .items
                .iter()
                .map(|i| match i {
                    FeedItem::Event(e) => e.json().len() + 1,
                    FeedItem::Barrier(_) => 8,
                })
                .sum::<usize>(),
        );
        out.push('[');
        for (n, item) in self.items.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            match item {
                FeedItem::Event(e) => out.push_str(e.json()),
                FeedItem::Barrier(id) => out.push_str(&id.to_string()),
            }
        }
        out.push(']');
        out
    }
}

/// A session's events for a host language (Python, JavaScript, C, uniffi): taken in batches, either
/// when notified ([`set_notify`](Self::set_notify) + [`take`](Self::take)) or by awaiting
/// [`next_batch`](Self::next_batch). Non-delta events are never dropped; deltas beyond the buffer are
/// dropped and counted. [`barrier`](Self::barrier) marks "everything emitted so far", so a host can
/// settle `sendAndWait` only after its handlers saw the send's events. Dropping it unsubscribes.
#[derive(Debug)]
pub struct EventFeed {
    sub: Arc<Subscriber>,
    /// One `next_batch` waits at a time (the queue keeps one waker): concurrent readers queue here.
    reader: tokio::sync::Mutex<()>,
}

impl EventFeed {
    pub(crate) fn new(sub: Arc<Subscriber>) -> Self {
        EventFeed {
            sub,
            reader: tokio::sync::Mutex::new(()),
        }
    }

    /// Calls `notify` (on the emitting thread) when items arrive and the host has not been told yet;
    /// after a [`take`](Self::take) that leaves items, or the next item, it is called again. Called
    /// at once if items are waiting. On a closed feed it is kept only until what is left has been
    /// taken; on a closed, empty feed it is never called.
    pub fn set_notify(&self, notify: impl Fn() + Send + Sync + 'static) {
        let mut q = lock(&self.sub.state);
        if q.closed && q.items.is_empty() {
            return;
        }
        q.notify = Some(Arc::new(notify));
        q.scheduled = false;
        if !q.items.is_empty() {
            Subscriber::wake(q);
        }
    }

    /// Takes up to `max` items without waiting; `None` once the feed is closed and empty.
    pub fn take(&self, max: usize) -> Option<FeedBatch> {
        self.sub.take(max)
    }

    /// Waits for at least one item (or a drop count), then takes up to `max`; `None` once the feed
    /// is closed and empty.
    pub async fn next_batch(&self, max: usize) -> Option<FeedBatch> {
        let _turn = self.reader.lock().await;
        std::future::poll_fn(|cx| self.sub.poll_batch(cx, max)).await
    }

    /// Queues a barrier behind every event emitted so far and returns its id.
    ///
    /// `None` once the feed is closed and everything in it has been taken: nothing more will be
    /// delivered, so there is nothing to wait for.
    pub fn barrier(&self) -> Option<u64> {
        self.sub.barrier()
    }

    /// Ends the feed: a pending [`next_batch`](Self::next_batch) returns what is queued, then `None`.
    pub fn close(&self) {
        self.sub.close();
    }
}

impl Drop for EventFeed {
    fn drop(&mut self) {
        self.sub.close();
    }
}

#[derive(Debug, Default)]
struct BusState {
    last_id: Option<String>,
    seq: u64,
    log: Vec<Event>,
    subscribers: Vec<Arc<Subscriber>>,
    closed: bool,
}

/// Stamps, records and fans out a session's events.
#[derive(Debug, Default)]
pub(crate) struct EventBus {
    state: Mutex<BusState>,
}

impl EventBus {
    /// A bus continuing from an earlier event log (resumed sessions).
    pub(crate) fn with_log(log: Vec<Event>) -> Self {
        let last = log.last();
        EventBus {
            state: Mutex::new(BusState {
                last_id: last.map(|e| e.id.clone()),
                seq: last.map_or(0, |e| e.seq),
                log,
                ..Default::default()
            }),
        }
    }

    /// Emits `data` with a new id.
    pub(crate) fn emit(&self, data: EventData) -> Event {
        self.emit_with_id(new_id(), data)
    }

    /// Emits `data` with the given id; returns the stamped event.
    pub(crate) fn emit_with_id(&self, id: String, data: EventData) -> Event {
        let mut s = lock(&self.state);
        s.seq += 1;
        let parent_id = s.last_id.replace(id.clone());
        let event = Event::new(id, now_rfc3339_millis(), parent_id, data, s.seq);
        if !event.ephemeral {
            s.log.push(event.clone());
        }
        s.subscribers.retain(|sub| Arc::strong_count(sub) > 1);
        // The first wake is kept inline: with one waiting reader (the usual case) an event
        // allocates nothing here.
        let mut first = None;
        let mut more = Vec::new();
        let mut render = false;
        for sub in &s.subscribers {
            render |= sub.json && sub.wants(&event.data);
            if let Some(w) = sub.push(&event) {
                match first {
                    None => first = Some(w),
                    Some(_) => more.push(w),
                }
            }
        }
        drop(s);
        // Rendered outside the bus lock (other emitters and readers of the log need not wait), and
        // before the reader is woken; a reader that takes the event sooner renders it itself.
        if render {
            event.json();
        }
        for w in first.into_iter().chain(more) {
            w.fire();
        }
        event
    }

    /// A new subscriber to the events of `interest`, buffering up to `capacity` deltas.
    pub(crate) fn subscribe(&self, capacity: usize, interest: Interest) -> Arc<Subscriber> {
        self.add(capacity, interest, false)
    }

    /// A subscriber to every event that reads them as JSON: each event's JSON is rendered as it is
    /// emitted (see [`Subscriber::json`]).
    pub(crate) fn subscribe_json(&self, capacity: usize) -> Arc<Subscriber> {
        self.add(capacity, Interest::All, true)
    }

    fn add(&self, capacity: usize, interest: Interest, json: bool) -> Arc<Subscriber> {
        let sub = Arc::new(Subscriber {
            state: Mutex::new(QueueState::default()),
            capacity: capacity.max(1),
            interest,
            json,
        });
        let mut s = lock(&self.state);
        if s.closed {
            sub.close();
        } else {
            s.subscribers.push(sub.clone());
        }
        sub
    }

    /// The persisted (non-ephemeral) events.
    pub(crate) fn log(&self) -> Vec<Event> {
        lock(&self.state).log.clone()
    }

    /// The seq of the last event emitted.
    pub(crate) fn last_seq(&self) -> u64 {
        lock(&self.state).seq
    }

    /// The persisted events from index `from` on (none when the log is shorter).
    pub(crate) fn log_since(&self, from: usize) -> Vec<Event> {
        lock(&self.state)
            .log
            .get(from..)
            .map(<[Event]>::to_vec)
            .unwrap_or_default()
    }

    /// Ends every subscription; later subscribers end at once. The subscribers are closed after the
    /// bus lock is released (closing may call a host's notify).
    pub(crate) fn close(&self) {
        let subscribers = {
            let mut s = lock(&self.state);
            s.closed = true;
            std::mem::take(&mut s.subscribers)
        };
        for sub in subscribers {
            sub.close();
        }
    }
}

/// The session's events as a [`Stream`]: every non-delta event in order, deltas unless this stream
/// fell behind (then a [`Lagged`] item says how many were dropped). Ends when the session is
/// disconnected or its client stopped.
#[derive(Debug)]
pub struct EventStream {
    sub: Arc<Subscriber>,
}

impl EventStream {
    pub(crate) fn new(sub: Arc<Subscriber>) -> Self {
        EventStream { sub }
    }
}

impl Stream for EventStream {
    type Item = Result<Event, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.sub.poll_next(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // The bus drops subscribers nobody else holds on its next emit.
        self.sub.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::session::events::{MessageDeltaData, TurnData};

    fn delta(text: &str) -> EventData {
        EventData::MessageDelta(MessageDeltaData {
            message_id: "m".into(),
            delta_content: text.into(),
        })
    }

    fn turn(id: &str) -> EventData {
        EventData::TurnStart(TurnData { turn_id: id.into() })
    }

    fn kinds(batch: &FeedBatch) -> Vec<String> {
        batch
            .items
            .iter()
            .map(|i| match i {
                FeedItem::Event(e) => e.kind().to_owned(),
                FeedItem::Barrier(n) => format!("barrier {n}"),
            })
            .collect()
    }

    #[test]
    fn a_feed_notifies_once_until_taken_and_keeps_order_with_barriers() {
        let bus = EventBus::default();
        let feed = EventFeed::new(bus.subscribe(8, Interest::All));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        feed.set_notify(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        bus.emit(turn("1"));
        bus.emit(delta("a"));
        let b = feed.barrier().expect("an open feed takes barriers");
        bus.emit(delta("b"));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one notify until the host takes"
        );
        let batch = feed.take(usize::MAX).expect("items");
        assert_eq!(
            kinds(&batch),
            [
                "assistant.turn_start",
                "assistant.message_delta",
                &format!("barrier {b}"),
                "assistant.message_delta"
            ]
        );
        bus.emit(turn("2"));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the next item notifies again"
        );
        // A bounded take leaves the rest and notifies again, so nothing is stranded.
        bus.emit(turn("3"));
        let first = feed.take(1).expect("one");
        assert_eq!(kinds(&first), ["assistant.turn_start"]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(feed.take(10).expect("rest").items.len(), 1);
        bus.close();
        let last = feed.take(10);
        assert!(last.is_none(), "closed and empty");
        assert_eq!(
            feed.barrier(),
            None,
            "nothing can follow a closed, drained feed"
        );
    }

    #[test]
    fn a_closed_feed_taken_in_bounded_batches_hands_over_everything_then_lets_the_notify_go() {
        let bus = EventBus::default();
        let feed = EventFeed::new(bus.subscribe(1024, Interest::All));
        let calls = Arc::new(AtomicUsize::new(0));
        // Held by the notify alone: its count tells whether the feed still keeps the notify.
        let held = Arc::new(());
        let (counter, witness) = (calls.clone(), held.clone());
        feed.set_notify(move || {
            let _ = &witness;
            counter.fetch_add(1, Ordering::SeqCst);
        });
        for i in 0..299 {
            bus.emit(delta(&i.to_string()));
        }
        let barrier = feed.barrier().expect("an open feed takes barriers");
        bus.close();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "told once so far");
        let first = feed.take(256).expect("the first batch");
        assert_eq!(first.items.len(), 256);
        assert!(!first.closed, "more is left");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "told again for the rest");
        assert_eq!(
            Arc::strong_count(&held),
            2,
            "the notify is kept until drained"
        );
        let rest = feed.take(256).expect("the rest");
        assert_eq!(rest.items.len(), 44, "43 deltas and the barrier");
        assert!(rest.closed, "the last batch");
        assert!(matches!(rest.items.last(), Some(FeedItem::Barrier(b)) if *b == barrier));
        assert_eq!(Arc::strong_count(&held), 1, "drained: the notify is let go");
        assert!(feed.take(256).is_none());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_lagging_feed_drops_only_deltas_and_counts_them() {
        let bus = EventBus::default();
        let feed = EventFeed::new(bus.subscribe(2, Interest::All));
        for i in 0..5 {
            bus.emit(delta(&i.to_string()));
            bus.emit(turn(&i.to_string()));
        }
        let batch = feed.take(usize::MAX).expect("items");
        assert_eq!(batch.skipped, 3, "3 of 5 deltas dropped with a buffer of 2");
        let turns = kinds(&batch)
            .iter()
            .filter(|k| *k == "assistant.turn_start")
            .count();
        assert_eq!(turns, 5, "non-delta events are never dropped");
    }

    #[test]
    fn events_are_shared_and_their_json_rendered_once() {
        let bus = EventBus::default();
        let a = EventFeed::new(bus.subscribe(8, Interest::All));
        let b = EventFeed::new(bus.subscribe(8, Interest::All));
        bus.emit(turn("1"));
        let (FeedItem::Event(ea), FeedItem::Event(eb)) = (
            a.take(1).expect("a").items.remove(0),
            b.take(1).expect("b").items.remove(0),
        ) else {
            panic!("events expected");
        };
        assert!(
            std::ptr::eq(&*ea, &*eb),
            "one allocation for every subscriber"
        );
        assert!(std::ptr::eq(ea.json(), eb.json()), "JSON rendered once");
        let json: serde_json::Value = serde_json::from_str(ea.json()).expect("json");
        assert_eq!(json["type"], "assistant.turn_start");
        assert_eq!(json["data"]["turnId"], "1");
        let batch = FeedBatch {
            items: vec![FeedItem::Event(ea.clone()), FeedItem::Barrier(7)],
            ..Default::default()
        };
        let array: serde_json::Value = serde_json::from_str(&batch.to_json()).expect("array");
        assert_eq!(array[1], 7);
        assert_eq!(array[0]["type"], "assistant.turn_start");
    }

    #[test]
    fn a_json_feed_gets_its_events_rendered_as_they_are_emitted() {
        let bus = EventBus::default();
        let plain = EventFeed::new(bus.subscribe(8, Interest::All));
        assert!(
            !bus.emit(turn("1")).json_rendered(),
            "nobody reads JSON: nothing rendered"
        );
        let json = EventFeed::new(bus.subscribe_json(8));
        let emitted = bus.emit(turn("2"));
        assert!(emitted.json_rendered(), "rendered as it was emitted");
        let FeedItem::Event(taken) = json.take(8).expect("one event").items.remove(0) else {
            panic!("an event expected");
        };
        assert!(std::ptr::eq(taken.json(), emitted.json()), "the same text");
        drop(json);
        assert!(
            !bus.emit(turn("3")).json_rendered(),
            "the JSON reader is gone: nothing rendered"
        );
        assert_eq!(plain.take(8).expect("three").items.len(), 3);
    }

    #[tokio::test]
    async fn next_batch_waits_for_items_and_ends_after_close() {
        let bus = Arc::new(EventBus::default());
        let feed = EventFeed::new(bus.subscribe(8, Interest::All));
        let emitter = bus.clone();
        let task = tokio::spawn(async move {
            tokio::task::yield_now().await;
            emitter.emit(turn("1"));
            emitter.close();
        });
        let mut received = feed.next_batch(16).await.expect("a batch").items.len();
        assert_eq!(received, 1, "woken by the first event");
        task.await.expect("emitter");
        while let Some(b) = feed.next_batch(16).await {
            received += b.items.len();
        }
        assert_eq!(received, 1, "nothing more, and the feed ended after close");
    }
}
