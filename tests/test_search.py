"""Full-text search over a 300-article synthetic catalogue (the seed article included).

Every hit set is compared with a brute-force scan of the same catalogue: SQL
`instr()` for Chinese strings, plain lower-case substring tests in Python for
ASCII ones.  Tests that change the catalogue work on a copy of it.
"""

from __future__ import annotations

import random
import re
import shutil
import sqlite3

import pytest

from archive.catalogue.sqlite import connect
from replica.synthetic_catalogue import build_synthetic_catalogue
from archive.catalogue.fts.engine import search
from archive.catalogue.fts.index import index_versions, pending, rebuild_index
from archive.search import IndexMissing, QueryError, parse_query
from archive.search.snippet import html, make_snippet, marked
from archive.search.text import fold, media_text

ARTICLES = 300
SEED_DOCID = "6187593"  # the real article the replica is built around


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "catalog.sqlite"
    build_synthetic_catalogue(path, ARTICLES)
    conn = connect(path)
    rebuild_index(conn)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture(scope="module")
def conn(template):
    connection = connect(template)
    yield connection
    connection.close()


@pytest.fixture
def copy(template, tmp_path):
    """A catalogue of its own, for tests that change it."""
    path = tmp_path / "catalog.sqlite"
    shutil.copy(template, path)
    connection = connect(path)
    yield connection
    connection.close()


def found(conn, query, **filters) -> set[int]:
    return {hit.version_id for hit in search(conn, query, limit=None, **filters)}


def scan(conn, term: str, where: str = "a.status = 'live'") -> set[int]:
    """Versions (current ones by default) whose searched text contains `term`, by instr()."""
    rows = conn.execute(
        "SELECT v.id FROM versions v JOIN articles a ON a.id = v.article_id"
        f" WHERE v.id = a.current_version AND {where} AND (instr(v.title, :t) OR instr(v.body_text, :t)"
        " OR instr(v.images, :t) OR instr(v.attachments, :t))", {"t": term})
    return {row[0] for row in rows}


def scan_fields(conn, test) -> set[int]:
    """Current live versions for which test([title, body, media text]) is true."""
    rows = conn.execute(
        "SELECT v.id, v.title, v.body_text, v.images, v.attachments FROM versions v"
        " JOIN articles a ON a.id = v.article_id WHERE v.id = a.current_version AND a.status = 'live'")
    return {row[0] for row in rows if test([row[1] or "", row[2] or "", media_text(row[3], row[4])])}


def seed_version(conn) -> int:
    return conn.execute("SELECT current_version FROM articles WHERE url LIKE ?", (f"%{SEED_DOCID}%",)).fetchone()[0]


@pytest.mark.parametrize("term", ["化", "镇", "化工", "园区", "招商", "工业强市", "高质量发展"])
def test_chinese_terms_find_what_a_scan_finds(conn, term):
    expected = scan(conn, term)
    assert expected, f"the corpus should contain {term}"
    assert found(conn, term) == expected


def test_random_substrings_find_exactly_what_a_scan_finds(conn):
    """Substrings of 1 to 6 characters cut at random from the corpus, punctuation and all."""
    rng = random.Random(7)
    texts = [row[0] for row in conn.execute("SELECT title || ' ' || body_text FROM versions")]
    tried = 0
    while tried < 120:
        text = rng.choice(texts)
        start, size = rng.randrange(len(text)), rng.randint(1, 6)
        term = text[start:start + size]
        if (len(term) < size or any(ch.isspace() for ch in term) or not any(ch.isalnum() for ch in term)
                or term[0] in '-"“' or term in ("OR", "AND", "NOT")):
            continue
        tried += 1
        expected = scan_fields(conn, lambda fields, t=fold(term): any(t in fold(x) for x in fields))
        assert found(conn, term) == expected, term


def test_seed_article_is_found_by_its_words(conn):
    seed = seed_version(conn)
    assert found(conn, "攻坚五问") == {seed}
    assert seed in found(conn, "工业强市") and seed in found(conn, "化工")


