//! Per-call overhead of the C ABI's `mp_session_send_and_wait` against the same turn from Rust, in
//! one run.
//!
//! ```text
//! cargo build --release -p modelport-ffi && cargo run --release -p modelport-bench --example ffi_overhead
//! ```
//!
//! Not part of CI. The C side is the shared library a C program links (`libmodelport.so`, which the
//! first command builds into the directory above this example's), loaded at run time: modelport-ffi
//! cannot be a Rust dependency, because its library is also named `modelport` and an rlib of it
//! would collide with core's in every workspace build. The C side goes through the exported functions
//! exactly as a C caller does: JSON options in, the `assistant.message` event as a JSON string out,
//! freed with `mp_string_free`. The Rust side is `Session::send_and_wait` on a client and runtime built
//! as the library builds its own (`mp_client_new`: a multi-thread runtime, the client created inside
//! it), blocked on from the main thread as `mp_session_send_and_wait` does. Both sides play the
//! quickstart turn ("What is 2+2?") from one replay server over loopback, each with a fresh session per
//! turn (session creation is not timed), alternating C ABI and Rust turn by turn so that drift hits
//! both alike. Reported: median and trimmed mean per side, and their difference.

// Calling a C ABI through function pointers cannot avoid unsafe code; each call says why it holds.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_void};
use std::path::PathBuf;
use std::ptr;
use std::time::{Duration, Instant};

use libloading::Library;
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Client, ClientOptions, ProviderConfig, SessionConfig};
use tokio::runtime::{Builder, Runtime};

const TURNS: usize = 3000;
const WARMUP: usize = 200;
const MODEL: &str = "YOUR-DEPLOYMENT-NAME";
/// `MP_OK` of `modelport.h`.
const MP_OK: i32 = 0;

/// An opaque `mp_client *` or `mp_session *`.
type Handle = *mut c_void;

/// The functions of `modelport.h` this benchmark calls, with the signatures the header declares.
struct Abi {
    client_new: unsafe extern "C" fn(*const c_char, *mut Handle) -> i32,
    client_free: unsafe extern "C" fn(Handle),
    create_session:
        unsafe extern "C" fn(Handle, *const c_char, *const c_void, usize, *mut Handle) -> i32,
    send_and_wait: unsafe extern "C" fn(Handle, *const c_char, u64, *mut *mut c_char) -> i32,
    session_free: unsafe extern "C" fn(Handle),
    string_free: unsafe extern "C" fn(*mut c_char),
    last_error_message: unsafe extern "C" fn() -> *const c_char,
    /// Keeps the functions above loaded.
    _library: Library,
}

impl Abi {
    /// Loads `libmodelport.so` from the directory above this example's.
    fn load() -> Abi {
        let exe = std::env::current_exe().expect("the path of this program");
        let path: PathBuf = exe
            .parent()
            .and_then(|examples| examples.parent())
            .expect("the profile directory")
            .join(libloading::library_filename("modelport"));
        // SAFETY: modelport's library runs no initialiser that could conflict with this program.
        let library = unsafe { Library::new(&path) }.unwrap_or_else(|e| {
            panic!(
                "cannot load {} ({e}): build it first with `cargo build --release -p modelport-ffi`",
                path.display()
            )
        });
        Abi {
            client_new: symbol(&library, c"mp_client_new"),
            client_free: symbol(&library, c"mp_client_free"),
            create_session: symbol(&library, c"mp_client_create_session"),
            send_and_wait: symbol(&library, c"mp_session_send_and_wait"),
            session_free: symbol(&library, c"mp_session_free"),
            string_free: symbol(&library, c"mp_string_free"),
            last_error_message: symbol(&library, c"mp_last_error_message"),
            _library: library,
        }
    }

    fn check(&self, status: i32, what: &str) {
        if status != MP_OK {
            // SAFETY: mp_last_error_message returns a NUL-terminated string owned by the library.
            let message = unsafe { CStr::from_ptr((self.last_error_message)()) };
            panic!("{what} failed ({status}): {}", message.to_string_lossy());
        }
    }
}

