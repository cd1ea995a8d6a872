//! The reference data: teammates and their teams, tags, companies and contacts.
//!
//! Ids follow Intercom's shapes: admins, teams and tags have numeric string ids; companies and contacts have
//! 24-hex ids that, like Intercom's (MongoDB ObjectIds), start with their creation time. Contacts are generated
//! in creation order, so a conversation can pick a contact that already existed when it started.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::rng::{Rng, Stream};
use super::vocabulary as v;
use crate::store::model::{AdminRecord, CompanyRecord, ContactRecord, TagRecord, TeamRecord};

pub(super) const DAY: i64 = 86_400;
pub(super) const YEAR: i64 = 365 * DAY;

/// Fin, the AI agent that authors bot parts. Like Intercom's bots it is not in the admin list.
pub(super) const BOT_ID: &str = "9100001";
pub(super) const BOT_NAME: &str = "Fin";
pub(super) const BOT_EMAIL: &str = "operator+tillwise@intercom.io";

/// What conversations need to know about a contact beyond its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ContactFacts {
    /// Index into the companies, for users that belong to one.
    pub company: Option<u32>,
    /// Index into [`v::PLACES`].
    pub place: u16,
}

/// An ObjectId-shaped id: creation time, a per-workspace "machine" part and a counter.
fn object_id(created_at: i64, machine: u64, counter: usize) -> String {
    let mut id = String::with_capacity(24);
    let _ = write!(id, "{:08x}{:010x}{:06x}", created_at as u32, machine & 0xff_ffff_ffff, counter & 0xff_ffff);
    id
}

/// The local part of an email address: lowercase ASCII letters and digits only ("de Vries" → "devries").
fn email_local(first: &str, last: &str) -> String {
    let mut local = String::with_capacity(first.len() + last.len() + 1);
    local.extend(first.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()));
    local.push('.');
    local.extend(last.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()));
    local
}

/// Numeric string ids, increasing with gaps, as Intercom hands them out.
fn numeric_ids(rng: &mut Rng, start: i64, count: usize) -> Vec<String> {
    let mut next = start + rng.between(0, 900_000);
    (0..count)
        .map(|_| {
            next += rng.between(1, 4_000);
            next.to_string()
        })
        .collect()
}

/// 30-60 teammates in 6-12 teams; every team has at least one member.
pub(super) fn admins_and_teams(seed: u64) -> (Vec<AdminRecord>, Vec<TeamRecord>) {
    let mut rng = Rng::new(seed, Stream::Admins, 0);
    let team_count = rng.between(6, v::TEAM_NAMES.len() as i64) as usize;
    let admin_count = rng.between(30, 60) as usize;
    let team_ids = numeric_ids(&mut rng, 5_000_000, team_count);
    let admin_ids = numeric_ids(&mut rng, 4_000_000, admin_count);
    let mut names = HashSet::with_capacity(admin_count);
    let mut admins = Vec::with_capacity(admin_count);
    for (index, id) in admin_ids.into_iter().enumerate() {
        let (first, last) = loop {
            let pair = (*rng.pick(v::FIRST_NAMES), *rng.pick(v::LAST_NAMES));
            if names.insert(pair) {
                break pair;
            }
        };
        let primary = if index < team_count { index } else { rng.below(team_count) };
        let mut team_ids_of_admin = vec![team_ids[primary].clone()];
        let secondary = rng.below(team_count);
        if secondary != primary && rng.chance(0.25) {
            team_ids_of_admin.push(team_ids[secondary].clone());
        }
        admins.push(AdminRecord {
            id,
            name: Some(format!("{first} {last}")),
            email: Some(format!("{}@{}", email_local(first, last), v::PRODUCT_DOMAIN)),
            job_title: Some(if index == 0 { "Head of Support" } else { rng.pick(v::JOB_TITLES) }.to_owned()),
            away_mode_enabled: rng.chance(0.08),
            has_inbox_seat: index == 0 || rng.chance(0.93),
            team_ids: team_ids_of_admin,
        });
    }
    let teams = team_ids
        .iter()
        .zip(v::TEAM_NAMES)
        .map(|(id, name)| TeamRecord {
            id: id.clone(),
            name: (*name).to_owned(),
            admin_ids: admins.iter().filter(|a| a.team_ids.contains(id)).map(|a| a.id.clone()).collect(),
        })
        .collect();
    (admins, teams)
}

