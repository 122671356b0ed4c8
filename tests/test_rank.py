"""Relevance counts: every shortcut `archive.search.rank` takes counts what `plain(field).count(term)` counts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.search.query import Term
from archive.search.rank import RankDoc, _Counter, _Field, rank
from archive.search.text import plain

# Characters folding or whitespace treat specially, and a few that they leave alone.
TRICKY = ("AaZz09_.-jJｊＪ２０Ｇｇ\u3000 \t\n\x1c\x1f\x85\xa0\x00\x03\x08\ue000\ue003\ue008"
          "工业强市、产业兴市化年园区“”")
texts = st.text(alphabet=TRICKY, max_size=60)


def _term(text: str) -> Term | None:
    return Term.parse(text)


@settings(max_examples=600, deadline=None)
@given(field=texts, wanted=st.text(alphabet=TRICKY, min_size=1, max_size=8))
def test_a_term_is_counted_as_in_the_plain_text(field, wanted):
    term = _term(wanted)
    if term is None:
        return
    expected = plain(field).count(term.plain) if plain(field) else 0
    assert _Counter(term)(_Field(field, already_plain=False)) == expected
    assert _Counter(term)(_Field(plain(field), already_plain=True)) == expected


@settings(max_examples=600, deadline=None)
@given(field=texts, start=st.integers(0, 60), length=st.integers(1, 10))
def test_a_term_cut_from_the_text_is_counted_as_in_the_plain_text(field, start, length):
    term = _term(field[start:start + length])
    if term is None:
        return
    counted = _Counter(term)(_Field(field, already_plain=False))
    assert counted == plain(field).count(term.plain)
    assert counted >= 1  # it was cut from this very text


def test_plain_documents_rank_as_catalogued_ones():
    docs = [RankDoc(3, "IMG_5158 ＪＰＧ 工业强市", "2021年\u3000产业兴市 jpg JPG", 20,
                    images='[{"alt": "IMG_5158.JPG", "caption": "工业强市 产业兴市"}]'),
            RankDoc(2, "园区", "\x03化工 2021 年", 10, attachments='[{"name": "2021年.pdf"}]'),
            RankDoc(1, None, "", 0)]
    from archive.search.text import media_text

    as_plain = [RankDoc(doc.key, plain(doc.title), plain(doc.body), doc.length,
                        media=plain(media_text(doc.images, doc.attachments)), plain=True) for doc in docs]
    for query in ("jpg", "2021年", "img_5158", "工业强市 产业兴市", "化工", "年"):
        terms = [Term.parse(word) for word in query.split(" ")] if query != "工业强市 产业兴市" else [Term.parse(query)]
        assert rank(terms, docs) == rank(terms, as_plain), query
