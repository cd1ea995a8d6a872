//! Contacts, companies, admins, teams and tags as Intercom 2.16 JSON (see `json.rs` for the why).

use serde::Serialize;
use serde_json::Value;

use super::json::{APP_ID, EMBEDDED_REFERENCES, attributes};
use crate::store::model::{AdminRecord, CompanyRecord, ContactRecord, TagRecord, TeamRecord};

#[derive(Serialize)]
#[serde(untagged)]
enum IntId<'a> {
    Int(u64),
    Text(&'a str),
}

fn int_ids(ids: &[String]) -> Vec<IntId<'_>> {
    ids.iter().map(|id| id.parse().map_or(IntId::Text(id), IntId::Int)).collect()
}

#[derive(Serialize)]
struct Addressable<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    url: String,
}

/// Up to [`EMBEDDED_REFERENCES`] references, the total, and the url listing all of them.
#[derive(Serialize)]
struct AddressableList<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: Vec<Addressable<'a>>,
    url: String,
    total_count: usize,
    has_more: bool,
}

fn addressable<'a>(contact: &str, what: &str, kind: &'static str, ids: &'a [String]) -> AddressableList<'a> {
    AddressableList {
        kind: "list",
        data: ids
            .iter()
            .take(EMBEDDED_REFERENCES)
            .map(|id| Addressable { kind, id, url: format!("/{what}/{id}") })
            .collect(),
        url: format!("/contacts/{contact}/{what}"),
        total_count: ids.len(),
        has_more: ids.len() > EMBEDDED_REFERENCES,
    }
}

#[derive(Serialize)]
struct Location<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    country: Option<&'a str>,
    region: Option<&'a str>,
    city: Option<&'a str>,
    country_code: Option<()>,
    continent_code: Option<()>,
}

#[derive(Serialize)]
struct EmptyList {
    #[serde(rename = "type")]
    kind: &'static str,
    data: [(); 0],
}

#[derive(Serialize)]
struct ContactJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    workspace_id: &'static str,
    external_id: Option<&'a str>,
    role: &'a str,
    email: Option<&'a str>,
    email_domain: Option<&'a str>,
    phone: Option<&'a str>,
    name: Option<&'a str>,
    avatar: Option<()>,
    owner_id: Option<&'a str>,
    social_profiles: EmptyList,
    has_hard_bounced: bool,
    marked_email_as_spam: bool,
    unsubscribed_from_emails: bool,
    created_at: i64,
    updated_at: i64,
    signed_up_at: Option<i64>,
    last_seen_at: Option<i64>,
    last_replied_at: Option<i64>,
    last_contacted_at: Option<i64>,
    last_email_opened_at: Option<i64>,
    last_email_clicked_at: Option<i64>,
    language_override: Option<()>,
    browser: Option<&'a str>,
    browser_version: Option<()>,
    browser_language: Option<()>,
    os: Option<&'a str>,
    location: Location<'a>,
    android_last_seen_at: Option<i64>,
    ios_last_seen_at: Option<i64>,
    custom_attributes: Value,
    tags: AddressableList<'a>,
    notes: AddressableList<'a>,
    companies: AddressableList<'a>,
}

pub fn contact(out: &mut Vec<u8>, c: &ContactRecord) {
    let json = ContactJson {
        kind: "contact",
        id: &c.id,
        workspace_id: APP_ID,
        external_id: c.external_id.as_deref(),
        role: &c.role,
        email: c.email.as_deref(),
        email_domain: c.email.as_deref().and_then(|e| e.split_once('@')).map(|(_, domain)| domain),
        phone: c.phone.as_deref(),
        name: c.name.as_deref(),
        avatar: None,
        owner_id: c.owner_id.as_deref(),
        social_profiles: EmptyList { kind: "list", data: [] },
        has_hard_bounced: false,
        marked_email_as_spam: false,
        unsubscribed_from_emails: false,
        created_at: c.created_at,
        updated_at: c.updated_at,
        signed_up_at: c.signed_up_at,
        last_seen_at: c.last_seen_at,
        last_replied_at: c.last_replied_at,
        last_contacted_at: c.last_contacted_at,
        last_email_opened_at: None,
        last_email_clicked_at: None,
        language_override: None,
        browser: c.browser.as_deref(),
        browser_version: None,
        browser_language: None,
        os: c.os.as_deref(),
        location: Location {
            kind: "location",
            country: c.country.as_deref(),
            region: c.region.as_deref(),
            city: c.city.as_deref(),
            country_code: None,
            continent_code: None,
        },
        android_last_seen_at: None,
        ios_last_seen_at: None,
        custom_attributes: attributes(c.custom_attributes.as_deref()),
        tags: addressable(&c.id, "tags", "tag", &c.tag_ids),
        notes: addressable(&c.id, "notes", "note", &[]),
        companies: addressable(&c.id, "companies", "company", &c.company_ids),
    };
    let _ = serde_json::to_writer(out, &json);
}

#[derive(Serialize)]
struct Plan<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    name: &'a str,
}

/// `monthly_spend` is an integer in the spec; the record keeps an `f64`, sent as an integer when it is one.
#[derive(Serialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Float(f64),
}

