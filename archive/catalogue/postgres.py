"""The catalogue on PostgreSQL, for several crawlers writing one archive, or an archive past one SQLite file.

    PORTAL_ARCHIVE_CATALOGUE=postgresql://archive@db.example.org:5432/archive
    portal-archive --catalogue postgresql://archive@127.0.0.1:5432/archive search 化工

The tables are those of the SQLite backend (`sqlite_schema.sql`, put in
PostgreSQL's words by `schema_ddl`), in a
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

import contextlib
import itertools
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from archive.catalogue.api import CatalogueError, CatalogueFailed, IndexStatus
from archive.catalogue.reconnect import close_quietly
from archive.catalogue.sql import LAYOUT, UPGRADES, Dialect, SqlCatalogue
from archive.exits import ArchiveError, Busy, Unavailable, UsageProblem
from archive.redact import redact, scrub

logger = logging.getLogger(__name__)


def _not_a_second_error(record: logging.LogRecord) -> bool:
    """psycopg logs, as a warning, the error it meets ending a COPY whose connection already failed
    ("error ignored terminating <Copy>"); the first error is raised and reported, once."""
    return not str(record.msg).startswith("error ignored terminating")


logging.getLogger("psycopg").addFilter(_not_a_second_error)
SQLITE_SCHEMA = resources.files("archive.catalogue").joinpath("sqlite_schema.sql")
DEFAULT_SCHEMA = "portal_archive"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,49}$")
REBUILD_SUFFIX, OLD_SUFFIX = "__rebuild", "__old"  # a reindex's schemas beside NAME's
_WRITERS = "portal_archive_writers:"  # + schema: the advisory lock writers share and a reindex takes alone
_REINDEX = "portal_archive_reindex:"  # + schema: one reindex at a time
_STREAMS = itertools.count()  # numbers the server-side cursors of `_stream`


class CatalogueUnavailable(CatalogueError, Unavailable):
    """The PostgreSQL server cannot be reached (or refused us)."""

    exit_code = Unavailable.exit_code


# What an OperationalError's SQLSTATE says about waiting: the server (or the way to it) is away for now,
# so a reconnect may work (`archive.catalogue.reconnect` waits these out).  Every other OperationalError
# (53xxx insufficient resources, 54xxx limits, 55xxx locks, 57014 a cancelled statement, 58xxx the
# server's own I/O) fails at once.
_OUTAGE_CLASSES = (
    "08",     # connection exception: refused, reset, lost
    "57P01",  # admin shutdown (a fast or smart stop of the server)
    "57P02",  # crash shutdown (another backend crashed; the server restarts)
    "57P03",  # cannot connect now (starting up, shutting down, in recovery)
    "57P05",  # idle session timeout: a new connection works
    "53300",  # too many connections: a slot frees up
    "40",     # serialization failure, deadlock: the transaction is replayed on a fresh connection
)
_FAILURES = {
    "53100": "the database server's disk is full (free space on it, then run this again)",
    "53200": "the database server is out of memory",
    "57014": "a statement was cancelled (the role's or database's statement_timeout, or an administrator)",
    "55P03": "a lock was not granted in time (lock_timeout: another session holds the catalogue's tables)",
}


# libpq's messages for a connection parameter it cannot use (`invalid sslmode value: "x"`,
# `invalid integer value "x" for connection option "port"`): the URL is wrong, not the server away.
_BAD_OPTION = re.compile(r"^(invalid (\w+ )?value|invalid connection option|invalid URI)")


# The server's answer to a connection it will not take: no SQLSTATE reaches the client then.
_REFUSED = re.compile(r"FATAL:\s+(database \S+ does not exist|role \S+ does not exist|password authentication "
                      r"failed for user \S+|no pg_hba\.conf entry[^\n]*|\S+ authentication failed[^\n]*)")


def archive_error(error: Exception, url: str, *, connecting: bool = False) -> ArchiveError:
    """The archive's error for a psycopg error from the catalogue at `url` (its password never shown).

    CatalogueUnavailable (exit 8, waited out by a crawl) when the server is
    away: no SQLSTATE (the client lost it) or one in `_OUTAGE_CLASSES`;
    CatalogueFailed (exit 3) for any other OperationalError; CatalogueError
    (exit 6) for the rest (a query the catalogue cannot answer).
    """
    import psycopg

    state = getattr(error, "sqlstate", None) or ""
    where = f"the catalogue at {redact(url)}"
    message = scrub(_first_line(error), url)
    if connecting and not state and _BAD_OPTION.match(message):  # libpq refusing a parameter's value
        return UsageProblem(f"the catalogue URL {redact(url)} is not valid: {message}")
    refused = _REFUSED.search(message) if connecting and not state else None
    if refused:  # the server answered: no use waiting for it, as for an outage
        reason = refused.group(1).strip()
        if "database" in reason and "does not exist" in reason:
            return CatalogueError(f"{where}: {reason} (create it, e.g. createdb, or correct the URL)")
        return UsageProblem(f"{where} refused the connection: {reason} (correct the URL's user or password, "
                            "~/.pgpass or the server's pg_hba.conf)")
    if isinstance(error, psycopg.OperationalError):
        if not state or state.startswith(_OUTAGE_CLASSES):
            return CatalogueUnavailable(f"cannot reach {where}: {message}" if connecting
                                        else f"{where} failed: {message}")
        reason = _FAILURES.get(state, "the database server failed")
        return CatalogueFailed(f"{reason}; {where}: {message} (SQLSTATE {state})")
    return CatalogueError(f"catalogue query failed: {message}")


@contextmanager
def errors(url: str, *, connecting: bool = False) -> Iterator[None]:
    """Any psycopg error inside as the archive's (`archive_error`); every use of a connection goes through it."""
    import psycopg

    try:
        yield
    except psycopg.Error as error:
        raise archive_error(error, url, connecting=connecting) from error


