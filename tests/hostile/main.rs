//! The hostile-client suite: each test reproduces one abuse a client on the
//! network can try (huge, slow or malformed requests, bombs, crashes) and
//! asserts the server stays within its bounds. One module per kind of abuse.

mod archives;
mod support_ext;
