"""Validating a profile against the live site: does its list walk, and do its articles read?

    report = validate_inference(inference)              # what `profile new` prints
    report = check_profile(profile, fetcher)            # what `profile check` prints: fetched afresh
    print("\\n".join(report.lines())); report.ok

For each section: the list answers walked and the rows each showed (and
whether the pagination went on), how many list links fit the article
pattern, then a sample of articles read with the profile: the coverage of
each field, the pages without a title or a date, the selectors that found
nothing, and what the inference could not find out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.pagination import first_request
from crawler.pages.article import ArticlePage
from crawler.pages.listing import ListEntry
from crawler.pages.markup import select
from crawler.profile import Section, SiteProfile
from crawler.profiler.fetch import Fetcher
from crawler.profiler.infer import LIST_REQUESTS, SAMPLES, SELECTOR_ROLES, Inference, Sample, _samples
from crawler.profiler.walk import walk_list

COVERAGE_FIELDS = ("title", "published", "source", "body_text", "images", "attachments", "breadcrumb",
                   "site_name", "site_id_code", "column_name", "xxgk")


@dataclass
class SectionReport:
    name: str
    start_url: str
    kind: str
    rows: list[int]  # rows per list answer walked
    paging: str | None  # what went wrong walking the list, or None
    links: int  # article links seen on the list answers
    fitting: int  # of which fit the article pattern
    fields: list[dict]  # the sampled articles' fields, read with the profile
    urls: list[str]
    failed: list[tuple[str, str]]
    unmatched: dict[str, int] = field(default_factory=dict)  # selector role -> pages where it found nothing
    notes: list[str] = field(default_factory=list)
    unpaged: str | None = None  # why the list may go on past what the crawl will see

    def coverage(self, name: str) -> int:
        return sum(1 for fields in self.fields if fields.get(name))

    @property
    def without_title_or_date(self) -> list[str]:
        return [url for url, fields in zip(self.urls, self.fields) if not fields.get("title")
                or not fields.get("published")]

    @property
    def problems(self) -> list[str]:
        out = []
        if not self.rows or not self.rows[0] and self.kind != "json":
            out.append("the first list page shows no article rows")
        if self.kind == "json" and not any(self.rows[1:]):
            out.append("the JSON API answered no rows")
        if self.paging:
            out.append(self.paging)
        if self.unpaged:
            out.append(self.unpaged)
        if self.links and self.fitting < self.links:
            out.append(f"{self.links - self.fitting} of {self.links} list links do not fit the article pattern")
        if not self.fields:
            out.append("no article could be read")
        if self.without_title_or_date:
            out.append(f"{len(self.without_title_or_date)} sampled pages without a title or a date")
        if self.failed:
            out.append(f"{len(self.failed)} sampled articles could not be fetched")
        for role, count in self.unmatched.items():
            out.append(f"selectors.{role} found nothing on {count} of {len(self.fields)} pages")
        return out


@dataclass
class Report:
    site: str
    sections: list[SectionReport]
    notes: list[str]
    requests: int = 0
    seconds: float = 0.0
    left_out: list[str] = field(default_factory=list)  # "URL: why" of columns given that gave no section

    @property
    def ok(self) -> bool:
        return not self.left_out and all(not section.problems for section in self.sections)

    @property
    def sampled(self) -> int:
        return sum(len(section.fields) for section in self.sections)

    def coverage(self, name: str) -> tuple[int, int]:
        return sum(s.coverage(name) for s in self.sections), self.sampled

    def lines(self) -> list[str]:
        """The report as text, for a terminal."""
        out = [f"Profile {self.site}: {len(self.sections)} section(s), {self.sampled} articles sampled, "
               f"{self.requests} requests in {self.seconds:.1f}s"]
        for section in self.sections:
            walked = ", ".join(str(n) for n in section.rows) or "none"
            out.append(f"  section {section.name} ({section.kind}) {section.start_url}")
            out.append(f"    list answers walked: {len(section.rows)} (rows: {walked}); "
                       f"article links fitting the pattern: {section.fitting}/{section.links}")
            out.append(f"    articles sampled: {len(section.fields)}"
                       + (f", {len(section.failed)} could not be fetched" if section.failed else ""))
            for url, why in section.failed:
                out.append(f"      not fetched: {url} ({why})")
            for url in section.without_title_or_date:
                out.append(f"      without title or date: {url}")
            for problem in section.problems:
                out.append(f"    PROBLEM: {problem}")
            for note in section.notes:
                out.append(f"    not inferred: {note}")
        if self.sampled:
            out.append("  field coverage (pages with the field / pages sampled):")
            for name in COVERAGE_FIELDS:
                have, total = self.coverage(name)
                out.append(f"    {name:<13} {have:>3}/{total:<3} {100 * have / total:5.1f}%")
        for note in self.notes:
            out.append(f"  not inferred: {note}")
        for column in self.left_out:
            out.append(f"  PROBLEM: column left out of the profile: {column}")
        out.append("  result: " + ("ok" if self.ok else "problems (see above)"))
        return out


def _read(sample_pages: list[tuple[str, ArticlePage]], profile: SiteProfile) -> tuple[list[dict], dict[str, int]]:
    fields, unmatched = [], {}
    for _, page in sample_pages:
        fields.append(page.fields())
        for role in SELECTOR_ROLES:
            selector = getattr(profile.selectors, role)
            if selector and not select(page.root, selector):
                unmatched[role] = unmatched.get(role, 0) + 1
    return fields, unmatched


def _paging(kind: str, rows: list[int], error: str | None) -> str | None:
    if error:
        return f"the next list answer could not be fetched ({error})"
    later = rows[2:] if kind == "json" else rows[1:]
    if any(n == 0 for n in later):
        return f"the {kind} pagination led to a list answer with no rows"
    return None


def _section_report(profile: SiteProfile, section: Section, rows: list[int], paging: str | None,
                    entries: list[ListEntry], samples: list[Sample], failed: list[tuple[str, str]],
                    notes: list[str]) -> SectionReport:
    focused = profile.for_section(section.name)
    host = urlsplit(section.start_url).hostname
    links = [e for e in entries if urlsplit(e.url).hostname == host]
    fitting = [e for e in links if section.is_article_url(e.url)]
    pages = [(s.url, ArticlePage(s.response, focused)) for s in samples]
    fields, unmatched = _read(pages, focused)
    # Where the site has no such block at all (no 信息公开 table) a selector finding nothing is no news.
    unmatched = {role: n for role, n in unmatched.items() if n == len(pages)}
    return SectionReport(section.name, section.start_url, section.pagination.kind, rows, paging, len(links),
                         len(fitting), fields, [url for url, _ in pages], failed, unmatched, notes)


def validate_inference(inference: Inference, requests: int = 0, seconds: float = 0.0) -> Report:
    """The report of an inferred profile, on the pages the inference fetched (nothing fetched again)."""
    profile = inference.profile
    sections = []
    for finding, section in zip(inference.sections, profile.sections):
        paging = _paging(section.pagination.kind, finding.rows, finding.paging_error)
        report = _section_report(profile, section, finding.rows, paging, finding.entries, finding.samples,
                                 finding.failed, finding.notes)
        report.unpaged = finding.unpaged
        sections.append(report)
    return Report(profile.name, sections, inference.notes, requests, seconds,
                  [f"{error.url}: {error.why}" for error in inference.left_out])


def check_profile(profile: SiteProfile, fetcher: Fetcher, samples: int = SAMPLES,
                  list_requests: int = LIST_REQUESTS) -> Report:
    """Walk each section's list and read a sample of its articles with the profile, live."""
    import time

    started = time.monotonic()
    sections = []
    for section in profile.sections:
        focused = profile.for_section(section.name)
        # The links a list shows, whatever the article pattern says (a redesign may have moved them).
        loose = dataclasses.replace(focused, sections=(dataclasses.replace(section, article_url_pattern=""),))
        walk = walk_list(first_request(section), fetcher, loose, list_requests)
        rows, entries, error = walk.rows, walk.entries, walk.error
        paging = _paging(section.pagination.kind, rows, error) if walk.requests else f"the first list page: {error}"
        articles = [e for e in entries if section.is_article_url(e.url)]
        picked, failed = _samples(articles, samples, fetcher)
        sections.append(_section_report(profile, section, rows, paging, entries, picked, failed, []))
    return Report(profile.name, sections, [], len(fetcher.log), time.monotonic() - started)

