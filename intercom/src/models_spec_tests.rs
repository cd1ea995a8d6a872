//! The models against Intercom's official OpenAPI description (API 2.16, a copy in `tests/fixtures/intercom-openapi/`).
//!
//! Intercom's examples are the closest thing to real responses we can test offline, and they disagree with the
//! schemas in places (integer part ids, `data` vs `companies`, object vs string avatars), so every example response
//! of every operation the sync uses must deserialize, as must every documented error body. The schemas themselves
//! have no whole-object examples, so each schema is also rendered into an instance from its properties' examples
//! (the way documentation tools do) and that must deserialize too. Counts are asserted so that a renamed operation
//! or a moved spec file fails the test instead of passing it vacuously.

use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::*;

/// A copy of the spec is kept in the repository (`tests/fixtures/intercom-openapi/`, with its source and licence
/// note), so the test runs on any clean checkout.
const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/intercom-openapi/api.intercom.io.yaml");

/// Deserializes a value into `T`, for the tables below.
type Check = fn(&Value) -> Result<(), String>;

fn check<T: DeserializeOwned>(value: &Value) -> Result<(), String> {
    T::deserialize(value).map(drop).map_err(|error| error.to_string())
}

/// The operations the sync engine calls, and the model each one's 2xx body deserializes into.
const OPERATIONS: &[(&str, Check)] = &[
    ("listConversations", check::<ConversationPage>),
    ("searchConversations", check::<ConversationPage>),
    ("retrieveConversation", check::<Conversation>),
    ("listDeletedConversationIds", check::<DeletedConversationPage>),
    ("ListContacts", check::<ContactPage>),
    ("SearchContacts", check::<ContactPage>),
    ("ShowContact", check::<Contact>),
    ("listTagsForAContact", check::<TagList>),
    ("listCompaniesForAContact", check::<CompanyList>),
    ("scrollOverAllCompanies", check::<CompanyScroll>),
    ("listAllCompanies", check::<CompanyList>),
    ("RetrieveACompanyById", check::<Company>),
    ("listAdmins", check::<AdminList>),
    ("retrieveAdmin", check::<Admin>),
    ("identifyAdmin", check::<Admin>),
    ("listTeams", check::<TeamList>),
    ("retrieveTeam", check::<Team>),
    ("listTags", check::<TagList>),
    ("findTag", check::<Tag>),
];

/// Component schemas and the model each one corresponds to.
const SCHEMAS: &[(&str, Check)] = &[
    ("conversation", check::<Conversation>),
    ("conversation_list_item", check::<Conversation>),
    ("conversation_part", check::<ConversationPart>),
    ("conversation_parts", check::<ConversationPartList>),
    ("conversation_list", check::<ConversationPage>),
    ("conversation_source", check::<Source>),
    ("conversation_statistics", check::<Statistics>),
    ("conversation_rating", check::<ConversationRating>),
    ("deleted_conversation_item", check::<DeletedConversation>),
    ("deleted_conversation_list", check::<DeletedConversationPage>),
    ("contact", check::<Contact>),
    ("contact_list", check::<ContactPage>),
    ("company", check::<Company>),
    ("company_list", check::<CompanyList>),
    ("company_scroll", check::<CompanyScroll>),
    ("contact_attached_companies", check::<CompanyList>),
    ("admin", check::<Admin>),
    ("admin_with_app", check::<Admin>),
    ("admin_list", check::<AdminList>),
    ("team", check::<Team>),
    ("team_list", check::<TeamList>),
    ("tag", check::<Tag>),
    ("tag_basic", check::<Tag>),
    ("tag_list", check::<TagList>),
    ("cursor_pages", check::<CursorPages>),
    ("pages_link", check::<PagesLink>),
    ("error", check::<ErrorBody>),
];

/// Error statuses that must have examples; every 4xx/5xx example anywhere in the spec must read as an
/// [`ErrorBody`].
const ERROR_STATUSES: &[&str] = &["401", "403", "404", "429"];

/// The parsed spec, read once for all tests. A missing or unreadable file fails the test that asks for it.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC_PATH)
            .unwrap_or_else(|error| panic!("cannot read the Intercom spec at {SPEC_PATH}: {error}"));
        serde_yaml_ng::from_str(&text).unwrap_or_else(|error| panic!("cannot parse {SPEC_PATH}: {error}"))
    })
}

