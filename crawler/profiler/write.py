"""A profile as a commented TOML file (what `portal-archive profile new` writes).

Every key gets the help line of its field (`crawler.profile`) as a comment,
and the file says where each value came from and what could not be
inferred.  `load_profile` reads the file back to the same profile (the writer
checks that before the file is kept).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from crawler.profile import Pagination, Section, Selectors, SiteProfile, field_help

_SITE_HELP = field_help(SiteProfile)
_SECTION_HELP = field_help(Section)
_PAGINATION_HELP = field_help(Pagination)
_SELECTOR_HELP = field_help(Selectors)
# Pagination keys each kind reads (the others are left out of the file).
KIND_KEYS = {
    "links": ("next_selector",),
    "hanweb": ("proxy_url", "per_page", "records_per_request", "form"),
    "json": ("api_url", "params", "page_param", "size_param", "size", "first_page", "list_key", "url_key",
             "title_key", "date_key", "pages_key"),
}


def toml_value(value) -> str:
    """A TOML value: strings as literal strings where they can be ('…'), else basic ones."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "'" not in value and "\n" not in value and value.isprintable():
            return f"'{value}'"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _inline_table(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in pairs) + " }" if pairs else "{}"


def _key(name: str) -> str:
    return name if name.replace("_", "").replace("-", "").isalnum() and name.isascii() else toml_value(name)


def _comment(text: str) -> str:
    return "# " + text


def profile_toml(profile: SiteProfile, header: list[str] = (), section_notes: dict[str, list[str]] | None = None,
                 made: datetime | None = None) -> str:
    """The profile as a commented TOML file; `header` lines and each section's notes become comments."""
    made = made or datetime.now(timezone.utc)
    lines = [_comment(f"Site profile {profile.name}: {profile.site_name or 'unnamed site'}, "
                      f"{len(profile.sections)} section(s)."),
             _comment(f"Inferred by `portal-archive profile new` on {made:%Y-%m-%d %H:%M} UTC; check it with "
                      f"`portal-archive profile check FILE`."),
             _comment("Selectors are CSS, or XPath when they start with / ./ or (; an empty one means the generic "
                      "rules.  docs/portals.md describes every key.")]
    lines += [_comment(line) for line in header]
    lines.append("")

    def put(help_text: str, key: str, value) -> None:
        lines.append(_comment(help_text))
        lines.append(f"{key} = {value}")

    put(_SITE_HELP["name"], "name", toml_value(profile.name))
    put(_SITE_HELP["site_name"], "site_name", toml_value(profile.site_name or ""))
    put(_SITE_HELP["city"], "city", toml_value(profile.city or ""))
    if profile.site_id_code:
        put(_SITE_HELP["site_id_code"], "site_id_code", toml_value(profile.site_id_code))
    put(_SITE_HELP["host"], "host", toml_value(profile.host))
    put("Host names the crawl may fetch from.", "hosts", toml_value(list(profile.allowed_domains)))
    put(_SITE_HELP["warc_prefix"], "warc_prefix", toml_value(profile.prefix))
    for section in profile.sections:
        lines += ["", _comment("One [[sections]] table per column to archive."), "[[sections]]"]
        for note in (section_notes or {}).get(section.name, []):
            lines.append(_comment(f"Not inferred: {note}"))
        for key in ("name", "start_url", "section_path", "article_url_pattern", "list_page_pattern"):
            value = getattr(section, key)
            if value or key != "list_page_pattern":
                put(_SECTION_HELP[key], key, toml_value(value))
        pagination = section.pagination
        lines += ["", "[sections.pagination]"]
        put("How the list goes on: " + _PAGINATION_HELP["kind"], "kind", toml_value(pagination.kind))
        for key in KIND_KEYS.get(pagination.kind, ()):
            value = getattr(pagination, key)
            text = _inline_table(value) if isinstance(value, tuple) else toml_value(value)
            help_text = _PAGINATION_HELP[key].split(": ", 1)[-1]
            put(help_text[:1].upper() + help_text[1:], key, text)
        chosen = {key: getattr(section.selectors, key) for key in _SELECTOR_HELP if getattr(section.selectors, key)}
        lines += ["", "[sections.selectors]"]
        if not chosen:
            lines.append(_comment("none: the generic rules read every field"))
        for key, value in chosen.items():
            put(_SELECTOR_HELP[key], key, toml_value(value))
    return "\n".join(lines) + "\n"
