"""With a remote store, the store evaluates what CareerKG sends: no SERVICE or LOAD trick may reach it either."""

from __future__ import annotations

import pytest

from service.app import create_app
from tests.app.test_network import attempt, run_tricks
from tests.inprocess import Site
from tests.support import WRITE_TOKEN, Listener, Oxigraph, fresh_graph


@pytest.mark.parametrize("allow", [False, True], ids=["no-allow-list", "allow-list"])
def test_no_trick_reaches_the_network_through_a_remote_store(oxigraph: Oxigraph, allow: bool) -> None:
    target, allowed = Listener(), Listener()
    settings: dict[str, object] = {
        "store": oxigraph.query_url,
        "update_endpoint": oxigraph.update_url,
        "store_graph": fresh_graph(),
        "write_token": WRITE_TOKEN,
    }
    if allow:
        settings["network_allow"] = (f"http://127.0.0.1:{allowed.port}",)
    site = Site(create_app(settings))
    try:
        statuses = run_tricks(site, target, allowed)
        assert target.connections == 0, statuses
        assert allowed.connections == 0, statuses
        assert all(400 <= status < 500 for status in statuses.values()), statuses
        if allow:  # the store itself makes the allowed call
            text = f"SELECT * WHERE {{ SERVICE SILENT <http://127.0.0.1:{allowed.port}/sparql> {{ ?s ?p ?o }} }}"
            assert attempt(site, "q", text) < 500
            assert target.connections == 0
    finally:
        site.close()
        target.close()
        allowed.close()