/// Follows a local `$ref` (`#/components/...`) if `node` is one.
fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str).and_then(|reference| reference.strip_prefix('#')) {
        Some(pointer) => spec.pointer(pointer).unwrap_or(&Value::Null),
        None => node,
    }
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every operation object in `paths`, with its method and path. Some operations (the reporting-data export ones)
/// have no `operationId`, and one of them holds the spec's only 429 example, so they are included.
fn operations(spec: &Value) -> Vec<(String, &Value)> {
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else { return Vec::new() };
    let mut found = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(*method).filter(|operation| operation.is_object()) {
                found.push((format!("{} {path}", method.to_uppercase()), operation));
            }
        }
    }
    found
}

fn operation_id(operation: &Value) -> &str {
    operation.get("operationId").and_then(Value::as_str).unwrap_or_default()
}

/// The responses of an operation whose status matches `wanted`, `$ref`s resolved, with their status.
fn responses<'a>(spec: &'a Value, operation: &'a Value, wanted: impl Fn(&str) -> bool) -> Vec<(&'a str, &'a Value)> {
    let Some(responses) = operation.get("responses").and_then(Value::as_object) else { return Vec::new() };
    responses
        .iter()
        .filter(|(status, _)| wanted(status))
        .map(|(status, body)| (status.as_str(), resolve(spec, body)))
        .collect()
}

/// The named JSON example values of a response.
fn examples<'a>(spec: &'a Value, response: &'a Value) -> Vec<(&'a str, &'a Value)> {
    let Some(examples) = response.pointer("/content/application~1json/examples").and_then(Value::as_object) else {
        return Vec::new();
    };
    examples.iter().filter_map(|(name, example)| Some((name.as_str(), resolve(spec, example).get("value")?))).collect()
}

fn json_schema<'a>(spec: &'a Value, response: &'a Value) -> Option<&'a Value> {
    response.pointer("/content/application~1json/schema").map(|schema| resolve(spec, schema))
}

fn find_operation<'a>(spec: &'a Value, id: &str) -> Option<(String, &'a Value)> {
    operations(spec).into_iter().find(|(_, operation)| operation_id(operation) == id)
}

#[test]
fn every_success_example_of_the_operations_we_use_deserializes() {
    let spec = spec();
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for &(id, check) in OPERATIONS {
        let Some((route, operation)) = find_operation(spec, id) else {
            failures.push(format!("operation {id} is not in the spec"));
            continue;
        };
        let mut found = 0;
        for (status, response) in responses(spec, operation, |status| status.starts_with('2')) {
            for (name, value) in examples(spec, response) {
                found += 1;
                checked.push(format!("{id} ({route}) {status} \"{name}\""));
                if let Err(error) = check(value) {
                    failures.push(format!("{id} {status} \"{name}\": {error}"));
                }
            }
        }
        if found == 0 {
            failures.push(format!("{id} has no 2xx JSON example"));
        }
    }
    eprintln!("checked {} success examples:\n  {}", checked.len(), checked.join("\n  "));
    assert!(failures.is_empty(), "examples that do not deserialize:\n{}", failures.join("\n"));
    assert!(checked.len() >= OPERATIONS.len(), "only {} examples checked", checked.len());
}

#[test]
fn every_error_example_deserializes_into_error_body() {
    let spec = spec();
    let mut by_status = std::collections::BTreeMap::<&str, usize>::new();
    let mut other_shapes = Vec::new();
    let mut failures = Vec::new();
    for (route, operation) in operations(spec) {
        for (status, response) in responses(spec, operation, |status| matches!(status.chars().next(), Some('4' | '5')))
        {
            for (name, value) in examples(spec, response) {
                let is_error_list = value.get("type").and_then(Value::as_str) == Some("error.list");
                match ErrorBody::deserialize(value) {
                    // An error list must carry a code, as the `error` schema requires; other shapes a message or key.
                    Ok(body) if is_error_list && body.errors.first().is_some_and(|error| !error.code.is_empty()) => {}
                    Ok(body) if !is_error_list && says_something(&body) => {
                        other_shapes.push(format!("{route} {status}"))
                    }
                    Ok(_) => failures.push(format!("{route} {status} \"{name}\": no code or message read")),
                    Err(error) => failures.push(format!("{route} {status} \"{name}\": {error}")),
                }
                *by_status.entry(status).or_default() += 1;
            }
        }
    }
    eprintln!("checked error examples by status: {by_status:?}; not error lists: {other_shapes:?}");
    assert!(failures.is_empty(), "error examples that do not deserialize:\n{}", failures.join("\n"));
    let listed: usize = ERROR_STATUSES.iter().filter_map(|status| by_status.get(status)).sum();
    // The 2.16 spec has 394 of them (counting each use of a shared `components/responses` entry).
    assert!(listed >= 300, "only {listed} 401/403/404/429 examples checked");
    for status in ERROR_STATUSES {
        assert!(by_status.get(status).is_some_and(|&count| count > 0), "no {status} example checked");
    }
}

