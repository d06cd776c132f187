"""Typed settings, read from defaults, then ``CAREERKG_*`` variables, then explicit overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from service.errors import CareerKGError

if TYPE_CHECKING:
    from service.store import Store


def default_store_location() -> str:
    """An on-disk store in the per-user data folder, so writes survive restarts."""
    return str(platformdirs.user_data_path("careerkg") / "store")


@dataclass(frozen=True)
class Settings:
    """Everything the service and CLI can be configured with."""

    host: str = "127.0.0.1"
    port: int = 8080
    store: str = field(default_factory=default_store_location)
    update_endpoint: str | None = None
    store_auth: str | None = None
    store_graph: str | None = None
    workers: int = 1
    data: tuple[Path, ...] = ()
    threads: int = 8
    write_token: str | None = None
    tokens_file: str | None = None
    query_timeout: float = 10.0
    max_body: int = 10 * 1024 * 1024
    cors_origins: str = "*"
    network_allow: tuple[str, ...] = ()
    query_workers: int = 4
    query_memory: int = 1024 * 1024 * 1024  # bytes of memory one query worker may take beyond what the server has
    max_literal: int = 1024 * 1024  # characters in one literal
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-* headers are trusted

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then ``CAREERKG_<NAME>`` variables, then ``overrides`` (None values ignored)."""
        environ = os.environ if environ is None else environ
        settings = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"CAREERKG_{f.name.upper()}")
            if raw not in (None, ""):
                values[f.name] = _convert(f.name, raw, getattr(settings, f.name))
        for name, value in (overrides or {}).items():
            if value is not None:
                values[name] = value
        settings = replace(settings, **values)
        settings.check()
        return settings

    def open_store(self) -> Store:
        """The configured store."""
        from service.store import open_store

        return open_store(
            self.store,
            update_endpoint=self.update_endpoint,
            auth=self.store_auth,
            graph=self.store_graph,
            timeout=self.query_timeout + 5,
        )

    def check(self) -> None:
        """Refuse settings no service could run with."""
        if not 0 < self.port < 65536:
            raise CareerKGError(f"port {self.port} is not between 1 and 65535")
        if self.workers < 1:
            raise CareerKGError("workers must be at least 1")
        if self.workers > 1 and not self.store.startswith(("http://", "https://")):
            raise CareerKGError(
                "several workers need a remote store (--store URL): the embedded store belongs to one process"
            )
        if self.threads < 1:
            raise CareerKGError("threads must be at least 1")
        if self.query_timeout <= 0:
            raise CareerKGError("query timeout must be positive")
        if self.query_workers < 1:
            raise CareerKGError("query workers must be at least 1")
        if self.query_memory < 1024 * 1024:
            raise CareerKGError("query memory must be at least 1 MiB (1048576 bytes)")
        if self.max_body < 1:
            raise CareerKGError("max body must be positive")
        if self.max_literal < 1:
            raise CareerKGError("max literal must be positive")
        if self.proxy_hops < 0:
            raise CareerKGError("proxy hops cannot be negative")


def _convert(name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if name == "data":
            return tuple(Path(p) for p in raw.split(os.pathsep) if p)
        if isinstance(default, tuple):
            return tuple(p for p in raw.split() if p)
    except ValueError:
        raise CareerKGError(f"CAREERKG_{name.upper()}={raw!r} is not a valid value") from None
    return raw
