"""Which requests may reach the network (SERVICE, LOAD), and which worker evaluates them.

The guarantee does not rest on reading query text:

- On the embedded store, queries and updates are evaluated by sandboxed workers that cannot create a socket
  (``service.sparql.sandbox``): however a SERVICE or LOAD is written, it reaches nothing.
- Keywords are ASCII words written out in full (SPARQL has no escapes for them), so a request whose text does
  not contain "service" or "load" in any case cannot use either. A request that does is parsed by a real SPARQL
  parser (rdflib's) and its SERVICE and LOAD targets are read from the parse; a request that parser cannot read
  is refused. That decides for remote stores (which evaluate requests themselves), and for the targets an
  operator allows (``CAREERKG_NETWORK_ALLOW``): those requests go to a worker with network access.

Allow-list entries are URLs; a target is allowed when its scheme, host and port equal an entry's (and its path
starts with the entry's path, if the entry has one). Targets with user information are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from urllib.parse import SplitResult, urlsplit

from service.errors import CareerKGError, Forbidden
from service.sparql import lexer

_MENTION = re.compile(r"service|load", re.IGNORECASE)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
MAX_NESTING = 128  # groups, lists and expressions in a query, update or Turtle document; deeper ones are refused


def mentions_network(text: str) -> bool:
    """Whether the text could name SERVICE or LOAD: the words themselves (any case), written out or with \\u
    escapes (some SPARQL parsers expand those before reading keywords). A text that does not cannot use either."""
    if _MENTION.search(text):
        return True
    return bool(_ESCAPE.search(text)) and bool(_MENTION.search(_ESCAPE.sub(_expand, text)))


def _expand(match: re.Match[str]) -> str:
    code = int(match.group(1) or match.group(2), 16)
    return chr(code) if code < 0x110000 else ""


_DEFAULT_PORTS = {"http": 80, "https": 443}


class Route(Enum):
    """Where a request is evaluated."""

    SANDBOX = "sandbox"  # a worker without network access (the embedded store)
    NETWORK = "network"  # a worker with network access (a remote store, or allowed targets)


class NetworkRefused(Forbidden):
    """The request would reach the network, and this server does not allow it."""


@dataclass(frozen=True)
class Target:
    """A parsed allow-list entry."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, text: str) -> Target:
        """An allow-list entry; CareerKGError if it is not an http(s) URL with a host and no user information."""
        parts = _split(text)
        if parts is None or parts.username is not None or parts.password is not None:
            raise CareerKGError(f"CAREERKG_NETWORK_ALLOW: {text!r} is not an http(s) URL with a host (and no user)")
        return cls(parts.scheme, parts.hostname or "", _port(parts), parts.path.rstrip("/"))

    def admits(self, iri: str) -> bool:
        """Whether a SERVICE or LOAD target is this entry's."""
        parts = _split(iri)
        if parts is None or parts.username is not None or parts.password is not None:
            return False
        if (parts.scheme, parts.hostname or "", _port(parts)) != (self.scheme, self.host, self.port):
            return False
        return not self.path or parts.path == self.path or parts.path.startswith(self.path + "/")


def _split(text: str) -> SplitResult | None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts


def _port(parts: SplitResult) -> int:
    return parts.port or _DEFAULT_PORTS[parts.scheme.lower()]


@dataclass(frozen=True)
class NetworkPolicy:
    """The allowed SERVICE/LOAD targets (none by default) and whether workers can be sandboxed."""

    allowed: tuple[Target, ...] = ()
    sandboxed: bool = True  # the embedded store, on a machine where workers drop network access

    @classmethod
    def of(cls, entries: Iterable[str], *, sandboxed: bool) -> NetworkPolicy:
        """The policy for allow-list entries (URLs)."""
        return cls(tuple(Target.parse(e) for e in entries), sandboxed)

    def refused_in_the_sandbox(self, text: str) -> bool:
        """Whether a sandboxed worker evaluates this request and refuses the SERVICE or LOAD it may use."""
        return self.sandboxed and not self.allowed and mentions_network(text)

    def route(
        self,
        text: str,
        *,
        update: bool,
        base_iri: str | None,
        targets: Callable[[str, bool, str | None], list[tuple[str, str | None]]] | None = None,
    ) -> Route:
        """Where to evaluate a query or update; NetworkRefused if it would reach a target not allowed.

        ``targets`` reads the SERVICE and LOAD targets (``parsed_targets`` unless given: the service runs it in a
        worker, with the timeout, since a parser can take long on a large request).
        """
        if not mentions_network(text):
            return Route.SANDBOX if self.sandboxed else Route.NETWORK  # no SERVICE, no LOAD: by construction
        if self.refused_in_the_sandbox(text):
            return Route.SANDBOX  # the worker says 403 (refused_operations); what it misses, the sandbox stops
        found = (targets or _targets_here)(text, update, base_iri)
        if not found:
            return Route.SANDBOX if self.sandboxed else Route.NETWORK
        operations = {operation for operation, _ in found}
        if not self.allowed:
            raise NetworkRefused(disabled(operations))
        for operation, iri in found:
            if iri is None or not any(entry.admits(iri) for entry in self.allowed):
                shown = repr(iri) if iri is not None else "a variable"
                raise NetworkRefused(f"{operation} target {shown} is not in the allow-list of this server")
        return Route.NETWORK


