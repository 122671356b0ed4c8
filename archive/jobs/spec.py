"""What a crawl job is: one section of one site, described by its profile.

A job carries the profile's text, not its path, so a worker on any machine
can run it; the site (the profile's canonical host) names the lease that
keeps every worker but one away from that site.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from archive.exits import UsageProblem


@dataclass(frozen=True)
class CrawlJob:
    """One section crawl: `portal-archive crawl --profile FILE [--section NAME]` on some worker."""

    profile_name: str  # the profile's `name`
    profile_text: str  # the TOML file, whole
    site: str  # the canonical host: one lease per site, cluster-wide
    section: str | None = None  # None: what the profile crawls by default
    full: bool = False  # --full: walk every list page

    @property
    def label(self) -> str:
        """`site/section` (`site/profile` for a profile of one section), for status lines, logs and dedup."""
        return f"{self.site}/{self.section or self.profile_name}"

    @property
    def profile_digest(self) -> str:
        return hashlib.sha256(self.profile_text.encode("utf-8")).hexdigest()[:12]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CrawlJob":
        """The job `as_dict` made; ValueError for anything else (a payload written by hand)."""
        if not isinstance(data, dict):
            raise ValueError(f"a crawl job is a JSON object, not {type(data).__name__}")
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        job = cls(**known)
        texts = (job.profile_name, job.profile_text, job.site)
        if not all(isinstance(text, str) and text for text in texts) or not isinstance(job.section, (str, type(None))) \
                or not isinstance(job.full, bool):
            raise ValueError("profile_name, profile_text and site must be text, section text or null, full true or "
                             "false")
        return job


def profile_sections(profile: Any) -> list[str | None]:
    """The section names a profile crawls; [None] for a profile of one section (crawled without --section)."""
    names = profile.section_names if len(profile.sections) > 1 else []
    return list(names) or [None]


def jobs_for_profile(path: Path | str, section: str | None = None, *, full: bool = False) -> list[CrawlJob]:
    """One job per section of the profile at `path`, a file or a bundled profile's name (or only `section`).

    Raises UsageProblem (a ProfileError) for a profile that does not load, or
    a section the profile does not have.
    """
    from crawler.profile import load_profile, read_profile_text

    profile = load_profile(path)
    text, _ = read_profile_text(path)  # carried in the job: a worker needs no copy of the file
    site = profile.host or (urlsplit(profile.start_url).hostname or "").lower()
    sections = profile_sections(profile)
    if section is not None:
        known = [name for name in sections if name]
        if known and section not in known:
            raise UsageProblem(f"{path}: no section {section!r}; its sections: {', '.join(known)}")
        if not known and section != (profile.section or section):
            raise UsageProblem(f"{path}: no section {section!r}; it describes only {profile.section!r}")
        sections = [section] if known else [None]
    return [CrawlJob(profile_name=profile.name, profile_text=text, site=site, section=name, full=full)
            for name in sections]
