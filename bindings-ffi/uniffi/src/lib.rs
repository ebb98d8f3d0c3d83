//! uniffi bindings of modelport: placeholder until the uniffi issue lands.