pub(super) fn tags(seed: u64) -> Vec<TagRecord> {
    let mut rng = Rng::new(seed, Stream::Tags, 0);
    numeric_ids(&mut rng, 7_000_000, v::TAG_NAMES.len())
        .into_iter()
        .zip(v::TAG_NAMES)
        .map(|(id, name)| TagRecord { id, name: (*name).to_owned() })
        .collect()
}

/// Companies with their home place (an index into [`v::PLACES`]). Each name (and so each domain) is unique.
pub(super) fn companies(seed: u64, count: usize, now: i64) -> (Vec<CompanyRecord>, Vec<u16>) {
    let mut rng = Rng::new(seed, Stream::Companies, 0);
    let machine = Rng::hash(seed, 2);
    let combos = v::COMPANY_PREFIXES.len() * v::COMPANY_KINDS.len();
    let offset = rng.below(combos);
    let mut companies = Vec::with_capacity(count);
    let mut places = Vec::with_capacity(count);
    for index in 0..count {
        // 7,919 is prime and does not divide `combos`, so the first `combos` companies get distinct names.
        let combo = (index % combos * 7_919 + offset) % combos;
        let prefix = v::COMPANY_PREFIXES[combo / v::COMPANY_KINDS.len()];
        let (kind, industry) = v::COMPANY_KINDS[combo % v::COMPANY_KINDS.len()];
        let round = index / combos;
        let place = rng.below(v::PLACES.len());
        let name = if round == 0 { format!("{prefix} {kind}") } else { format!("{prefix} {kind} {}", round + 1) };
        let mut domain = email_local(prefix, kind).replace('.', "");
        if round > 0 {
            let _ = write!(domain, "{}", round + 1);
        }
        domain.push_str(".com");
        let plan_index = rng.weighted(&v::PLANS.iter().map(|p| p.1).collect::<Vec<_>>());
        let (plan, _, price) = v::PLANS[plan_index];
        let size = match plan_index {
            0 => rng.between(1, 10),
            1 => rng.between(5, 40),
            2 => rng.between(20, 150),
            _ => rng.between(100, 2_000),
        };
        let locations = rng.between(1, 3);
        let created_at = now - rng.between(3 * YEAR, 4 * YEAR);
        let last_request_at = now - rng.between(0, 30 * DAY);
        companies.push(CompanyRecord {
            id: object_id(created_at, machine, index),
            company_id: Some(format!("cus_{}", 10_000 + index)),
            name,
            plan: Some(plan.to_owned()),
            size: Some(size),
            website: Some(format!("https://www.{domain}")),
            industry: Some(industry.to_owned()),
            monthly_spend: Some((i64::from(price) * locations) as f64),
            user_count: Some(0),
            session_count: Some(rng.between(50, 50_000)),
            created_at: Some(created_at),
            updated_at: Some(last_request_at),
            remote_created_at: Some(created_at),
            last_request_at: Some(last_request_at),
        });
        places.push(place as u16);
    }
    (companies, places)
}

