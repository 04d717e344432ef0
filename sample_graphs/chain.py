"""Handlers of the sequential chain sample (``sequential_chain.json``).

Extract customer email -> validate format -> check if existing -> create account ->
send welcome. Each step takes the previous step's output and returns its own; a step
that cannot go on raises, which fails its node and stops the chain (the nodes after it
end ``cancelled``). No outside services: the "account database" is a small table here,
and "sending" an email only composes it.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphflow.registry import Registry

PREFIX = "samples.chain"

EXISTING_ACCOUNTS: dict[str, str] = {
    "alice@example.com": "acct_0001",
    "bob.smith@example.org": "acct_0002",
    "carol+news@shop.example.net": "acct_0003",
}
"""Accounts that already exist, by lower-cased email (read-only: a sample must be repeatable)."""

# A candidate is any run of address-like characters around an "@". It is deliberately
# looser than a valid address, so a malformed one ("bob@@example") is still extracted
# and then rejected by the validation step with a precise reason.
_CANDIDATE = re.compile(r"[^\s<>()\[\],;:\"'@]*@[^\s<>()\[\],;:\"']*")
_TRAILING = ".!?"
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class InvalidEmail(ValueError):
    """The extracted address is not a well-formed email address."""


class AccountExists(Exception):
    """An account with this email address already exists."""


def extract_email(message: Any) -> dict[str, Any]:
    """Find the first email address in free text."""
    if not isinstance(message, str):
        raise TypeError(f"expected the message text, got {type(message).__name__}")
    for match in _CANDIDATE.finditer(message):
        candidate = match.group(0).removeprefix("mailto:").rstrip(_TRAILING)
        local, _, domain = candidate.partition("@")
        if local and domain:  # "@handle" or "at @ noon" are not addresses
            return {"email": candidate, "message": message}
    raise ValueError("no email address found")


def validate_email(data: dict[str, Any]) -> dict[str, Any]:
    """Check the address's format (RFC 5321 lengths, dot-atom local part, DNS labels);
    returns it normalised to lower case."""
    email = data["email"]

    def invalid(why: str) -> InvalidEmail:
        return InvalidEmail(f"invalid email address {email!r}: {why}")

    if email.count("@") != 1:
        raise invalid(f"expected exactly one '@', found {email.count('@')}")
    if len(email) > 254:
        raise invalid("longer than 254 characters")
    local, domain = email.split("@")
    if len(local) > 64:
        raise invalid("the part before '@' is longer than 64 characters")
    if not _LOCAL.match(local):
        raise invalid("the part before '@' has characters or dots that are not allowed")
    labels = domain.split(".")
    if len(labels) < 2:
        raise invalid("the domain has no top-level part (like '.com')")
    bad = [label for label in labels if not _LABEL.match(label)]
    if bad:
        raise invalid(f"domain label {bad[0]!r} is not valid")
    if not labels[-1].isalpha() or len(labels[-1]) < 2:
        raise invalid(f"top-level domain {labels[-1]!r} is not valid")
    normalised = f"{local}@{domain}".lower()
    return {"email": normalised, "local_part": local.lower(), "domain": domain.lower()}


def check_existing(data: dict[str, Any]) -> dict[str, Any]:
    """Stop if an account already uses this address; otherwise pass the address on."""
    email = data["email"]
    if email in EXISTING_ACCOUNTS:
        raise AccountExists(f"an account already exists for {email} ({EXISTING_ACCOUNTS[email]})")
    return {**data, "existing": False}


def account_id_for(email: str) -> str:
    """A deterministic account id: the same address always gets the same id."""
    return "acct_" + hashlib.sha256(email.encode()).hexdigest()[:12]


def create_account(data: dict[str, Any]) -> dict[str, Any]:
    """Create the account record (the sample does not store it, so runs repeat)."""
    email = data["email"]
    return {"email": email, "account_id": account_id_for(email)}


def send_welcome(account: dict[str, Any]) -> dict[str, Any]:
    """Compose the welcome email; returns the account with what was sent."""
    name = account["email"].split("@")[0].split("+")[0].replace(".", " ").title()
    return {
        **account,
        "sent_to": account["email"],
        "subject": f"Welcome aboard, {name}!",
        "body": f"Hi {name}, your account {account['account_id']} is ready.",
    }


def register(registry: Registry) -> None:
    for fn in (extract_email, validate_email, check_existing, create_account, send_welcome):
        registry.register_function(f"{PREFIX}.{fn.__name__}", fn, non_blocking=True)
