"""``ionhomeo run all`` writes index.html: every protocol's figure, its checks
as PASS or FAIL with their values, the recipes and whether they were
calibrated, and the run's provenance; opened from disk in a real headless
browser (Chromium), where every figure must load.

The run is ``run all`` itself (cli.main) over three quick real protocols, one
stand-in whose check fails and one that raises; the whole ``run all`` takes
about 20 minutes."""

import html
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ionhomeo import cli
from ionhomeo.protocols import PROTOCOLS

from test_run_all import _fake

#: quick real protocols (seconds each), rest with its picture of the cell
REAL = ("rest", "spike-train", "terminal-vs-soma")


@pytest.fixture(scope="module")
def run_all(tmp_path_factory):
    out = tmp_path_factory.mktemp("all") / "results"
    chosen = {name: PROTOCOLS[name] for name in REAL}
    chosen["beta"] = _fake("beta", 0.0)                # its check fails
    chosen["gamma"] = _fake("gamma", 1.0, fail=True)   # it raises
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("ionhomeo.protocols.PROTOCOLS", chosen)
        status = cli.main(["run", "all", "--out", str(out)])
    assert status == 1  # beta's check fails, gamma raises
    return out, sorted(chosen)


class _Page(HTMLParser):
    """The parts of the page the tests read: sections, images, links, badges per section."""

    def __init__(self):
        super().__init__()
        self.sections, self.images, self.links, self.section = {}, [], [], None
        self.status = {}
        self.rows = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a["id"]
            self.sections[a["id"]] = a.get("data-status")
            self.rows[a["id"]] = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "tr" and self.section and a.get("class", "").startswith("row-"):
            self.rows[self.section].append(a["class"][4:])
        elif tag == "span" and a.get("id") == "figures-status":
            self.status = a


def _parse(text):
    page = _Page()
    page.feed(text)
    return page


def test_run_all_writes_a_page_with_every_protocol(run_all):
    out, names = run_all
    text = (out / "index.html").read_text(encoding="utf-8")
    page = _parse(text)
    assert list(page.sections) == names  # every protocol, in the index's order
    assert page.sections["beta"] == "FAIL" and page.sections["gamma"] == "error"
    assert page.rows["beta"] == ["fail"]  # a record without checks: the printed line
    assert "RuntimeError: deliberate failure" in text
    for name in REAL:
        meta = json.loads((out / name / f"{name}.json").read_text())
        # each check a row, PASS or FAIL as the protocol's JSON says
        assert page.rows[name] == ["pass" if c["passed"] else "fail" for c in meta["checks"]]
        assert page.sections[name] == ("PASS" if all(c["passed"] for c in meta["checks"])
                                       else "FAIL")
        for c in meta["checks"][:1]:
            assert f"<td>{c['name']}</td>" in text
        # the recipe and whether it was calibrated; the versions and the command
        r = meta["recipes"][0]
        assert (f"{r['name']}: calibrated ({html.escape(r['method'])})" if r["calibrated"]
                else f"{r['name']}: not calibrated") in text
        assert meta["neuron_version"] in text and meta["ionhomeo_version"] in text
    assert f"<code>ionhomeo run all --out {out}</code>" in text
    # the figures and the files are linked relatively, and are there
    srcs = [img["src"] for img in page.images]
    assert srcs == [f"{n}/{n}.png" for n in names if n != "gamma"]
    for link in srcs + [h for h in page.links if not h.startswith("#")]:
        assert not Path(link).is_absolute() and (out / link).is_file(), link
    # the alt text of rest's figure is its title
    rest = next(img for img in page.images if img["src"] == "rest/rest.png")
    assert rest["alt"].startswith("rest: whole-cell resting state")
    # units for people in the checks: rest's drift in mV, none in ASCII micro
    assert not re.search(r"\d uM\b", text)


def _chromium():
    for name in (os.environ.get("IONHOMEO_CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    if os.environ.get("IONHOMEO_REQUIRE_BROWSER"):
        pytest.fail("IONHOMEO_REQUIRE_BROWSER is set but there is no chromium on PATH (nor "
                    "IONHOMEO_CHROMIUM): install it (Debian: apt-get install chromium; .ci/run "
                    "does), which this test needs")
    pytest.skip("no chromium on this machine (Debian: apt-get install chromium): the HTML "
                "report is not opened in a browser here")


def _dump_dom(page: Path, tmp_path) -> str:
    """The page's DOM after it loaded and its script ran, from headless Chromium."""
    args = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_the_page_renders_in_a_browser_with_every_figure(run_all, tmp_path):
    out, names = run_all
    dom = _parse(_dump_dom(out / "index.html", tmp_path))
    assert list(dom.sections) == names
    figures = len(names) - 1  # gamma raised before writing one
    assert dom.status["data-expected"] == str(figures)
    assert dom.status["data-loaded"] == str(figures)  # decoded: naturalWidth > 0


def test_the_page_says_which_figures_did_not_load(run_all, tmp_path):
    """A figure missing beside the page: the browser cannot load it, and the page says so."""
    out, names = run_all
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    (moved / "spike-train" / "spike-train.png").unlink()
    (moved / "rest" / "rest.png").write_bytes(b"not a PNG")  # there, but no image
    text = _dump_dom(moved / "index.html", tmp_path)
    dom = _parse(text)
    assert dom.status["data-expected"] == str(len(names) - 1)
    assert dom.status["data-loaded"] == str(len(names) - 3)
    assert "2 of 4 figures could not be loaded" in text
    assert "spike-train/spike-train.png" in text.split("could not be loaded")[1]