/// Contacts in creation order over the three years before `now`; users belong to a company (bigger companies
/// have more of them) and have an email at its domain, leads have a personal email and no company.
pub(super) fn contacts(
    seed: u64,
    count: usize,
    now: i64,
    companies: &mut [CompanyRecord],
    company_places: &[u16],
    admins: &[AdminRecord],
    tags: &[TagRecord],
) -> (Vec<ContactRecord>, Vec<ContactFacts>) {
    let mut rng = Rng::new(seed, Stream::Contacts, 0);
    let machine = Rng::hash(seed, 3);
    let tag_id = |name: &str| tags.iter().find(|t| t.name == name).map(|t| t.id.clone());
    let (vip, trial, churn, enterprise) = (tag_id("vip"), tag_id("trial"), tag_id("churn-risk"), tag_id("enterprise"));
    let start = now - 3 * YEAR;
    let span = 3 * YEAR - DAY;
    let slot = span / count.max(1) as i64;
    let mut emails: HashSet<String> = HashSet::with_capacity(count);
    let mut users = 0;
    let mut contacts = Vec::with_capacity(count);
    let mut facts = Vec::with_capacity(count);
    for index in 0..count {
        let created_at = start + (i128::from(span) * index as i128 / count as i128) as i64 + rng.between(0, slot - 1);
        let lead = companies.is_empty() || rng.chance(0.12);
        // The first users give every company one (Intercom does not list companies without users); later
        // ones sometimes skew towards the first companies (squaring a uniform number): a few big customers.
        let company = (!lead).then(|| {
            if users < companies.len() {
                return users;
            }
            let u = rng.unit();
            let u = if rng.chance(0.3) { u * u } else { u };
            ((u * companies.len() as f64) as usize).min(companies.len() - 1)
        });
        users += usize::from(company.is_some());
        let (first, last) = (*rng.pick(v::FIRST_NAMES), *rng.pick(v::LAST_NAMES));
        let domain = match company {
            Some(c) => {
                companies[c].website.as_deref().unwrap_or_default().trim_start_matches("https://www.").to_owned()
            }
            None => (*rng.pick(v::PERSONAL_DOMAINS)).to_owned(),
        };
        let local = email_local(first, last);
        let mut email = format!("{local}@{domain}");
        let mut suffix = 2;
        while !emails.insert(email.clone()) {
            email = format!("{local}{suffix}@{domain}");
            suffix += 1;
        }
        let place = match company {
            Some(c) if rng.chance(0.8) => usize::from(company_places[c]),
            _ => rng.below(v::PLACES.len()),
        };
        let (country, region, city, phone_prefix, _) = v::PLACES[place];
        let u = rng.unit();
        let seen_ago = ((now - created_at) as f64 * (u * u * u)) as i64;
        let last_seen_at = now - seen_ago;
        let enterprise_company = company.is_some_and(|c| companies[c].plan.as_deref() == Some("Enterprise"));
        let mut tag_ids = Vec::new();
        if rng.chance(if enterprise_company { 0.4 } else { 0.05 }) {
            tag_ids.extend(vip.clone());
        }
        if enterprise_company {
            tag_ids.extend(enterprise.clone());
        }
        if lead && rng.chance(0.3) {
            tag_ids.extend(trial.clone());
        }
        if rng.chance(0.03) {
            tag_ids.extend(churn.clone());
        }
        if let Some(c) = company {
            let users = companies[c].user_count.get_or_insert(0);
            *users += 1;
        }
        contacts.push(ContactRecord {
            id: object_id(created_at, machine, index),
            role: if lead { "lead" } else { "user" }.to_owned(),
            external_id: (!lead).then(|| format!("usr_{}", 100_000 + index)),
            email: Some(email),
            name: Some(format!("{first} {last}")),
            phone: rng
                .chance(0.45)
                .then(|| format!("{phone_prefix} {} {}", rng.between(200, 999), rng.between(1000, 9999))),
            owner_id: rng.chance(0.15).then(|| rng.pick(admins).id.clone()),
            created_at,
            updated_at: last_seen_at.max(created_at),
            signed_up_at: (!lead).then_some(created_at),
            last_seen_at: Some(last_seen_at),
            last_replied_at: None,
            last_contacted_at: None,
            country: Some(country.to_owned()),
            region: Some(region.to_owned()),
            city: Some(city.to_owned()),
            browser: Some((*rng.pick(v::BROWSERS)).to_owned()),
            os: Some((*rng.pick(v::OPERATING_SYSTEMS)).to_owned()),
            company_ids: company.map(|c| companies[c].id.clone()).into_iter().collect(),
            tag_ids,
            custom_attributes: Some(format!(
                "{{\"locations\":{},\"signup_source\":\"{}\"}}",
                rng.between(1, 3),
                rng.pick(&["website", "referral", "partner", "sales"])
            )),
        });
        facts.push(ContactFacts { company: company.map(|c| c as u32), place: place as u16 });
    }
    // A company has at least as many employees as it has users.
    for company in companies.iter_mut() {
        let users = company.user_count.unwrap_or(0);
        if company.size.is_some_and(|size| size < users) {
            company.size = Some(users + rng.between(0, users / 2));
        }
    }
    (contacts, facts)
}
