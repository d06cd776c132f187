"""Where the shipped ontology, shapes and curated data live."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def root() -> Path:
    """The folder holding ``ontology/`` and ``data/``: inside the wheel, or the source checkout."""
    bundled = Path(__file__).parent / "_dataset"
    if (bundled / "ontology").is_dir():
        return bundled
    return Path(__file__).resolve().parent.parent


def ontology_path() -> Path:
    """The OWL ontology (Turtle)."""
    return root() / "ontology" / "careerkg.ttl"


def shapes_path() -> Path:
    """The SHACL shapes (Turtle)."""
    return root() / "ontology" / "shapes.ttl"


def data_dir() -> Path:
    """The curated instance data: Turtle, and TriG where statements sit in their sources' graphs."""
    return root() / "data"


def default_paths() -> list[Path]:
    """The default dataset: the ontology plus every file in ``data/``."""
    return [ontology_path(), *sorted(p for p in data_dir().iterdir() if p.suffix in (".ttl", ".trig"))]


# The file ``careerkg derive-transitions`` writes into ``data/``.
DERIVED_TRANSITIONS = "derived-transitions.trig"


def source_paths() -> list[Path]:
    """The default dataset without the derived transitions: what the derivation starts from."""
    return [path for path in default_paths() if path.name != DERIVED_TRANSITIONS]
