"""The catalogue on PostgreSQL, for several crawlers writing one archive, or an archive past one SQLite file.

    PORTAL_ARCHIVE_CATALOGUE=postgresql://archive@db.example.org:5432/archive
    portal-archive --catalogue postgresql://archive@127.0.0.1:5432/archive search 化工

The tables are those of the SQLite backend (`postgres_schema.sql`), in a
schema of their own (`portal_archive`, or `?schema=NAME` in the URL), and
the fold and every read are the same SQL (`archive.catalogue.sql`): only
placeholders and a few expressions differ (`PostgresDialect`).  The Chinese
search index is `archive.catalogue.postgres_search`.

Concurrent writers: each crawl folds its own WARC records; articles are
claimed with `INSERT ... ON CONFLICT` and locked (`FOR UPDATE`) while a
version is added, so two crawls meeting the same article never number two
versions alike, and an event applied twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from archive.catalogue.api import CatalogueError, IndexStatus
from archive.catalogue.sql import LAYOUT, Dialect, SqlCatalogue
from archive.exits import Unavailable

SCHEMA_SQL = resources.files("archive.catalogue").joinpath("postgres_schema.sql")
DEFAULT_SCHEMA = "portal_archive"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


class CatalogueUnavailable(CatalogueError, Unavailable):
    """The PostgreSQL server cannot be reached (or refused us)."""

    exit_code = Unavailable.exit_code


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal `%` doubled), outside quoted strings."""
    out, quote = [], None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
            out.append("%%" if char == "%" else char)
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


