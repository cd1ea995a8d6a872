//! What conversations are about. Each topic has its own sentences for every role in a conversation, so a
//! billing question gets a billing answer and billing tags, and full-text search over the demo behaves like
//! search over a real inbox (topic words cluster in the conversations about them).
//!
//! Sentences are HTML fragments with `{slot}`s filled per conversation (see `text.rs`); a sentence starting
//! with `<` is a block of its own (a list) and is not wrapped in `<p>`.

use super::topics_product::{ACCOUNT, BUGS, INTEGRATIONS, LOGIN, ONBOARDING};

#[derive(Debug)]
pub(super) struct Topic {
    /// Shown in the conversation's custom attributes ("Product area").
    pub label: &'static str,
    /// How common the topic is, relative to the others.
    pub weight: u32,
    /// The app page a messenger conversation starts from.
    pub page: &'static str,
    /// Email subjects (plain text: no entities).
    pub subjects: &'static [&'static str],
    /// The customer's first sentence: what is wrong.
    pub problems: &'static [&'static str],
    /// Context the customer adds.
    pub details: &'static [&'static str],
    /// What the customer asks for.
    pub asks: &'static [&'static str],
    /// A teammate's first answer.
    pub replies: &'static [&'static str],
    pub admin_followups: &'static [&'static str],
    pub user_followups: &'static [&'static str],
    pub notes: &'static [&'static str],
    /// Tag names, the most typical first.
    pub tags: &'static [&'static str],
    /// Team names that handle the topic, preferred first (a workspace may not have them all).
    pub teams: &'static [&'static str],
    /// Whether the topic skews to high and urgent priority (money or trading stopped).
    pub pressing: bool,
}

pub(super) const TOPICS: [&Topic; 10] = [
    &BILLING,
    &REFUNDS,
    &LOGIN,
    &BUGS,
    &SHIPPING,
    &ACCOUNT,
    &INTEGRATIONS,
    &FEATURE_REQUESTS,
    &CANCELLATIONS,
    &ONBOARDING,
];

pub(super) const BILLING: Topic = Topic {
    label: "Billing",
    weight: 16,
    page: "settings/billing",
    subjects: &[
        "Question about my invoice",
        "Charged twice this month?",
        "Invoice {invoice} looks wrong",
        "Update billing details",
        "Why did my bill go up?",
        "VAT on our invoices",
    ],
    problems: &[
        "I was charged twice for our {plan} subscription this month - there are two payments of {amount} on the card ending {last4}.",
        "Our latest invoice ({invoice}) is higher than usual and I can't work out why.",
        "How do I update the credit card we use for billing? The old one expired.",
        "We were billed {amount} but I thought the {plan} plan was cheaper than that.",
        "I need copies of our invoices for the last quarter for our accountant.",
        "Our payment failed and now there's a banner saying the account will be suspended.",
        "Is there a way to switch to annual billing and get the discount?",
        "The invoice shows our old company name and the wrong VAT number.",
    ],
    details: &[
        "The charge went through on {date}.",
        "We're on the {plan} plan with two locations.",
        "I already checked Settings &gt; Billing and it just says 'processing'.",
        "Our accountant needs this sorted before month end.",
        "The card ending {last4} is the one on file.",
        "Nothing changed on our side as far as I know.",
    ],
    asks: &[
        "Can you take a look?",
        "Could you refund the duplicate charge?",
        "What do I need to do?",
        "Please let me know as soon as possible.",
        "Can you send me a corrected invoice?",
    ],
    replies: &[
        "Sorry about that! I can see two charges of {amount} on {date}: the second was an automatic retry after your bank flagged the first. I've voided it, so it will drop off your statement within 3-5 business days.",
        "I've checked invoice {invoice}: the increase comes from the {hardware} rental and the card processing fees for last month. You can see the full breakdown under <a href=\"https://app.tillwise.com/settings/billing\">Settings &gt; Billing</a>.",
        "You can update your card under Settings &gt; Billing &gt; Payment method. Once it's saved we'll retry the failed payment automatically and the banner will disappear.",
        "I've switched you to annual billing - your next invoice will include the 15% discount, prorated from today.",
        "I've updated the company name and VAT number on your account and re-issued {invoice} with the new details.",
        "All invoices can be downloaded as PDF under Settings &gt; Billing &gt; Invoice history. I've also emailed the last three to you directly.",
    ],
    admin_followups: &[
        "The duplicate payment has now been voided - you should see it disappear from your statement in a few days.",
        "Just confirming the retry went through and your account is in good standing again.",
        "I've added a note to your account so billing reaches out before any future plan changes.",
    ],
    user_followups: &[
        "Thanks, I can see the updated invoice now.",
        "Ok, but the second charge is still showing as pending on my card.",
        "Great - can you send the receipt to our accountant as well?",
        "Perfect, I've updated the card.",
    ],
    notes: &[
        "Stripe shows two successful charges for {amount} - the second is a retry, voiding it.",
        "Customer on legacy pricing, do not migrate without CS approval.",
        "Re-issued {invoice} with the corrected VAT details.",
        "Checked the dunning log: payment failed twice, card expired.",
    ],
    tags: &["billing", "invoice", "duplicate-charge", "pricing"],
    teams: &["Billing", "Tier 1 Support"],
    pressing: false,
};

