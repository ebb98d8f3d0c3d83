//! Node.js binding of modelport: placeholder until the Node.js binding issue lands.