/// Whether a body that is not an error list still told us what went wrong.
fn says_something(body: &ErrorBody) -> bool {
    body.message.is_some() || body.error_key.is_some() || body.errors.iter().any(|error| error.message.is_some())
}

#[test]
fn schemas_rendered_from_their_property_examples_deserialize() {
    let spec = spec();
    let mut failures = Vec::new();
    let mut checked = 0;
    for &(name, check) in SCHEMAS {
        let Some(schema) = spec.pointer(&format!("/components/schemas/{name}")) else {
            failures.push(format!("schema {name} is not in the spec"));
            continue;
        };
        checked += 1;
        if let Err(error) = check(&render(spec, schema, 0)) {
            failures.push(format!("schema {name}: {error}"));
        }
    }
    for &(id, check) in OPERATIONS {
        let Some((_, operation)) = find_operation(spec, id) else { continue };
        for (status, response) in responses(spec, operation, |status| status.starts_with('2')) {
            let Some(schema) = json_schema(spec, response) else { continue };
            checked += 1;
            if let Err(error) = check(&render(spec, schema, 0)) {
                failures.push(format!("{id} {status} response schema: {error}"));
            }
        }
    }
    assert!(failures.is_empty(), "rendered schemas that do not deserialize:\n{}", failures.join("\n"));
    assert_eq!(checked, SCHEMAS.len() + OPERATIONS.len());
}

/// How many `$ref`s deep [`render`] follows; the schemas are recursive (conversation -> ticket -> ...).
const MAX_REF_DEPTH: usize = 6;

/// An instance of `schema` built from the `example`s of its properties, recursively; properties without one get a
/// value of their type (the first enum value for strings).
fn render(spec: &Value, schema: &Value, depth: usize) -> Value {
    if schema.get("$ref").is_some() {
        return if depth >= MAX_REF_DEPTH { Value::Null } else { render(spec, resolve(spec, schema), depth + 1) };
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(object) = render(spec, part, depth) {
                merged.extend(object);
            }
        }
        merged.extend(render_properties(spec, schema, depth));
        return Value::Object(merged);
    }
    let alternative = ["oneOf", "anyOf"].iter().find_map(|key| schema.get(*key)?.as_array()?.first());
    if let Some(first) = alternative {
        return render(spec, first, depth);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => match schema.get("items").map(|items| render(spec, items, depth)) {
            Some(Value::Null) | None => Value::Array(Vec::new()),
            Some(item) => Value::Array(vec![item]),
        },
        Some("string") => schema.pointer("/enum/0").cloned().unwrap_or_else(|| Value::from("text")),
        Some("integer") => Value::from(1),
        Some("number") => Value::from(1.5),
        Some("boolean") => Value::from(true),
        _ => Value::Object(render_properties(spec, schema, depth)),
    }
}

fn render_properties(spec: &Value, schema: &Value, depth: usize) -> Map<String, Value> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Map::new() };
    properties.iter().map(|(name, property)| (name.clone(), render(spec, property, depth))).collect()
}

fn example_of<T: DeserializeOwned>(id: &str) -> T {
    let spec = spec();
    let (_, operation) = find_operation(spec, id).unwrap_or_else(|| panic!("{id} is not in the spec"));
    let (_, response) = responses(spec, operation, |status| status.starts_with('2'))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{id} has no 2xx response"));
    let (_, value) = examples(spec, response).into_iter().next().unwrap_or_else(|| panic!("{id} has no example"));
    T::deserialize(value).unwrap_or_else(|error| panic!("{id}: {error}"))
}

