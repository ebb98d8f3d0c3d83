//! Per-call overhead of `mp_session_send_and_wait` against the same turn from Rust, in one run.
//!
//! `cargo test -p modelport-ffi --release --lib overhead -- --ignored --nocapture` (not part of CI;
//! a test rather than a `[[bench]]` because a bench target would see two crates named `modelport`:
//! this library and core). Both sides play the quickstart
//! turn ("What is 2+2?") from one replay server over loopback, each with a fresh session per turn
//! (session creation is not timed), from the main thread, on the same client and runtime, alternating
//! C ABI and Rust turn by turn so that drift hits both alike. The C side goes through the exported functions exactly as a C caller
//! does: JSON options in, the `assistant.message` event as a JSON string out, freed with
//! `mp_string_free`. Reported: median and trimmed mean per side, and their difference.

use std::ffi::{CStr, CString, c_char};
use std::ptr;
use std::time::{Duration, Instant};

use modelport::{ProviderConfig, SessionConfig};

use crate::client::{MpClient, mp_client_create_session, mp_client_free, mp_client_new};
use crate::error::{MP_OK, mp_last_error_message};
use crate::replay::{MpReplay, mp_replay_openai_url, mp_replay_start, mp_replay_stop};
use crate::session::{MpSession, mp_session_free, mp_session_send_and_wait};
use crate::util::mp_string_free;

const TURNS: usize = 3000;
const WARMUP: usize = 200;

fn check(status: i32, what: &str) {
    if status != MP_OK {
        // SAFETY: mp_last_error_message returns a NUL-terminated string owned by the library.
        let message = unsafe { CStr::from_ptr(mp_last_error_message()) };
        panic!("{what} failed ({status}): {}", message.to_string_lossy());
    }
}

fn summary(name: &str, samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let median = us(samples[samples.len() / 2]);
    let trim = samples.len() / 10;
    let kept = &samples[trim..samples.len() - trim];
    let mean = kept.iter().map(|d| us(*d)).sum::<f64>() / kept.len() as f64;
    println!(
        "{name:>6}: median {median:8.2} us, trimmed mean {mean:8.2} us, p10 {:8.2} us, p90 {:8.2} us",
        us(samples[samples.len() / 10]),
        us(samples[samples.len() * 9 / 10]),
    );
    (median, mean)
}

#[test]
#[ignore = "a benchmark: run it in release with --ignored --nocapture"]
fn send_and_wait_overhead() {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/replay/quickstart.yaml"
    );
    let source = CString::new(root).expect("path");
    let mut replay: *mut MpReplay = ptr::null_mut();
    // SAFETY: valid strings and out-pointer.
    check(
        unsafe {
            mp_replay_start(
                source.as_ptr(),
                c"{\"record\": false}".as_ptr(),
                &mut replay,
            )
        },
        "mp_replay_start",
    );
    // SAFETY: a live replay handle; the URL string lives until mp_replay_stop.
    let url = unsafe { CStr::from_ptr(mp_replay_openai_url(replay)) }
        .to_str()
        .expect("utf-8")
        .to_owned();

    // The C ABI side.
    let mut client: *mut MpClient = ptr::null_mut();
    // SAFETY: valid out-pointer.
    check(
        unsafe { mp_client_new(ptr::null(), &mut client) },
        "mp_client_new",
    );
    let config = CString::new(format!(
        "{{\"model\": \"YOUR-DEPLOYMENT-NAME\", \"provider\": {{\"type\": \"openai\", \"baseUrl\": \"{url}\", \"apiKey\": \"k\"}}}}"
    ))
    .expect("config");
    let options = c"{\"prompt\": \"What is 2+2?\"}";
    let c_turn = || -> Duration {
        let mut session: *mut MpSession = ptr::null_mut();
        // SAFETY: live client, valid strings and out-pointer.
        check(
            unsafe {
                mp_client_create_session(client, config.as_ptr(), ptr::null(), 0, &mut session)
            },
            "create",
        );
        let mut result: *mut c_char = ptr::null_mut();
        let start = Instant::now();
        // SAFETY: live session, valid strings and out-pointer.
        check(
            unsafe { mp_session_send_and_wait(session, options.as_ptr(), 0, &mut result) },
            "send_and_wait",
        );
        // SAFETY: the result string was returned by the library.
        unsafe { mp_string_free(result) };
        let elapsed = start.elapsed();
        // SAFETY: live session, freed once.
        unsafe { mp_session_free(session) };
        elapsed
    };

    // The Rust side: the same modelport client on the same runtime as the C handle's, driven from
    // the main thread with block_on as mp_session_send_and_wait does; only the ABI layer differs.
    // SAFETY: a live client handle, not freed before the end of this test.
    let (rust_client, rt) = unsafe { ((*client).client.clone(), (*client).rt.clone()) };
    let provider = ProviderConfig::openai(url.clone()).with_api_key("k");
    let rust_turn = || -> Duration {
        let session = rt
            .block_on(
                rust_client
                    .create_session(SessionConfig::new("YOUR-DEPLOYMENT-NAME", provider.clone())),
            )
            .expect("create");
        let start = Instant::now();
        let last = rt
            .block_on(session.send_and_wait("What is 2+2?", None))
            .expect("send_and_wait");
        let elapsed = start.elapsed();
        assert_eq!(last.as_ref().and_then(|e| e.content()), Some("2 + 2 = 4."));
        rt.block_on(session.disconnect());
        rt.block_on(rust_client.delete_session(session.id()))
            .expect("delete");
        elapsed
    };

    for _ in 0..WARMUP {
        c_turn();
        rust_turn();
    }
    let mut c_samples = Vec::with_capacity(TURNS);
    let mut rust_samples = Vec::with_capacity(TURNS);
    for i in 0..TURNS {
        if i % 2 == 0 {
            c_samples.push(c_turn());
            rust_samples.push(rust_turn());
        } else {
            rust_samples.push(rust_turn());
            c_samples.push(c_turn());
        }
    }
    println!(
        "{TURNS} turns each (after {WARMUP} warm-up turns), replay over loopback, one fresh session per turn"
    );
    let (c_median, c_mean) = summary("C ABI", &mut c_samples);
    let (r_median, r_mean) = summary("Rust", &mut rust_samples);
    println!(
        "added by the C ABI: {:+.2} us (medians), {:+.2} us (trimmed means)",
        c_median - r_median,
        c_mean - r_mean
    );

    drop(rt);
    // SAFETY: live handles, freed once.
    unsafe {
        mp_client_free(client);
        mp_replay_stop(replay);
    }
}