# The same tables as SQLite's (one schema file, so the two never drift), in PostgreSQL's words.
_DDL_RULES = [
    (r"PRAGMA [^;]*;\n", ""),
    (r"\bid(\s+)INTEGER PRIMARY KEY", r"id\1BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (r"\boffset(\s+)INTEGER", r'"offset"\1BIGINT'),
    (r"\blength(\s+)INTEGER", r"length\1BIGINT"),
    (r"\b(article_id|capture_id|restored_capture_id)(\s+)INTEGER", r"\1\2BIGINT"),
    # articles <-> versions refer to each other: the second reference is added below, once both exist.
    (r"current_version INTEGER REFERENCES versions\(id\)", "current_version BIGINT"),
    (r"\) WITHOUT ROWID;", ");"),
]
_DDL_AFTER = """
DO $$ BEGIN
    ALTER TABLE articles ADD CONSTRAINT articles_current_version_fkey
        FOREIGN KEY (current_version) REFERENCES versions(id) DEFERRABLE INITIALLY DEFERRED;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
"""


@lru_cache(maxsize=1)
def schema_ddl() -> str:
    """The catalogue's tables for PostgreSQL, made from `sqlite_schema.sql`."""
    return _in_postgres_words(SQLITE_SCHEMA.read_text(encoding="utf-8")) + _DDL_AFTER


def _in_postgres_words(ddl: str) -> str:
    for pattern, replacement in _DDL_RULES:
        ddl = re.sub(pattern, replacement, ddl)
    return ddl


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


def check_schema(schema: str) -> None:
    """Refuse a schema name the catalogue cannot own alone (UsageProblem, exit 2).

    Lower-case letters, digits and _, not PostgreSQL's own (`pg_*`,
    `information_schema`), not `public` (the database's shared schema: a
    reindex replaces the catalogue's schema whole), and no `__`, which names
    a reindex's schemas beside it (`NAME__rebuild`, `NAME__old`).
    """
    base = schema.removesuffix(REBUILD_SUFFIX)
    if (not _NAME.match(base) or "__" in base or base.startswith("pg_")
            or base in ("public", "information_schema")):
        raise UsageProblem(f"schema {schema!r} in the catalogue URL: use a name of its own, lower-case letters, "
                           "digits and single _ (not public, pg_..., or one with __), at most 50 characters")


def split_url(url: str) -> tuple[str, str]:
    """The connection URL libpq takes, and the schema named by `?schema=` (default portal_archive).

    The other parameters are passed on as written (libpq decodes them, and
    reads `+` as a plus sign); `postgres://` becomes `postgresql://`.
    Raises UsageProblem for a bad schema name, or one named twice.
    """
    base, pieces = _query(url)
    schemas = [unquote(piece.partition("=")[2]) for piece in pieces if piece.partition("=")[0] == "schema"]
    if len(schemas) > 1:
        raise UsageProblem(f"the catalogue URL {redact(url)} names a schema {len(schemas)} times")
    schema = schemas[0] if schemas else DEFAULT_SCHEMA
    check_schema(schema)
    scheme, _, rest = base.partition(":")
    if scheme.lower() in ("postgres", "postgresql"):
        base = "postgresql:" + rest
    others = [piece for piece in pieces if piece.partition("=")[0] != "schema"]
    return base + ("?" + "&".join(others) if others else ""), schema


def check_url(url: str) -> tuple[str, str, dict[str, Any]]:
    """Refuse, before anything connects or a data folder is locked, a PostgreSQL URL libpq cannot use; else
    (the URL libpq takes, the schema, libpq's parameters).

    UsageProblem (exit 2), its message without the password: a bad schema,
    a URL libpq cannot parse, no database named (libpq would use the one
    named after the user), a port that is not a number.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    target, schema = split_url(url)
    try:
        params = conninfo_to_dict(target)
    except psycopg.Error as error:
        raise UsageProblem(f"the catalogue URL {redact(url)} is not valid: {scrub(_first_line(error), url)}") from None
    if not params.get("dbname") and not os.environ.get("PGDATABASE"):
        raise UsageProblem(f"the catalogue URL {redact(url)} names no database: postgresql://USER@HOST:PORT/DATABASE")
    for port in str(params.get("port") or "").split(","):
        if port and not (port.isascii() and port.isdigit()):
            raise UsageProblem(f"the catalogue URL {redact(url)} has a port that is not a number")
    _keepalives(params)
    return target, schema, params


def _first_line(error: BaseException) -> str:
    """A driver's message without its DETAIL, HINT, LINE and caret lines."""
    return (str(error).strip().splitlines() or [""])[0].strip()


def ident(schema: str) -> str:
    """The schema's name quoted for SQL (a checked name: `check_schema`), so that `user` or `select` work too."""
    return f'"{schema}"'


# The indexes and foreign keys of this schema's catalogue tables ({tables}: their names) besides their primary keys
# and unique constraints: how to drop each, and to make it again (indexes before the keys that may use them).
# Not the search index's: it is built beside the copy, on another connection.
_SECONDARY = """
SELECT format('DROP INDEX %I', i.indexname) AS drop, i.indexdef AS restore, 1 AS step
FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename IN ({tables}) AND NOT EXISTS (
    SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)
UNION ALL
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)), 2
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
  AND (SELECT relname FROM pg_class WHERE oid = c.conrelid) IN ({tables})
ORDER BY step, restore
"""


class PostgresDialect(Dialect):
    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})"

    def contains(self, column: str) -> str:
        return f"strpos({column}, ?) > 0"

    def json_array_has_any(self, column: str, count: int) -> str:
        return f"jsonb_exists_any({column}::jsonb, ARRAY[{','.join('?' * count)}]::text[])"

    def by_codepoint(self, column: str) -> str:
        return f'{column} COLLATE "C"'  # the database's collation may ignore punctuation

    def dated(self, column: str) -> str:
        # The shape of a day, months 01-12 and days 01-31 (SQLite's date() also refuses 02-30; this does not).
        return f"{column} ~ '^[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])'"


