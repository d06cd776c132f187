"""Opening a store by location: ``memory``, a folder (on disk), or an http(s) SPARQL endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.errors import StoreError
from service.rdfio import is_absolute_iri
from service.store.base import Binding, GraphName, QueryResult, Store, StoreConflict, StoreUnavailable
from service.store.embedded import EmbeddedStore

if TYPE_CHECKING:
    from service.store.remote import Endpoint, RemoteStore

__all__ = [
    "Binding",
    "EmbeddedStore",
    "Endpoint",
    "GraphName",
    "QueryResult",
    "RemoteStore",
    "Store",
    "StoreConflict",
    "StoreUnavailable",
    "is_remote",
    "open_store",
]


def __getattr__(name: str) -> Any:
    """The remote store's classes, imported when first asked for: a server on the embedded store never needs them,
    nor the HTTP client they import (0.2 s of a worker's start)."""
    if name in ("Endpoint", "RemoteStore"):
        from service.store import remote

        return getattr(remote, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_remote(location: str) -> bool:
    """Whether a store location names a SPARQL endpoint."""
    return location.startswith(("http://", "https://"))


def open_store(
    location: str,
    *,
    update_endpoint: str | None = None,
    auth: str | None = None,
    graph: str | None = None,
    timeout: float = 30.0,
) -> Store:
    """The store at ``location``: ``memory``, a folder for the embedded store, or an http(s) SPARQL endpoint."""
    if not is_remote(location) and (update_endpoint or auth or graph):
        raise StoreError(
            "--update-endpoint, --store-auth and --store-graph are for remote stores (an http(s) --store URL)"
        )
    if location == "memory":
        return EmbeddedStore()
    if is_remote(location):
        if graph is not None and not is_absolute_iri(graph):
            raise StoreError(f"--store-graph {graph}: not an absolute IRI")
        from service.store.remote import Endpoint, RemoteStore

        return RemoteStore(Endpoint(location, update_endpoint, auth, graph, read_timeout=timeout))
    path = Path(location).expanduser()
    if path.exists() and not path.is_dir():
        raise StoreError(f"--store {location}: not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return EmbeddedStore(path)
