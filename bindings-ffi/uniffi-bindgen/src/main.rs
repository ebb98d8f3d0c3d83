//! `cargo run -p uniffi-bindgen -- generate --library target/debug/libmodelport_uniffi.so --language python --out-dir ...`

fn main() {
    uniffi::uniffi_bindgen_main()
}
