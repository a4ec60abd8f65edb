//! `tests/npm.rs` again, each server on a database of its own in a
//! PostgreSQL cluster the test starts (`Server::start_in`).

#[path = "../npm.rs"]
mod suite;
