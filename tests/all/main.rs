//! The integration suite: one binary, a module per area.
#![forbid(unsafe_code)]

mod async_natives;
mod cli;
mod convert;
mod embed;
mod fuzz_smoke;
mod grants;
mod host_types;
mod images;
mod kept_threads;
mod net;
mod r7rs;
mod reliability;
mod repl;
mod scheme_golden;
mod stress;
mod system;
mod world;
