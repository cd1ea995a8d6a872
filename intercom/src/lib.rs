//! The Intercom REST API (version 2.16): typed models, their conversion into store records, and the HTTP client
//! the sync engine uses (authenticated, versioned, paced by the rate-limit headers, retrying what can succeed).

use fastintercom_store as store;

mod client;
pub mod convert;
mod error;
pub mod models;
mod pacing;

pub use client::{
    API_VERSION, AccessToken, ClientOptions, DELETED_PAGE_SIZE, IntercomClient, Region, RequestCounts, SEARCH_PAGE_SIZE,
};
pub use error::IntercomError;
pub use pacing::{Pacer, RateLimitHeaders};
