//! Plugins installed into the store (`plugins`), which every replica sharing it serves beside its plugins
//! directory. The store keeps the files as they were installed; every replica judges them again as it loads them
//! (signature, grants, the operator's caps), exactly as it judges files of its directory.

use sqlx::Row;

use super::shared_statement::Bind;
use super::{Decodes, Result, Store, postgres};

/// A plugin as the store keeps it. `component` and `manifest` are `None` when they are larger than the reader
/// asked for (they were not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPlugin {
    pub name: String,
    pub component: Option<Vec<u8>>,
    pub manifest: Option<String>,
    pub signature: Option<String>,
    /// sha256 over the three, as the registry computes it for files.
    pub identity: String,
}

const INSTALL: &str = "INSERT INTO plugins (name, component, manifest, signature, identity, installed_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET component = excluded.component, \
     manifest = excluded.manifest, signature = excluded.signature, identity = excluded.identity, \
     installed_at = excluded.installed_at";
const REMOVE: &str = "DELETE FROM plugins WHERE name = $1";
/// Every plugin's name and identity, by name: what replicas poll. Rows no install writes (names longer than a
/// plugin name may be, identities longer than a digest) are left out, and at most 1,000 are read: a
/// store written by something else must not make every replica read without bound each second.
pub(super) const IDENTITIES: &str = "SELECT name, identity FROM plugins \
     WHERE length(name) <= 64 AND length(identity) <= 256 ORDER BY name LIMIT 1000";
/// Every plugin, its component only when within `$1` bytes and its manifest and signature within `$2` (left
/// unread otherwise), the same rows as [`IDENTITIES`].
pub(super) const ALL: &str = "SELECT name, CASE WHEN length(component) <= $1 THEN component END, \
     CASE WHEN octet_length(manifest) <= $2 THEN manifest END, \
     CASE WHEN octet_length(signature) <= $2 THEN signature END, identity FROM plugins \
     WHERE length(name) <= 64 AND length(identity) <= 256 ORDER BY name LIMIT 1000";

pub(super) fn identity_from_row<'r, R>(row: &'r R) -> Result<(String, String)>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    String: Decodes<'r, R::Database>,
{
    Ok((row.try_get(0)?, row.try_get(1)?))
}

pub(super) fn plugin_from_row<'r, R>(row: &'r R) -> Result<StoredPlugin>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    String: Decodes<'r, R::Database>,
    Vec<u8>: Decodes<'r, R::Database>,
{
    Ok(StoredPlugin {
        name: row.try_get(0)?,
        component: row.try_get(1)?,
        manifest: row.try_get(2)?,
        signature: row.try_get(3)?,
        identity: row.try_get(4)?,
    })
}

impl Store {
    /// Installs (or replaces) plugin `name` for every replica sharing this store, `identity` being the
    /// registry's of these files. The caller has judged them.
    pub async fn install_plugin(
        &self,
        name: &str,
        (component, manifest, signature): (&[u8], &str, Option<&str>),
        identity: &str,
        at: i64,
    ) -> Result<()> {
        let binds = [
            Bind::Text(name),
            Bind::Bytes(component),
            Bind::Text(manifest),
            Bind::MaybeText(signature),
            Bind::Text(identity),
            Bind::Int(at),
        ];
        self.execute_shared(INSTALL, &binds).await.map(drop)
    }

    /// Removes an installed plugin; `false` when the store had none of that name.
    pub async fn remove_plugin(&self, name: &str) -> Result<bool> {
        Ok(self.execute_shared(REMOVE, &[Bind::Text(name)]).await? > 0)
    }

    /// Every installed plugin's name and identity, by name: cheap enough to poll.
    pub async fn plugin_identities(&self) -> Result<Vec<(String, String)>> {
        if self.postgres().is_some() {
            return postgres::stored_plugins::identities(self).await;
        }
        let rows = self.read(async |c| sqlx::query(IDENTITIES).fetch_all(c).await).await?;
        rows.iter().map(identity_from_row).collect()
    }

    /// Every installed plugin, components over `max_component_bytes` and manifests over `max_manifest_bytes`
    /// left unread.
    pub async fn stored_plugins(
        &self,
        max_component_bytes: usize,
        max_manifest_bytes: usize,
    ) -> Result<Vec<StoredPlugin>> {
        let limits = (max_component_bytes as i64, max_manifest_bytes as i64);
        if self.postgres().is_some() {
            return postgres::stored_plugins::all(self, limits).await;
        }
        let query = sqlx::query(ALL).bind(limits.0).bind(limits.1);
        let rows = self.read(async |c| query.fetch_all(c).await).await?;
        rows.iter().map(plugin_from_row).collect()
    }
}
