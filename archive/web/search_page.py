"""The search page's form: request arguments in, `archive.search.search` out.

Datasette's own `_search` cannot find two-character Chinese words, so the
page runs our search (`archive.search`, character bigrams) on Datasette's
read-only connection.  Everything from the request reaches SQL as a
parameter; the search module builds its FTS expression itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from urllib.parse import urlencode

from archive.catalogue import Catalogue
from archive.search import SearchError, SearchResults
from archive.web.article import FLAG_LABELS

PAGE_SIZE = 20
MAX_PAGE = 500
ORDERS = {"relevance": "相关度 relevance", "date": "日期 newest first"}


MAX_FIELD = 200  # characters of a query or a filter


@dataclass
class SearchForm:
    """The search form's fields, as strings from the query string."""

    q: str = ""
    since: str = ""
    until: str = ""
    source: str = ""
    site: str = ""  # the profile's name (an exact value)
    section: str = ""  # the section's name (an exact value)
    flag: str = ""
    order: str = "relevance"
    images: str = ""
    all: str = ""  # every version, not only the current one
    withdrawn: str = ""  # include withdrawn articles
    page: int = 1
    problem: str = ""  # a field too long to search: said instead of searching something else

    @classmethod
    def from_args(cls, args) -> "SearchForm":
        """From a mapping of query-string arguments (Datasette's `request.args`).  A field over MAX_FIELD
        characters is kept cut (to show again) with a `problem`: cut silently, an exclusion past the cut was
        dropped and another search ran."""
        values, problem = {}, ""
        for field in fields(cls):
            if field.name in ("page", "problem"):
                continue
            value = (args.get(field.name) or "").strip()
            if len(value) > MAX_FIELD and not problem:
                problem = f"{field.name} is {len(value)} characters long: at most {MAX_FIELD} are searched"
            values[field.name] = value[:MAX_FIELD]
        values["problem"] = problem
        try:
            page = int(args.get("page") or 1)
        except ValueError:
            page = 1
        form = cls(**values, page=min(max(page, 1), MAX_PAGE))
        if form.order not in ORDERS:
            form.order = "relevance"
        if form.flag and form.flag != "any" and form.flag not in FLAG_LABELS:
            form.flag = ""
        return form

    def query_string(self, **changes) -> str:
        """This form's query string, with `changes`, leaving out empty fields."""
        values = {**asdict(self), **changes}
        values.pop("problem", None)
        return urlencode({k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)})


def run_search(catalogue: Catalogue, form: SearchForm) -> tuple[SearchResults | None, str | None]:
    """(results, None), or (None, why) when the query or a filter cannot be searched."""
    if form.problem:
        return None, form.problem
    if not form.q:
        return None, None
    try:
        places = {key: value for key, value in (("site", form.site), ("section", form.section)) if value}
        results = catalogue.search(
            form.q, since=form.since or None, until=form.until or None, source=form.source or None, **places,
            flags=[form.flag] if form.flag else None, has_images=True if form.images else None,
            all_versions=bool(form.all), include_withdrawn=bool(form.withdrawn), order=form.order,
            limit=PAGE_SIZE, offset=(form.page - 1) * PAGE_SIZE)
    except SearchError as error:
        return None, str(error)
    return results, None


def places(catalogue: Catalogue) -> dict[str, list[str]]:
    """The sites and sections the archive holds, for the form's facets."""
    return {"sites": catalogue.facet_values("site"), "sections": catalogue.facet_values("section")}


def top_sources(catalogue: Catalogue, limit: int = 100) -> list[str]:
    """The most frequent sources of current versions, for the form's suggestions."""
    return catalogue.top_sources(limit)


def page_links(form: SearchForm, results: SearchResults | None) -> dict[str, str | None]:
    """Query strings of the previous and next pages (None at either end)."""
    if results is None:
        return {"previous": None, "next": None}
    last = min(MAX_PAGE, max(1, -(-results.total // PAGE_SIZE) + (0 if results.exact else 1)))  # "1,000+": on
    return {"previous": form.query_string(page=form.page - 1) if form.page > 1 else None,
            "next": form.query_string(page=form.page + 1) if form.page < last else None}