def refused_operations(text: str) -> set[str]:
    """The SERVICE and LOAD a request uses, read by the lexer (in a sandboxed worker: to say 403, not to guard)."""
    return lexer.network_operations(text)


def _targets_here(text: str, update: bool, base_iri: str | None) -> list[tuple[str, str | None]]:
    return parsed_targets(text, update=update, base_iri=base_iri)


def disabled(operations: Iterable[str]) -> str:
    return (
        f"{' and '.join(sorted(operations))} would reach the network and is disabled on this server "
        "(an operator can allow targets with CAREERKG_NETWORK_ALLOW)"
    )


def parsed_targets(text: str, *, update: bool, base_iri: str | None) -> list[tuple[str, str | None]]:
    """Every SERVICE and LOAD of a request with its target IRI (None for a variable), from a real parse.

    NetworkRefused when the parser cannot read the request: what cannot be checked is not sent.
    """
    from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    if _ESCAPE.search(text):  # parsers expand \u escapes at different moments: no reading is sure to be the store's
        raise NetworkRefused("the request mentions SERVICE or LOAD and uses \\u escapes: it cannot be checked")
    try:
        if update:
            algebra: object = translateUpdate(parseUpdate(text), base=base_iri).algebra
        else:
            algebra = translateQuery(parseQuery(text), base=base_iri).algebra
    except RecursionError:
        raise NetworkRefused("the request mentions SERVICE or LOAD and is nested too deeply to be checked") from None
    except Exception as exc:  # any failure to read it: refuse, do not guess
        raise NetworkRefused(
            f"the request mentions SERVICE or LOAD in a way this server cannot check ({type(exc).__name__})"
        ) from None
    found: list[tuple[str, str | None]] = []
    _walk(algebra, found)
    written = [t for t in lexer.keywords(text) if t.text in ("SERVICE", "LOAD")]
    if len(written) != len(found):  # the two readings disagree: send nothing
        raise NetworkRefused("the request's SERVICE and LOAD could not be read the same way twice; it is not sent")
    return found


def _walk(node: object, found: list[tuple[str, str | None]]) -> None:
    from rdflib.plugins.sparql.parserutils import CompValue
    from rdflib.term import URIRef

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "ServiceGraphPattern":
                term = item.get("term")
                found.append(("SERVICE", str(term) if isinstance(term, URIRef) else None))
            elif item.name == "Load":
                term = item.get("iri")
                found.append(("LOAD", str(term) if isinstance(term, URIRef) else None))
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def nesting_depth(text: str) -> int:
    """How deep braces, parentheses and brackets nest outside strings, IRIs and comments."""
    depth = deepest = 0
    for token in lexer.tokens(text):
        if token.text in ("{", "(", "["):
            depth += 1
            deepest = max(deepest, depth)
        elif token.text in ("}", ")", "]"):
            depth -= 1
    return deepest


def check_nesting(text: str, what: str, limit: int = MAX_NESTING) -> None:
    """400 for a request nested deeper than ``limit`` (the engine's parser recurses on nesting)."""
    if text.count("{") + text.count("(") + text.count("[") <= limit:
        return  # fewer opening characters than the limit: it cannot nest deeper, no need to read it token by token
    if nesting_depth(text) > limit:
        from service.errors import BadRequest

        raise BadRequest(f"the {what} nests groups, lists or expressions more than {limit} deep; simplify it")


__all__: Sequence[str] = ["NetworkPolicy", "NetworkRefused", "Route", "Target", "check_nesting", "parsed_targets"]
