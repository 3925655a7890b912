"""CITATION.cff is valid Citation File Format 1.2.0 and agrees with
pyproject.toml; LICENSE is the BSD-3-Clause licence pyproject declares; both
ship in the source distribution."""

import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

#: the top-level keys of the CFF 1.2.0 schema, and those it requires
CFF_KEYS = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
            "identifiers", "keywords", "license", "license-url", "message",
            "preferred-citation", "references", "repository", "repository-artifact",
            "repository-code", "title", "type", "url", "version"}
CFF_REQUIRED = {"authors", "cff-version", "message", "title"}
#: what an author is in CFF 1.2.0: a person or an entity
PERSON_KEYS = {"family-names", "given-names", "name-particle", "name-suffix", "affiliation",
               "orcid", "email", "website", "alias", "address", "city", "country", "fax",
               "post-code", "region", "tel"}
ENTITY_KEYS = {"name", "address", "city", "country", "email", "date-end", "date-start",
               "fax", "location", "orcid", "post-code", "region", "tel", "website", "alias"}


@pytest.fixture(scope="module")
def cff():
    path = REPO / "CITATION.cff"
    if not path.exists():
        pytest.fail("CITATION.cff is missing at the top of the repository")
    # YAML's own loader: tabs, duplicate keys of the wrong kind, bad nesting fail here
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "CITATION.cff must be a YAML mapping"
    return data


def test_citation_is_cff_1_2_0(cff):
    assert set(cff) <= CFF_KEYS, f"keys CFF 1.2.0 does not have: {set(cff) - CFF_KEYS}"
    assert CFF_REQUIRED <= set(cff), f"missing: {CFF_REQUIRED - set(cff)}"
    assert cff["cff-version"] == "1.2.0"
    assert isinstance(cff["message"], str) and cff["message"].strip()
    assert isinstance(cff["title"], str) and cff["title"].strip()
    assert cff.get("type", "software") in ("software", "dataset")
    assert isinstance(cff["authors"], list) and cff["authors"]
    for author in cff["authors"]:
        assert isinstance(author, dict)
        if "name" in author:  # an entity
            assert set(author) <= ENTITY_KEYS and str(author["name"]).strip()
        else:  # a person
            assert set(author) <= PERSON_KEYS and (author.get("family-names")
                                                   or author.get("given-names"))
    for key in ("url", "repository-code", "repository", "repository-artifact", "license-url"):
        if key in cff:
            assert re.match(r"^(https|http|ftp|sftp)://", cff[key]), key
    if "date-released" in cff:
        assert re.match(r"^\d{4}-\d{2}-\d{2}$", str(cff["date-released"]))
    if "keywords" in cff:
        assert all(isinstance(k, str) and k for k in cff["keywords"])


def test_citation_agrees_with_pyproject(cff):
    project = PYPROJECT["project"]
    assert str(cff["version"]) == project["version"]
    assert cff["license"] == project["license"]["text"] == "BSD-3-Clause"
    assert cff["repository-code"] == project["urls"]["Source"]
    assert cff["url"] == project["urls"]["Documentation"]
    assert [a["name"] for a in cff["authors"]] == [a["name"] for a in project["authors"]]


def test_license_is_the_declared_bsd_3_clause():
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License\n")
    assert re.search(r"^Copyright \(c\) \d{4}, the ionhomeo developers$", text, re.M)
    # the three clauses and the disclaimer
    for phrase in ("Redistributions of source code must retain",
                   "Redistributions in binary form must reproduce",
                   "Neither the name of the copyright holder",
                   'PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"'):
        assert phrase in text


def test_urls_and_sdist():
    urls = PYPROJECT["project"]["urls"]
    assert urls == {"Homepage": "https://github.com/ionhomeo/ionhomeo",
                    "Documentation": "https://ionhomeo.readthedocs.io",
                    "Source": "https://github.com/ionhomeo/ionhomeo",
                    "Issues": "https://github.com/ionhomeo/ionhomeo/issues"}
    include = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert {"LICENSE", "CITATION.cff", "docs", "notebooks"} <= set(include)
    assert all((REPO / path).exists() for path in include)
