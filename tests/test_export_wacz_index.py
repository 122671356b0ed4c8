"""A WACZ export's index replays as `portal-archive replay` replays (`archive.export.wacz_index`).

py-wacz indexes a 304 recheck as the empty revisit it is, and a capture cut
in transfer beside its whole retry: a player then shows the latest capture
of every unchanged article as a blank page, and may serve half an image.
The package must still verify, and a line pointed elsewhere be caught.
"""

from __future__ import annotations

import gzip
import json
import urllib.request
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from archive.evidence.package import INDEX, verify_package
from archive.export.wacz import WaczWriter
from archive.export.wacz_index import write_index
from archive.warc.reader import iter_records
from tests.conftest import cli, pywb_with
from tests.test_replay import IMAGE, JPEG, PAGE, URL, _cut_then_whole, _not_modified_archive, _stamp


def _package(data: Path, out: Path, url: str, moments: list[datetime]) -> Path:
    """`export --format wacz` of DATA's WARC files (one page a file: the capture of `url` at each moment)."""
    writer = WaczWriter(out, data / "warc", attestations=False)
    for number, (name, moment) in enumerate(zip(sorted(p.name for p in (data / "warc").glob("*.warc.gz")),
                                                moments), 1):
        writer.write({"site_name": "滕州", "warc_file": name, "images": "[]", "attachments": "[]", "article_id": 1,
                      "version": number, "capture_url": url, "title": "t", "url": url,
                      "capture_time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")})
    writer.close()
    return out


def _index(package: Path) -> list[str]:
    with zipfile.ZipFile(package) as opened:
        return gzip.decompress(opened.read(INDEX)).decode("utf-8").splitlines(keepends=True)


def _fields(lines: list[str], url: str) -> dict[str, dict]:
    """time -> fields of `url`'s index lines."""
    found = {}
    for line in lines:
        _, stamp, text = line.split(" ", 2)
        fields = json.loads(text)
        if fields.get("url") == url:
            found[stamp] = fields
    return found


def test_a_packaged_304_recheck_points_at_the_page_and_the_package_verifies(tmp_path):
    """Two crawls, the second rechecking the unchanged article (304): the package's latest capture of it was
    an empty 304 in any player."""
    data = tmp_path / "data"
    first, later = _not_modified_archive(data)
    package = _package(data, tmp_path / "two-crawls.wacz", URL, [first, later])
    pages = _fields(_index(package), URL)
    original, recheck = pages[_stamp(first)], pages[_stamp(later)]
    assert recheck["status"] == "200" and recheck["mime"] == "text/html"
    assert {name: recheck[name] for name in ("filename", "offset", "length", "recordDigest")} == \
        {name: original[name] for name in ("filename", "offset", "length", "recordDigest")}
    result = cli("verify", "--package", str(package))
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_an_index_line_pointed_at_another_record_is_still_caught(tmp_path):
    """Only a 304 recheck the package holds may point at an earlier capture: a line moved to a time with no
    recheck, or pointed at a record that is not the page's response, is named."""
    data = tmp_path / "data"
    first, later = _not_modified_archive(data)
    package = _package(data, tmp_path / "two-crawls.wacz", URL, [first, later])
    lines = _index(package)
    [number] = [n for n, line in enumerate(lines) if f" {_stamp(later)} " in line]
    key, _, text = lines[number].split(" ", 2)
    fields = json.loads(text)

    moved = list(lines)
    moved[number] = f"{key} {_stamp(first)[:-4]}3000 {text}"  # half an hour after the page: no recheck then
    write_index(package, moved)
    problems = [str(p) for p in verify_package(package).problems]
    assert len(problems) == 1 and "holds no 304 recheck" in problems[0], problems

    [request] = [record for record in iter_records(data / "warc" / fields["filename"])
                 if record.head.get("WARC-Type") == "request"]
    pointed = {name: value for name, value in fields.items() if name != "recordDigest"}
    elsewhere = list(lines)
    elsewhere[number] = (f"{key} {_stamp(later)} "
                         f"{json.dumps({**pointed, 'offset': str(request.offset), 'length': str(request.length)})}\n")
    write_index(package, elsewhere)  # the page's request record, of the same URL: not a response
    problems = [str(p) for p in verify_package(package).problems]
    assert len(problems) == 1 and f"is dated {request.head.get('WARC-Date')}" in problems[0], problems


def test_a_cut_capture_is_left_out_of_a_package_beside_its_whole_retry(tmp_path):
    """An image cut in transfer and fetched whole the same second: a player took whichever the index listed
    first (by digest), half the time the cut one."""
    data = tmp_path / "data"
    _cut_then_whole(data)
    package = _package(data, tmp_path / "cut.wacz", IMAGE, [datetime(2024, 5, 1, 8)])
    urls = [json.loads(line.split(" ", 2)[2]).get("url") for line in _index(package)]
    assert urls.count(IMAGE) == 1  # the whole one (pywb serves it: the next test)
    assert urls.count(IMAGE + ".only-cut") == 1  # every capture cut: part of it is all there is
    assert verify_package(package).ok


def test_pywb_replays_a_packaged_recheck_as_the_page_and_the_whole_image(tmp_path):
    from archive.replay import ReplayError, find_wayback

    try:
        wayback = find_wayback()
    except ReplayError as error:
        pytest.fail(f"pywb is part of the install (make install): {error}")
    first, later = _not_modified_archive(tmp_path / "rechecked")
    rechecked = _package(tmp_path / "rechecked", tmp_path / "rechecked.wacz", URL, [first, later])
    _cut_then_whole(tmp_path / "cut")
    cut = _package(tmp_path / "cut", tmp_path / "cut.wacz", IMAGE, [first])
    with pywb_with(wayback, tmp_path / "pywb", "pk", [rechecked, cut]) as base:
        with urllib.request.urlopen(f"{base}/{_stamp(later)}id_/{URL}", timeout=30) as answer:
            assert answer.status == 200 and answer.read() == PAGE
        with urllib.request.urlopen(f"{base}/{_stamp(first)}id_/{IMAGE}", timeout=30) as answer:
            assert answer.read() == JPEG
