"""Date, meta-line and whitespace rules (crawler.pages.text)."""

from __future__ import annotations

import pytest

from crawler.pages.text import clean_paragraph, labeled_date, labeled_source, parse_date


@pytest.mark.parametrize("text, iso", [
    ("时间:2021-03-15 来源:官桥镇信息中心", "2021-03-15"),
    ("发布时间：2021/3/15", "2021-03-15"),
    ("发布日期：2021年03月15日　　信息来源：滕州日报", "2021-03-15"),
    ("日期 ： 2021年3月5日", "2021-03-05"),
    ("时间:2023-05-12 09:30 来源:x", "2023-05-12T09:30:00+08:00"),
    ("发布时间：2021-03-15 09:12:30", "2021-03-15T09:12:30+08:00"),
    ("发布时间：2021年3月5日 10时30分", "2021-03-05T10:30:00+08:00"),
    ("发布时间：2021-03-15 25:61", "2021-03-15"),  # a time that is no time: the day stands (it was lost)
])
def test_labeled_dates(text, iso):
    assert labeled_date(text).isoformat() == iso


@pytest.mark.parametrize("text", [
    "报名时间：2021年4月1日",      # a label ending a longer word is not the publication date
    "截止日期：2021-04-30",
    "时间:2021-02-30",            # not a real day
    "2021-03-15 来源:x",          # no date label at all
])
def test_not_publication_dates(text):
    assert labeled_date(text) is None


def test_parse_date_needs_no_label_and_skips_invalid_dates():
    assert parse_date("[2021-13-01] [2021/3/9]").isoformat() == "2021-03-09"
    assert parse_date("没有日期") is None


@pytest.mark.parametrize("text, source", [
    ("时间:2021-03-15 来源:官桥镇信息中心 浏览次数:", "官桥镇信息中心"),
    ("时间:2021-03-15 来源:滕州市 工业和信息化局 浏览次数:12", "滕州市 工业和信息化局"),
    ("发布日期：2015年03月15日　　信息来源：滕州日报", "滕州日报"),
    ("信息来源：市工信局　　发布时间：2021年3月5日", "市工信局"),
    ("文章来源： 区工业和信息化局 作者：李明", "区工业和信息化局"),
    ("来源：滕州日报【字号：大 中 小】", "滕州日报"),
    ("来源：滕州日报 点击：35", "滕州日报"),
    ("来源：滕州日报 | 字号", "滕州日报"),
    ("来源：滕州日报\n浏览", "滕州日报"),
    ("来源:   浏览次数:3", None),
    ("资金来源：财政拨款", None),
])
def test_labeled_sources(text, source):
    assert labeled_source(text) == source


def test_clean_paragraph_strips_indents_and_folds_source_newlines():
    assert clean_paragraph("\u3000\u3000正文\xa0\xa0 ") == "正文"
    assert clean_paragraph("\n   第一行\n   接着写\n") == "第一行 接着写"
    assert clean_paragraph("有  两个空格") == "有  两个空格"
