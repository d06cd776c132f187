"""CareerKG: an open knowledge graph of the AI and ML job landscape, served as SPARQL and REST."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.app import create_app

__all__ = ["create_app"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``create_app`` on first use: ``careerkg serve``'s granian master process imports only the command line, the
    app and its libraries load in the worker (measured: 40 MiB resident in the master instead of 82)."""
    if name == "create_app":
        from service.app import create_app

        return create_app
    raise AttributeError(f"module 'service' has no attribute {name!r}")
