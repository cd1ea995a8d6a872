//! Word lists shared by every topic: people, places, companies, the product's vocabulary and the generic
//! messages of a support inbox.
//!
//! The demo workspace is the support inbox of "Tillwise", a made-up point-of-sale and payments platform for small
//! businesses: it has subscriptions (billing, refunds, cancellations), an app that can crash, hardware that ships,
//! logins and integrations, so every topic a real support team sees comes up naturally.
//!
//! Strings that end up in message bodies are HTML fragments, already escaped (`&amp;`, `&gt;`). No string here
//! may contain a marker word ([`super::MARKER_WORD`], [`super::PART_MARKER_WORD`]); a test checks.

/// The product's name and the domain of its teammates' emails.
pub(super) const PRODUCT_DOMAIN: &str = "tillwise.com";

#[rustfmt::skip]
pub(super) const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Isabella", "Lucas", "Mia", "Mateo",
    "Charlotte", "Ethan", "Harper", "James", "Aisha", "Omar", "Priya", "Arjun", "Mei", "Hiroshi", "Yuki", "Chen",
    "Fatima", "Kwame", "Amara", "Chidi", "Sofia", "Diego", "Lucia", "Santiago", "Ingrid", "Lars", "Freya", "Sven",
    "Zara", "Ravi", "Anika", "Tomasz", "Marta", "Jakub", "Chloe", "Jack", "Grace", "Finn", "Niamh", "Conor", "Leila",
    "Hassan", "Noor", "Daniel", "Rachel", "Samuel", "Hannah", "Benjamin", "Naomi", "Gabriel", "Camille", "Louis",
    "Elodie", "Hugo", "Anna", "Felix", "Lena", "Jonas", "Maya", "Ezra", "Ava", "Leo", "Ines", "Rafael", "Bea",
    "Tariq", "Sana", "Kofi", "Esi", "Tane", "Aroha", "Mason",
];

#[rustfmt::skip]
pub(super) const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Martinez", "Lopez", "Nguyen", "Patel", "Shah", "Khan", "Ali",
    "Okafor", "Mensah", "Adeyemi", "Kim", "Park", "Tanaka", "Sato", "Wang", "Li", "Zhang", "Chen", "Singh", "Kumar",
    "Rossi", "Bianchi", "Muller", "Schmidt", "Fischer", "Dubois", "Moreau", "Laurent", "Jansen", "de Vries", "Bakker",
    "Nielsen", "Hansen", "Larsen", "Andersson", "Kowalski", "Nowak", "Murphy", "Kelly", "O'Brien", "Walsh", "Byrne",
    "Taylor", "Wilson", "Evans", "Thomas", "Roberts", "Clarke", "Hughes", "Wright", "Silva", "Santos", "Costa",
    "Pereira", "Haddad", "Nasser", "Cohen", "Levi", "Novak", "Horvat", "Popescu", "Ivanova", "Petrov", "Fernandez",
    "Ortiz", "Reyes", "Cruz", "Morgan", "Reid", "Campbell", "Stewart", "Te Rangi", "Ngata",
];

/// Where contacts and companies are: (country, region, city, phone prefix, currency symbol).
pub(super) const PLACES: &[(&str, &str, &str, &str, &str)] = &[
    ("United States", "California", "San Francisco", "+1 415", "$"),
    ("United States", "California", "Los Angeles", "+1 213", "$"),
    ("United States", "New York", "New York", "+1 212", "$"),
    ("United States", "New York", "Brooklyn", "+1 718", "$"),
    ("United States", "Texas", "Austin", "+1 512", "$"),
    ("United States", "Illinois", "Chicago", "+1 312", "$"),
    ("United States", "Washington", "Seattle", "+1 206", "$"),
    ("United States", "Colorado", "Denver", "+1 303", "$"),
    ("United States", "Oregon", "Portland", "+1 503", "$"),
    ("United States", "Massachusetts", "Boston", "+1 617", "$"),
    ("United States", "Georgia", "Atlanta", "+1 404", "$"),
    ("United States", "Florida", "Miami", "+1 305", "$"),
    ("Canada", "Ontario", "Toronto", "+1 416", "$"),
    ("Canada", "British Columbia", "Vancouver", "+1 604", "$"),
    ("Canada", "Quebec", "Montreal", "+1 514", "$"),
    ("United Kingdom", "England", "London", "+44 20", "£"),
    ("United Kingdom", "England", "Manchester", "+44 161", "£"),
    ("United Kingdom", "England", "Bristol", "+44 117", "£"),
    ("United Kingdom", "Scotland", "Edinburgh", "+44 131", "£"),
    ("Ireland", "Leinster", "Dublin", "+353 1", "€"),
    ("Ireland", "Munster", "Cork", "+353 21", "€"),
    ("Australia", "New South Wales", "Sydney", "+61 2", "$"),
    ("Australia", "Victoria", "Melbourne", "+61 3", "$"),
    ("Australia", "Queensland", "Brisbane", "+61 7", "$"),
    ("New Zealand", "Auckland", "Auckland", "+64 9", "$"),
    ("New Zealand", "Wellington", "Wellington", "+64 4", "$"),
    ("Germany", "Berlin", "Berlin", "+49 30", "€"),
    ("Germany", "Bavaria", "Munich", "+49 89", "€"),
    ("Netherlands", "North Holland", "Amsterdam", "+31 20", "€"),
    ("France", "Ile-de-France", "Paris", "+33 1", "€"),
    ("Spain", "Catalonia", "Barcelona", "+34 93", "€"),
    ("Portugal", "Lisbon", "Lisbon", "+351 21", "€"),
    ("Denmark", "Capital Region", "Copenhagen", "+45 3", "kr "),
    ("Sweden", "Stockholm", "Stockholm", "+46 8", "kr "),
];

