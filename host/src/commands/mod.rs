//! One file per subcommand.

pub mod bench;
pub mod bench_analytics;
pub mod bench_http;
pub mod bench_search;
pub mod bench_support;
pub mod bench_sync;
pub mod demo;
pub mod keys;
pub mod plugins;
pub mod serve;
pub mod status;
pub mod store;
pub mod sync;
