//! `directory`: tags, teams, admins and companies by id or by a piece of the name.

use super::{HostApi, bounds, host_error};
use crate::bindings::directory as wit;
use crate::bindings::types::HostError;
use crate::store::{DirectoryEntry, DirectoryKind, DirectoryLookup, DirectoryPage};

impl HostApi {
    /// Checks `lookup` against its bounds, then reads the entries of `kind` under the call's deadline.
    async fn look_up(&self, kind: DirectoryKind, lookup: wit::Lookup) -> Result<DirectoryPage, HostError> {
        bounds::directory_lookup(&lookup)?;
        let lookup = DirectoryLookup { id: lookup.id, name: lookup.name, limit: lookup.limit };
        self.store.directory(kind, &lookup).await.map_err(|e| host_error(&self.plugin, e))
    }
}

impl wit::Host for HostApi {
    async fn tags(&mut self, lookup: wit::Lookup) -> Result<wit::TagsFound, HostError> {
        let found = self.look_up(DirectoryKind::Tags, lookup).await?;
        let items = found.items.into_iter().map(|e| wit::Tag { id: e.id, name: e.name.unwrap_or_default() }).collect();
        Ok(wit::TagsFound { items, total: found.total })
    }

    async fn teams(&mut self, lookup: wit::Lookup) -> Result<wit::TeamsFound, HostError> {
        let found = self.look_up(DirectoryKind::Teams, lookup).await?;
        let items = found
            .items
            .into_iter()
            .map(|e| wit::Team { id: e.id, name: e.name.unwrap_or_default(), admin_ids: e.member_ids })
            .collect();
        Ok(wit::TeamsFound { items, total: found.total })
    }

    async fn admins(&mut self, lookup: wit::Lookup) -> Result<wit::AdminsFound, HostError> {
        let found = self.look_up(DirectoryKind::Admins, lookup).await?;
        let items = found
            .items
            .into_iter()
            .map(|e| wit::Admin {
                id: e.id,
                name: e.name,
                email: e.email,
                job_title: e.job_title,
                away: e.away,
                team_ids: e.member_ids,
            })
            .collect();
        Ok(wit::AdminsFound { items, total: found.total })
    }

    async fn companies(&mut self, lookup: wit::Lookup) -> Result<wit::CompaniesFound, HostError> {
        let found = self.look_up(DirectoryKind::Companies, lookup).await?;
        let items = found.items.into_iter().map(company_to_wit).collect();
        Ok(wit::CompaniesFound { items, total: found.total })
    }
}

fn company_to_wit(entry: DirectoryEntry) -> wit::Company {
    let details = entry.company.unwrap_or_default();
    wit::Company {
        id: entry.id,
        company_id: details.company_id,
        name: entry.name.unwrap_or_default(),
        plan: details.plan,
        size: details.size,
        website: details.website,
        industry: details.industry,
        monthly_spend: details.monthly_spend,
        user_count: details.user_count,
        created_at: details.created_at,
        contacts: details.contacts,
    }
}
