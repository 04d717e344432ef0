"""Handlers of the email triage sample (``email_triage.json``): map-reduce over a day's emails.

Load 100 customer emails -> for each email (10 at a time) work out its intent,
sentiment and urgency -> reduce everything into one daily summary.

The emails come from a seeded generator (templates for refunds, bugs, billing, praise
and outage complaints, some with urgent words), so every run sees the same mailbox and
the summary can be checked against the generator's own labels. Classification is by
keyword rules and a small sentiment lexicon: no model, no network.

To show per-item retries, the classifier "backend" drops the connection on the first
try of every ``FLAKY_EVERY``-th email (5 of 100). The map node's ``item_retry`` tries
those again and the summary still covers all 100 emails. Which emails already failed is
remembered per run (keyed by ``ctx.run_id``), so every run behaves the same; the reduce
step forgets its run's entries.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio.lowlevel

if TYPE_CHECKING:
    from graphflow.nodes.base import NodeContext
    from graphflow.registry import Registry

PREFIX = "samples.triage"
SEED = 2026
"""Seed of the sample's mailbox (the graph passes it as the ``seed`` arg of ``load_emails``)."""
DEFAULT_COUNT = 100
MAX_COUNT = 10_000
FLAKY_EVERY = 20
"""Email number n with n % FLAKY_EVERY == FLAKY_OFFSET fails on its first attempt."""
FLAKY_OFFSET = 7

INTENTS: tuple[str, ...] = ("outage", "refund", "bug", "billing", "praise", "other")
"""In rule order: the first intent with a matching keyword wins ("other" when none does)."""

INTENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "outage": ("outage", "is down", "went down", "unavailable", "offline", "unreachable", "503", "not loading"),
    "refund": ("refund", "money back", "reimburse", "return", "returned"),
    "bug": ("bug", "crash", "crashes", "crashed", "error", "broken", "glitch", "freezes", "not working"),
    "billing": ("invoice", "billing", "billed", "charged", "charge", "payment", "subscription", "receipt"),
    "praise": ("thank", "thanks", "love", "great", "awesome", "amazing", "fantastic", "excellent", "kudos"),
}

URGENT_KEYWORDS: tuple[str, ...] = ("urgent", "urgently", "asap", "immediately", "right away",
                                    "as soon as possible", "emergency", "critical")
"""Any of these makes an email's urgency "high"."""

POSITIVE_WORDS = frozenset({
    "love", "loved", "great", "awesome", "amazing", "fantastic", "excellent", "happy", "helpful", "thank",
    "thanks", "appreciate", "perfect", "faster", "smooth", "patient", "kudos", "wonderful", "pleased",
})
NEGATIVE_WORDS = frozenset({
    "broken", "bug", "crash", "crashes", "error", "errors", "damaged", "wrong", "lose", "lost", "frustrating",
    "frustrated", "annoying", "terrible", "awful", "unacceptable", "disappointed", "down", "outage",
    "unavailable", "offline", "costing", "missing", "freezes", "cracked", "duplicate",
})
NEGATORS = frozenset({"not", "no", "never", "don't", "isn't", "wasn't", "hardly"})
"""A lexicon word right after one of these counts for the other side ("not happy")."""

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _has_phrase(words: list[str], phrase: str) -> bool:
    parts = phrase.split()
    return any(words[i:i + len(parts)] == parts for i in range(len(words) - len(parts) + 1))


def email_text(email: dict[str, Any]) -> str:
    """What the rules read: subject and body."""
    return f"{email.get('subject', '')}\n{email.get('body', '')}"


def intent_of(text: str) -> str:
    words = _words(text)
    for intent, keywords in INTENT_KEYWORDS.items():
        if any(_has_phrase(words, k) for k in keywords):
            return intent
    return "other"


def urgency_of(text: str) -> str:
    words = _words(text)
    return "high" if any(_has_phrase(words, k) for k in URGENT_KEYWORDS) else "normal"


def sentiment_score(text: str) -> float:
    """(positive - negative) / (positive + negative) lexicon hits, in [-1, 1]; 0.0 with none."""
    positive = negative = 0
    previous = ""
    for word in _words(text):
        sign = 1 if word in POSITIVE_WORDS else -1 if word in NEGATIVE_WORDS else 0
        if sign and previous in NEGATORS:
            sign = -sign
        positive += sign > 0
        negative += sign < 0
        previous = word
    hits = positive + negative
    return round((positive - negative) / hits, 3) if hits else 0.0


# -- the mailbox -------------------------------------------------------------------------

FIRST_NAMES = ("Dana", "Omar", "Priya", "Lukas", "Mei", "Carlos", "Aisha", "Tom", "Sofia", "Kenji", "Nora",
               "Samuel", "Ines", "Viktor", "Hannah", "Mateo", "Yara", "Felix", "Chloe", "Raj")
