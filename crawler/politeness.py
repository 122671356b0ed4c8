"""Who we say we are to a portal: the user agent, built from the settings when a crawl starts.

As Heritrix does with its operator contact, a crawl of a real portal (a
host that is not loopback) refuses to start until the operator has said how
site owners can reach them: `PORTAL_ARCHIVE_CONTACT`, or `-s ARCHIVE_CONTACT=`.
The replica on 127.0.0.1 needs no contact.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from archive.exits import UsageProblem
from crawler.options import FROM_ENVIRONMENT

# Said in the user agent when no contact is given (loopback crawls only).
PLACEHOLDER_CONTACT = "https://github.com/portal-archive"
UNNAMED_OPERATOR = "unnamed operator"


class ContactMissing(UsageProblem):
    """A real portal would be crawled without a way for its owners to reach the operator."""


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolved(settings: BaseSettings, name: str) -> str | None:
    """A setting's value, else its environment variable's (read now, not at import), else None."""
    value = settings.get(name)
    if value in (None, ""):
        value = os.environ.get(FROM_ENVIRONMENT.get(name, ""), "") or None
    return value


def user_agent(contact: str) -> str:
    from crawler import __version__

    return f"portal-archive/{__version__} (archival crawler; +{contact})"


def check_contact(settings: BaseSettings, start_url: str) -> str:
    """The contact to announce; ContactMissing for a real portal without one."""
    contact = resolved(settings, "ARCHIVE_CONTACT")
    if contact and contact != PLACEHOLDER_CONTACT:
        return contact
    if is_loopback(start_url):
        return PLACEHOLDER_CONTACT
    raise ContactMissing(
        f"refusing to crawl {urlsplit(start_url).hostname} without a contact for its owners: set "
        "PORTAL_ARCHIVE_CONTACT (e.g. mailto:you@example.org or a web page about your archive), "
        "or pass --set ARCHIVE_CONTACT=...")


def apply_user_agent(settings: BaseSettings, start_url: str) -> None:
    """Set ARCHIVE_CONTACT, ARCHIVE_OPERATOR and USER_AGENT for this crawl (a USER_AGENT set by hand is kept)."""
    contact = check_contact(settings, start_url)
    settings.set("ARCHIVE_CONTACT", contact, priority="spider")
    settings.set("ARCHIVE_OPERATOR", resolved(settings, "ARCHIVE_OPERATOR") or UNNAMED_OPERATOR, priority="spider")
    if (settings.getpriority("USER_AGENT") or 0) < SETTINGS_PRIORITIES["project"]:
        # Scrapy's default: not one the user chose.
        settings.set("USER_AGENT", user_agent(contact), priority="spider")