def test_results_count_and_page(conn):
    results = search(conn, "园区", limit=7)
    assert results.total == len(scan(conn, "园区"))
    assert len(results.hits) == 7 and len(list(results)) == 7


def test_phrases(conn):
    spaced = re.compile(r"工业强市\s+产业兴市")
    expected = scan_fields(conn, lambda f: any(spaced.search(x) for x in f))
    assert expected and found(conn, '"工业强市 产业兴市"') == expected
    assert found(conn, '"工业强市、产业兴市"') == scan(conn, "工业强市、产业兴市")  # punctuation is text
    assert found(conn, "工业强市、产业兴市") == scan(conn, "工业强市、产业兴市")
    assert found(conn, "“攻坚五问”") == found(conn, '"攻坚五问"') == found(conn, "攻坚五问")
    assert found(conn, '"工业强市，产业兴市"') == set()  # the text has 、 there, not ，


def test_and_or_not(conn):
    chem, park, seed = scan(conn, "化工"), scan(conn, "园区"), scan(conn, "攻坚五问")
    assert found(conn, "化工 园区") == chem & park
    assert found(conn, "化工 AND 园区") == chem & park
    assert found(conn, "招商 OR 攻坚五问") == scan(conn, "招商") | seed
    assert found(conn, "化工 -园区") == chem - park
    assert found(conn, "化工 NOT 园区") == chem - park
    assert found(conn, '化工 -"园区"') == chem - park


def test_ascii_and_digits(conn):
    seed = seed_version(conn)
    assert found(conn, "IMG_5158") == {seed}
    assert found(conn, "img_5158") == found(conn, "ＩＭＧ＿５１５８") == {seed}
    for term in ("2021", "img", "jpg", "5158", "2021年", "_副本.jpg", "3月15日"):
        expected = scan_fields(conn, lambda fields, t=term: any(t in fold(x) for x in fields))
        assert expected and found(conn, term) == expected, term


def test_queries_with_nothing_to_search_are_errors(conn):
    for query in ["", "   ", "，。！", "***", '"" ()', '"""', "OR", "-", "\u3000"]:
        with pytest.raises(QueryError):
            search(conn, query)
    with pytest.raises(QueryError, match="only excludes"):
        search(conn, "-化工")


@pytest.mark.parametrize("query", [
    "'; DROP TABLE versions; --", '化工" OR "1"="1', "NEAR(化工 园区)", "title:化工", "{title}: 化工", "化工*",
    "^化工", "化工)", "化工 + 园区", "化工\x00",
])
def test_hostile_input_is_only_text(conn, query):
    results = search(conn, query, limit=None)  # no error: it reaches SQL and FTS5 only as quoted tokens
    assert conn.execute("SELECT count(*) FROM versions").fetchone()[0] == ARTICLES
    words = [word for word in query.split() if any(ch.isalnum() for ch in word)]
    if len(words) == 1 and '"' not in query:
        assert {hit.version_id for hit in results} == scan(conn, words[0])  # literally, punctuation included
    if query == "化工 + 园区":
        assert {hit.version_id for hit in results} == found(conn, "化工 园区")


def test_filters(conn):
    chem = scan(conn, "化工")
    dates = dict(conn.execute("SELECT id, published FROM versions"))
    in_2021 = {v for v in chem if "2021-01-01" <= dates[v][:10] <= "2021-12-31"}
    assert in_2021 and found(conn, "化工", since="2021-01-01", until="2021-12-31") == in_2021
    assert found(conn, "化工", since="2025-06-01") == {v for v in chem if dates[v][:10] >= "2025-06-01"}
    assert found(conn, "化工", source="滕州日报") == chem & scan_source(conn, "滕州日报")
    with_images = {row[0] for row in conn.execute("SELECT id FROM versions WHERE images != '[]'")}
    assert found(conn, "化工", has_images=True) == chem & with_images
    assert found(conn, "化工", has_images=False) == chem - with_images
    assert found(conn, "化工", column="工业经济") == chem
    assert found(conn, "化工", column="不存在的栏目") == set()
    seed = seed_version(conn)
    assert found(conn, "化工", flags=["any"]) == found(conn, "化工", flags=["hijacked_city_name"]) == {seed}
    assert found(conn, "化工", flags=["spam_keywords"]) == set()
    with pytest.raises(QueryError):
        search(conn, "化工", since="2021-02-30")


