//! The C ABI of modelport: placeholder until the C ABI issue lands.