/// The first part of company names.
#[rustfmt::skip]
pub(super) const COMPANY_PREFIXES: &[&str] = &[
    "Harbor Street", "Juniper", "Blue Fern", "Copper Kettle", "Northside", "Little Owl", "Golden Crumb", "Wild Thyme",
    "Red Door", "Salt and Stone", "Brightwater", "Oak Lane", "Paper Moon", "Sunny Side", "Tidewater", "Hollow Tree",
    "Crooked Spoon", "Lemon Grove", "Maple Leaf", "Silver Birch", "Urban Roots", "Fox and Finch", "Cedar Hill",
    "Kindred", "Moonrise", "Old Mill", "Riverbend", "Saffron", "Twin Pines", "Velvet", "West End", "Yellow Bicycle",
    "Ember", "Harvest Moon", "Larkspur", "Meadowlark", "Pebble Beach", "Quarter Mile", "Rosewood", "Starling",
    "Thistle", "Wanderlust", "Bluebird", "Clover", "Driftwood", "Evergreen", "Foxglove", "Granite", "Honeycomb",
    "Ivy House",
];

/// The second part of company names, with the industry it implies.
pub(super) const COMPANY_KINDS: &[(&str, &str)] = &[
    ("Coffee", "Food & Beverage"),
    ("Coffee Roasters", "Food & Beverage"),
    ("Bakery", "Food & Beverage"),
    ("Brewing Co", "Food & Beverage"),
    ("Kitchen", "Restaurants"),
    ("Pizzeria", "Restaurants"),
    ("Taqueria", "Restaurants"),
    ("Ramen Bar", "Restaurants"),
    ("Bistro", "Restaurants"),
    ("Books", "Retail"),
    ("Florist", "Retail"),
    ("Cycles", "Retail"),
    ("Pet Supply", "Retail"),
    ("Outfitters", "Retail"),
    ("Boutique", "Retail"),
    ("Home Goods", "Retail"),
    ("Records", "Retail"),
    ("Toy Shop", "Retail"),
    ("Barbers", "Health & Beauty"),
    ("Salon", "Health & Beauty"),
    ("Spa", "Health & Beauty"),
    ("Yoga Studio", "Fitness"),
    ("Climbing Gym", "Fitness"),
    ("Pilates", "Fitness"),
    ("Dental", "Healthcare"),
    ("Physio", "Healthcare"),
    ("Vet Clinic", "Healthcare"),
    ("Market", "Grocery"),
    ("Deli", "Grocery"),
    ("Wine Shop", "Grocery"),
    ("Hotel", "Hospitality"),
    ("Guesthouse", "Hospitality"),
];

/// (plan, weight in percent, monthly list price).
pub(super) const PLANS: &[(&str, u32, u32)] =
    &[("Starter", 40, 29), ("Growth", 32, 79), ("Pro", 20, 199), ("Enterprise", 8, 899)];

#[rustfmt::skip]
pub(super) const JOB_TITLES: &[&str] = &[
    "Support Specialist", "Senior Support Specialist", "Technical Support Engineer", "Customer Success Manager",
    "Billing Specialist", "Onboarding Specialist", "Support Team Lead", "Head of Support", "Support Operations",
    "Account Manager", "Integrations Engineer", "Payments Risk Analyst",
];

/// Team names, most general first: a workspace with k teams has the first k.
#[rustfmt::skip]
pub(super) const TEAM_NAMES: &[&str] = &[
    "Tier 1 Support", "Billing", "Technical Support", "Customer Success", "Hardware & Shipping", "Onboarding",
    "Integrations", "Escalations", "Account Management", "Payments Risk", "VIP Support", "Weekend Cover",
];

