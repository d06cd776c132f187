"""SPARQL kept in .rq files: the service's own queries (read once) and the examples shown to users."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent


@cache
def load(name: str) -> str:
    """The text of ``queries/<name>.rq``, read once."""
    return (_HERE / f"{name}.rq").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Example:
    """An example query: its title (the first comment line) and text."""

    slug: str
    title: str
    text: str


@cache
def examples() -> tuple[Example, ...]:
    """The example queries, in file order."""
    out = []
    for path in sorted((_HERE / "examples").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").strip()
        out.append(Example(path.stem, title, text))
    return tuple(out)