/// The function `name` of `library`, as the function pointer type `F`.
fn symbol<F: Copy>(library: &Library, name: &CStr) -> F {
    // SAFETY: every caller names a function of modelport.h and gives its declared signature as `F`;
    // the pointer is used only while `library` stays loaded (both live in `Abi`).
    let symbol = unsafe { library.get::<F>(name) }.unwrap_or_else(|e| panic!("{name:?}: {e}"));
    *symbol
}

/// A runtime as the C library builds one: multi-thread, `workers` threads or one per core.
fn runtime(name: &str, workers: Option<usize>) -> Runtime {
    let mut builder = Builder::new_multi_thread();
    builder.enable_all().thread_name(name);
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    builder.build().expect("the runtime starts")
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

fn main() {
    let abi = Abi::load();
    let quickstart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/replay/quickstart.yaml"
    );
    // As `mp_replay_start` runs it: one worker of its own, requests not kept.
    let replay_rt = runtime("modelport-replay", Some(1));
    let config = ReplayConfig {
        record: false,
        ..ReplayConfig::default()
    };
    let server = replay_rt
        .block_on(ReplayServer::from_path(quickstart, config))
        .expect("the replay server starts");
    let url = server.openai_url();

    // The C ABI side.
    let mut client: Handle = ptr::null_mut();
    // SAFETY: a valid out-pointer.
    abi.check(
        unsafe { (abi.client_new)(ptr::null(), &mut client) },
        "mp_client_new",
    );
    let config = CString::new(format!(
        "{{\"model\": \"{MODEL}\", \"provider\": {{\"type\": \"openai\", \"baseUrl\": \"{url}\", \
         \"apiKey\": \"k\"}}}}"
    ))
    .expect("config");
    let options = c"{\"prompt\": \"What is 2+2?\"}";
    let c_turn = || -> Duration {
        let mut session: Handle = ptr::null_mut();
        // SAFETY: a live client, valid strings, no tools, a valid out-pointer.
        let status =
            unsafe { (abi.create_session)(client, config.as_ptr(), ptr::null(), 0, &mut session) };
        abi.check(status, "mp_client_create_session");
        let mut result: *mut c_char = ptr::null_mut();
        let start = Instant::now();
        // SAFETY: a live session, valid strings and out-pointer.
        let status = unsafe { (abi.send_and_wait)(session, options.as_ptr(), 0, &mut result) };
        abi.check(status, "mp_session_send_and_wait");
        // SAFETY: the result string was returned by the library, freed once.
        unsafe { (abi.string_free)(result) };
        let elapsed = start.elapsed();
        // SAFETY: a live session, freed once.
        unsafe { (abi.session_free)(session) };
        elapsed
    };

    // The Rust side: a client on a runtime built like the C client's, driven from the main thread
    // with block_on as mp_session_send_and_wait does.
    let rt = runtime("modelport", None);
    let rust_client = {
        let _context = rt.enter();
        Client::new(ClientOptions::default()).expect("the client")
    };
    let provider = ProviderConfig::openai(url.clone()).with_api_key("k");
    let rust_turn = || -> Duration {
        let session = rt
            .block_on(rust_client.create_session(SessionConfig::new(MODEL, provider.clone())))
            .expect("create");
        let start = Instant::now();
        let last = rt
            .block_on(session.send_and_wait("What is 2+2?", None))
            .expect("send_and_wait");
        let elapsed = start.elapsed();
        assert_eq!(last.as_ref().and_then(|e| e.content()), Some("2 + 2 = 4."));
        rt.block_on(session.disconnect());
        rust_client.delete_session(session.id());
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

    // SAFETY: a live client, freed once.
    unsafe { (abi.client_free)(client) };
    replay_rt.block_on(server.stop());
}
