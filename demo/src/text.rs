//! Message bodies: topic sentences with their `{slot}`s filled, wrapped in the HTML Intercom sends
//! (`<p>` paragraphs, `<br>` in signatures, entities, the odd list and link).
//!
//! One [`Slots`] is drawn per conversation, so every message in it talks about the same order number, device
//! and amount. Bodies are built by appending into one `String` per body (no `format!` per word): generation
//! must stay far faster than SQLite can store the result.

use std::fmt::Write as _;

use super::rng::Rng;
use super::topics::Topic;
use super::vocabulary as v;

/// The facts one conversation's messages refer to.
#[derive(Debug, Clone)]
pub(super) struct Slots<'a> {
    pub name: &'a str,
    pub fullname: &'a str,
    pub company: &'a str,
    pub admin: &'a str,
    pub city: &'a str,
    pub country: &'a str,
    pub currency: &'a str,
    pub plan: &'static str,
    pub hardware: &'static str,
    pub integration: &'static str,
    pub feature: &'static str,
    pub setting: &'static str,
    pub device: &'static str,
    pub browser: &'static str,
    pub error: &'static str,
    pub carrier: &'static str,
    pub report: &'static str,
    pub amount_cents: u32,
    pub invoice: u32,
    pub order: u32,
    pub last4: u32,
    pub month: usize,
    pub day: u32,
    pub tracking: u64,
    pub n: u32,
    pub version: u32,
}

/// The people a conversation's slots name; the rest of [`Slots`] is drawn at random.
#[derive(Debug, Clone, Copy)]
pub(super) struct People<'a> {
    pub name: &'a str,
    pub fullname: &'a str,
    pub company: &'a str,
    pub admin: &'a str,
    pub place: (&'a str, &'a str, &'a str, &'a str, &'a str),
}

impl<'a> Slots<'a> {
    pub(super) fn draw(rng: &mut Rng, people: People<'a>, plan: &'static str) -> Self {
        let (country, _, city, _, currency) = people.place;
        Self {
            name: people.name,
            fullname: people.fullname,
            company: people.company,
            admin: people.admin,
            city,
            country,
            currency,
            plan,
            hardware: rng.word(v::HARDWARE),
            integration: rng.word(v::INTEGRATIONS),
            feature: rng.word(v::FEATURES),
            setting: rng.word(v::SETTINGS),
            device: rng.word(v::DEVICES),
            browser: rng.word(v::BROWSERS),
            error: rng.word(v::ERRORS),
            carrier: rng.word(v::CARRIERS),
            report: rng.word(v::REPORTS),
            amount_cents: rng.between(900, 120_000) as u32,
            invoice: rng.between(10_000, 99_999) as u32,
            order: rng.between(100_000, 999_999) as u32,
            last4: rng.between(1000, 9999) as u32,
            month: rng.below(12),
            day: rng.between(1, 28) as u32,
            tracking: rng.between(1_000_000_000, 9_999_999_999) as u64,
            n: rng.between(1000, 9999) as u32,
            version: rng.between(10, 48) as u32,
        }
    }

    /// Appends the value of slot `key`; unknown keys append nothing (a test checks that none survive).
    fn write(&self, out: &mut String, key: &str) {
        // Writing into a String cannot fail, so the fmt::Results below are ignored.
        match key {
            "name" => push_escaped(out, self.name),
            "fullname" => push_escaped(out, self.fullname),
            "company" => push_escaped(out, self.company),
            "admin" => push_escaped(out, self.admin),
            "city" => push_escaped(out, self.city),
            "country" => push_escaped(out, self.country),
            "plan" => out.push_str(self.plan),
            "hardware" => out.push_str(self.hardware),
            "integration" => out.push_str(self.integration),
            "feature" => out.push_str(self.feature),
            "setting" => out.push_str(self.setting),
            "device" => out.push_str(self.device),
            "browser" => out.push_str(self.browser),
            "error" => out.push_str(self.error),
            "carrier" => out.push_str(self.carrier),
            "report" => out.push_str(self.report),
            "amount" => {
                let _ = write!(out, "{}{}.{:02}", self.currency, self.amount_cents / 100, self.amount_cents % 100);
            }
            "invoice" => {
                let _ = write!(out, "INV-{}", self.invoice);
            }
            "order" => {
                let _ = write!(out, "#{}", self.order);
            }
            "last4" => {
                let _ = write!(out, "{}", self.last4);
            }
            "date" => {
                let _ = write!(out, "{} {}", v::MONTHS[self.month % 12], self.day);
            }
            "tracking" => {
                let _ = write!(out, "TW{}", self.tracking);
            }
            "n" => {
                let _ = write!(out, "{}", self.n);
            }
            "version" => {
                let _ = write!(out, "{}", self.version);
            }
            _ => {}
        }
    }
}

/// Appends `text` with the characters HTML needs escaped (names are plain text; bodies are HTML).
fn push_escaped(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(ch),
        }
    }
}

/// Appends `template` with its `{slot}`s filled.
pub(super) fn fill(out: &mut String, template: &str, slots: &Slots<'_>) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                slots.write(out, &after[..close]);
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
}

/// Writes the bodies of one conversation.
pub(super) struct Composer<'a> {
    topic: &'static Topic,
    slots: Slots<'a>,
    /// Email bodies have greetings and signatures; messenger bodies are short.
    email: bool,
    /// The last sentences used, so long conversations do not repeat themselves back to back.
    recent: [&'static str; 6],
    next_recent: usize,
}

