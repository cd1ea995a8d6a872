//! Shared set-up: temporary data directories, a demo workspace seeded once per test run, spawned servers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fastintercom::demo::{self, DemoOptions};
use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom::store::{Store, StoreOptions};
use tempfile::TempDir;

/// The built-in tools, sorted by name as `tools/list` returns them.
pub const BUILTIN_TOOLS: [&str; 6] =
    ["get_contact", "get_conversation", "get_sync_status", "list_plugins", "search_contacts", "search_conversations"];

/// Conversations in the shared demo workspace: enough for every filter to have hits and pages to turn.
pub const DEMO_CONVERSATIONS: usize = 3_000;

/// The options of the shared demo workspace; tests regenerate the same data in memory as their oracle.
pub fn demo_options() -> DemoOptions {
    DemoOptions { conversations: DEMO_CONVERSATIONS, seed: 7, now: 1_790_000_000 }
}

/// A data directory holding the shared demo workspace, seeded once per test binary run. Servers started on it
/// only read it.
pub fn demo_data_dir() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TempDir::new().expect("temporary directory");
        let path = dir.path().to_owned();
        // Seeding runs on its own runtime: each test has its own, and a store must not outlive the one it was
        // opened on.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let store = Store::open(&path.join("workspace.sqlite3"), StoreOptions::default()).await.expect("store");
                demo::seed(&store, &demo_options()).await.expect("seeding the demo workspace");
                store.close().await;
            });
        })
        .join()
        .expect("seeding thread");
        dir
    })
    .path()
}

/// An empty store in a fresh temporary directory.
pub async fn empty_store() -> (TempDir, Store) {
    let dir = TempDir::new().expect("temporary directory");
    let store = Store::open(&dir.path().join("workspace.sqlite3"), StoreOptions::default()).await.expect("store");
    (dir, store)
}

pub fn server_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fastintercom"))
}

/// A server on the shared demo workspace, session opened.
pub async fn demo_server(era: Era) -> StdioClient {
    let mut client = StdioClient::spawn(&server_exe(), demo_data_dir(), &[], era).await.expect("server starts");
    client.open().await.expect("session opens");
    client
}
