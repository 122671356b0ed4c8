"""Site profiles: loading, validation, documentation and the replica base URL."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from crawler.profile import (Pagination, ProfileError, Section, Selectors, SiteProfile, field_help,
                             generic_profile, load_profile)

BUNDLED = Path(__file__).parents[1] / "crawler" / "profiles" / "tengzhou.toml"


def test_tengzhou_profile_values():
    profile = load_profile("tengzhou")
    assert profile.name == "tengzhou"
    assert profile.site_name == "滕州市人民政府"
    assert profile.city == "滕州市"
    assert profile.site_id_code == "3704810032"
    assert profile.start_url == "http://www.tengzhou.gov.cn/xwzx/gyjj/index.html"
    assert profile.section_path == "/xwzx/gyjj/"
    assert profile.allowed_domains == ("www.tengzhou.gov.cn", "tengzhou.gov.cn")
    assert profile.base_url == "http://www.tengzhou.gov.cn"
    assert profile.selectors.body == "div.TRS_Editor, #zoom"


def test_loading_by_path_equals_loading_by_name():
    assert load_profile(BUNDLED) == load_profile(str(BUNDLED)) == load_profile("tengzhou")


@pytest.mark.parametrize("url, article, listing, scope", [
    ("http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html", True, False, True),
    ("http://www.tengzhou.gov.cn/xwzx/gyjj/index.html", False, True, True),
    ("http://www.tengzhou.gov.cn/xwzx/gyjj/index_12.html", False, True, True),
    ("http://www.tengzhou.gov.cn/xwzx/tzyw/202103/t20210301_6170001.html", True, False, False),
    ("http://www.example.com/xwzx/gyjj/202103/t20210315_6187593.html", True, False, False),
    ("http://www.tengzhou.gov.cn/xwzx/gyjj/202103/W020210315384756192837.jpg", False, False, True),
])
def test_url_rules(url, article, listing, scope):
    profile = load_profile("tengzhou")
    assert (profile.is_article_url(url), profile.is_list_page_url(url), profile.in_scope(url)) == (
        article, listing, scope)


def test_with_base_url_points_at_the_replica():
    local = load_profile("tengzhou").with_base_url("http://127.0.0.1:8123")
    assert local.start_url == "http://127.0.0.1:8123/xwzx/gyjj/index.html"
    # Scrapy's allowed_domains take no port; the machine's two names are one host (a redirect to localhost
    # was not the replica's home page, nor a fetch on its host).
    assert local.allowed_domains == ("127.0.0.1", "localhost")
    assert local.host_map()["localhost"] == local.host_map()["127.0.0.1"] == "www.tengzhou.gov.cn"
    assert load_profile("tengzhou").with_base_url("http://mirror.test:80").allowed_domains == ("mirror.test",)
    assert local.in_scope("http://127.0.0.1:8123/xwzx/gyjj/index_1.html")
    assert not local.in_scope("http://www.tengzhou.gov.cn/xwzx/gyjj/index_1.html")
    with pytest.raises(ProfileError, match="scheme and a host"):
        local.with_base_url("127.0.0.1:8123")


def test_profiles_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_profile("tengzhou").name = "x"


@pytest.mark.parametrize("cls", [SiteProfile, Section, Pagination, Selectors])
def test_every_field_has_a_help_line(cls):
    missing = [name for name, text in field_help(cls).items() if not text.strip()]
    assert missing == []


def test_every_key_of_the_bundled_toml_is_commented():
    lines = BUNDLED.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if re.match(r"^[a-z_]+\s*=", line):
            assert lines[n - 1].startswith("#"), f"undocumented key: {line}"


def test_generic_profile_has_no_site_rules():
    generic = generic_profile()
    assert generic.selectors == Selectors()
    assert not generic.is_article_url("http://x/202103/t20210315_1.html")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


VALID = BUNDLED.read_text(encoding="utf-8")


@pytest.mark.parametrize("text, reason", [
    ("name = 'x\n", "not valid TOML"),
    (VALID.replace('name = "tengzhou"\n', ""), "missing keys: name"),
    (VALID + "\ncolour = 'red'\n", None),  # after [selectors]: an unknown selector
    ("colour = 'red'\n" + VALID, "unknown keys: colour"),
    (VALID.replace('city = "滕州市"', "city = 3"), "city must be a string"),
    (VALID.replace(r"'/\d{6}/t\d{8}_\d+\.s?html?$'", "'(unclosed'"),
     "article_url_pattern is not a valid regex"),
    (VALID.replace("http://www.tengzhou.gov.cn/xwzx", "ftp://www.tengzhou.gov.cn/xwzx"),
     "start_url must be an http(s) URL"),
    (VALID.replace('section_path = "/xwzx/gyjj/"', 'section_path = "xwzx"'),
     "section_path must start with /"),
    (VALID.replace('hosts = ["www.tengzhou.gov.cn", "tengzhou.gov.cn"]',
                   'hosts = "www.tengzhou.gov.cn"'), "hosts must be a list"),
    (VALID.replace('body = "div.TRS_Editor, #zoom"', 'body = "div[[["'),
     "selectors.body is not valid CSS or XPath"),
    (VALID.replace('body = "div.TRS_Editor, #zoom"', 'body = "//div[@id="'),
     "selectors.body is not valid CSS or XPath"),
])
def test_bad_profiles_raise_profile_error_with_a_reason(tmp_path, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.source == str(path)
    assert (reason or "unknown selectors: colour") in caught.value.reason


@pytest.mark.parametrize("name, reason", [
    ("nosuch", "no bundled profile named 'nosuch'"),
    ("../etc", "cannot read profile file"),
    ("a b", "not a profile name: 'a b'"),
])
def test_unknown_profiles(name, reason):
    with pytest.raises(ProfileError) as caught:
        load_profile(name)
    assert caught.value.reason.startswith(reason)


# -- the first format, sections, pagination -------------------------------------------------

LEGACY = """
name = "tengzhou"
site_name = "滕州市人民政府"
city = "滕州市"
site_id_code = "3704810032"
section = "工业经济"
start_url = "http://www.tengzhou.gov.cn/xwzx/gyjj/index.html"
section_path = "/xwzx/gyjj/"
allowed_domains = ["www.tengzhou.gov.cn", "tengzhou.gov.cn"]
article_url_pattern = '/\\d{6}/t\\d{8}_\\d+\\.s?html?$'
list_page_pattern = '/index(?:_\\d+)?\\.s?html?$'