LAST_NAMES = ("Fox", "Haddad", "Raman", "Becker", "Chen", "Ortega", "Bello", "Walsh", "Rossi", "Tanaka",
              "Lind", "Okafor", "Duarte", "Novak", "Schmidt", "Silva", "Nasser", "Weber", "Martin", "Kapoor")
DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "shop.example.io")
PRODUCTS = ("Aurora headphones", "Nimbus backpack", "Pulse smartwatch", "Vertex keyboard", "Lumen desk lamp")
FEATURES = ("CSV export", "calendar sync", "dark mode", "photo upload", "the search page")
ACTIONS = ("upload a photo", "export a report", "open the settings", "share a document")
PLANS = ("Starter", "Team", "Business")
TEAMS = ("sales", "design", "support", "finance")
REGIONS = ("Brazil", "Germany", "Japan", "Canada", "Kenya")
AGENTS = ("Maria", "Jonas", "Lena", "Theo")
GREETINGS = ("Hi,", "Hello,", "Hi team,", "Good morning,", "Dear support,")
SIGN_OFFS = ("Best,", "Regards,", "Cheers,", "Thanks,", "Kind regards,")

TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    # Rules are checked in INTENTS order, so a template may use keywords of later
    # intents but never of earlier ones (a refund email never mentions an outage).
    "outage": (
        ("Your site is down", "Since {hour} this morning your website is down for our whole {team} team. "
                              "We cannot place any orders."),
        ("Service outage?", "The dashboard has been unavailable for {hours} hours now and the status page "
                            "shows nothing. This outage is costing us sales."),
        ("App offline in {region}", "The mobile app shows 'offline' for all of our users in {region}. "
                                    "Is there an outage on your side?"),
        ("503 on every page", "Every page of our store returns 503 Service Unavailable. "
                              "Customers are leaving and we are losing money by the minute."),
    ),
    "refund": (
        ("Refund for order {order}", "I returned the {product} from order {order} two weeks ago but have not "
                                     "seen my refund of ${amount} yet. Could you check on it?"),
        ("{product} arrived damaged", "The {product} in order {order} arrived with a cracked case. "
                                      "I would like my money back, please."),
        ("How do I return this?", "I ordered the wrong size of the {product} ({order}). How do I return it "
                                  "and get a refund?"),
        ("Please reimburse order {order}", "I cancelled order {order} within the trial period, so please "
                                           "reimburse the ${amount} I paid."),
    ),
    "bug": (
        ("App crashes when I {action}", "Every time I try to {action}, the app crashes and I lose my work. "
                                        "I am on version {version}."),
        ("Bug in {feature}", "I think I found a bug: {feature} shows error code {code} after a few seconds."),
        ("{feature} is broken", "Since the last update {feature} is broken for me. I already tried "
                                "reinstalling the app."),
        ("Editor freezes", "The editor freezes whenever I paste a large table. Frustrating, because I use it "
                           "every day."),
    ),
    "billing": (
        ("Charged twice this month", "I was charged twice for my {plan} subscription this month (${amount} "
                                     "each). Please remove the duplicate charge."),
        ("Invoice {invoice} looks wrong", "Invoice {invoice} lists {seats} seats but our team only has "
                                          "{fewer} people. Can you send a corrected invoice?"),
        ("Changing our payment method", "Our company card changes next month. How do I update the payment "
                                        "method on our {plan} plan?"),
        ("Missing receipt", "I can't find the receipt for my last payment of ${amount}. Could you email it "
                            "to me?"),
    ),
    "praise": (
        ("Love the new {feature}", "Just wanted to say I love the new {feature}. It saves me so much time "
                                   "every week."),
        ("Thank you, {agent}!", "{agent} from your support team was fantastic yesterday, patient and helpful. "
                                "Thank you!"),
        ("Great product", "We rolled the {product} out to the whole {team} team and everyone is happy with "
                          "it. Great work."),
        ("Kudos on the update", "The latest update is excellent: everything feels faster. Keep it up!"),
    ),
}

INTENT_WEIGHTS: dict[str, float] = {"outage": 0.18, "refund": 0.22, "bug": 0.25, "billing": 0.2, "praise": 0.15}
URGENT_CHANCE: dict[str, float] = {"outage": 0.6, "refund": 0.15, "bug": 0.25, "billing": 0.15, "praise": 0.0}
URGENT_LINES = ("This is urgent.", "Please look into this ASAP.", "We need this resolved immediately.",
                "Please treat this as an emergency.", "This is business critical for us.")


@dataclass(frozen=True, slots=True)
class GeneratedEmail:
    """One generated email with the labels it was generated from (the ground truth)."""

    email: dict[str, Any]
    intent: str
    urgent: bool


