"""Service URLs as messages and logs may show them: without their passwords."""

from __future__ import annotations

import re
from collections.abc import Iterable

# scheme://user:PASSWORD@host...: everything up to the last @ before the path counts as the user's part, so a
# password holding #, ? or / (which a URL parser splits elsewhere than libpq does) is masked whole.
_CREDENTIALS = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/]*:)(?P<secret>.*)@(?=[^@]*$)", re.DOTALL)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&]*)", re.IGNORECASE)


def secrets(url: str) -> list[str]:
    """The passwords written in `url` (its user part, a `password=` parameter), longest first."""
    found = [m.group("secret") for m in (_CREDENTIALS.match(url), *_QUERY_PASSWORD.finditer(url)) if m]
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def redact(url: str) -> str:
    """The URL with its password (if any) replaced by ***: `postgresql://archive:***@db/archive`."""
    url = _CREDENTIALS.sub(lambda m: m.group("head") + "***@", url, count=1)
    return _QUERY_PASSWORD.sub(lambda m: m.group("head") + "***", url)


def scrub(text: str, url: str) -> str:
    """`text` (a message about `url`, e.g. a driver's error) with the URL's passwords masked wherever they are.

    A driver that split the URL elsewhere quotes pieces of a password (`invalid URI query parameter: "ss@h"`
    for `u:pa?ss@h`): the pieces between the characters a URL splits at are masked too, those of four
    characters or more (shorter ones would mask words of the message, and say little of the password).
    """
    pieces = {piece for secret in secrets(url) for piece in re.split(r"[?#/&@=:]", secret) if len(piece) >= 4}
    return hide(text, {*secrets(url), *pieces})


def hide(text: str, hidden: Iterable[str], mask: str = "***") -> str:
    """`text` with each of `hidden` replaced by `mask`, the longest first (so no part of one is left showing)."""
    for secret in sorted({secret for secret in hidden if secret}, key=len, reverse=True):
        text = text.replace(secret, mask)
    return text
