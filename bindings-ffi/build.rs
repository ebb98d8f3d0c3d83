//! Generates the C header from the sources with cbindgen (a build-dependency, so no `cargo install`).
//!
//! The header is written to `$OUT_DIR/modelport.h` on every build; `scripts/test.sh` fails when it
//! differs from the committed `include/modelport.h`. `MODELPORT_UPDATE_HEADER=1` also writes the
//! committed copy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The source files holding the C surface, in the order the header presents them.
const SOURCES: &[&str] = &[
    "src/error.rs",
    "src/util.rs",
    "src/client.rs",
    "src/session.rs",
    "src/events.rs",
    "src/tools.rs",
    "src/hooks.rs",
    "src/provider.rs",
    "src/models.rs",
    "src/replay.rs",
    "src/logging.rs",
];

const PREAMBLE: &str = "\
/*
 * modelport: an embedded bring-your-own-key LLM agent runtime. The C ABI.
 *
 * Conventions (details in bindings-ffi/README.md):
 * - Handles (mp_client, mp_session, mp_subscription, mp_replay) are opaque; each has one free function.
 *   Handles are thread-safe; only their free function must not race with other calls on them.
 * - Configuration and results are UTF-8 JSON strings in the camelCase shape of the Node API.
 * - Fallible functions return an mp_status: MP_OK (0) or an MP_ERR_* code; the message of the last
 *   failure on the calling thread is mp_last_error_message(). Out-parameters are NULL on failure.
 * - `char *` results (through `char **` out-parameters) belong to the caller: free them with
 *   mp_string_free(). `const char *` results belong to the library: never free them.
 * - Strings passed to callbacks are valid only during the call.
 * - Callbacks run on library threads, never on the thread that called in (except the log callback of
 *   mp_set_log_handler, called on whichever thread logs); no library lock is held while a callback
 *   runs. After a handle's free function returns, none of its callbacks runs again.
 * - A panic inside the library never crosses the boundary: it becomes MP_ERR_PANIC.
 */";

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("modelport.h");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-env-changed=MODELPORT_UPDATE_HEADER");
    // The shared library names itself, so programs linked against it (by -lmodelport or by path, as
    // CMake does) look it up as libmodelport.so on the loader's path, not at the path it was built at.
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmodelport.so");
    }

    let mut builder = cbindgen::Builder::new().with_config(config());
    for src in SOURCES {
        builder = builder.with_src(dir.join(src));
    }
    let bindings = match builder.generate() {
        Ok(b) => b,
        Err(e) => panic!("cbindgen could not generate the header: {e}"),
    };
    bindings.write_to_file(&out);
    if std::env::var_os("MODELPORT_UPDATE_HEADER").is_some_and(|v| v == "1") {
        bindings.write_to_file(dir.join("include/modelport.h"));
    } else if !same(&out, &dir.join("include/modelport.h")) {
        println!(
            "cargo:warning=include/modelport.h is out of date: regenerate it with \
             MODELPORT_UPDATE_HEADER=1 cargo build -p modelport-ffi"
        );
    }
}

fn same(a: &Path, b: &Path) -> bool {
    matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// The version the header was generated for, so C code can check it at compile time; `mp_version()`
/// tells the version of the library actually loaded.
fn version_macros() -> String {
    let part = |name: &str| std::env::var(name).expect("cargo sets CARGO_PKG_VERSION_*");
    format!(
        "\n/* The version of this header; mp_version() returns the loaded library's. */\n\
         #define MP_VERSION_MAJOR {}\n#define MP_VERSION_MINOR {}\n#define MP_VERSION_PATCH {}",
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    )
}

fn config() -> cbindgen::Config {
    let rename: HashMap<String, String> = [
        ("MpStatus", "mp_status"),
        ("MpClient", "mp_client"),
        ("MpSession", "mp_session"),
        ("MpSubscription", "mp_subscription"),
        ("MpReplay", "mp_replay"),
        ("MpTool", "mp_tool"),
        ("MpToolResult", "mp_tool_result"),
        ("MpToolFn", "mp_tool_fn"),
        ("MpEventFn", "mp_event_fn"),
        ("MpSendDoneFn", "mp_send_done_fn"),
        ("MpClientCallbacks", "mp_client_callbacks"),
        ("MpSessionCallbacks", "mp_session_callbacks"),
        ("MpPermissionFn", "mp_permission_fn"),
        ("MpPermissionReply", "mp_permission_reply"),
        ("MpHookFn", "mp_hook_fn"),
        ("MpHookReply", "mp_hook_reply"),
        ("MpTokenFn", "mp_token_fn"),
        ("MpTokenReply", "mp_token_reply"),
        ("MpListModelsFn", "mp_list_models_fn"),
        ("MpListModelsReply", "mp_list_models_reply"),
        ("MpLogFn", "mp_log_fn"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let mut config = cbindgen::Config {
        language: cbindgen::Language::C,
        header: Some(PREAMBLE.to_owned()),
        autogen_warning: Some(
            "/* Generated by cbindgen from bindings-ffi/src (build.rs): do not edit by hand. */"
                .to_owned(),
        ),
        include_guard: Some("MODELPORT_H".to_owned()),
        include_version: false,
        no_includes: true,
        sys_includes: vec!["stddef.h".to_owned(), "stdint.h".to_owned()],
        after_includes: Some(version_macros()),
        cpp_compat: true,
        usize_is_size_t: true,
        documentation: true,
        documentation_style: cbindgen::DocumentationStyle::Doxy,
        style: cbindgen::Style::Both,
        ..Default::default()
    };
    config.export.rename = rename;
    config.function.sort_by = Some(cbindgen::SortKey::None);
    config.constant.sort_by = Some(cbindgen::SortKey::None);
    config
}
