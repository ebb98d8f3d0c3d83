//! The event bus alone, for the fan-out benchmark.

use crate::EventData;

/// The event bus alone, for the fan-out benchmark: emits deltas to `subscribers` event streams and
/// drains them, as the engine and its readers would.
#[derive(Debug)]
pub struct FanOut {
    bus: crate::session::bus::EventBus,
    streams: Vec<crate::EventStream>,
}

impl FanOut {
    /// A bus with `subscribers` streams (each buffering up to 1,024 deltas).
    pub fn new(subscribers: usize) -> Self {
        let bus = crate::session::bus::EventBus::default();
        let streams = (0..subscribers)
            .map(|_| {
                crate::EventStream::new(bus.subscribe(1024, crate::session::bus::Interest::All))
            })
            .collect();
        FanOut { bus, streams }
    }

    /// Emits `n` message deltas and reads every one from every stream; returns the events read.
    pub fn run(&mut self, n: usize) -> usize {
        use futures::{FutureExt, StreamExt};
        let mut read = 0;
        for i in 0..n {
            self.bus.emit(EventData::MessageDelta(
                crate::session::events::MessageDeltaData {
                    message_id: "m".to_owned(),
                    delta_content: if i % 2 == 0 { " rain" } else { " sun" }.to_owned(),
                },
            ));
            if i % 64 == 63 || i + 1 == n {
                for s in &mut self.streams {
                    while let Some(Some(Ok(_))) = s.next().now_or_never() {
                        read += 1;
                    }
                }
            }
        }
        read
    }
}
