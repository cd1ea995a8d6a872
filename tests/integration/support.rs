//! Shared set-up: temporary data directories, a demo workspace seeded once per test run, spawned servers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fastintercom::demo::{self, DemoOptions};
use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom::store::{Store, StoreOptions};
use tempfile::TempDir;

/// The built-in tools, sorted by name as `tools/list` returns them.
pub const BUILTIN_TOOLS: [&str; 15] = [
    "conversation_volume",
    "fetch",
    "get_company",
    "get_contact",
    "get_conversation",
    "get_sync_status",
    "list_plugins",
    "response_times",
    "satisfaction",
    "search",
    "search_companies",
    "search_contacts",
    "search_conversations",
    "tag_trends",
    "workload",
];

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
    demo_server_on(Backend::Sqlite, era).await
}

/// A server on the shared demo workspace of `backend`, session opened.
pub async fn demo_server_on(backend: Backend, era: Era) -> StdioClient {
    let (data_dir, database_args) = match backend {
        Backend::Sqlite => (demo_data_dir(), Vec::new()),
        Backend::Postgres => {
            let db = demo_postgres();
            (db.dir.path(), db.database_args())
        }
    };
    let args: Vec<&std::ffi::OsStr> = database_args.iter().map(std::ffi::OsStr::new).collect();
    let mut client = StdioClient::spawn(&server_exe(), data_dir, &args, era).await.expect("server starts");
    client.open().await.expect("session opens");
    client
}

/// A PostgreSQL database holding the shared demo workspace, seeded once per test binary run. Servers started on
/// it only read it. (A static is never dropped: the next run's first database drops it, see
/// [`drop_databases_of_ended_runs`].)
pub fn demo_postgres() -> &'static TestDb {
    static DB: OnceLock<TestDb> = OnceLock::new();
    DB.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let db = TestDb::new(Backend::Postgres).await;
                let store = db.open().await;
                demo::seed(&store, &demo_options()).await.expect("seeding the demo workspace");
                store.close().await;
                db
            })
        })
        .join()
        .expect("seeding thread")
    })
}

/// Which database a test's store lives in: the store, sync and end-to-end suites run on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server of the tests (trust authentication), and the database tests connect to for creating and
/// dropping their own.
const POSTGRES_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// A test's own store location: a temporary directory, and for PostgreSQL a database of its own, dropped (with
/// whatever connections are left) when this is.
pub struct TestDb {
    pub dir: TempDir,
    database: Option<String>,
}

impl TestDb {
    /// A fresh location on `backend`. PostgreSQL must be running: a test that cannot reach it fails rather than
    /// passing without having run (the README says how to start it).
    pub async fn new(backend: Backend) -> Self {
        let dir = TempDir::new().expect("temporary directory");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(create_database().await),
        };
        Self { dir, database }
    }

    /// The database URL a server or store of this location is given (`None`: SQLite in the directory).
    pub fn url(&self) -> Option<String> {
        self.database.as_ref().map(|name| format!("{POSTGRES_SERVER}/{name}"))
    }

    /// The arguments that put a spawned server's store here, besides `--data-dir`.
    pub fn database_args(&self) -> Vec<String> {
        self.url().map(|url| vec!["--database-url".to_owned(), url]).unwrap_or_default()
    }

    /// Opens the store of this location.
    pub async fn open(&self) -> Store {
        self.try_open().await.expect("the test's store opens")
    }

    /// Opens the store of this location with few connections (tests open several at once).
    pub async fn try_open(&self) -> Result<Store, fastintercom::store::StoreError> {
        match self.url() {
            Some(url) => {
                let options = fastintercom::store::PostgresOptions { connections: 4, ..Default::default() };
                Store::open_postgres(&url, &options).await
            }
            None => Store::open(&self.dir.path().join("workspace.sqlite3"), StoreOptions { readers: 2 }).await,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.database.take() {
            // Its own thread and runtime: this may run inside a test's runtime, which must not be blocked on.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async {
                    if let Ok(mut admin) = admin_connection().await {
                        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

async fn admin_connection() -> sqlx::Result<sqlx::PgConnection> {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(&format!("{POSTGRES_SERVER}/postgres")).await
}

/// Test databases are named `fastintercom_test_<pid>_...` after the process that made them.
const DATABASE_PREFIX: &str = "fastintercom_test_";

/// Creates an empty database with a name no other test (or test run) uses.
async fn create_database() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{DATABASE_PREFIX}{}_{n}_{:08x}", std::process::id(), rand::random::<u32>());
    let mut admin = admin_connection()
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (trust authentication) is needed by this test: see the README");
    if n == 0 {
        drop_databases_of_ended_runs(&mut admin).await;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("creating the test database");
    name
}

/// Drops the test databases whose process has ended: those a run kept to its end (statics such as
/// [`demo_postgres`] are never dropped) or left behind when it was killed.
async fn drop_databases_of_ended_runs(admin: &mut sqlx::PgConnection) {
    let names: Vec<String> = sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)")
        .bind(DATABASE_PREFIX)
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
    for name in names {
        let pid = name[DATABASE_PREFIX.len()..].split('_').next().unwrap_or_default();
        let ended = pid.parse::<u32>().is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if ended {
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut *admin).await;
        }
    }
}

/// An empty store of its own on `backend`.
pub async fn empty_store_on(backend: Backend) -> (TestDb, Store) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    (db, store)
}

/// Runs each named `async fn(Backend)` test on both backends: `<name>::sqlite` and `<name>::postgres`.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$test($crate::support::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$test($crate::support::Backend::Postgres).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;