def scan_source(conn, text: str) -> set[int]:
    return {row[0] for row in conn.execute("SELECT id FROM versions WHERE instr(source, ?)", (text,))}


def test_orders_and_pages(conn):
    by_date = search(conn, "园区", order="date", limit=None)
    keys = [(hit.published or "")[:10] for hit in by_date]
    assert keys == sorted(keys, reverse=True)
    for query in ("园区", "工业强市"):  # scored in one pass / on the first token of each term
        for order in ("relevance", "date"):
            whole = [hit.version_id for hit in search(conn, query, order=order, limit=None)]
            pages = [hit.version_id for offset in range(0, len(whole), 25)
                     for hit in search(conn, query, order=order, limit=25, offset=offset)]
            assert pages == whole
    ranked = search(conn, "招商引资", limit=5)
    assert all(a.score >= b.score for a, b in zip(ranked.hits, ranked.hits[1:]))
    assert "招商引资" in ranked.hits[0].title  # the title weighs most


@pytest.mark.parametrize("query, pool", [
    ("园区", 10),  # one token: scored in one pass
    ('"工业强市 产业兴市"', 10),  # a phrase, scored whole
    ('"工业强市 产业兴市"', 2), ("工业强市", 5),  # matches >= 8x the pool: scored on the first token
])
def test_rank_pool_ranks_the_newest_then_goes_by_date(conn, query, pool):
    everything = search(conn, query, limit=None, rank_pool=None)
    pooled = search(conn, query, limit=None, rank_pool=pool)
    assert pooled.total == everything.total > pool and pooled.ranked == pool
    assert [h.version_id for h in pooled] == [h.version_id for offset in range(0, pooled.total, 3)
                                              for h in search(conn, query, limit=3, offset=offset, rank_pool=pool)]
    assert {h.version_id for h in pooled} == {h.version_id for h in everything}
    newest = {h.version_id for h in search(conn, query, order="date", limit=pool)}
    assert {h.version_id for h in pooled.hits[:pool]} == newest
    scores = [hit.score for hit in pooled.hits[:pool]]
    assert None not in scores and scores == sorted(scores, reverse=True)
    rest = [hit.published[:10] for hit in pooled.hits[pool:]]
    assert rest == sorted(rest, reverse=True)


def test_snippets_mark_matches(conn):
    hit = search(conn, "攻坚五问").hits[0]
    assert "«攻坚五问»" in hit.snippet and "<mark>攻坚五问</mark>" in hit.snippet_html
    assert hit.status == "live" and hit.current and hit.url.endswith(".html") and hit.flags == ["hijacked_city_name"]
    parts = make_snippet(["前文<b>&化工后文"], parse_query("化工").terms)
    assert html(parts) == "前文&lt;b&gt;&amp;<mark>化工</mark>后文"
    assert marked(parts, ("[", "]")) == "前文<b>&[化工]后文"