pub(super) const REFUNDS: Topic = Topic {
    label: "Refunds",
    weight: 9,
    page: "transactions",
    subjects: &[
        "Refund request",
        "Please refund order {order}",
        "Refund for unused months",
        "Still waiting on my refund",
        "Refund for a faulty {hardware}",
    ],
    problems: &[
        "I'd like a refund for the {hardware} I ordered - it stopped working after a week.",
        "We cancelled on {date} but were still charged {amount}. Can we get that back?",
        "I requested a refund for order {order} two weeks ago and haven't seen anything yet.",
        "A customer was refunded twice through Tillwise and now our payout is short by {amount}.",
        "Can I get a prorated refund for the rest of the year? We're closing our second location.",
        "How do I refund a customer who paid by card at the counter?",
    ],
    details: &[
        "The original payment was {amount}.",
        "Order number is {order}.",
        "Our bank says they haven't received anything from you.",
        "I've attached the receipt.",
    ],
    asks: &[
        "How long will the refund take?",
        "Can you process this today?",
        "Who do I need to speak to about this?",
        "Please confirm once it's done.",
    ],
    replies: &[
        "I've issued a refund of {amount} to the card ending {last4}. Depending on your bank it can take 5-10 business days to appear.",
        "The refund for order {order} was processed on {date}; the reference is RF{n} if your bank asks for it.",
        "Hardware can be returned for a full refund within 30 days. I've emailed you a prepaid return label for the {hardware}.",
        "I've refunded the {amount} charged after your cancellation - apologies, that one was on us.",
        "When a sale is refunded twice, the second refund is deducted from your next payout. I've reversed the duplicate so your payout on {date} will be corrected.",
        "<p>To refund a card payment:</p><ol><li>Open Transactions and find the sale</li><li>Tap Refund and choose the items</li><li>Confirm - the money goes back to the original card</li></ol>",
    ],
    admin_followups: &[
        "The refund has been sent - you'll get an email confirmation with the reference number.",
        "I've checked with our payments team and the refund left us on {date}.",
    ],
    user_followups: &[
        "Got the refund, thanks for sorting it.",
        "Still nothing on my statement, can you double check?",
        "Ok, I'll send the {hardware} back this week.",
    ],
    notes: &[
        "Refund of {amount} approved by payments risk.",
        "Possible chargeback - customer has opened a dispute with their bank as well.",
        "Return label generated, RMA {n}.",
    ],
    tags: &["refund", "billing", "returns", "chargeback"],
    teams: &["Billing", "Payments Risk", "Tier 1 Support"],
    pressing: false,
};

pub(super) const SHIPPING: Topic = Topic {
    label: "Shipping",
    weight: 9,
    page: "hardware/orders",
    subjects: &[
        "Where is my order?",
        "Order {order} hasn't arrived",
        "Tracking not updating",
        "Delivered to the wrong address",
        "{hardware} arrived damaged",
    ],
    problems: &[
        "We ordered a {hardware} on {date} and it still hasn't arrived.",
        "The tracking number {tracking} hasn't updated in five days.",
        "{carrier} tracking says delivered but we never got the package.",
        "Our {hardware} arrived with a cracked screen.",
        "Can I change the delivery address for order {order}? We're moving premises.",
        "Do you ship hardware to {country}?",
    ],
    details: &[
        "We open on {date} and need it before then.",
        "It was sent with {carrier}.",
        "The order number is {order}.",
        "Nobody at the shop signed for anything.",
    ],
    asks: &[
        "Can you check where it is?",
        "Can you send a replacement?",
        "What are our options?",
        "Please help, we can't take card payments without it.",
    ],
    replies: &[
        "I've checked with {carrier}: the parcel is at your local depot and is scheduled for delivery on {date}.",
        "I'm so sorry it arrived damaged! I've arranged a replacement {hardware} by express shipping, and {carrier} will collect the damaged one when they drop it off.",
        "I've opened a trace with {carrier} for tracking number {tracking}. If it doesn't turn up within two business days we'll send a replacement free of charge.",
        "I've updated the shipping address on order {order}. It hasn't been dispatched yet, so it will go to the new address.",
        "Orders usually ship within 1-2 business days and take 3-5 days to arrive by standard delivery &amp; 1-2 days by express.",
    ],
    admin_followups: &[
        "Your replacement has shipped - the new tracking number is {tracking}.",
        "{carrier} confirmed the parcel was delivered to the wrong address, so we're sending a new one today.",
    ],
    user_followups: &[
        "It just arrived, thanks!",
        "Tracking still says in transit.",
        "Thanks, we'll keep the box for the return.",
    ],
    notes: &[
        "Carrier trace opened, case {n}.",
        "Replacement order {order} created, express shipping waived.",
        "Warehouse confirms dispatch on {date}.",
    ],
    tags: &["shipping", "delivery-delay", "damaged-item", "hardware", "card-reader"],
    teams: &["Hardware & Shipping", "Tier 1 Support"],
    pressing: true,
};