#[rustfmt::skip]
pub(super) const TAG_NAMES: &[&str] = &[
    "billing", "refund", "bug", "vip", "urgent", "feature-request", "churn-risk", "login", "password-reset", "2fa",
    "crash", "ios", "android", "web", "shipping", "delivery-delay", "damaged-item", "returns", "account-settings",
    "gdpr", "data-export", "integration", "api", "webhooks", "shopify", "quickbooks", "cancellation", "downgrade",
    "onboarding", "setup-call", "training", "invoice", "chargeback", "duplicate-charge", "pricing", "hardware",
    "card-reader", "escalated", "needs-engineering", "positive-feedback", "enterprise", "trial",
];

pub(super) const BROWSERS: &[&str] = &["Chrome", "Chrome", "Chrome", "Safari", "Safari", "Firefox", "Edge"];
pub(super) const OPERATING_SYSTEMS: &[&str] =
    &["macOS 14.5", "macOS 15.1", "Windows 11", "Windows 10", "iOS 17.6", "iOS 18.1", "iPadOS 18.0", "Android 14"];
pub(super) const PERSONAL_DOMAINS: &[&str] = &["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com"];

// Values for the `{slot}`s of topic sentences, already HTML-escaped.
#[rustfmt::skip]
pub(super) const HARDWARE: &[&str] = &[
    "Reader M2", "Tillwise Terminal", "receipt printer", "cash drawer", "barcode scanner", "Tillwise Stand",
    "kitchen printer", "customer display",
];
pub(super) const INTEGRATIONS: &[&str] =
    &["Shopify", "QuickBooks", "Xero", "Mailchimp", "Zapier", "WooCommerce", "Slack", "HubSpot", "Deliveroo"];
#[rustfmt::skip]
pub(super) const FEATURES: &[&str] = &[
    "inventory sync across locations", "a tipping screen", "a loyalty program", "gift cards", "staff permissions",
    "split payments", "offline mode", "multi-location reports", "custom receipts", "table management",
    "appointment booking", "barcode label printing", "scheduled price changes", "a dark mode",
];
#[rustfmt::skip]
pub(super) const SETTINGS: &[&str] = &[
    "tax rates", "receipt footer", "business hours", "time zone", "notification emails", "payout schedule",
    "currency", "business address", "default tip options",
];
#[rustfmt::skip]
pub(super) const DEVICES: &[&str] = &[
    "iPad Air", "iPad (9th gen)", "Galaxy Tab S8", "iPhone 14", "iPhone 15 Pro", "Pixel 8", "Windows laptop",
    "MacBook Air",
];
#[rustfmt::skip]
pub(super) const ERRORS: &[&str] = &[
    "Error 502", "ERR_PAYMENT_DECLINED", "Something went wrong (code 4012)", "Session expired", "SYNC_TIMEOUT",
    "Invalid API key", "429 Too Many Requests", "Reader not connected",
];
pub(super) const CARRIERS: &[&str] = &["UPS", "FedEx", "DHL", "USPS", "Royal Mail", "Canada Post", "Australia Post"];
#[rustfmt::skip]
pub(super) const REPORTS: &[&str] = &[
    "end-of-day report", "sales summary", "tax report", "payout report", "inventory report", "P&amp;L export",
    "staff hours report",
];
#[rustfmt::skip]
pub(super) const MONTHS: &[&str] = &[
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
];

pub(super) const CUSTOMER_GREETINGS: &[&str] =
    &["Hi,", "Hello,", "Hi there,", "Hey team,", "Good morning,", "Hi Tillwise team,"];
pub(super) const CHAT_OPENERS: &[&str] = &["Hi!", "Hello 👋", "Hey,", "Hi there -", "Quick question:"];
pub(super) const CUSTOMER_SIGNOFFS: &[&str] =
    &["Thanks,", "Thank you,", "Best regards,", "Cheers,", "Many thanks,", "Kind regards,"];
#[rustfmt::skip]
pub(super) const ADMIN_GREETINGS: &[&str] = &[
    "Hi {name},", "Hey {name}!", "Hello {name},", "Thanks for reaching out, {name}!",
    "Hi {name}, thanks for getting in touch.",
];
pub(super) const ADMIN_SIGNOFFS: &[&str] = &["Best,", "Cheers,", "Kind regards,", "Thanks,", "All the best,"];
pub(super) const ADMIN_CLOSERS: &[&str] = &[
    "Let me know if that helps!",
    "Is there anything else I can help with?",
    "Just reply here if you have any other questions.",
    "Hope that sorts it - shout if not!",
    "I'll keep an eye on this conversation in case anything else comes up.",
];

