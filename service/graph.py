"""The app's store: opened and filled once per app, reached by views through ``get_store``."""

from __future__ import annotations

from flask import Flask, current_app

from service.config import Settings
from service.loading import ensure_filled
from service.store import Store, open_store

_EXTENSION = "careerkg.store"


def init_app(app: Flask, settings: Settings) -> None:
    """Open the configured store, fill it if empty, and keep it on the app."""
    store = open_store(settings.store if settings.store else "memory")
    ensure_filled(store, settings.data)
    app.extensions[_EXTENSION] = store


def get_store() -> Store:
    """The store of the current app."""
    store: Store = current_app.extensions[_EXTENSION]
    return store
