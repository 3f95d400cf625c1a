//! placeholder
pub mod reader;
