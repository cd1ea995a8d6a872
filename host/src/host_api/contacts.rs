//! `contacts`: typed search and retrieval of users and leads.

use super::{HostApi, bounds, host_error};
use crate::bindings::contacts as wit;
use crate::bindings::types::{HostError, PageRequest};
use crate::store::filter::ContactFilter;
use crate::store::model::ContactView;

impl wit::Host for HostApi {
    async fn search(&mut self, filter: wit::ContactFilter, page: PageRequest) -> Result<wit::ContactPage, HostError> {
        bounds::contact_filter(&filter)?;
        bounds::page(&page)?;
        let filter = ContactFilter { text: filter.text, email: filter.email, company: filter.company };
        let page = crate::store::filter::PageRequest { limit: page.limit, cursor: page.cursor };
        let found = self.store.search_contacts(&filter, &page).await.map_err(|e| host_error(&self.plugin, e))?;
        Ok(wit::ContactPage {
            items: found.items.into_iter().map(contact_to_wit).collect(),
            total: found.total,
            next_cursor: found.next_cursor,
        })
    }

    async fn get(&mut self, id: String) -> Result<Option<wit::Contact>, HostError> {
        bounds::id(&id)?;
        let found = self.store.get_contact(&id).await.map_err(|e| host_error(&self.plugin, e))?;
        Ok(found.map(contact_to_wit))
    }
}

fn contact_to_wit(contact: ContactView) -> wit::Contact {
    wit::Contact {
        id: contact.id,
        role: contact.role,
        external_id: contact.external_id,
        email: contact.email,
        name: contact.name,
        phone: contact.phone,
        created_at: contact.created_at,
        updated_at: contact.updated_at,
        last_seen_at: contact.last_seen_at,
        country: contact.country,
        city: contact.city,
        companies: contact
            .companies
            .into_iter()
            .map(|company| wit::CompanyRef { id: company.id, name: company.name })
            .collect(),
        tags: contact.tags,
    }
}
