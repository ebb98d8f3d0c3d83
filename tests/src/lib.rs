//! End-to-end tests of modelport live in `tests/`; this library holds their shared helpers.