fn number(value: f64) -> Number {
    if value.fract() == 0.0 && value.abs() < 9.0e15 { Number::Int(value as i64) } else { Number::Float(value) }
}

/// A stable numeric plan id from its name (the record has names only).
fn plan_id(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (200_000 + hash % 800_000).to_string()
}

#[derive(Serialize)]
struct Segments {
    #[serde(rename = "type")]
    kind: &'static str,
    segments: [(); 0],
}

#[derive(Serialize)]
struct CompanyTags {
    #[serde(rename = "type")]
    kind: &'static str,
    tags: [(); 0],
}

/// Absent record fields are left out, as Intercom's examples do.
#[derive(Serialize)]
struct CompanyJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_id: Option<&'a str>,
    id: &'a str,
    app_id: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_request_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    website: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    industry: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    monthly_spend: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_count: Option<i64>,
    tags: CompanyTags,
    segments: Segments,
    /// `{}` when the company has no plan, as in the spec's examples.
    plan: Value,
    custom_attributes: Value,
}

pub fn company(out: &mut Vec<u8>, c: &CompanyRecord) {
    let plan = c.plan.as_deref().map_or_else(
        || Value::Object(serde_json::Map::new()),
        |name| serde_json::to_value(Plan { kind: "plan", id: plan_id(name), name }).unwrap_or(Value::Null),
    );
    let json = CompanyJson {
        kind: "company",
        company_id: c.company_id.as_deref(),
        id: &c.id,
        app_id: APP_ID,
        name: &c.name,
        remote_created_at: c.remote_created_at,
        created_at: c.created_at,
        updated_at: c.updated_at,
        last_request_at: c.last_request_at,
        size: c.size,
        website: c.website.as_deref(),
        industry: c.industry.as_deref(),
        monthly_spend: c.monthly_spend.map(number),
        session_count: c.session_count,
        user_count: c.user_count,
        tags: CompanyTags { kind: "tag.list", tags: [] },
        segments: Segments { kind: "segment.list", segments: [] },
        plan,
        custom_attributes: Value::Object(serde_json::Map::new()),
    };
    let _ = serde_json::to_writer(out, &json);
}

#[derive(Serialize)]
struct Avatar {
    #[serde(rename = "type")]
    kind: &'static str,
    image_url: String,
}

#[derive(Serialize)]
struct AdminJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    email: Option<&'a str>,
    id: &'a str,
    name: Option<&'a str>,
    job_title: Option<&'a str>,
    away_mode_enabled: bool,
    away_mode_reassign: bool,
    away_status_reason_id: Option<()>,
    has_inbox_seat: bool,
    team_ids: Vec<IntId<'a>>,
    avatar: Avatar,
}

#[derive(Serialize)]
struct TeamJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    name: &'a str,
    admin_ids: Vec<IntId<'a>>,
    admin_priority_level: Option<()>,
    assignment_limit: Option<()>,
    distribution_method: Option<()>,
}

#[derive(Serialize)]
struct TagJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct AdminList<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    admins: Vec<AdminJson<'a>>,
}

#[derive(Serialize)]
struct TeamList<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    teams: Vec<TeamJson<'a>>,
}

#[derive(Serialize)]
struct TagList<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: Vec<TagJson<'a>>,
}

/// `GET /admins`.
pub fn admin_list(admins: &[AdminRecord]) -> Vec<u8> {
    let admins = admins
        .iter()
        .map(|a| AdminJson {
            kind: "admin",
            email: a.email.as_deref(),
            id: &a.id,
            name: a.name.as_deref(),
            job_title: a.job_title.as_deref(),
            away_mode_enabled: a.away_mode_enabled,
            away_mode_reassign: false,
            away_status_reason_id: None,
            has_inbox_seat: a.has_inbox_seat,
            team_ids: int_ids(&a.team_ids),
            avatar: Avatar {
                kind: "avatar",
                image_url: format!("https://static.intercomassets.com/avatars/{}/square_128/avatar.png", a.id),
            },
        })
        .collect();
    serde_json::to_vec(&AdminList { kind: "admin.list", admins }).unwrap_or_default()
}

/// `GET /teams`.
pub fn team_list(teams: &[TeamRecord]) -> Vec<u8> {
    let teams = teams
        .iter()
        .map(|t| TeamJson {
            kind: "team",
            id: &t.id,
            name: &t.name,
            admin_ids: int_ids(&t.admin_ids),
            admin_priority_level: None,
            assignment_limit: None,
            distribution_method: None,
        })
        .collect();
    serde_json::to_vec(&TeamList { kind: "team.list", teams }).unwrap_or_default()
}

/// `GET /tags` and `GET /contacts/{id}/tags`: `{"type":"list","data":[tag...]}`.
pub fn tag_list<'a>(tags: impl Iterator<Item = &'a TagRecord>) -> Vec<u8> {
    let data = tags.map(|t| TagJson { kind: "tag", id: &t.id, name: &t.name }).collect();
    serde_json::to_vec(&TagList { kind: "list", data }).unwrap_or_default()
}
