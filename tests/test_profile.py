"""Site profiles: loading, validation, documentation and the replica base URL."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from crawler.profile import (ProfileError, Selectors, SiteProfile, field_help, generic_profile,
                             load_profile)

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
    assert local.allowed_domains == ("127.0.0.1",)  # Scrapy's allowed_domains take no port
    assert local.in_scope("http://127.0.0.1:8123/xwzx/gyjj/index_1.html")
    assert not local.in_scope("http://www.tengzhou.gov.cn/xwzx/gyjj/index_1.html")
    with pytest.raises(ProfileError, match="scheme and a host"):
        local.with_base_url("127.0.0.1:8123")


def test_profiles_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_profile("tengzhou").name = "x"


@pytest.mark.parametrize("cls", [SiteProfile, Selectors])
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
    (VALID.replace('allowed_domains = ["www.tengzhou.gov.cn", "tengzhou.gov.cn"]',
                   'allowed_domains = "www.tengzhou.gov.cn"'), "allowed_domains must be a list"),
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
    assert caught.value.reason.startswith(reason or "unknown selectors: colour")


@pytest.mark.parametrize("name, reason", [
    ("nosuch", "no bundled profile named 'nosuch'"),
    ("../etc", "cannot read profile file"),
    ("a b", "not a profile name: 'a b'"),
])
def test_unknown_profiles(name, reason):
    with pytest.raises(ProfileError) as caught:
        load_profile(name)
    assert caught.value.reason.startswith(reason)
