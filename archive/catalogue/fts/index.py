"""The search index: tables of its own (search_*) inside the catalogue database.

    search_fts    FTS5, contentless, no column sizes: the token strings of
                  `archive.search.text` in columns text (body, title and media
                  text - image alt/captions, attachment names - each followed
                  by a lone `|`, so no phrase spans two fields), source and
                  section (column_name), those two marked |s and |c, and meta
                  (filter tokens |mold, |mgone, |mimg, |manyflag, |mf<flag>,
                  |msite<digest>, |msect<digest>: the article's site and section,
                  `place_word`, |mclash: the version's text holds a character the
                  index stores punctuation or controls as (`_CLASH`), then
                  |t<trigram>: `ascii_trigrams` of the text); row ids from
                  `archive.catalogue.fts.dates`
    search_docs   which version each row id is, and the meta it was indexed with
    search_queue  articles whose versions or state changed since they were indexed
    search_old    the indexed text of versions edited or deleted since (to unindex them)
    search_meta   the layout version (written last: an index without it is not ready), and `building` while
                  `rebuild_index` runs (left behind by a build cut short)

Triggers on `versions` and `articles` fill the queue, so the index notices
every change, whoever writes it; `index_versions` (or the next `search` on a
writable connection) applies the queue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator

from archive.catalogue.api import batches, decode_json
from archive.catalogue.fts.dates import SLOTS, allocate, day_of
from archive.search.errors import IndexMissing
from archive.search.text import (SECTION_MARK, SOURCE_MARK, ascii_trigrams, document_tokens, media_text, meta_token,
                                 place_word, plain)

LAYOUT = "7"  # 7: |mclash; 6: ASCII trigrams among the meta tokens; 5: without; 4: trigrams in three columns
# Older layouts that `index_versions` brings to this one without a rebuild (`_migrate`): only some rows differ.
_MIGRATES = ("6",)
TEXT_FIELDS = ("title", "published", "source", "body_text", "images", "attachments", "column_name")
_COLUMNS = "rowid, text, source, section, meta"
FIELD_END = "|"  # after each text field: no text token is a lone |

# One text column, the first: FTS5 writes a column number into the position
# list of every other column's entries.  No column sizes: ranking is
# `archive.search.rank`, counted from the text of the newest matches.
_FTS = """CREATE VIRTUAL TABLE search_fts USING fts5(
    text, source, section, meta,
    content='', columnsize=0, prefix='1', tokenize="ascii tokenchars '|'")"""
_TABLES = f"""
CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS search_docs (
    version_id  INTEGER PRIMARY KEY,
    docid       INTEGER NOT NULL UNIQUE,
    article_id  INTEGER NOT NULL,
    meta        TEXT NOT NULL,
    length      INTEGER NOT NULL DEFAULT 0   -- of the body in the form of archive.search.text.plain (ranking)
);
CREATE INDEX IF NOT EXISTS search_docs_article ON search_docs(article_id);
CREATE TABLE IF NOT EXISTS search_queue (article_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS search_old (version_id INTEGER PRIMARY KEY, {", ".join(TEXT_FIELDS)});
"""
_OLD = (f"INSERT OR IGNORE INTO search_old (version_id, {', '.join(TEXT_FIELDS)}) "
        f"SELECT OLD.id, {', '.join('OLD.' + f for f in TEXT_FIELDS)} "
        "WHERE EXISTS (SELECT 1 FROM search_docs WHERE version_id = OLD.id);")
_CHANGED = " OR ".join(f"OLD.{f} IS NOT NEW.{f}" for f in (*TEXT_FIELDS, "flags", "article_id"))
_TRIGGERS = {
    "search_version_added": "AFTER INSERT ON versions BEGIN "
    "INSERT OR IGNORE INTO search_queue (article_id) VALUES (NEW.article_id); END",
    "search_version_edited": f"AFTER UPDATE ON versions WHEN {_CHANGED} BEGIN {_OLD} "
    "INSERT OR IGNORE INTO search_queue (article_id) VALUES (OLD.article_id); "
    "INSERT OR IGNORE INTO search_queue (article_id) VALUES (NEW.article_id); END",
    "search_version_deleted": f"AFTER DELETE ON versions BEGIN {_OLD} "
    "INSERT OR IGNORE INTO search_queue (article_id) VALUES (OLD.article_id); END",
    "search_article_changed": "AFTER UPDATE OF status, current_version, site, section ON articles "
    "WHEN OLD.status IS NOT NEW.status OR OLD.current_version IS NOT NEW.current_version "
    "OR OLD.site IS NOT NEW.site OR OLD.section IS NOT NEW.section BEGIN "
    "INSERT OR IGNORE INTO search_queue (article_id) VALUES (NEW.id); END",
}
_OURS = ("search_fts", "search_docs", "search_queue", "search_old", "search_meta")

# A version whose text holds a private-use character U+E000-U+E07F (those the index stores ASCII punctuation
# and controls as, `archive.search.text.token_safe`, and a few more) or a control U+0001-U+0008 (which the
# plain form compared is written as, `archive.search.text.joined`): its tokens alone cannot tell these apart,
# so its matches are checked against its text (`archive.catalogue.fts.engine`).  GLOB compares the
# characters of a range by code point, in C: about as fast as reading the text.
_CLASH_GLOB = "'*[' || char(1) || '-' || char(8) || char(57344) || '-' || char(57471) || ']*'"
_CLASH = "(" + " OR ".join(f"v.{field} GLOB {_CLASH_GLOB}" for field in
                           ("title", "body_text", "images", "attachments", "source", "column_name")) + ")"

# A version with its article's state; `current` falls back to the highest
# version number while articles.current_version is not set yet.
_STATE = """SELECT v.id, v.article_id, v.published, v.flags, v.images, a.status, a.site, a.section,
    v.id = COALESCE(a.current_version, (SELECT w.id FROM versions w WHERE w.article_id = v.article_id
                                        ORDER BY w.version DESC LIMIT 1)) AS current, """ + _CLASH + """ AS clash{}
FROM versions v JOIN articles a ON a.id = v.article_id"""
_STATE_ONLY = _STATE.format("")
_STATE_AND_TEXT = _STATE.format("".join(f", v.{f}" for f in TEXT_FIELDS if f not in ("published", "images")))


def _names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'search\\_%' ESCAPE '\\'").fetchall()
    return {row[0] for row in rows}


def _layout(conn: sqlite3.Connection) -> str | None:
    """The layout of the catalogue's search index; None without a whole one (tables, triggers, layout)."""
    names = _names(conn)
    if not set(_OURS) <= names or not set(_TRIGGERS) <= names:
        return None
    row = conn.execute("SELECT value FROM search_meta WHERE key = 'layout'").fetchone()
    return None if row is None else row[0]


def index_ready(conn: sqlite3.Connection) -> bool:
    """True when the catalogue holds a search index of the current layout (complete or being kept up), or of
    one `index_versions` brings up to date without a rebuild (`outdated`)."""
    return _layout(conn) in (LAYOUT, *_MIGRATES)


def outdated(conn: sqlite3.Connection) -> bool:
    """True when the index is of an older layout that `index_versions` brings up to date (`_migrate`);
    searched meanwhile, it answers as an index with unapplied changes does."""
    return _layout(conn) in _MIGRATES


def _migrate(conn: sqlite3.Connection) -> None:
    """An index of layout 6 to layout 7: the articles with a version whose text `_CLASH` holds are queued
    (their meta gains |mclash, so they are indexed again), and the layout is written.  One scan of the
    versions' text (GLOB, in C), not a rebuild.  Does not commit."""
    conn.execute(f"INSERT OR IGNORE INTO search_queue (article_id) SELECT DISTINCT v.article_id FROM versions v"
                 f" WHERE {_CLASH}")
    conn.execute("UPDATE search_meta SET value = ? WHERE key = 'layout'", (LAYOUT,))


def building(conn: sqlite3.Connection) -> bool:
    """True when `rebuild_index` began and has not finished: it runs now, or it was cut short (kill -9, a full
    disk).  Such an index misses rows, and is not `index_ready`."""
    if "search_meta" not in _names(conn):
        return False
    return conn.execute("SELECT 1 FROM search_meta WHERE key = 'building'").fetchone() is not None


def require_index(conn: sqlite3.Connection) -> None:
    """Raise IndexMissing unless `index_ready`."""
    if index_ready(conn):
        return
    if building(conn):
        raise IndexMissing("the search index is being built, or its last build was cut short: search again once "
                           "it is done, or on a writable catalogue to build it again")
    raise IndexMissing("the catalogue has no search index (of this layout) yet")


def pending(conn: sqlite3.Connection) -> int:
    """How many articles changed since they were indexed."""
    return conn.execute("SELECT count(*) FROM search_queue").fetchone()[0]


def _drop(conn: sqlite3.Connection) -> None:
    for name in _TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name in _OURS:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def ensure_index(conn: sqlite3.Connection) -> bool:
    """Create (or reset, when its layout is outdated or a trigger was lost) the index tables.

    Returns True when it created them: the index is then empty, and every
    version is waiting in the queue, so `index_versions(conn)` or
    `rebuild_index(conn)` fills it.  Does not commit.
    """
    if index_ready(conn):
        return False
    _drop(conn)
    for statement in [*_TABLES.split(";"), _FTS]:
        if statement.strip():
            conn.execute(statement)
    for name, body in _TRIGGERS.items():
        conn.execute(f"CREATE TRIGGER {name} {body}")
    conn.execute("INSERT INTO search_meta (key, value) VALUES ('layout', ?)", (LAYOUT,))
    conn.execute("INSERT INTO search_queue (article_id) SELECT id FROM articles")
    return True


def _meta(row: sqlite3.Row) -> str:
    words = []
    if not row["current"]:
        words.append("old")
    if row["status"] != "live":
        words.append("gone")
    images, flags = decode_json(row["images"], []), decode_json(row["flags"], [])
    if images:
        words.append("img")
    if row["clash"]:
        words.append("clash")
    if flags:
        words.append("anyflag")
        words.extend(sorted({"f" + str(flag) for flag in flags}))
    tokens = [meta_token(word) for word in words]
    tokens.extend(meta_token(place_word(kind, row[column])) for kind, column in (("site", "site"), ("sect", "section"))
                  if row[column])
    return " ".join(tokens)


def _texts_of(texts: sqlite3.Row) -> tuple[str, str, str]:
    """The text fields searched: body, title, media."""
    return texts["body_text"] or "", texts["title"] or "", media_text(texts["images"], texts["attachments"])


def _columns(texts: sqlite3.Row, meta: str) -> tuple[str, ...]:
    """The FTS5 columns of a version: its text, source, section, and meta (the filter tokens `meta`, then the
    ASCII trigrams of its text, made from the text again when the row is deleted)."""
    fields = _texts_of(texts)
    text = " ".join(f"{document_tokens(field)} {FIELD_END}" for field in fields)
    trigrams = ascii_trigrams("\n".join(fields))
    return (text, document_tokens(texts["source"], SOURCE_MARK), document_tokens(texts["column_name"], SECTION_MARK),
            " ".join([meta, *trigrams]) if trigrams else meta)


def _texts(conn: sqlite3.Connection, table: str, key: str, ids: list[int]) -> dict[int, sqlite3.Row]:
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT {key} AS id, {', '.join(TEXT_FIELDS)} FROM {table} WHERE {key} IN ({marks})", ids)
    return {row["id"]: row for row in rows}


def _refresh(conn: sqlite3.Connection, article_ids: list[int]) -> int:
    """Bring the index rows of these articles' versions in line with the catalogue."""
    marks = ",".join("?" * len(article_ids))
    wanted = {row["id"]: row for row in conn.execute(f"{_STATE_ONLY} WHERE v.article_id IN ({marks})", article_ids)}
    versions = list(wanted)
    indexed = {row["version_id"]: row for row in conn.execute(
        f"SELECT * FROM search_docs WHERE article_id IN ({marks}) OR version_id IN ({','.join('?' * len(versions))})",
        [*article_ids, *versions])}
    old = _texts(conn, "search_old", "version_id", list(indexed)) if indexed else {}
    changes = []
    for vid in wanted.keys() | indexed.keys():
        want, have = wanted.get(vid), indexed.get(vid)
        meta = _meta(want) if want is not None else None
        if (have is not None and want is not None and vid not in old and meta == have["meta"]
                and have["docid"] // SLOTS == day_of(want["published"])):
            continue
        changes.append((vid, have, meta))
    if not changes:
        return 0
    current = _texts(conn, "versions", "id", [vid for vid, _, meta in changes if meta is not None])
    for vid, have, _ in changes:
        if have is not None:
            texts = old.get(vid) or current.get(vid)
            if texts is None:
                raise IndexMissing(f"version {vid} left the catalogue unrecorded: rebuild the search index")
            conn.execute(f"INSERT INTO search_fts (search_fts, {_COLUMNS}) VALUES ('delete', ?,?,?,?,?)",
                         (have["docid"], *_columns(texts, have["meta"])))
            conn.execute("DELETE FROM search_docs WHERE version_id = ?", (vid,))
    claimed: set[int] = set()
    taken = _taken(conn, claimed)
    added = []
    for vid, _, meta in changes:
        if meta is not None:
            claimed.add(row_id := allocate(wanted[vid]["published"], vid, taken))
            added.append((row_id, vid, meta))
    for row_id, vid, meta in sorted(added):  # in row-id order: FTS5 flushes on a lower one
        conn.execute(f"INSERT INTO search_fts ({_COLUMNS}) VALUES (?,?,?,?,?)",
                     (row_id, *_columns(current[vid], meta)))
        conn.execute("INSERT INTO search_docs (version_id, docid, article_id, meta, length) VALUES (?,?,?,?,?)",
                     (vid, row_id, wanted[vid]["article_id"], meta, len(plain(current[vid]["body_text"]))))
    return len(changes)


def _taken(conn: sqlite3.Connection, claimed: set[int]) -> Callable[[int], bool]:
    def taken(row_id: int) -> bool:
        return row_id in claimed or conn.execute(
            "SELECT 1 FROM search_docs WHERE docid = ?", (row_id,)).fetchone() is not None
    return taken


def index_versions(conn: sqlite3.Connection, version_ids: Iterable[int] | None = None) -> int:
    """Index (or re-index) these versions, with every other version of their articles.

    Also applies the queue of changes the triggers recorded.  With
    `version_ids=None` it checks every version in the catalogue.  Returns how
    many index rows it wrote or removed.  Runs in the caller's transaction
    (does not commit).  Creates and fills the index if it is missing.

    Raises IndexMissing, and touches nothing, while a `rebuild_index` runs
    or after one was cut short (`building`): the changes stay queued for the
    build (or the next search's build) to take in, and only a finished build
    marks the index ready.
    """
    if building(conn):
        raise IndexMissing("the search index is being built, or its last build was cut short: its changes stay "
                           "queued, and the next search builds it")
    if outdated(conn):
        _migrate(conn)
    if ensure_index(conn):
        conn.execute("DELETE FROM search_queue")
        return _fill(conn, commit=False)
    if version_ids is None:
        conn.execute("INSERT OR IGNORE INTO search_queue (article_id) SELECT id FROM articles")
    else:
        for batch in batches(version_ids, 500):
            conn.execute(f"INSERT OR IGNORE INTO search_queue (article_id) SELECT DISTINCT article_id FROM versions"
                         f" WHERE id IN ({','.join('?' * len(batch))})", batch)
    queued = [row[0] for row in conn.execute("SELECT article_id FROM search_queue ORDER BY article_id")]
    written = 0
    for batch in batches(queued, 200):
        written += _refresh(conn, batch)
        marks = ",".join("?" * len(batch))
        conn.execute(f"DELETE FROM search_queue WHERE article_id IN ({marks})", batch)
        conn.execute(f"DELETE FROM search_old WHERE version_id IN (SELECT version_id FROM search_docs"
                     f" WHERE article_id IN ({marks}))", batch)
    conn.execute("DELETE FROM search_old WHERE version_id NOT IN (SELECT version_id FROM search_docs)")
    return written


def _in_date_order(conn: sqlite3.Connection, batch: int) -> Iterator[list[sqlite3.Row]]:
    """Every version with its state and text, in batches, by published date (undated first), then id.

    Row ids then mostly go up, and FTS5 writes a segment only when its
    buffer is full (it flushes whenever a row id goes down).  One query per
    batch: no statement stays open across commits, so the WAL can be
    checkpointed as the index grows.
    """
    last = -1
    while rows := conn.execute(f"{_STATE_AND_TEXT} WHERE v.published IS NULL AND v.id > ? ORDER BY v.id LIMIT ?",
                               (last, batch)).fetchall():
        last = rows[-1]["id"]
        yield rows
    after: tuple[str, int] = ("", -1)
    while rows := conn.execute(f"{_STATE_AND_TEXT} WHERE (v.published, v.id) > (?, ?) ORDER BY v.published, v.id"
                               " LIMIT ?", (*after, batch)).fetchall():
        after = (rows[-1]["published"], rows[-1]["id"])
        yield rows


def _fill(conn: sqlite3.Connection, *, commit: bool, progress: Callable[[int, int], None] | None = None,
          batch: int = 500) -> int:
    """Index every version into an empty index, in batches; with `commit`, commit each one but the last
    (the caller commits it with what marks the index ready).

    Batches of 500 index about as fast as batches of 2,000 and hold a quarter of the memory.
    """
    total = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
    done, used, text_bytes = 0, set(), 0
    for rows in _in_date_order(conn, batch):
        if commit and done:
            conn.commit()  # the batch before
        docs = []
        for row in rows:
            row_id = allocate(row["published"], row["id"], used.__contains__)
            used.add(row_id)
            docs.append((row_id, row, _meta(row)))
        docs.sort(key=lambda doc: doc[0])  # FTS5 flushes its pending terms whenever a row id goes down
        conn.executemany(f"INSERT INTO search_fts ({_COLUMNS}) VALUES (?,?,?,?,?)",
                         [(row_id, *_columns(row, meta)) for row_id, row, meta in docs])
        text_bytes += sum(len(text.encode()) for row in rows for text in _texts_of(row))
        conn.executemany("INSERT INTO search_docs (docid, version_id, article_id, meta, length) VALUES (?,?,?,?,?)",
                         [(row_id, row["id"], row["article_id"], meta, len(plain(row["body_text"])))
                          for row_id, row, meta in docs])
        done += len(rows)
        if progress:
            progress(done, total)
    conn.execute("INSERT OR REPLACE INTO search_meta (key, value) VALUES ('text_bytes', ?)", (str(text_bytes),))
    return done


def index_size(conn: sqlite3.Connection) -> dict[str, int]:
    """Bytes of the index's tables (read page by page: slow on a large catalogue) and of the text indexed."""
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'search\\_%' ESCAPE '\\'"
                                            " AND type IN ('table', 'index')")]
    size = sum(conn.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?", (name,)).fetchone()[0]
               for name in names)
    row = conn.execute("SELECT value FROM search_meta WHERE key = 'text_bytes'").fetchone()
    return {"bytes": size, "text_bytes": int(row[0]) if row else 0}


def rebuild_index(conn: sqlite3.Connection, progress: Callable[[int, int], None] | None = None) -> int:
    """Drop the index and index every version again, streaming; commits as it goes.

    `progress(done, total)` is called after each batch.  Returns the number
    of versions indexed.  The index is ready only once the last batch is
    committed, in the same transaction: a build cut short (kill -9, a full
    disk) leaves one marked `building` and not ready, never one that answers
    searches with rows missing.  Changes made meanwhile (a crawl folding in)
    are queued by the triggers, and the next search applies them.
    """
    conn.commit()
    _drop(conn)
    ensure_index(conn)
    conn.execute("DELETE FROM search_meta WHERE key = 'layout'")
    conn.execute("INSERT INTO search_meta (key, value) VALUES ('building', ?)", (LAYOUT,))
    conn.execute("DELETE FROM search_queue")
    done = _fill(conn, commit=True, progress=progress)
    conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
    conn.execute("DELETE FROM search_meta WHERE key = 'building'")
    conn.execute("INSERT INTO search_meta (key, value) VALUES ('layout', ?)", (LAYOUT,))
    conn.commit()
    return done
