"""Opening a store by location: ``memory``, a folder (on disk), later an http(s) endpoint."""

from __future__ import annotations

from pathlib import Path

from service.errors import StoreError
from service.store.base import Binding, GraphName, QueryResult, Store
from service.store.embedded import EmbeddedStore

__all__ = ["Binding", "EmbeddedStore", "GraphName", "QueryResult", "Store", "open_store"]


def open_store(location: str) -> Store:
    """The store at ``location``: ``memory`` or a folder for the embedded store."""
    if location == "memory":
        return EmbeddedStore()
    if location.startswith(("http://", "https://")):
        raise StoreError(f"remote stores ({location}) are not supported yet; use 'memory' or a folder")
    path = Path(location).expanduser()
    if path.exists() and not path.is_dir():
        raise StoreError(f"--store {location}: not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return EmbeddedStore(path)