def test_second_version_and_withdrawal(copy):
    article, old = copy.execute("SELECT id, current_version FROM articles ORDER BY id LIMIT 1").fetchone()
    row = dict(copy.execute("SELECT * FROM versions WHERE id = ?", (old,)).fetchone())
    row.update(id=None, version=2, body_text="改写后的正文，提到新词独角兽园。", changed_fields='["body_text"]')
    columns = ", ".join(row)
    new = copy.execute(f"INSERT INTO versions ({columns}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values())).lastrowid
    copy.execute("UPDATE articles SET current_version = ? WHERE id = ?", (new, article))
    gone_article, gone = copy.execute("SELECT id, current_version FROM articles WHERE id != ? AND current_version IN"
                                      " (SELECT id FROM versions WHERE instr(body_text, '化工')) LIMIT 1",
                                      (article,)).fetchone()
    copy.execute("INSERT INTO withdrawals (article_id, crawl_id, detected, how) SELECT ?, id, finished, '404'"
                 " FROM crawls", (gone_article,))
    copy.execute("UPDATE articles SET status = 'withdrawn' WHERE id = ?", (gone_article,))
    copy.commit()
    assert pending(copy) == 2  # the triggers noticed; the next search applies them
    assert found(copy, "独角兽园") == {new}
    assert pending(copy) == 0
    old_words = row["title"]
    assert old not in found(copy, old_words) and new in found(copy, old_words)
    assert {old, new} <= found(copy, old_words, all_versions=True)
    hits = {hit.version_id: hit for hit in search(copy, old_words, all_versions=True, limit=None)}
    assert not hits[old].current and hits[old].version == 1 and hits[new].current
    assert gone not in found(copy, "化工")
    assert gone in found(copy, "化工", include_withdrawn=True)
    hit = next(h for h in search(copy, "化工", include_withdrawn=True, limit=None) if h.version_id == gone)
    assert hit.status == "withdrawn"


def test_incremental_indexing_matches_a_rebuild(copy):
    article = copy.execute("INSERT INTO articles (key, url, first_seen, last_seen, status) VALUES"
                           " ('example)/new.html', 'http://example/new.html', 'x', 'x', 'live')").lastrowid
    capture = copy.execute("SELECT capture_id, crawl_id FROM versions LIMIT 1").fetchone()
    version = copy.execute(
        "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text, images,"
        " attachments, flags, first_seen, last_seen, crawl_id, capture_id) VALUES"
        " (?, 1, 'h', '新文章标题', '2030-01-02', '市工信局', '一段含有罕见词麒麟湾的正文。', '[]', '[]', '[]',"
        " 'x', 'x', ?, ?)", (article, capture[1], capture[0])).lastrowid
    copy.execute("UPDATE articles SET current_version = ? WHERE id = ?", (version, article))
    assert index_versions(copy, [version]) == 1
    copy.commit()
    assert found(copy, "麒麟湾") == {version}
    assert found(copy, "麒麟湾", since="2030-01-02", until="2030-01-02") == {version}
    # An edited text and a deleted version are unindexed with the text they were indexed with.
    edited = seed_version(copy)
    assert found(copy, "杨青霖") == {edited}  # a name in the seed article's text
    copy.execute("UPDATE versions SET body_text = '全新的正文：凤凰台' WHERE id = ?", (edited,))
    copy.execute("UPDATE articles SET current_version = NULL WHERE id = ?", (article,))
    copy.execute("DELETE FROM versions WHERE id = ?", (version,))
    copy.commit()
    index_versions(copy)
    copy.commit()
    assert found(copy, "凤凰台") == {edited} and found(copy, "杨青霖") == set()
    assert found(copy, "麒麟湾") == set()
    copy.execute("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')")
    queries = ["化", "化工", "工业强市", '"工业强市 产业兴市"', "IMG_5158", "凤凰台", "2021"]
    before = {q: found(copy, q) for q in queries}
    rebuild_index(copy)
    assert {q: found(copy, q) for q in queries} == before


def test_read_only_connection_reports_unapplied_changes(copy, template, tmp_path):
    copy.execute("UPDATE articles SET status = 'withdrawn' WHERE id = 1")
    copy.commit()
    reader = connect(tmp_path / "catalog.sqlite", readonly=True)
    results = search(reader, "工", limit=None)
    assert results.stale and all(hit.article_id != 1 for hit in results)
    reader.close()


def test_missing_index_is_a_typed_error(tmp_path):
    path = tmp_path / "catalog.sqlite"
    build_synthetic_catalogue(path, 5)
    with pytest.raises(IndexMissing):
        search(connect(path), "化工")


def test_index_versions_builds_a_missing_index(tmp_path):
    path = tmp_path / "catalog.sqlite"
    build_synthetic_catalogue(path, 20)
    conn = connect(path)
    assert index_versions(conn) == 20
    conn.commit()
    assert found(conn, "工") == scan(conn, "工")
    assert isinstance(conn, sqlite3.Connection)
