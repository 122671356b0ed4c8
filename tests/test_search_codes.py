"""The PostgreSQL index's codes computed whole arrays at a time (numpy) are the codes of the run-by-run reading.

`postgres_search.text_codes` (documents, and with it `code_array` and the
rows' `grams`) and `term_codes` (queries) must agree, or a search misses
what is there or finds what is not.  `_reference_codes` is the run-by-run
definition the index was built with before (layout 5): each run between
spaces, its UTF-16 units, its pairs of adjacent units not led by a control,
its printable ASCII trigrams.
"""

from __future__ import annotations

import random
import re
import struct

import pytest

from archive.catalogue import postgres_search
from archive.catalogue.postgres_search import code_array, document, salted_grams, text_codes, week_of

_TRIGRAMS_FROM, _PAIRS_FROM = 0x100000, 0x200000


def _reference_codes(text: str) -> set[int]:
    codes: set[int] = set()
    for run in text.split(" "):
        if not run:
            continue
        data = run.encode("utf-16-be", "surrogatepass")
        count = len(data) // 2
        codes.update(struct.unpack(f">{count}H", data))
        pairs = [struct.unpack_from(">i", data, 2 * i)[0] for i in range(count - 1)]
        codes.update(code for code in pairs if not 0 <= code < _PAIRS_FROM)
        for match in re.finditer("[!-~]{3,}", run):
            text_bytes = match.group().encode("ascii")
            codes.update(_TRIGRAMS_FROM + ((a - 33) * 94 + b - 33) * 94 + c - 33
                         for a, b, c in zip(text_bytes, text_bytes[1:], text_bytes[2:]))
    return codes


TRICKY = ["", " ", "  ", "a", "ab", "a b", "  a  b ", "abc", "ab c", "IMG_5158 2021年", "工业强市、产业兴市",
          "化 工", "\x0e\x0f x", "\x10化 工\x1b", "x \x1fy", "\x00\x1f\x20\x21", "~~~ !!", "\x7f\x7f\x7f",
          "😀 😀a b😀", "𠀀𠀁 𠀂", "a\ud800 \udc00b", "\ud800", "\uffff\uffff", "中 文 ", " 中", "a" * 5000,
          "https://www.example.gov.cn/col/col123/art_2021_5158.html 附件1.pdf"]


@pytest.mark.parametrize("text", TRICKY)
def test_the_codes_of_tricky_text_are_the_run_by_run_codes(text):
    assert text_codes(text) == _reference_codes(text)
    assert set(code_array(text).tolist()) == {code & 0xFFFFFFFF for code in _reference_codes(text)}


def test_the_codes_of_random_text_are_the_run_by_run_codes():
    pieces = ["a", "Z", "9", " ", " ", "~", "!", "\x0e", "\x1f", "\x7f", "\x80", "中", "化", "😀", "\ud800", "\udc00",
              "\uffff", "、"]
    chance = random.Random(5158)
    for _ in range(5000):
        text = "".join(chance.choice(pieces) for _ in range(chance.randint(0, 14)))
        assert text_codes(text) == _reference_codes(text), repr(text)


def test_a_document_row_holds_its_codes_salted_with_its_week_sorted_once_each():
    row = {"version_id": 7, "article_id": 3, "published": "2024-01-02", "title": "工业强市 IMG_5158",
           "body_text": "化工园区 化工园区 😀", "images": [], "attachments": [], "source": "滕州日报",
           "column_name": "工业经济", "flags": [], "site": "tengzhou", "section": "工业经济"}
    docid = 19724 * 2**20 + 7
    grams = document(row, docid)[-1].tolist()
    expected = set(text_codes("工业强市 img_5158")) | text_codes("化工园区 化工园区 😀")
    expected |= {postgres_search.tag_code(tag) for tag in postgres_search.tags_of(row)}
    expected |= postgres_search.field_codes("source", text_codes("滕州日报"))
    expected |= postgres_search.field_codes("column_name", text_codes("工业经济"))
    assert grams == sorted(postgres_search._salted(expected, week_of(docid)))
    assert salted_grams(code_array(""), 3).tolist() == []


def test_grams_travel_to_postgresql_in_its_binary_array_format(postgres_url):
    """The rows `load` copies in binary hold the same int8[] as the text form would give."""
    import psycopg

    rows = [{"version_id": vid, "article_id": vid, "published": "2024-01-02", "title": title, "body_text": "",
             "images": [], "attachments": [], "source": "", "column_name": "", "flags": [], "site": "", "section": ""}
            for vid, title in ((1, "工业强市 😀"), (2, ""), (3, "\x0e x"))]
    with psycopg.connect(postgres_url) as conn:
        postgres_search.load(conn, rows)
        stored = dict(conn.execute("SELECT version_id, grams FROM search_docs").fetchall())
        keys = dict(conn.execute("SELECT version_id, docid FROM search_docs").fetchall())
    for row in rows:
        assert stored[row["version_id"]] == document(row, keys[row["version_id"]])[-1].tolist()
    assert stored[2] == []


@pytest.mark.parametrize("lz4", [True, False])
def test_the_codes_are_compressed_with_lz4_only_where_the_server_has_it(postgres, monkeypatch, lz4):
    """A server built without lz4 (asked through pg_settings) gets its default compression, and the same rows."""
    import psycopg

    if not lz4:
        monkeypatch.setattr(postgres_search, "_LZ4", "SELECT 1 WHERE false")  # what a server without lz4 answers
    rows = [{"version_id": vid, "article_id": vid, "published": "2024-01-02", "title": "工业强市" * vid,
             "body_text": "园区 IMG_5158 " * 400, "images": [], "attachments": [], "source": "", "column_name": "",
             "flags": [], "site": "", "section": ""} for vid in (1, 2)]
    with psycopg.connect(postgres.create_database()) as conn:
        assert postgres_search.load(conn, rows)[0] == 2
        method = conn.execute("SELECT attcompression FROM pg_attribute WHERE attrelid = 'search_docs'::regclass"
                              " AND attname = 'grams'").fetchone()[0]
        stored = dict(conn.execute("SELECT version_id, grams FROM search_docs").fetchall())
        keys = dict(conn.execute("SELECT version_id, docid FROM search_docs").fetchall())
    assert method == ("l" if lz4 else "")
    for row in rows:
        assert stored[row["version_id"]] == document(row, keys[row["version_id"]])[-1].tolist()