pub(super) const FEATURE_REQUESTS: Topic = Topic {
    label: "Feature requests",
    weight: 7,
    page: "home",
    subjects: &["Feature request", "Any plans for this?", "Suggestion for reports", "Idea for the app"],
    problems: &[
        "Is there any way to get {feature} in Tillwise? We really need it.",
        "It would be great if the {report} could be scheduled and emailed automatically.",
        "Any plans to support {feature}? Our old system had it.",
        "We'd love to be able to set different tax rates per location.",
        "Please add {feature} to the app, our staff keep asking for it.",
    ],
    details: &[
        "We have three locations so this would save us hours every week.",
        "Everything else works great for us.",
        "Happy to test a beta if you have one.",
    ],
    asks: &["Is this on the roadmap?", "Any idea when?", "Is there a workaround in the meantime?"],
    replies: &[
        "Thanks for the suggestion! That isn't available yet, but I've added your vote to the request our product team is tracking.",
        "Great idea - I've shared it with the product team. You can follow progress on our public roadmap at <a href=\"https://tillwise.com/roadmap\">tillwise.com/roadmap</a>.",
        "Good news: {feature} is in beta right now. I've turned it on for your account - you'll find it under Settings &gt; Labs.",
        "It's not possible today, but a workaround is to use the {integration} integration to do this automatically.",
    ],
    admin_followups: &[
        "Quick update: {feature} is now available to everyone in the latest release!",
        "The product team would love to hear more about how you'd use this - would you be up for a 20 minute call?",
    ],
    user_followups: &[
        "Thanks, fingers crossed!",
        "The beta works great, thank you.",
        "Happy to chat, mornings work best.",
    ],
    notes: &["Added +1 to the {feature} request in Productboard.", "Good candidate for the beta programme."],
    tags: &["feature-request", "positive-feedback"],
    teams: &["Customer Success", "Tier 1 Support"],
    pressing: false,
};

pub(super) const CANCELLATIONS: Topic = Topic {
    label: "Cancellations",
    weight: 7,
    page: "settings/subscription",
    subjects: &[
        "Cancel my subscription",
        "Cancellation request",
        "Downgrade to Starter",
        "Closing our business",
        "Pause our account?",
    ],
    problems: &[
        "Please cancel our subscription at the end of this billing period.",
        "We're closing the shop at the end of the month so we need to cancel.",
        "Tillwise has become too expensive for us, we'd like to downgrade to Starter.",
        "Can we pause our account for the winter season instead of cancelling?",
        "We're moving to another provider. How do we cancel and export our data?",
    ],
    details: &[
        "Our contract was signed on {date}.",
        "We're on the {plan} plan.",
        "It's nothing to do with the product, the business just isn't working out.",
    ],
    asks: &["Please confirm the cancellation.", "Will we be charged again?", "What happens to our data?"],
    replies: &[
        "I'm sorry to see you go! I've scheduled the cancellation for the end of your current period on {date}. You'll keep full access until then.",
        "Before you go - we can offer three months at 50% off if that would help. Otherwise I'm happy to process the cancellation today.",
        "I've moved you to the Starter plan from your next billing date. Your data &amp; reports stay exactly as they are.",
        "You can pause for up to three months for {amount} a month; your settings and data are kept. I've set that up starting {date}.",
        "Done - your account is cancelled and no further charges will be made. Your data export link will arrive by email shortly.",
    ],
    admin_followups: &[
        "Just confirming your cancellation is processed. We'd love to have you back any time.",
        "Your export is ready - the download link is valid for seven days.",
    ],
    user_followups: &[
        "Thanks for making this easy.",
        "Actually, the discount would help - let's do that.",
        "Can you confirm we won't be charged on {date}?",
    ],
    notes: &[
        "Save offer declined.",
        "Churn reason: price. Flagged to account management.",
        "Customer accepted 50% retention offer.",
    ],
    tags: &["cancellation", "churn-risk", "downgrade", "billing"],
    teams: &["Account Management", "Customer Success", "Billing"],
    pressing: false,
};
