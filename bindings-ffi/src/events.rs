//! Event subscriptions: a C callback per `mp_session_on`, removed by `mp_subscription_free`.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use modelport::{Event, Subscription};

use crate::error::{FfiError, MpStatus};
use crate::gate::Gate;
use crate::runtime::call_out;
use crate::session::MpSession;
use crate::util::{UserData, c_string, guard, guard_void, handle, opt_str_arg, out_param};

/// An event callback.
///
/// Called for each event of the session that matches the subscription, in order, one event at a time
/// per session, on a modelport runtime thread (never on the thread that called into the library).
/// `event_type` is the event's `type` ("assistant.message", ...); `event_json` the whole event
/// `{"id", "timestamp", "parentId", "ephemeral"?, "type", "data"}` in the Copilot SDK's camelCase
/// shape. Both strings are valid only during the call. Every non-ephemeral event is delivered;
/// `mp_session_send_and_wait` returns only after the callbacks have seen the send's `session.idle`.
/// Keep the callback short: the session's next events wait for it (the session itself does not).
/// It may call `mp_session_abort` and `mp_session_send_async`, but not `mp_session_send_and_wait`.
pub type MpEventFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        event_type: *const c_char,
        event_json: *const c_char,
    ),
>;

/// An event subscription (opaque), ended by `mp_subscription_free`.
#[derive(Debug)]
pub struct MpSubscription {
    subscription: Option<Subscription>,
    gate: Arc<Gate>,
}

/// One C callback behind the session's gate and its own.
struct Listener {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char),
    user_data: UserData,
    session_gate: Arc<Gate>,
    gate: Arc<Gate>,
}

impl Listener {
    fn deliver(&self, event: &Event) {
        let Some(_session) = self.session_gate.enter() else {
            return;
        };
        let Some(_listener) = self.gate.enter() else {
            return;
        };
        let json = c_string(event.json());
        let kind = c_string(event.kind());
        call_out(|| {
            // SAFETY: the callback and user_data are the caller's; the strings live until it returns.
            unsafe { (self.callback)(self.user_data.get(), kind.as_ptr(), json.as_ptr()) }
        });
    }
}

/// Subscribes `callback` to the session's events of type `event_type` (e.g. "assistant.message";
/// NULL or "*" for every event). On success `*out` is the subscription: free it with
/// `mp_subscription_free` to stop the callback (freeing the session stops it too). A type that is
/// neither one modelport emits nor a Copilot SDK one is `MP_ERR_CONFIG`, whose message lists the
/// valid types (and the closest, for a typo).
///
/// # Safety
/// `session` is a live session; `event_type` NULL or a NUL-terminated string; `callback` a valid
/// function; `out` valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_on(
    session: *mut MpSession,
    event_type: *const c_char,
    callback: MpEventFn,
    user_data: *mut c_void,
    out: *mut *mut MpSubscription,
) -> MpStatus {
    guard("mp_session_on", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(session, "session") }?;
        // SAFETY: the caller's contract.
        let kind = unsafe { opt_str_arg(event_type, "event_type") }?.unwrap_or("*");
        // A typo would subscribe to nothing: core names the valid types instead.
        modelport::session::events::check_event_type(kind)?;
        let callback = callback.ok_or_else(|| FfiError::usage("`callback` is NULL"))?;
        let gate = Arc::new(Gate::default());
        let listener = Listener {
            callback,
            user_data: UserData(user_data),
            session_gate: s.gate.clone(),
            gate: gate.clone(),
        };
        let subscription = s.session.on(kind, move |event| listener.deliver(event));
        *out = Box::into_raw(Box::new(MpSubscription {
            subscription: Some(subscription),
            gate,
        }));
        Ok(())
    })
}

/// Ends a subscription. After it returns the callback is not running on another thread and is not
/// called again (when called from the callback itself, the current call simply finishes), so its
/// `user_data` may be released. Valid after the session was freed. NULL is ignored.
///
/// # Safety
/// `subscription` is NULL or a live subscription, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_subscription_free(subscription: *mut MpSubscription) {
    if subscription.is_null() {
        return;
    }
    guard_void("mp_subscription_free", || {
        // SAFETY: by the contract, a live subscription from `mp_session_on`, freed once.
        let mut sub = unsafe { Box::from_raw(subscription) };
        sub.gate.close();
        if let Some(s) = sub.subscription.take() {
            s.unsubscribe();
        }
    });
}
