//! A gate in front of a C caller's callbacks: once closed, no new call goes through, and closing
//! waits for the calls in progress, so that after a free function returns the caller may release its
//! `user_data`.
//!
//! The gate's lock is only held to update its counters, never while a callback runs. A thread closing
//! the gate from inside one of the gate's own callbacks does not wait for itself.
//!
//! [`call_blocking`] is how core's async callbacks (tools, the permission handler, hooks, token
//! providers, the model list) reach C: on a blocking-pool thread, behind a gate.

use std::sync::Arc;
use std::thread::{self, ThreadId};

use parking_lot::{Condvar, Mutex};

use crate::runtime::{blocking, call_out};

#[derive(Debug, Default)]
struct State {
    closed: bool,
    /// The threads inside a callback behind this gate (one entry per nested call).
    running: Vec<ThreadId>,
    /// Calls promised to happen even after closing (send completions), not yet started.
    pending: usize,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

impl Gate {
    /// Enters for one call, unless the gate is closed.
    pub(crate) fn enter(self: &Arc<Self>) -> Option<Entered> {
        let mut state = self.state.lock();
        if state.closed {
            return None;
        }
        state.running.push(thread::current().id());
        Some(Entered { gate: self.clone() })
    }

    /// Promises one call that will happen even if the gate closes meanwhile (a completion callback).
    pub(crate) fn reserve(self: &Arc<Self>) -> Reservation {
        self.state.lock().pending += 1;
        Reservation {
            gate: Some(self.clone()),
        }
    }

    /// Closes the gate and waits until no other thread is inside a callback behind it.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.wait(false);
    }

    /// Waits until every reserved call has happened and no other thread is inside a callback.
    pub(crate) fn drain(&self) {
        self.wait(true);
    }

    fn wait(&self, pending_too: bool) {
        let me = thread::current().id();
        blocking(|| {
            let mut state = self.state.lock();
            while (pending_too && state.pending > 0) || state.running.iter().any(|t| *t != me) {
                self.changed.wait(&mut state);
            }
        });
    }

    fn leave(&self) {
        let me = thread::current().id();
        let mut state = self.state.lock();
        if let Some(i) = state.running.iter().rposition(|t| *t == me) {
            state.running.swap_remove(i);
        }
        drop(state);
        self.changed.notify_all();
    }
}

/// Calls `f` (a call into C) on a blocking-pool thread, so that the callback may block, behind
/// `gate`. Fails with a message when the gate is closed (`handle`, "session" or "client", was freed)
/// or when the thread did not finish (a panic in the conversions around the call, or the runtime
/// shutting down); the caller turns that into its own kind of failure.
pub(crate) async fn call_blocking<R: Send + 'static>(
    gate: &Arc<Gate>,
    handle: &'static str,
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    let gate = gate.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let _entered = gate.enter()?;
        Some(call_out(f))
    })
    .await;
    match joined {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(format!(
            "the {handle} handle was freed: its callbacks are no longer called"
        )),
        Err(e) => Err(format!("the callback's thread did not finish: {e}")),
    }
}

/// A call in progress behind a gate; leaving is dropping it (on the thread that entered).
#[derive(Debug)]
pub(crate) struct Entered {
    gate: Arc<Gate>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.gate.leave();
    }
}

/// A promised call (see [`Gate::reserve`]).
#[derive(Debug)]
pub(crate) struct Reservation {
    gate: Option<Arc<Gate>>,
}

impl Reservation {
    /// Turns the promise into a call in progress on the calling thread.
    pub(crate) fn enter(mut self) -> Option<Entered> {
        let gate = self.gate.take()?;
        let mut state = gate.state.lock();
        state.pending -= 1;
        state.running.push(thread::current().id());
        drop(state);
        Some(Entered { gate })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.state.lock().pending -= 1;
            gate.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn close_waits_for_calls_in_progress_and_refuses_new_ones() {
        let gate = Arc::new(Gate::default());
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let g = gate.clone();
        let worker = thread::spawn(move || {
            let _call = g.enter().expect("open");
            entered_tx.send(()).expect("send");
            release_rx.recv().expect("recv");
        });
        entered_rx.recv().expect("entered");
        let closer = {
            let g = gate.clone();
            thread::spawn(move || g.close())
        };
        release_tx.send(()).expect("release");
        closer.join().expect("close returns once the call has left");
        worker.join().expect("worker");
        assert!(gate.enter().is_none());
    }

    #[test]
    fn closing_from_inside_a_call_does_not_wait_for_itself() {
        let gate = Arc::new(Gate::default());
        let call = gate.enter().expect("open");
        gate.close();
        drop(call);
        gate.drain();
    }

    #[test]
    fn reserved_calls_happen_after_closing_and_drain_waits_for_them() {
        let gate = Arc::new(Gate::default());
        let reservation = gate.reserve();
        gate.close();
        let g = gate.clone();
        let t = thread::spawn(move || {
            let call = reservation.enter();
            assert!(call.is_some());
            drop(call);
            drop(g);
        });
        gate.drain();
        t.join().expect("thread");
    }
}
