//! A bearer token provider implemented in C (Entra ID, OIDC, a vault...): core's `TokenProvider`
//! calling a C callback, and the reply it fills in. The token is a `SecretString` from the moment it
//! is copied out of C: it never appears in Debug output, errors or events.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use modelport::{BearerToken, Error, ErrorKind, TokenProvider, TokenRequest};

use crate::error::{FfiError, MpStatus};
use crate::gate::{Gate, call_blocking};
use crate::util::{UserData, guard, str_arg};

/// A bearer token provider: gives the token sent as `Authorization: Bearer ...` (it wins over the
/// provider's `apiKey` and `bearerToken`).
///
/// Called on a modelport blocking-pool thread (never on the thread that called into the library)
/// before a request needs a token: before every request (retries included) when the last token had
/// no expiry, otherwise once the cached token is less than 60 seconds from its expiry. Sessions and
/// requests that need a token at the same moment share one call. The library waits for it (the
/// client's `timeouts.tokenMs`, after which the request fails with `MP_ERR_AUTH`), and asks again
/// after a 401.
///
/// Answer through `reply`: `mp_token_reply_set_token` with the token (and its expiry, when known),
/// or `mp_token_reply_set_error`: the request then fails with `MP_ERR_AUTH` and that message, as it
/// does when the callback sets neither. `reply` is valid only during the call. The callback may block
/// (it has its own thread, e.g. for a credential library's network call); it must not call
/// `mp_session_send_and_wait`, nor free the handle it was given to.
pub type MpTokenFn = Option<unsafe extern "C" fn(user_data: *mut c_void, reply: *mut MpTokenReply)>;

/// What a token callback answers (opaque; valid only during the callback). The token is kept as a
/// secret: its Debug output is redacted.
#[derive(Debug, Default)]
pub struct MpTokenReply {
    outcome: Option<Result<BearerToken, String>>,
}

/// The core token provider calling `callback` through `gate` (`handle`, "session" or "client", names
/// the handle in the error after it was freed).
pub(crate) fn token_provider(
    callback: unsafe extern "C" fn(*mut c_void, *mut MpTokenReply),
    user_data: *mut c_void,
    gate: &Arc<Gate>,
    handle: &'static str,
) -> TokenProvider {
    let user_data = UserData(user_data);
    let gate = gate.clone();
    TokenProvider::new(move |_request: TokenRequest| {
        let gate = gate.clone();
        async move {
            let outcome = call_blocking(&gate, handle, move || {
                let mut reply = MpTokenReply::default();
                // SAFETY: the callback and user_data are the caller's; `reply` lives until the call
                // returns, as the callback's contract says.
                unsafe { callback(user_data.get(), &raw mut reply) };
                reply.outcome
            })
            .await
            .map_err(|m| Error::new(ErrorKind::Auth, m))?;
            match outcome {
                Some(Ok(token)) => Ok(token),
                Some(Err(message)) => Err(Error::new(ErrorKind::Auth, message)),
                None => Err(Error::new(
                    ErrorKind::Auth,
                    "the token callback set no token: call mp_token_reply_set_token (or \
                     mp_token_reply_set_error when there is none)",
                )),
            }
        }
    })
}

/// Sets the token (copied; the caller may wipe its copy when this returns). `expires_at_unix_ms` is
/// when it stops being valid, in milliseconds since 1970-01-01 UTC (e.g. Entra ID's `expires_on` *
/// 1000): the token is then reused until 60 seconds before that; 0 when unknown (the callback is
/// asked again before every request). The last call wins. An empty token fails the request with
/// `MP_ERR_AUTH`.
///
/// # Safety
/// `reply` is the pointer the callback received, during the callback; `token` is a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_token_reply_set_token(
    reply: *mut MpTokenReply,
    token: *const c_char,
    expires_at_unix_ms: u64,
) -> MpStatus {
    guard("mp_token_reply_set_token", || {
        // SAFETY: the caller's contract.
        let reply = unsafe { reply.as_mut() }.ok_or_else(|| FfiError::usage("`reply` is NULL"))?;
        // SAFETY: the caller's contract.
        let token = unsafe { str_arg(token, "token") }?;
        let token = match expires_at_unix_ms {
            0 => BearerToken::new(token),
            ms => BearerToken::with_expiry(token, UNIX_EPOCH + Duration::from_millis(ms)),
        };
        reply.outcome = Some(Ok(token));
        Ok(())
    })
}

/// Reports that no token could be had: the request fails with `MP_ERR_AUTH` and `message`.
///
/// # Safety
/// As `mp_token_reply_set_token`; `message` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_token_reply_set_error(
    reply: *mut MpTokenReply,
    message: *const c_char,
) -> MpStatus {
    guard("mp_token_reply_set_error", || {
        // SAFETY: the caller's contract.
        let reply = unsafe { reply.as_mut() }.ok_or_else(|| FfiError::usage("`reply` is NULL"))?;
        // SAFETY: the caller's contract.
        let message = unsafe { str_arg(message, "message") }?;
        reply.outcome = Some(Err(message.to_owned()));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_never_shows_its_token() {
        let mut reply = MpTokenReply::default();
        // SAFETY: a live reply and NUL-terminated strings.
        let status =
            unsafe { mp_token_reply_set_token(&raw mut reply, c"tok-VERY-SECRET".as_ptr(), 0) };
        assert_eq!(status, crate::error::MP_OK);
        let shown = format!("{reply:?}");
        assert!(!shown.contains("VERY-SECRET"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