[selectors]
title = "h1.detail-title, td.title"
meta_line = "div.detail-info"
body = "div.TRS_Editor, #zoom"
breadcrumb = "div.position"
attachments = "div.detail-attach a"
list_rows = "ul.list-ul > li"
"""


def test_a_file_of_the_first_format_loads_as_one_section(tmp_path):
    old = load_profile(write(tmp_path, LEGACY))
    new = load_profile("tengzhou")
    assert old.section_names == ["工业经济"]
    # The same portal and section; only what the first format could not say differs.
    assert (old.sections[0].selectors, old.start_url, old.article_url_pattern, old.allowed_domains, old.host) == (
        new.sections[0].selectors, new.start_url, new.article_url_pattern, new.allowed_domains, new.host)
    assert old.prefix == new.prefix == "TENGZHOU"
    assert old.pagination.kind == "auto"


def test_mixing_the_two_formats_names_the_fix(tmp_path):
    text = 'start_url = "http://x.gov.cn/a/index.html"\n' + VALID
    path = write(tmp_path, text)
    with pytest.raises(ProfileError, match=r"start_url belong inside a \[\[sections\]\] table.*move them"):
        load_profile(path)


TWO = """
name = "weishan"
site_name = "微山县人民政府"
city = "微山县"
site_id_code = "3708260003"
host = "www.weishan.gov.cn"
hosts = ["www.weishan.gov.cn"]

[[sections]]
name = "政务要闻"
start_url = "http://www.weishan.gov.cn/col/col25831/index.html"
section_path = "/"
article_url_pattern = '^/art/\\d{4}/\\d{1,2}/\\d{1,2}/art_25831_\\d+\\.html$'
[sections.pagination]
kind = "hanweb"
form = { columnid = "25831", unitid = "93713", webid = 36 }
[sections.selectors]
body = "#zoom"

