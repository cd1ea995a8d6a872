//! fastintercom's integration suite, one test binary: end to end over stdio in both protocol eras, the sandbox,
//! bad input, and the store's filters.

mod bad_input;
mod end_to_end;
mod plugins_dir;
mod sandbox;
mod store_filters;
mod support;
mod sync;
mod sync_process;
mod sync_support;
