//! The hostile-client suite: each test reproduces one abuse a client on the
//! network can try (huge, slow or malformed requests, bombs, crashes) and
//! asserts the server stays within its bounds. One module per kind of abuse.

mod archives;
mod bodies;
mod connections;
mod crash;
mod guessing;
mod headers;
mod memory;
mod paths;
mod raw_http;
mod rot;
mod support_ext;