def split_url(url: str) -> tuple[str, str]:
    """The connection URL psycopg takes, and the schema named by `?schema=` (default portal_archive)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for key, value in query if key == "schema"), DEFAULT_SCHEMA)
    if not _NAME.match(schema):
        raise CatalogueError(f"schema {schema!r}: use lower-case letters, digits and _")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, rest, "")), schema


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class PostgresDialect(Dialect):
    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})"

    def contains(self, column: str) -> str:
        return f"strpos({column}, ?) > 0"

    def json_array_has_any(self, column: str, count: int) -> str:
        return f"jsonb_exists_any({column}::jsonb, ARRAY[{','.join('?' * count)}]::text[])"


def connect(url: str, *, readonly: bool = False):
    """A psycopg connection to the catalogue's database, its search_path set to the catalogue's schema."""
    import psycopg
    from psycopg.rows import dict_row

    target, schema = split_url(url)
    try:
        conn = psycopg.connect(target, row_factory=dict_row, autocommit=False, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise CatalogueUnavailable(f"cannot reach the catalogue at {redact(url)}: {error}".strip()) from error
    conn.execute(f"SET search_path TO {schema}, public")
    conn.commit()
    if readonly:
        conn.read_only = True
    return conn, schema


class PostgresCatalogue(SqlCatalogue):
    """The catalogue in a PostgreSQL schema."""

    dialect = PostgresDialect()

    def __init__(self, conn: Any, *, readonly: bool = False, url: str = "", schema: str = DEFAULT_SCHEMA):
        super().__init__(conn, readonly=readonly)
        self.url = url
        self.schema = schema

    @classmethod
    def open(cls, location: str, *, readonly: bool = False) -> "PostgresCatalogue":
        conn, schema = connect(location, readonly=readonly)
        catalogue = cls(conn, readonly=readonly, url=location, schema=schema)
        catalogue._prepare(create=not readonly)
        return catalogue

    def _prepare(self, *, create: bool) -> None:
        """Create the schema and tables (writable), then check the layout."""
        import psycopg

        try:
            exists = self.conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)).fetchone()
            if not exists and not create:
                raise CatalogueError(f"no catalogue in schema {self.schema} at {redact(self.url)} "
                                     "(run a crawl, or portal-archive reindex)")
            if create:
                # Two workers starting at once must not both create the tables.
                self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
                self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                self.conn.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
                self.conn.execute("INSERT INTO catalogue_info (name, value) VALUES ('layout', %s)"
                                  " ON CONFLICT DO NOTHING", (LAYOUT,))
                self.conn.commit()
            row = self.conn.execute("SELECT value FROM catalogue_info WHERE name = 'layout'").fetchone()
            self.conn.commit()
        except psycopg.Error as error:
            self.conn.rollback()
            raise CatalogueError(f"{redact(self.url)} holds no readable catalogue: {error}") from error
        layout = row["value"] if row else None
        if layout != LAYOUT:
            raise CatalogueError(f"the catalogue in {self.schema} is of layout {layout}, this version reads layout "
                                 f"{LAYOUT}: rebuild it from the WARC files with `portal-archive reindex`")

    # -- plumbing -------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        import psycopg

        try:
            return self.conn.execute(translate(sql), list(params))
        except psycopg.OperationalError as error:
            raise CatalogueUnavailable(f"the catalogue at {redact(self.url)} failed: {error}") from error
        except psycopg.Error as error:
            raise CatalogueError(f"catalogue query failed: {error}") from error

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        import psycopg

        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(translate(sql), [list(row) for row in rows])
        except psycopg.Error as error:
            raise CatalogueError(f"catalogue query failed: {error}") from error

    def commit(self) -> None:
        import psycopg

        try:
            self.conn.commit()
        except psycopg.Error as error:
            raise CatalogueUnavailable(f"the catalogue at {redact(self.url)} failed: {error}") from error

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing a connection that already broke
            pass

    def _stream(self, sql, params):
        import psycopg

        try:
            # A server-side cursor: rows arrive in batches, memory does not grow with the result.
            with self.conn.cursor(name="portal_archive_stream") as cursor:
                cursor.itersize = 500
                cursor.execute(translate(sql), list(params))
                for row in cursor:
                    yield dict(row)
        except psycopg.Error as error:
            raise CatalogueError(f"catalogue read failed: {error}") from error

    def _ids_clause(self, version_ids: Iterable[int]) -> tuple[str, list[Any]]:
        # A read-only transaction may not create even a temporary table: pass the ids as one array.
        return "v.id = ANY(?)", [[int(i) for i in version_ids]]

    def _article_for_update(self, key: str) -> Any:
        return self.one("SELECT * FROM articles WHERE key = ? FOR UPDATE", (key,))

    # -- search ---------------------------------------------------------------
    def search(self, query: str, **filters: Any):
        from archive.catalogue import postgres_index

        return postgres_index.search(self, query, **filters)

    def index_status(self) -> IndexStatus:
        from archive.catalogue import postgres_index

        return postgres_index.status(self)

    def update_index(self) -> int:
        from archive.catalogue import postgres_index

        written = postgres_index.update(self)
        self.commit()
        return written

    def rebuild_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        from archive.catalogue import postgres_index

        return postgres_index.rebuild(self, progress)

    # -- rebuilding -------------------------------------------------------------
    @classmethod
    def rebuilt(cls, location: str, fold: Callable[["PostgresCatalogue"], None]) -> None:
        """Build the catalogue in a schema beside the live one, then swap the two in one transaction."""
        target, schema = split_url(location)
        fresh = f"{schema}_rebuild"
        conn, _ = connect(location)
        conn.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")
        conn.commit()
        conn.close()
        fresh_url = _with_schema(location, fresh)
        catalogue = cls.open(fresh_url)
        try:
            fold(catalogue)
            catalogue.commit()
        except BaseException:
            catalogue.rollback()
            catalogue.conn.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")
            catalogue.conn.commit()
            catalogue.close()
            raise
        conn = catalogue.conn
        conn.execute(f"DROP SCHEMA IF EXISTS {schema}_old CASCADE")
        conn.execute(f"ALTER SCHEMA {schema} RENAME TO {schema}_old") if _has_schema(conn, schema) else None
        conn.execute(f"ALTER SCHEMA {fresh} RENAME TO {schema}")
        conn.execute(f"DROP SCHEMA IF EXISTS {schema}_old CASCADE")
        conn.commit()
        catalogue.close()


def _has_schema(conn: Any, schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def _with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "schema"]
    query.append(("schema", schema))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
