"""The catalogue's interface: every question asked of it, and the one way it is written.

The catalogue is derived from the WARC files: `apply(event)` folds one WARC
record's event into it (the crawl does so live, `reindex` from the files),
and every other operation reads.  No code outside this package issues SQL
against the catalogue's tables; it calls these named operations instead, so
that a second backend (PostgreSQL beside the embedded SQLite) is a second
implementation of this class, held to the same contract tests
(`tests/test_catalogue_contract.py`).

Rows come back as plain dicts (JSON columns decoded: lists and dicts, never
JSON text), ready for templates, `--json` output and exports.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from archive.catalogue.events import Event
from archive.exits import Failed, NoCatalogue, NotFound

# JSON columns of the versions table, decoded on the way out.
JSON_COLUMNS = ("images", "attachments", "breadcrumb", "charset", "problems", "flags", "changed_fields", "xxgk")
# The fields whose change makes a new version, and that `changes` diffs.
VERSIONED = ("title", "published", "source", "body_text", "images", "attachments")


class CatalogueError(NoCatalogue):
    """The catalogue is missing, unreadable, not ours, or of an older layout."""


class CatalogueFailed(CatalogueError, Failed):
    """The catalogue is there but cannot do what was asked (its disk is full, an I/O error, out of memory):
    exit 3, and waiting would not help."""

    exit_code = Failed.exit_code


class ArticleNotFound(NotFound, LookupError):
    """No article has that id, URL or key (or it has no such version)."""


@dataclass(frozen=True)
class KnownArticle:
    """What the crawler needs to know of an archived article to decide on a recheck."""

    key: str
    url: str
    status: str
    published: str | None
    etag: str | None
    last_modified: str | None
    last_checked: str | None
    section: str | None = None
    payload_digest: str | None = None  # of the capture its current version was parsed from


@dataclass(frozen=True)
class VersionFilter:
    """Which article versions a listing or an export holds (every filter optional, combined with AND).

    `versions`: "latest" (each article's current version) or "all".
    `since`/`until`: inclusive bounds on the day of `published` (an undated
    version is left out when either is set).  `sources`: the source contains
    any of these.  `flags`: carries any of these integrity flags.
    `withdrawn`: only withdrawn articles.  `version_ids`: only these
    versions (a search's hits).  `sites`/`sections`: only these.
    """

    versions: str = "latest"
    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    withdrawn: bool = False
    version_ids: tuple[int, ...] | None = None
    sites: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    with_html: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class IndexStatus:
    """The search index: whether it exists in the current layout, and how many articles wait to be indexed."""

    ready: bool
    pending: int
    outdated: bool = False  # of an older layout that `update_index` brings up to date, no rebuild needed


class Catalogue(ABC):
    """One archive's catalogue.  Open with `archive.catalogue.open_catalogue`."""

    readonly: bool

    # -- lifecycle --------------------------------------------------------
    @abstractmethod
    def commit(self) -> None:
        """Make what was applied so far durable."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection (uncommitted work is rolled back)."""

    def __enter__(self) -> "Catalogue":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @classmethod
    @abstractmethod
    def open(cls, location: Any, *, readonly: bool = False) -> "Catalogue":
        """Open (and, writable, create) the catalogue at `location` (a path or a URL, per backend)."""

    @classmethod
    @abstractmethod
    def rebuilt(cls, location: Any, fold: Callable[["Catalogue"], None],
                before: Callable[[], None] | None = None) -> None:
        """Build a new catalogue at `location` with `fold(catalogue)`, replacing the old one only when done;
        `before()` first, once no other writer can change the old one (it may raise to refuse)."""

    @abstractmethod
    def dump_table(self, table: str) -> list[tuple]:
        """Every row of a catalogue table in a stable order (contract tests compare two catalogues with it)."""

    # -- the fold (the only writer) ----------------------------------------
    @abstractmethod
    def apply(self, event: Event) -> None:
        """Fold one WARC record's event in.  Idempotent: an event applied before changes nothing."""

    @abstractmethod
    def ingested(self) -> dict[str, int]:
        """For each WARC file, the offset just past the last record folded in."""

    @abstractmethod
    def capture_positions(self) -> Iterator[tuple[str, int, str]]:
        """(file, offset, record id) of every capture, by file name (in code point order, as Python sorts) and
        offset, streamed: `verify` checks each against the records it reads."""

    @abstractmethod
    def running_files(self) -> set[str]:
        """The WARC files holding captures of crawls still `running` (or killed, and not settled yet)."""

    @abstractmethod
    def orphan_revisits(self) -> Iterator[dict[str, Any]]:
        """The revisits (file, offset, record_id, refers_to) whose original record no capture holds."""

    @abstractmethod
    def settle(self, crawl_ids: Iterable[str] | None = None) -> None:
        """After a crash or a rebuild: crawls without an end record are interrupted; forget their listings.

        `crawl_ids` limits this to those crawls (the ones whose WARC files a data
        folder holds): other workers' crawls writing the same catalogue are running."""

    # -- what the crawler asks ----------------------------------------------
    @abstractmethod
    def known_articles(self, site: str | None = None) -> Iterator[KnownArticle]:
        """Every archived article (of `site`, when given), for recheck decisions."""

    @abstractmethod
    def listing_settled(self, site: str | None = None, section: str | None = None) -> bool:
        """Whether the last crawl (of `site`; of those that walked `section`, when given) ended ok
        with that listing walked or settled."""

    @abstractmethod
    def last_response(self, url: str) -> dict[str, Any] | None:
        """The last complete 200 response captured at `url` (record_id, url, date, payload_digest), for revisits."""

    @abstractmethod
    def first_response_with_payload(self, payload_digest: str) -> dict[str, Any] | None:
        """The earliest complete 200 response whose payload has this digest, at any URL, from any crawl or worker.

        (record_id, url, date, payload_digest, file.)  What an identical-payload-digest
        revisit of a repeated image or attachment refers to (deduplication across URLs).
        """

    # -- crawls -------------------------------------------------------------
    @abstractmethod
    def crawls(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest crawls first, each with its stats and its `crawl_changes` (`new`, `edited`, `withdrawn`,
        `restored`)."""

    @abstractmethod
    def crawl_changes(self, crawl_id: str) -> dict[str, int]:
        """What a crawl found: `new` articles, `edited` ones (new versions), `withdrawn` ones and `restored` ones
        (withdrawn before, answering again)."""

    @abstractmethod
    def crawls_by_id(self, crawl_ids: Iterable[str]) -> list[dict[str, Any]]:
        """These crawls (id, started, finished, status), oldest first."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Rows per table: crawls, captures, articles, versions, withdrawals."""

    # -- articles, versions, captures -----------------------------------------
    @abstractmethod
    def find_article(self, ref: str | int) -> dict[str, Any]:
        """The article with this id, or fetched at this URL, or with this URL's key; ArticleNotFound otherwise."""

    @abstractmethod
    def article_id_at(self, url: str) -> int | None:
        """The article fetched at exactly this URL (or with its key), if any."""

    @abstractmethod
    def versions_of(self, article_id: int) -> list[dict[str, Any]]:
        """An article's versions, oldest first, each with its capture's `capture_date`."""

    @abstractmethod
    def withdrawals_of(self, article_id: int) -> list[dict[str, Any]]:
        """An article's withdrawals, oldest first."""

    @abstractmethod
    def urls_of(self, article_id: int) -> list[dict[str, Any]]:
        """Every URL the article was fetched at (url, first_seen, last_seen), oldest first."""

    @abstractmethod
    def capture(self, capture_id: int) -> dict[str, Any] | None:
        """One capture (a response or revisit record) by row id."""

    @abstractmethod
    def capture_by_record(self, record_id: str) -> dict[str, Any] | None:
        """One capture by its WARC-Record-ID."""

    @abstractmethod
    def capture_ids(self, record_ids: Sequence[str]) -> dict[str, int]:
        """Capture row ids of these WARC-Record-IDs (those the catalogue knows)."""

    @abstractmethod
    def original_of(self, revisit: dict[str, Any]) -> dict[str, Any] | None:
        """The response capture a revisit stands for (by WARC-Refers-To, else by URL and digest)."""

    # -- changes ----------------------------------------------------------------
    @abstractmethod
    def version_changes(self, since: str | None = None, crawl: str | None = None,
                        sites: Sequence[str] = (), sections: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """New and edited versions (with their article's url, site, section), oldest first (`first_seen`, then
        id), streamed: memory does not grow with the archive."""

    @abstractmethod
    def version(self, article_id: int, number: int) -> dict[str, Any] | None:
        """Version `number` of an article."""

    @abstractmethod
    def withdrawal_changes(self, since: str | None = None, crawl: str | None = None,
                           sites: Sequence[str] = (), sections: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """Withdrawals (with the article's url and current title), oldest first (`detected`, then id), streamed."""

    @abstractmethod
    def restoration_changes(self, since: str | None = None, crawl: str | None = None,
                            sites: Sequence[str] = (), sections: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """Withdrawals that ended, the article answering again (with its url and current title), oldest first
        (`restored`, then id), streamed; `since` and `crawl` are of the restoration."""

    # -- selections (export, listings) ----------------------------------------------
    @abstractmethod
    def count_versions(self, selection: VersionFilter) -> int:
        """How many rows `select_versions` yields."""

    @abstractmethod
    def select_versions(self, selection: VersionFilter) -> Iterator[dict[str, Any]]:
        """Each selected version, streamed in (article_id, version) order, with its article and capture.

        Columns: see `archive.export.fields` (JSON columns stay JSON text here,
        as writers serialise them as they are)."""

    @abstractmethod
    def top_sources(self, limit: int = 100) -> list[str]:
        """The most frequent sources of current versions."""

    @abstractmethod
    def facet_values(self, column: str) -> list[str]:
        """Distinct values of `site` or `section` among articles."""

    @abstractmethod
    def snapshot_rows(self, selection: VersionFilter | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(table, raw row) for every row a copy of the catalogue (or of a selection's versions) needs.

        Tables come in the order a copy can insert them: crawls, captures,
        articles, article_urls, versions, withdrawals.  JSON columns stay text.
        """

    # -- search -------------------------------------------------------------------
    @abstractmethod
    def search(self, query: str, **filters: Any):  # -> archive.search.SearchResults
        """Chinese full-text search; see `archive.search` for the query syntax and filters."""

    @abstractmethod
    def index_status(self) -> IndexStatus:
        """Whether the search index exists, and how much waits to be indexed."""

    @abstractmethod
    def update_index(self) -> int:
        """Apply what changed since the index was last brought up to date (builds it when missing)."""

    @abstractmethod
    def rebuild_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop the search index and index every version again; returns versions indexed."""

    @abstractmethod
    def index_size(self) -> dict[str, int]:
        """Bytes the search index takes on disk (`bytes`), and the UTF-8 bytes of the text it indexed at its
        last rebuild (`text_bytes`: titles, bodies, image captions and attachment names)."""


def decode_json(value: Any, default: Any = None) -> Any:
    """A JSON column's value: the decoded value, or `default` for NULL or text that is not JSON."""
    import json

    if value is None or value == "":
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return default


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of `size` (the last one shorter), read as they are needed."""
    from itertools import islice

    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def decoded(row: Any) -> dict[str, Any]:
    """A row as a dict, its JSON columns decoded (lists/dicts; [] or None when empty)."""
    out = dict(row)
    for name in JSON_COLUMNS:
        if name in out:
            out[name] = decode_json(out[name], None if name in ("changed_fields", "xxgk", "charset") else [])
    return out