/// Customer replies that fit any topic.
pub(super) const USER_FOLLOWUPS: &[&str] = &[
    "Thanks!",
    "Thank you so much, that fixed it.",
    "Perfect, that worked 🙌",
    "Still seeing the same thing unfortunately.",
    "Any update on this?",
    "Just tried again and it's still happening.",
    "Got it, I'll try that now.",
    "Ok great, thanks for the quick reply!",
    "Sorry, one more question - does this affect our other location too?",
    "I'm not at the shop right now, I'll check tomorrow morning.",
    "That makes sense. Thanks for explaining.",
    "Can you call me instead? It's easier to explain.",
];

/// Teammate replies that fit any topic.
pub(super) const ADMIN_FOLLOWUPS: &[&str] = &[
    "Just checking in - did that help?",
    "I've flagged this with our engineering team and will update you as soon as I hear back.",
    "Thanks for your patience while we looked into this.",
    "Glad that sorted it! Anything else I can help with today?",
    "I'm going to close this conversation for now, but just reply here if anything else comes up.",
    "Could you send me a screenshot of what you're seeing? That will help us narrow it down.",
    "No problem at all. I've added a note to your account so the whole team has the context.",
    "Happy to jump on a call - you can book a time that suits you here: <a href=\"https://tillwise.com/support-call\">support call</a>.",
];

/// Internal notes that fit any topic, written by a colleague of the teammate who answers (`{admin}`).
pub(super) const NOTES: &[&str] = &[
    "@{admin} can you take a look at this one?",
    "Customer is on {plan}, multi-location. Handle with care.",
    "Linked to engineering ticket POS-{n}.",
    "Escalating to Tier 2 per the escalation policy.",
    "Spoke to the customer on the phone, summary: they're happy with the workaround for now.",
    "Same issue as last week's incident - see the status page post.",
];

/// Messages from the AI agent / workflows.
pub(super) const BOT_MESSAGES: &[&str] = &[
    "Hi {name} 👋 Thanks for getting in touch! Our team typically replies in under 2 hours.",
    "While you wait, these articles might help: <a href=\"https://help.tillwise.com/\">Tillwise Help Center</a>.",
    "I'm Fin, Tillwise's AI agent. I couldn't find an answer to that, so I'm passing you to the team now.",
    "Thanks! Could you tell us which location this is about?",
    "Got it. A teammate will pick this up shortly.",
];

/// First messages of conversations a teammate or a campaign started.
pub(super) const OUTBOUND_MESSAGES: &[&str] = &[
    "Hi {name}, just checking in to see how you're getting on with Tillwise. Anything we can help with?",
    "Hey {name} 👋 We've just launched {feature}! Want a quick walkthrough?",
    "Hi {name}, your {plan} plan renews on {date}. Reply here if you have any questions.",
    "Hi {name}, we noticed you haven't connected {integration} yet - it only takes a couple of minutes.",
    "Hi {name}, how likely are you to recommend Tillwise to a friend? Just reply with a number from 0 to 10.",
    "Hi {name}, a quick heads-up: we're doing scheduled maintenance on {date} between 2am and 4am.",
];

/// Rating remarks, worst first: remark `i` suits rating `1 + i * 5 / len`.
pub(super) const RATING_REMARKS: &[&str] = &[
    "Problem still not solved.",
    "Took days to get an answer.",
    "Had to explain the issue three times.",
    "Ok in the end but slow.",
    "Fine, thanks.",
    "Helpful, but the fix should have been in the app already.",
    "Quick and helpful, thank you!",
    "Very friendly support 👍",
    "Fixed in minutes!",
    "Best support team I've dealt with.",
];

#[cfg(test)]
pub(super) fn all_phrases() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Vec::new();
    for list in [
        FIRST_NAMES,
        LAST_NAMES,
        COMPANY_PREFIXES,
        JOB_TITLES,
        TEAM_NAMES,
        TAG_NAMES,
        BROWSERS,
        OPERATING_SYSTEMS,
        PERSONAL_DOMAINS,
        HARDWARE,
        INTEGRATIONS,
        FEATURES,
        SETTINGS,
        DEVICES,
        ERRORS,
        CARRIERS,
        REPORTS,
        MONTHS,
        CUSTOMER_GREETINGS,
        CHAT_OPENERS,
        CUSTOMER_SIGNOFFS,
        ADMIN_GREETINGS,
        ADMIN_SIGNOFFS,
        ADMIN_CLOSERS,
        USER_FOLLOWUPS,
        ADMIN_FOLLOWUPS,
        NOTES,
        BOT_MESSAGES,
        OUTBOUND_MESSAGES,
        RATING_REMARKS,
    ] {
        assert!(!list.is_empty());
        all.extend_from_slice(list);
    }
    all.extend(PLACES.iter().flat_map(|p| [p.0, p.1, p.2, p.3, p.4]));
    all.extend(COMPANY_KINDS.iter().flat_map(|k| [k.0, k.1]));
    all.extend(PLANS.iter().map(|p| p.0));
    all
}