impl<'a> Composer<'a> {
    pub(super) fn new(topic: &'static Topic, slots: Slots<'a>, email: bool) -> Self {
        Self { topic, slots, email, recent: [""; 6], next_recent: 0 }
    }

    /// A sentence of `list`, avoiding the last few used when the list allows (a few rerolls, no loop).
    fn fresh(&mut self, rng: &mut Rng, list: &[&'static str]) -> &'static str {
        let mut choice = rng.word(list);
        for _ in 0..3 {
            if !self.recent.contains(&choice) {
                break;
            }
            choice = rng.word(list);
        }
        self.recent[self.next_recent % self.recent.len()] = choice;
        self.next_recent += 1;
        choice
    }
    /// Appends one sentence as a paragraph, or as is when it is a block of its own.
    fn paragraph(&self, out: &mut String, template: &str) {
        if template.starts_with('<') {
            fill(out, template, &self.slots);
        } else {
            out.push_str("<p>");
            fill(out, template, &self.slots);
            out.push_str("</p>");
        }
    }

    /// Appends sentences joined in one paragraph (`<br>` or a space between them, as people type).
    fn joined(&self, out: &mut String, rng: &mut Rng, templates: &[&str]) {
        out.push_str("<p>");
        for (i, template) in templates.iter().enumerate() {
            if i > 0 {
                out.push_str(if rng.chance(0.25) { "<br>" } else { " " });
            }
            fill(out, template, &self.slots);
        }
        out.push_str("</p>");
    }

    /// The customer's first message: the problem, some context, what they want.
    pub(super) fn customer_opening(&self, rng: &mut Rng) -> String {
        let topic = self.topic;
        let mut out = String::with_capacity(if self.email { 480 } else { 240 });
        let problem = rng.word(topic.problems);
        let detail = rng.chance(0.6).then(|| rng.word(topic.details));
        let ask = rng.chance(0.5).then(|| rng.word(topic.asks));
        if self.email {
            self.paragraph(&mut out, rng.word(v::CUSTOMER_GREETINGS));
            match detail {
                Some(detail) => self.joined(&mut out, rng, &[problem, detail]),
                None => self.paragraph(&mut out, problem),
            }
            if let Some(ask) = ask {
                self.paragraph(&mut out, ask);
            }
            self.customer_signature(&mut out, rng, true);
        } else {
            let opener = rng.chance(0.35).then(|| rng.word(v::CHAT_OPENERS));
            let sentences: Vec<&str> = opener.into_iter().chain([problem]).chain(detail).chain(ask).collect();
            self.joined(&mut out, rng, &sentences);
        }
        out
    }

    fn customer_signature(&self, out: &mut String, rng: &mut Rng, with_company: bool) {
        out.push_str("<p>");
        out.push_str(rng.word(v::CUSTOMER_SIGNOFFS));
        out.push_str("<br>");
        fill(out, "{fullname}", &self.slots);
        if with_company && !self.slots.company.is_empty() {
            out.push_str("<br>");
            fill(out, "{company}", &self.slots);
        }
        out.push_str("</p>");
    }

    /// A teammate's message: the topic answer when `first`, a follow-up otherwise.
    pub(super) fn admin_reply(&mut self, rng: &mut Rng, first: bool) -> String {
        let topic = self.topic;
        let mut out = String::with_capacity(if self.email { 520 } else { 300 });
        let body = if first {
            rng.word(topic.replies)
        } else if rng.chance(0.6) {
            self.fresh(rng, topic.admin_followups)
        } else {
            self.fresh(rng, v::ADMIN_FOLLOWUPS)
        };
        if first && (self.email || rng.chance(0.7)) {
            self.paragraph(&mut out, rng.word(v::ADMIN_GREETINGS));
        }
        self.paragraph(&mut out, body);
        if first && rng.chance(0.6) {
            self.paragraph(&mut out, rng.word(v::ADMIN_CLOSERS));
        }
        if self.email {
            out.push_str("<p>");
            out.push_str(rng.word(v::ADMIN_SIGNOFFS));
            out.push_str("<br>");
            fill(&mut out, "{admin}<br>Tillwise Support", &self.slots);
            out.push_str("</p>");
        }
        out
    }

    /// A customer's later message.
    pub(super) fn user_reply(&mut self, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(160);
        let list = if rng.chance(0.5) { self.topic.user_followups } else { v::USER_FOLLOWUPS };
        let sentence = self.fresh(rng, list);
        self.paragraph(&mut out, sentence);
        if self.email {
            self.customer_signature(&mut out, rng, false);
        }
        out
    }

    /// An internal note between teammates.
    pub(super) fn note(&mut self, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(120);
        let list = if rng.chance(0.6) { self.topic.notes } else { v::NOTES };
        let sentence = self.fresh(rng, list);
        self.paragraph(&mut out, sentence);
        out
    }

    /// A message from the AI agent or a workflow.
    pub(super) fn bot(&self, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(160);
        self.paragraph(&mut out, rng.word(v::BOT_MESSAGES));
        out
    }

    /// The first message of a conversation a teammate or a campaign started.
    pub(super) fn outbound(&self, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(160);
        self.paragraph(&mut out, rng.word(v::OUTBOUND_MESSAGES));
        out
    }

    /// An email subject (plain text: subjects and the slots they use carry no entities).
    pub(super) fn subject(&self, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(48);
        fill(&mut out, rng.word(self.topic.subjects), &self.slots);
        out
    }
}