# A peer gone without a word (a network partition, a machine switched off) is found out in about a minute,
# at both ends: here, where a statement would otherwise wait for its answer for hours, and on the server,
# which then ends the session and releases its locks (a crawl's writer lock keeps a reindex Busy).  The
# kernel's defaults wait two hours before the first probe.  The URL's own keepalives_* win; keepalives=0
# turns them off.
KEEPALIVES = {"keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def _keepalives(params: dict[str, str]) -> dict[str, int]:
    """The keepalive settings of a connection whose URL has `params` (none where it says keepalives=0)."""
    if params.get("keepalives", "1").strip() == "0":
        return {}
    chosen = {}
    for name, default in KEEPALIVES.items():
        try:
            chosen[name] = int(params.get(name, default))
        except ValueError:
            raise UsageProblem(f"the catalogue URL's {name} must be a whole number (seconds, or probes)") from None
    return chosen


def connect(url: str, *, readonly: bool = False):
    """A psycopg connection to the catalogue's database, its search_path set to the catalogue's schema."""
    import psycopg
    from psycopg.rows import dict_row

    target, schema, params = check_url(url)
    # Ten seconds unless the URL (?connect_timeout=) or the environment (PGCONNECT_TIMEOUT) says otherwise.
    waits = "connect_timeout" in params or os.environ.get("PGCONNECT_TIMEOUT")
    keepalives = _keepalives(params)
    with errors(url, connecting=True):
        conn = psycopg.connect(target, row_factory=dict_row, autocommit=False,
                               **({} if waits else {"connect_timeout": 10}),
                               **{name: value for name, value in keepalives.items() if name not in params})
        # The catalogue's schema alone: a table missing there is missing, never read from `public`.
        conn.execute(f"SET search_path TO {ident(schema)}")
        for name, value in keepalives.items():  # the server's end of this connection (ignored on a socket file)
            conn.execute(f"SET tcp_{name} = {int(value)}")
        conn.commit()
    if readonly:
        conn.read_only = True
    return conn, schema


class PostgresCatalogue(SqlCatalogue):
    """The catalogue in a PostgreSQL schema."""

    dialect = PostgresDialect()
    check_url = staticmethod(check_url)  # `archive.catalogue.backend` checks a URL before anything uses it

    def __init__(self, conn: Any, *, readonly: bool = False, url: str = "", schema: str = DEFAULT_SCHEMA):
        super().__init__(conn, readonly=readonly)
        self.url = url
        self.schema = schema

    @classmethod
    def open(cls, location: str, *, readonly: bool = False) -> "PostgresCatalogue":
        """The catalogue at `location`; writable, as one of its writers (Busy while a reindex rebuilds it)."""
        conn, schema = connect(location, readonly=readonly)
        catalogue = cls(conn, readonly=readonly, url=location, schema=schema)
        try:
            if not readonly:
                catalogue._join_writers()
            catalogue._prepare(create=not readonly)
        except BaseException:
            close_quietly(catalogue)
            raise
        return catalogue

    def _join_writers(self) -> None:
        """Hold, for this session, a shared lock that a reindex of this schema takes exclusively: writers
        (crawls, index updates) go on side by side, but none while a reindex runs, whose swap would lose
        what they write (and a reindex does not start while any writes)."""
        with self.errors():
            got = _try_lock(self.conn, _WRITERS + self.schema, shared=True)
        if not got:
            raise Busy(f"a reindex is rebuilding the catalogue in schema {self.schema} at {redact(self.url)}: "
                       "write to it once the reindex has finished")

    def _prepare(self, *, create: bool) -> None:
        """Check the layout; writable, create the schema and tables first where there is no catalogue yet.

        A catalogue that exists is written without any right to create (a
        role granted its tables' rows only can crawl into it).
        """
        import psycopg

        try:
            layout = self._layout()
            if layout is None and create:
                # Two workers starting at once must not both create the tables.
                self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
                if self._layout() is None:
                    if _has_schema(self.conn, self.schema):
                        _replaceable(self.conn, self.url, self.schema)  # empty, or refused: not ours
                    else:
                        self.conn.execute(f"CREATE SCHEMA {ident(self.schema)}")
                    self.conn.execute(schema_ddl())
                    self.conn.execute("INSERT INTO catalogue_info (name, value) VALUES ('layout', %s)"
                                      " ON CONFLICT DO NOTHING", (LAYOUT,))
                self.conn.commit()
                layout = self._layout()
            self.conn.commit()
        except psycopg.OperationalError as error:  # the server went away (or is starting up), or its disk is full
            raise archive_error(error, self.url) from error
        except psycopg.Error as error:
            self.conn.rollback()
            if getattr(error, "sqlstate", None) == "42501":  # insufficient privilege
                raise CatalogueError(f"the role of {redact(self.url)} may not {'create' if create else 'read'} "
                                     f"the catalogue in schema {self.schema}: {_first_line(error)} (grant it, or "
                                     "have the database's owner run the first crawl or reindex)") from error
            raise CatalogueError(f"{redact(self.url)} holds no readable catalogue in schema {self.schema}: "
                                 f"{_first_line(error)}") from error
        if layout is None:
            raise CatalogueError(f"no catalogue in schema {self.schema} at {redact(self.url)} "
                                 "(run a crawl, or portal-archive reindex)")
        if layout in UPGRADES:
            self._upgrade(layout)
            layout = LAYOUT
        if layout != LAYOUT:
            raise CatalogueError(f"the catalogue in {self.schema} is of layout {layout}, this version reads layout "
                                 f"{LAYOUT}: rebuild it from the WARC files with `portal-archive reindex`")

    def _upgrade(self, layout: str) -> None:
        """Bring the catalogue from `layout` to this version's in place, in one transaction (a few columns added:
        seconds, where a reindex takes an hour at a million articles); a read-only command's connection too,
        where its role may alter the tables (otherwise CatalogueError says who can)."""
        import psycopg

        readonly = self.conn.read_only
        try:
            self.conn.read_only = False
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
            if self._layout() == layout:  # not upgraded meanwhile by another process
                for statement in UPGRADES[layout]:
                    self.conn.execute(_in_postgres_words(statement))
                self.conn.execute("UPDATE catalogue_info SET value = %s WHERE name = 'layout'", (LAYOUT,))
            self.conn.commit()
        except psycopg.OperationalError as error:
            raise archive_error(error, self.url) from error
        except psycopg.Error as error:
            self.conn.rollback()
            raise CatalogueError(
                f"the catalogue in {self.schema} at {redact(self.url)} is of layout {layout}; this version reads "
                f"layout {LAYOUT}, which it makes in place, and this role cannot ({_first_line(error)}): run a "
                "crawl into it as a role that may alter its tables (its owner), or `portal-archive reindex`"
            ) from error
        finally:
            self.conn.read_only = readonly

    def _layout(self) -> str | None:
        """The layout of the catalogue in this schema; None where there is none (no schema, no catalogue_info)."""
        if not _has_catalogue(self.conn, self.schema):
            return None
        row = self.conn.execute("SELECT value FROM catalogue_info WHERE name = 'layout'").fetchone()
        return row["value"] if row else "none"

    # -- plumbing -------------------------------------------------------------
    def errors(self):
        """A context in which psycopg's errors become the archive's (`archive_error`): wrap any use of `conn`."""
        return errors(self.url)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.errors():
            return self.conn.execute(translate(sql), list(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.errors(), self.conn.cursor() as cursor:
            cursor.executemany(translate(sql), [list(row) for row in rows])

    def commit(self) -> None:
        self._flush()
        with self.errors():
            self.conn.commit()

    def rollback(self) -> None:
        self._forget()
        with self.errors():
            self.conn.rollback()

    round_trips = True  # every statement waits for the server: a rebuild folds locally, then `load_tables`

    def load_tables(self, source: SqlCatalogue) -> int:
        """Copy every table of `source` (a catalogue folded elsewhere) into this empty one with COPY; returns rows.

        `reindex` folds into a local SQLite file (no round trip per
        statement) and copies its tables here: the same fold, the same rows.
        New rows then follow the copied ids (`ids_given`).  Not committed.
        """
        copied = 0
        with self.errors(), self.conn.cursor() as cursor:
            # The rows first, then their indexes built once and their foreign keys checked once, each in one
            # pass: faster than keeping the indexes up to date and checking each row's keys as it comes.
            tables = ', '.join(f"'{name}'" for name in self.TABLES)  # fixed names
            deferred = self.conn.execute(_SECONDARY.replace('{tables}', tables)).fetchall()
            for row in deferred:
                cursor.execute(row["drop"])
            for table in self.TABLES:  # referenced tables first
                rows = source.table_rows(table)
                first = next(rows, None)
                if first is None:
                    continue
                columns = ", ".join(f'"{name}"' for name in first)
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608 - fixed names
                    copy.write_row(tuple(first.values()))
                    for row in rows:
                        copy.write_row(tuple(row.values()))
                        copied += 1
                copied += 1
            for row in deferred:
                cursor.execute(row["restore"])
        self.ids_given()
        return copied

    def load_staged(self, source: SqlCatalogue, index_progress: Callable[[int, int], None] | None = None) -> int:
        """`load_tables(source)`, and this catalogue's search index built from `source`'s versions meanwhile.

        The index is built on a second connection in a thread.  Its rows go
        first (their codes are this process's work, and would share its one
        interpreter lock with the tables' COPY); the tables are copied while
        the server builds the GIN, its longest step, so the tables' COPY and
        keys and the GIN build use both cores instead of following each
        other.  `source` must be a SQLite catalogue file (read again on the
        thread's own connection).  The tables are not committed, the index
        is; a failure on either side stops the other and raises the first
        error.
        """
        from archive.catalogue import postgres_index
        from archive.catalogue.sqlite import SqliteCatalogue

        stop, copied = threading.Event(), threading.Event()
        failed: list[BaseException] = []
        indexer: list[PostgresCatalogue] = []

        def build() -> None:
            try:
                # Not `open`: making sure of the tables would wait for the locks the copy holds on them.
                conn, schema = connect(self.url)
                indexer.append(type(self)(conn, url=self.url, schema=schema))
                reader = SqliteCatalogue.open(source.path, readonly=True)
                try:
                    postgres_index.load_from(indexer[0], reader, index_progress, stop.is_set, copied.set)
                finally:
                    reader.close()
            except BaseException as error:  # noqa: BLE001 - raised by the caller's thread
                failed.append(error)
            finally:
                if indexer:
                    indexer[0].close()

        thread = threading.Thread(target=build, name="portal-archive-search-index", daemon=True)
        thread.start()
        try:
            while not copied.wait(0.2) and thread.is_alive():
                pass
            rows = self.load_tables(source) if not failed else 0
            with self.errors():
                postgres_index.start_queue(self)
            while thread.is_alive() and not failed:
                thread.join(0.2)
        except BaseException:
            stop.set()
            if indexer:  # a statement under way (the GIN build) ends now, not when done
                with contextlib.suppress(Exception):
                    indexer[0].conn.cancel_safe(timeout=5)
            thread.join()
            raise
        if failed:
            raise failed[0]
        return rows

    def ids_given(self) -> None:
        for table in ("captures", "articles", "versions", "withdrawals"):
            self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                         " HAVING max(id) IS NOT NULL")

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing a connection that already broke
            pass

    def _stream(self, sql, params):
        # A server-side cursor: rows arrive in batches, memory does not grow with the result.  Named apart, so
        # that several can be read at once (the changes merge the versions' and the withdrawals').
        with self.errors(), self.conn.cursor(name=f"portal_archive_stream_{next(_STREAMS)}") as cursor:
            cursor.itersize = 500
            cursor.execute(translate(sql), list(params))
            for row in cursor:
                yield dict(row)

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

    def index_size(self) -> dict[str, int]:
        from archive.catalogue import postgres_index

        return postgres_index.size(self)

    # -- rebuilding -------------------------------------------------------------
    @classmethod
    def rebuilt(cls, location: str, fold: Callable[["PostgresCatalogue"], None],
                before: Callable[[], None] | None = None) -> None:
        """Build the catalogue in a schema beside the live one (NAME__rebuild), then swap the two.

        One reindex of a schema at a time (a session advisory lock; a second
        is Busy, exit 4), and only while nothing else writes it: crawls hold
        a shared lock that the reindex takes alone until the swap, so a
        reindex waits for no crawl (Busy) and no crawl starts during one.
        Only a catalogue's schema is ever replaced or dropped: a schema of
        that name holding anything but a catalogue is
        refused before the fold starts, and again at the swap.  The swap
        renames the two schemas in one short transaction (no table locks,
        so searches go on); the old schema is dropped after, only once every
        reader has let go of its tables, else left for the next reindex.
        The reindex's own statements are maintenance: no `statement_timeout`.
        """
        _, schema = split_url(location)
        fresh = schema + REBUILD_SUFFIX
        conn, _ = connect(location)
        try:
            with errors(location):
                if not _try_lock(conn, _REINDEX + schema):
                    raise Busy(f"another reindex is rebuilding the catalogue in schema {schema} at "
                               f"{redact(location)}: let it finish, then run this again if need be")
                # No writer until the swap (their rows would stay behind in the old schema), and none now.
                if not _try_lock(conn, _WRITERS + schema):
                    raise Busy(f"crawls (or other writers) are writing the catalogue in schema {schema} at "
                               f"{redact(location)}: reindex once they have finished")
            if before is not None:  # no writer can add anything now
                before()
            with errors(location):
                _replaceable(conn, location, schema)
                conn.execute(f"DROP SCHEMA IF EXISTS {ident(fresh)} CASCADE")  # a killed reindex's
                conn.commit()
            catalogue = cls.open(_with_schema(location, fresh))
            try:
                with catalogue.errors():
                    catalogue.conn.execute("SET statement_timeout = 0")
                fold(catalogue)
                catalogue.commit()
            except BaseException:
                try:  # a server that died mid-fold cannot clean up; its error is the one to report
                    catalogue.rollback()
                    catalogue.conn.execute(f"DROP SCHEMA IF EXISTS {ident(fresh)} CASCADE")
                    catalogue.conn.commit()
                except Exception:  # noqa: BLE001
                    pass
                close_quietly(catalogue)
                raise
            catalogue.close()
            with errors(location):
                _replaceable(conn, location, schema)
                conn.execute("SET LOCAL lock_timeout = '30s'")
                old = next(f"{schema}{OLD_SUFFIX}{n}" for n in itertools.count(1)
                           if not _has_schema(conn, f"{schema}{OLD_SUFFIX}{n}"))
                if _has_schema(conn, schema):
                    conn.execute(f"ALTER SCHEMA {ident(schema)} RENAME TO {ident(old)}")
                conn.execute(f"ALTER SCHEMA {ident(fresh)} RENAME TO {ident(schema)}")
                conn.commit()
                drop_old_schemas(conn, schema)
        finally:
            close_quietly(conn)  # and with it the advisory lock


def drop_old_schemas(conn: Any, schema: str, tries: int = 20, wait: float = 0.5) -> None:
    """Drop the schemas swaps left (NAME__old1, NAME__old2...); one a reader still holds is left, with a warning.

    Every table of one is locked at once without waiting (NOWAIT), then the
    schema dropped: never waiting on a table while holding another, so a
    search reading the old tables is never chosen as a deadlock's victim.
    """
    import time

    import psycopg

    names = [row["nspname"] for row in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname",
        (schema.replace("_", r"\_") + r"\_\_old%",)).fetchall()]
    conn.commit()
    for name in names:
        for _ in range(tries):
            try:
                tables = [row["name"] for row in conn.execute(
                    "SELECT format('%%I.%%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'm', 'v', 'f')",
                    (name,)).fetchall()]
                if tables:
                    conn.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE NOWAIT")
                conn.execute(f"DROP SCHEMA {ident(name)} CASCADE")
                conn.commit()
                break
            except psycopg.errors.LockNotAvailable:
                conn.rollback()
                time.sleep(wait)
        else:
            logger.warning("The old catalogue stays in schema %s until the next reindex: readers still hold it", name)


def _replaceable(conn: Any, url: str, schema: str) -> None:
    """UsageProblem unless `schema` is missing, empty or a catalogue's: what a reindex may replace whole."""
    if _has_schema(conn, schema) and not _has_catalogue(conn, schema):
        others = foreign_objects(conn, schema)
        if others:
            conn.rollback()
            raise UsageProblem(f"schema {schema} at {redact(url)} holds {', '.join(others[:5])}"
                               f"{' and more' if len(others) > 5 else ''} and no catalogue: the catalogue needs a schema of "
                               "its own, which a reindex replaces whole (?schema=NAME in the URL)")


def foreign_objects(conn: Any, schema: str) -> list[str]:
    """The tables, views and functions in `schema`, which holds no catalogue: what makes it someone else's."""
    rows = conn.execute(
        "SELECT relname AS name FROM pg_class WHERE relnamespace = to_regnamespace(%s)"
        " AND relkind IN ('r', 'p', 'v', 'm', 'f')"
        " UNION ALL SELECT proname || '()' FROM pg_proc WHERE pronamespace = to_regnamespace(%s) ORDER BY 1",
        (ident(schema), ident(schema))).fetchall()
    return [row["name"] for row in rows]


def _try_lock(conn: Any, key: str, *, shared: bool = False) -> bool:
    """Whether this session now holds the advisory lock named `key` (until it closes); never waits."""
    function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    got = conn.execute(f"SELECT {function}(hashtext(%s)) AS got", (key,)).fetchone()["got"]
    conn.commit()
    return bool(got)


def _has_catalogue(conn: Any, schema: str) -> bool:
    """Whether `schema` holds a catalogue (its catalogue_info table), of whatever layout."""
    return conn.execute("SELECT to_regclass(%s) AS info", (f"{ident(schema)}.catalogue_info",)).fetchone()["info"] \
        is not None


def _has_schema(conn: Any, schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def _with_schema(url: str, schema: str) -> str:
    """`url` naming `schema` instead (its other parameters as written)."""
    base, pieces = _query(url)
    others = [piece for piece in pieces if piece.partition("=")[0] != "schema"]
    return base + "?" + "&".join([*others, "schema=" + schema])


def _query(url: str) -> tuple[str, list[str]]:
    """The URL before `?`, and its parameters as written (`name=value`, not decoded)."""
    base, _, query = url.partition("?")
    return base, [piece for piece in query.split("&") if piece]
