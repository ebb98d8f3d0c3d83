//! Crossing the boundary: C strings in and out, out-parameters, the panic guard, and user data.

use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{FfiError, MP_OK, MpStatus, set_last_error};

/// `Result` of the code behind an exported function.
pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

/// Runs the body of the exported function `function`: a panic becomes `MP_ERR_PANIC`, an error
/// becomes its status and this thread's last error. Nothing unwinds into C.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> FfiResult) -> MpStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => MP_OK,
        Ok(Err(e)) => {
            set_last_error(&e);
            e.code()
        }
        Err(payload) => {
            let e = FfiError::panic(function, payload.as_ref());
            set_last_error(&e);
            e.code()
        }
    }
}

/// Runs the body of an exported function that cannot report a status (the free functions): a
/// panic is recorded as this thread's last error and otherwise swallowed.
pub(crate) fn guard_void(function: &str, body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        set_last_error(&FfiError::panic(function, payload.as_ref()));
    }
}

/// A required string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(FfiError::usage(format!("`{name}` is NULL")));
    }
    // SAFETY: not NULL, and NUL-terminated and alive for 'a by the caller's contract.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map_err(|e| FfiError::usage(format!("`{name}` is not valid UTF-8: {e}")))
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(ptr, name) }.map(Some)
    }
}

/// A handle argument.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` returned by this library, used for shared access only.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> FfiResult<&'a T> {
    // SAFETY: by the caller's contract the pointer, when not NULL, is a live `T`.
    unsafe { ptr.as_ref() }.ok_or_else(|| FfiError::usage(format!("`{name}` is NULL")))
}

/// An out-parameter: checks it is not NULL and sets it to NULL, so that the caller sees NULL on
/// every error path.
///
/// # Safety
/// `out` is NULL or valid for one pointer write.
pub(crate) unsafe fn out_param<'a, T>(out: *mut *mut T, name: &str) -> FfiResult<&'a mut *mut T> {
    // SAFETY: forwarded contract.
    unsafe { opt_out_param(out) }.ok_or_else(|| FfiError::usage(format!("`{name}` is NULL")))
}

/// An optional out-parameter (NULL means "not wanted"), set to NULL when given.
///
/// # Safety
/// As [`out_param`].
pub(crate) unsafe fn opt_out_param<'a, T>(out: *mut *mut T) -> Option<&'a mut *mut T> {
    // SAFETY: by the caller's contract the pointer, when not NULL, is writable.
    let slot = unsafe { out.as_mut() }?;
    *slot = std::ptr::null_mut();
    Some(slot)
}

/// `s` as a C string; NUL bytes (never present in JSON, possible in provider text) become U+FFFD.
pub(crate) fn c_string(s: impl Into<String>) -> CString {
    let s = s.into();
    CString::new(s).unwrap_or_else(|e| {
        let cleaned = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\u{FFFD}");
        CString::new(cleaned).unwrap_or_default()
    })
}

/// `s` as a string the caller frees with `mp_string_free`.
pub(crate) fn owned_string(s: impl Into<String>) -> *mut c_char {
    c_string(s).into_raw()
}

/// The `void *user_data` a C caller hands over with a callback.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UserData(pub *mut c_void);

impl UserData {
    /// The pointer (a method, so that closures capture the `Send` wrapper, not the raw field).
    pub(crate) fn get(self) -> *mut c_void {
        self.0
    }
}

// SAFETY: the pointer is only passed back to the caller's own callbacks, never dereferenced here. The
// header documents that callbacks run on library threads, so the caller's data must be usable there.
unsafe impl Send for UserData {}
// SAFETY: as above; the library never reads or writes through the pointer.
unsafe impl Sync for UserData {}

/// Frees a string returned by this library through a `char **` out-parameter (JSON results, ids).
/// NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string this library returned to the caller that has not been freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    guard_void("mp_string_free", || {
        // SAFETY: by the contract, `s` came from `CString::into_raw` in `owned_string` and is freed once.
        drop(unsafe { CString::from_raw(s) });
    });
}

/// The library version, e.g. "0.1.0". A static string: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn mp_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Reads one value out of a JSON document (an event, a result) by RFC 6901 JSON pointer, so a C
/// program needs no JSON parser for the common case: `mp_json_pointer(event_json, "/data/content",
/// &text)`.
///
/// On success `*out` is the value: a string as its text (unquoted), anything else as compact JSON, or
/// NULL when the pointer matches nothing or the value is null. Free it with `mp_string_free`.
/// Returns `MP_ERR_CONFIG` when `json` is not valid JSON.
///
/// # Safety
/// `json` and `pointer` are NUL-terminated strings; `out` is valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_json_pointer(
    json: *const c_char,
    pointer: *const c_char,
    out: *mut *mut c_char,
) -> MpStatus {
    guard("mp_json_pointer", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        let json = unsafe { str_arg(json, "json") }?;
        // SAFETY: the caller's contract.
        let pointer = unsafe { str_arg(pointer, "pointer") }?;
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            FfiError::from(modelport::Error::config(format!(
                "mp_json_pointer: `json` is not valid JSON: {e}"
            )))
        })?;
        *out = match value.pointer(pointer) {
            None | Some(serde_json::Value::Null) => std::ptr::null_mut(),
            Some(serde_json::Value::String(s)) => owned_string(s.as_str()),
            Some(other) => owned_string(other.to_string()),
        };
        Ok(())
    })
}
