"""A client generated from /openapi.json by openapi-python-client works as it is: typed answers, typed errors."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.inprocess import Site

pytestmark = pytest.mark.xdist_group("generated-client")  # one worker generates the client, once


@pytest.fixture(scope="module")
def generated(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package openapi-python-client generates from the app's own document, importable."""
    folder = tmp_path_factory.mktemp("generated")
    document = folder / "openapi.json"
    document.write_text(json.dumps(site.http.get(site.url + "/openapi.json", timeout=30).json()))
    generator = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [str(generator), "generate", "--path", str(document), "--meta", "none", "--output-path", str(folder / "ckg")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("ckg")
    finally:
        sys.path.remove(str(folder))


def call(generated: ModuleType, site: Site, module: str, **kwargs: Any) -> Any:
    """One generated operation, sent to the app in this process (httpx's WSGI transport)."""
    client = generated.client.Client(base_url=site.url, httpx_args={"transport": httpx.WSGITransport(app=site.app)})
    return importlib.import_module(f"ckg.api.{module}").sync_detailed(client=client, **kwargs)


def test_lists_and_details_are_typed(generated: ModuleType, site: Site) -> None:
    models = importlib.import_module("ckg.models")
    roles = call(generated, site, "resources.list_roles", limit=5)
    assert roles.status_code == 200
    assert isinstance(roles.parsed, models.Page)
    assert len(roles.parsed.items) == 5
    assert roles.parsed.next_ is not None  # "next" is a Python keyword: the generator names it next_
    role = call(generated, site, "resources.get_role", id="ai-engineer")
    assert isinstance(role.parsed, models.RoleDetail)
    assert role.parsed.label == "AI Engineer"
    assert role.parsed.essential_skills


def test_search_compare_gap_match_and_paths(generated: ModuleType, site: Site) -> None:
    models = importlib.import_module("ckg.models")
    found = call(generated, site, "search.search", q="machine learning")
    assert found.status_code == 200
    assert found.parsed.items
    suggested = call(generated, site, "search.suggest", q="py")
    assert all(item.matched.lower().startswith("py") for item in suggested.parsed.items)
    compared = call(generated, site, "analytics.compare_roles", roles="ai-engineer,ml-engineer")
    assert isinstance(compared.parsed, models.Comparison)
    gap = call(generated, site, "analytics.get_role_gap", id="ml-engineer", from_="ai-engineer")
    assert isinstance(gap.parsed, models.Gap)
    body = models.MatchBody(skills=["data-analysis", "feature-engineering"], tools=["scikit-learn"])
    matched = call(generated, site, "analytics.match_roles", body=body)
    assert isinstance(matched.parsed, models.Matches)
    scores = [item.score for item in matched.parsed.items]
    assert scores == sorted(scores, reverse=True)  # typed and ranked (the ranking itself: test_api)
    assert scores[0] > 0
    paths = call(generated, site, "analytics.get_role_paths", id="ai-engineer", to="ml-engineer")
    assert isinstance(paths.parsed, models.Paths)
    assert paths.parsed.paths[0].length == 1


def test_errors_are_typed_problems(generated: ModuleType, site: Site) -> None:
    problem = importlib.import_module("ckg.models").Problem
    missing = call(generated, site, "resources.get_role", id="astronaut")
    assert missing.status_code == 404
    assert isinstance(missing.parsed, problem)
    assert "astronaut" in missing.parsed.detail
    bad = call(generated, site, "analytics.compare_roles", roles="ai-engineer")
    assert bad.status_code == 400
    assert isinstance(bad.parsed, problem)
    assert "two or three role ids" in bad.parsed.detail