#[test]
fn spec_examples_read_as_the_values_they_show() {
    let conversation: Conversation = example_of("retrieveConversation");
    assert_eq!(conversation.id, "503");
    assert_eq!(conversation.admin_assignee_id.as_deref(), Some("991267715"));
    assert_eq!(conversation.team_assignee_id.as_deref(), Some("5017691"));
    assert_eq!(conversation.state.as_deref(), Some("closed"));
    assert_eq!(conversation.priority.as_deref(), Some("none"));
    assert_eq!(conversation.statistics, None);
    let parts = conversation.conversation_parts.unwrap_or_default();
    let ids: Vec<&str> = parts.conversation_parts.iter().map(|part| part.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4"], "integer part ids become strings");
    assert_eq!(parts.total_count, Some(4));
    let first = &parts.conversation_parts[0];
    assert_eq!(first.body.as_deref(), Some("<p>Okay!</p>"));
    assert_eq!(first.assigned_to.as_ref().and_then(|to| to.id.as_deref()), Some("1a2b3c"));
    assert_eq!(first.tags[0].name.as_deref(), Some("Test tag"));
    let tags = conversation.tags.unwrap_or_default();
    assert_eq!(tags.tags[0].applied_by.as_ref().and_then(|by| by.id.as_deref()), Some("1a2b3c"));

    let page: ConversationPage = example_of("listConversations");
    assert_eq!(page.conversations.len(), 1);
    assert_eq!(page.pages.as_ref().and_then(CursorPages::next_cursor), None);

    let deleted: DeletedConversationPage = example_of("listDeletedConversationIds");
    let ids: Vec<&str> = deleted.data.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(ids, ["512", "513"]);
    assert_eq!(deleted.pages.as_ref().and_then(PagesLink::next_page_number), Some(2));

    let contact: Contact = example_of("ShowContact");
    assert_eq!(
        contact.tags.as_ref().and_then(|tags| tags.url.as_deref()),
        Some("/contacts/6762f0d01bb69f9f2193bb7d/tags")
    );

    let scroll: CompanyScroll = example_of("scrollOverAllCompanies");
    assert_eq!(scroll.scroll_param.as_deref(), Some("69352cd2-ab5b-42ac-b004-a13d4e55e9b0"));
    assert_eq!(scroll.data[0].plan, None, "`plan: {{}}` has no name");
    let attached: CompanyList = example_of("listCompaniesForAContact");
    assert_eq!(attached.data.len(), 1);

    let me: Admin = example_of("identifyAdmin");
    assert_eq!(me.avatar.as_deref(), Some("https://static.intercomassets.com/assets/default-avatars/admins/128.png"));
    let team: Team = example_of("retrieveTeam");
    assert_eq!(team.assignment_limit, Some(10));
}

fn rendered<T: DeserializeOwned>(schema: &str) -> T {
    let spec = spec();
    let schema = spec.pointer(&format!("/components/schemas/{schema}")).unwrap_or_else(|| panic!("no {schema}"));
    let value = render(spec, schema, 0);
    T::deserialize(&value).unwrap_or_else(|error| panic!("{error} in {value:#}"))
}

#[test]
fn rendered_schemas_carry_their_property_examples() {
    let conversation: Conversation = rendered("conversation");
    assert_eq!(conversation.id, "1295");
    assert_eq!(conversation.admin_assignee_id, None, "the schema's example admin_assignee_id is 0");
    assert_eq!(conversation.team_assignee_id.as_deref(), Some("5017691"));
    assert_eq!(conversation.priority.as_deref(), Some("high"));
    let statistics = conversation.statistics.unwrap_or_default();
    assert_eq!(statistics.count_conversation_parts, Some(1));
    assert_eq!(statistics.last_closed_by_id.as_deref(), Some("c3po"));
    let rating = conversation.conversation_rating.unwrap_or_default();
    assert_eq!(rating.contact.and_then(|contact| contact.id).as_deref(), Some("5ba682d23d7cf92bef87bfd4"));
    assert_eq!(conversation.channel.and_then(|channel| channel.initial).as_deref(), Some("messenger"));
    let parts = conversation.conversation_parts.unwrap_or_default().conversation_parts;
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].id, "3");
    assert_eq!(parts[0].author.as_ref().and_then(|author| author.id.as_deref()), Some("274"));
    assert_eq!(conversation.source.and_then(|source| source.body).as_deref(), Some("<p>Hey there!</p>"));
    assert_eq!(conversation.contacts.unwrap_or_default().contacts.len(), 1);

    let contact: Contact = rendered("contact");
    assert_eq!(contact.owner_id.as_deref(), Some("321"));
    assert_eq!(contact.location.and_then(|location| location.city).as_deref(), Some("Dublin"));
    assert_eq!(contact.avatar.as_deref(), Some("https://example.org/128Wash.jpg"));
    assert_eq!(contact.companies.unwrap_or_default().data.len(), 1);

    let company: Company = rendered("company");
    assert_eq!(company.plan.as_deref(), Some("Pro"));
    assert_eq!(company.monthly_spend, Some(100.0));

    let admin: Admin = rendered("admin");
    assert_eq!(admin.team_ids, ["814865"]);
    assert_eq!(admin.avatar.as_deref(), Some("https://picsum.photos/200/300"), "a string in the admin schema");
    let team: Team = rendered("team");
    assert_eq!(team.admin_ids, ["493881"]);
}