[[sections]]
name = "部门动态"
start_url = "http://www.weishan.gov.cn/col/col25834/index.html"
section_path = "/"
article_url_pattern = '^/art/\\d{4}/\\d{1,2}/\\d{1,2}/art_25834_\\d+\\.html$'
pagination = "hanweb"
"""


def test_a_profile_of_two_sections(tmp_path):
    profile = load_profile(write(tmp_path, TWO))
    assert profile.section_names == ["政务要闻", "部门动态"]
    assert profile.prefix == "WEISHAN"
    first, second = profile.sections
    assert first.pagination.form_dict() == {"columnid": "25831", "unitid": "93713", "webid": "36"}
    assert second.pagination.kind == "hanweb" and second.selectors == Selectors()
    # A page object sees one section: the focused profile's first.
    focused = profile.for_section("部门动态")
    assert (focused.section, focused.selectors, focused.start_url) == ("部门动态", Selectors(), second.start_url)
    assert focused.is_article_url("http://www.weishan.gov.cn/art/2024/3/5/art_25834_1.html")
    assert not focused.is_article_url("http://www.weishan.gov.cn/art/2024/3/5/art_25831_1.html")
    assert profile.only(["部门动态"]).section_names == ["部门动态"]
    assert profile.only([]).section_names == ["政务要闻", "部门动态"]
    with pytest.raises(ProfileError, match="no section '政务' in profile 'weishan'; its sections: 政务要闻, 部门动态"):
        profile.for_section("政务")
    local = profile.with_base_url("http://127.0.0.1:8123")
    assert [s.start_url for s in local.sections] == ["http://127.0.0.1:8123/col/col25831/index.html",
                                                     "http://127.0.0.1:8123/col/col25834/index.html"]
    # A replica's host folds onto the canonical host in article keys.
    assert local.host_map() == {"127.0.0.1": "www.weishan.gov.cn", "localhost": "www.weishan.gov.cn",
                                "www.weishan.gov.cn": "www.weishan.gov.cn"}


@pytest.mark.parametrize("change, reason", [
    (('name = "部门动态"', 'name = "政务要闻"'), "two sections have the same name: 政务要闻"),
    (('pagination = "hanweb"', 'pagination = "infinite"'), "pagination.kind must be one of"),
    (('pagination = "hanweb"', 'pagination = "json"'), "pagination kind json needs api_url"),
    (('form = { columnid', 'form = { nested = { a = 1 }, columnid'), "pagination.form must be a table of strings"),
    (('kind = "hanweb"', 'kind = "hanweb"\nper_page = -1'), "pagination.per_page must be a whole number"),
    (('kind = "hanweb"', 'kind = "hanweb"\npages = 3'), "unknown pagination keys: pages"),
    (('name = "weishan"', 'name = "wei shan"'), "name must be letters, digits"),
    (('[[sections]]\nname = "部门动态"', '[[sections]]\nnamed = "部门动态"'), "sections[2]: unknown keys: named"),
])
def test_bad_sections_and_paginations(tmp_path, change, reason):
    text = TWO.replace(*change, 1)
    assert text != TWO
    with pytest.raises(ProfileError) as caught:
        load_profile(write(tmp_path, text))
    assert reason in caught.value.reason


def test_a_profile_without_sections_says_how_to_add_one(tmp_path):
    text = TWO[:TWO.index("[[sections]]")]
    with pytest.raises(ProfileError, match=r"missing keys: sections \(one \[\[sections\]\] table per column"):
        load_profile(write(tmp_path, text))


def test_a_profile_saved_by_a_windows_editor(tmp_path):
    """With a byte-order mark it loads as it is; saved as GBK it is a clear error (exit 2), not a traceback."""
    with_bom = tmp_path / "bom.toml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    assert load_profile(with_bom).city == load_profile(BUNDLED).city
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(VALID.encode("gbk"))
    with pytest.raises(ProfileError) as caught:
        load_profile(gbk)
    assert "not UTF-8" in caught.value.reason and caught.value.exit_code == 2
