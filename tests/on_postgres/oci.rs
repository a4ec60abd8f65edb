//! `tests/oci.rs` again, each server on a database of its own in a
//! PostgreSQL cluster the test starts (`Server::start_in`).

#[path = "../oci.rs"]
mod suite;