def generate(count: int = DEFAULT_COUNT, seed: int = SEED) -> list[GeneratedEmail]:
    """``count`` emails with their labels; the same ``count`` and ``seed`` give the same mailbox."""
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_COUNT:
        raise ValueError(f"count must be an integer from 0 to {MAX_COUNT}, got {count!r}")
    rng = random.Random(seed)
    received = datetime(2026, 3, 2, 7, 0)
    intents = list(INTENT_WEIGHTS)
    weights = list(INTENT_WEIGHTS.values())
    mailbox = []
    for number in range(1, count + 1):
        intent = rng.choices(intents, weights)[0]
        subject, body = rng.choice(TEMPLATES[intent])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        seats = rng.randint(6, 40)
        values = {
            "order": f"SO-{rng.randint(1000, 9999)}", "invoice": f"INV-{rng.randint(20000, 29999)}",
            "amount": f"{rng.randint(9, 480)}.{rng.randint(0, 99):02d}", "product": rng.choice(PRODUCTS),
            "feature": rng.choice(FEATURES), "action": rng.choice(ACTIONS), "plan": rng.choice(PLANS),
            "team": rng.choice(TEAMS), "region": rng.choice(REGIONS), "agent": rng.choice(AGENTS),
            "hour": f"{rng.randint(5, 9)}:{rng.choice(('00', '15', '30', '45'))}", "hours": rng.randint(2, 6),
            "version": f"4.{rng.randint(0, 12)}.{rng.randint(0, 9)}", "code": f"E{rng.randint(100, 999)}",
            "seats": seats, "fewer": seats - rng.randint(1, 5),
        }
        subject, body = subject.format(**values), body.format(**values)
        urgent = rng.random() < URGENT_CHANCE[intent]
        if urgent:
            body = f"{body} {rng.choice(URGENT_LINES)}"
            if rng.random() < 0.3:
                subject = f"URGENT: {subject}"
        received += timedelta(minutes=rng.randint(1, 12))
        email = {
            "id": f"EM-{number:04d}",
            "from": f"{first}.{last}@{rng.choice(DOMAINS)}".lower(),
            "name": f"{first} {last}",
            "subject": subject,
            "body": f"{rng.choice(GREETINGS)}\n\n{body}\n\n{rng.choice(SIGN_OFFS)}\n{first}",
            "received_at": received.isoformat() + "Z",
        }
        mailbox.append(GeneratedEmail(email, intent, urgent))
    return mailbox


def load_emails(count: int | None = None, seed: int = SEED) -> list[dict[str, Any]]:
    """The day's mailbox: ``count`` emails (default 100) from the seeded generator."""
    return [g.email for g in generate(DEFAULT_COUNT if count is None else count, seed)]


# -- map and reduce ---------------------------------------------------------------------------

_failed_once: set[tuple[str, str]] = set()
"""(run id, email id) of flaky emails whose first attempt already failed in that run."""


def is_flaky(email_id: str) -> bool:
    """Whether the simulated classifier backend drops this email's first attempt."""
    return int(email_id.rsplit("-", 1)[-1]) % FLAKY_EVERY == FLAKY_OFFSET


async def classify_email(email: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    """Map step: ``{id, intent, sentiment, urgency}`` of one email."""
    await anyio.lowlevel.checkpoint()  # stand-in for the round trip to a classifier service
    key = (ctx.run_id, email["id"])
    if is_flaky(email["id"]) and key not in _failed_once:
        _failed_once.add(key)
        raise ConnectionError(f"classifier connection reset while reading {email['id']}")
    text = email_text(email)
    return {"id": email["id"], "intent": intent_of(text), "sentiment": sentiment_score(text),
            "urgency": urgency_of(text)}


def summarize(results: list[dict[str, Any]], ctx: NodeContext) -> dict[str, Any]:
    """Reduce step: the daily summary of the classified emails (in mailbox order)."""
    for key in [k for k in _failed_once if k[0] == ctx.run_id]:
        _failed_once.discard(key)
    counts = Counter(r["intent"] for r in results)
    urgent_ids = [r["id"] for r in results if r["urgency"] == "high"]
    average = sum(r["sentiment"] for r in results) / len(results) if results else 0.0
    return {
        "total": len(results),
        "by_intent": {intent: counts.get(intent, 0) for intent in INTENTS},
        "average_sentiment": round(average, 3),
        "urgent": len(urgent_ids),
        "urgent_ids": urgent_ids,
    }


def register(registry: Registry) -> None:
    for fn in (load_emails, classify_email, summarize):
        registry.register_function(f"{PREFIX}.{fn.__name__}", fn, non_blocking=True)
