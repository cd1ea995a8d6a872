//! fastintercom's integration suite, one test binary: end to end over stdio and Streamable HTTP in both protocol
//! eras, the sandbox, bad input, the store's filters and the sync, on SQLite and on PostgreSQL.

mod analytics;
mod analytics_tools;
mod answer_cache;
mod bad_input;
mod directory;
mod end_to_end;
mod hostile;
mod hostile_files;
mod hostile_server;
mod hot_swap;
mod http;
mod http_support;
mod interop;
mod parity_tools;
mod plugins;
mod plugins_cli;
mod plugins_dir;
mod plugins_support;
mod postgres_faults;
mod python_guest;
mod replicas;
mod sandbox;
mod search_matrix;
mod store_copy;
mod store_filters;
mod store_inbox;
mod support;
mod sync;
mod sync_process;
mod sync_support;
