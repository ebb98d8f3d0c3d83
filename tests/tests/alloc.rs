//! Events are shared, not copied: the allocations a streamed send makes per event do not grow with
//! the number of subscribers (1 against 10), counted by a global counting allocator.
//!
//! Each subscriber's queue is a `VecDeque` of pointers, so an extra subscriber costs a few queue
//! growths per send and nothing per event; a deep copy per subscriber would cost at least two
//! allocations per event each (the event's id and text).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use modelport::transport::mock::{MockReply, MockTransport};
use modelport::{Client, ClientOptions, EventFeed, ProviderConfig, SessionConfig};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const DELTAS: usize = 2000;

/// Allocations and events of one streamed send of `DELTAS` one-character deltas, with `subscribers`
/// feeds attached (each buffering every delta, drained after the send).
async fn one_send(subscribers: usize) -> (u64, usize) {
    let mock = Arc::new(MockTransport::new().delta_chars(1));
    mock.push(MockReply::text("x".repeat(DELTAS)));
    let client =
        Client::new(ClientOptions::default().with_transport(mock.clone())).expect("client");
    let session = client
        .create_session(
            SessionConfig::new("m", ProviderConfig::openai("http://127.0.0.1:9/v1"))
                .with_streaming(true),
        )
        .await
        .expect("session");
    let feeds: Vec<EventFeed> = (0..subscribers).map(|_| session.feed(DELTAS * 2)).collect();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    session.send_and_wait("go", None).await.expect("send");
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    let mut events = 0;
    for feed in &feeds {
        let batch = feed.take(usize::MAX).expect("events");
        assert_eq!(batch.skipped, 0, "no delta dropped");
        events = batch.items.len();
    }
    client.stop().await;
    assert!(events > DELTAS, "every delta reached every feed ({events})");
    (after - before, events)
}

#[tokio::test(flavor = "current_thread")]
async fn allocations_per_event_do_not_grow_with_subscribers() {
    // A first send warms up lazily built state (the tracing dispatcher, thread-locals).
    one_send(1).await;
    let (one, events) = one_send(1).await;
    let (ten, _) = one_send(10).await;
    let per_event_one = one as f64 / events as f64;
    let per_event_ten = ten as f64 / events as f64;
    println!(
        "allocations per event: {per_event_one:.3} with 1 subscriber, {per_event_ten:.3} with 10 \
         ({events} events)"
    );
    // Nine more subscribers may add queue growths (about log2(events) each), not per-event copies.
    assert!(
        per_event_ten - per_event_one < 0.1,
        "allocations per event grew with subscribers: {per_event_one:.3} -> {per_event_ten:.3}"
    );
}
