//! Python binding of modelport: placeholder until the Python binding issue lands.
