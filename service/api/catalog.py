"""The REST API's domain: lists, details, search, and career analytics over the graph.

Every query is a .rq file run through the store interface with bindings; the label index and the role
profiles are built once per dataset version and reused until the next write.
"""

from __future__ import annotations

import contextvars
import copy
import sys
import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyoxigraph as ox

from service import queries
from service.errors import NotFound
from service.namespaces import CKG, CREDENTIAL_KINDS, DCTERMS, ESCO, ID, RDF, RDFS, RESOURCE_IRI, SCHEMA, SKOS
from service.store import Store

# The statements ``Catalog.detail`` fetched ahead for the resource it is shaping (per call, per thread).
_PREFETCHED: contextvars.ContextVar[dict[str, dict[str, list[Any]]] | None] = contextvars.ContextVar(
    "careerkg_prefetched", default=None
)

# The kinds with REST collections: URL segment -> IRI kind.
COLLECTIONS = {
    "roles": "role",
    "skills": "skill",
    "tools": "tool",
    "industries": "industry",
    "applications": "application",
    "credentials": "credential",
}
LISTED_KINDS = tuple(COLLECTIONS.values())
TYPE = RDF + "type"
SKILL_TYPES = {
    "http://data.europa.eu/esco/skill-type/knowledge": "knowledge",
    "http://data.europa.eu/esco/skill-type/skill": "skill",
}
PAY_LEVELS = {
    CKG + "Higher": "higher",
    CKG + "SlightlyHigher": "slightly higher",
    CKG + "Comparable": "comparable",
    CKG + "SlightlyLower": "slightly lower",
    CKG + "Lower": "lower",
}


def iri(kind: str, slug: str) -> str:
    return f"{ID}{kind}/{slug}"


# Texts of one resource in several languages, flat: (tag, text, tag, text, ...). An index holds three per resource,
# 150,000 resources at a million triples: a flat tuple is a third of the memory of a dict or of a tuple of pairs.
Texts = tuple[str, ...]


@dataclass(slots=True)
class Entry:
    """A resource in the label index (slotted and flat: one per resource, 150,000 at a million triples). Its
    descriptions stay in the store (``description``): only a search for words, and the details, read them."""

    iri: str
    kind: str
    labels: Texts | str = ()  # one per language; a lone English label as itself (no tuple: 10 MiB at 1M triples)
    alt: Texts = ()  # any number per language

    @property
    def slug(self) -> str:
        return self.iri[len(ID) + len(self.kind) + 1 :]

    def label(self, lang: str) -> str:
        if isinstance(self.labels, str):
            return self.labels or self.slug
        return _pick(self.labels, lang) or self.slug

    def labels_by_language(self) -> dict[str, str]:
        labels = ("en", self.labels) if isinstance(self.labels, str) else self.labels
        return dict(zip(labels[::2], labels[1::2], strict=True))

    def alt_labels(self, lang: str) -> list[str]:
        primary = lang.split("-", maxsplit=1)[0].lower()
        pairs = list(zip(self.alt[::2], self.alt[1::2], strict=True))
        return [text for tag, text in pairs if tag.split("-")[0].lower() == primary] or (
            [text for tag, text in pairs if tag == "en"] if primary != "en" else []
        )

    def item(self, lang: str, **extra: Any) -> dict[str, Any]:
        return {"id": self.slug, "iri": self.iri, "label": self.label(lang), "type": self.kind, **extra}


DESCRIBED_BY = (DCTERMS + "description", RDFS + "comment")


def descriptions(statements: Mapping[str, Sequence[Any]]) -> Texts:
    """A resource's descriptions, one per language, from its statements by predicate."""
    texts: Texts = ()
    for predicate in DESCRIBED_BY:
        for value in statements.get(predicate, ()):
            if isinstance(value, ox.Literal):
                texts = _with(texts, value.language or "", value.value, replace=False)
    return texts


def description(statements: Mapping[str, Sequence[Any]], lang: str) -> str | None:
    """The description in ``lang``, else its primary language, else English, else any."""
    return _pick(descriptions(statements), lang)


def description_language(statements: Mapping[str, Sequence[Any]], lang: str) -> str | None:
    """The language of ``description(statements, lang)``."""
    texts = descriptions(statements)
    at = _picked(texts, lang)
    return None if at is None else texts[at]


def _pick(texts: Texts, lang: str) -> str | None:
    """The text in ``lang``, else its primary language, else English, else any."""
    at = _picked(texts, lang)
    return None if at is None else texts[at + 1]


def _picked(texts: Texts, lang: str) -> int | None:
    """Where the language tag of the text ``_pick`` takes is in ``texts``."""
    if not texts:
        return None
    tags = texts[::2]
    if lang in tags:
        return 2 * tags.index(lang)
    primary = lang.split("-", maxsplit=1)[0].lower()
    for at, tag in enumerate(tags):
        if tag.split("-")[0].lower() == primary:
            return 2 * at
    for fallback in ("en", ""):
        if fallback in tags and texts[(at := 2 * tags.index(fallback)) + 1]:
            return at
    return 0


def _with(texts: Texts, tag: str, text: str, *, replace: bool) -> Texts:
    """``texts`` with ``text`` in language ``tag``: instead of the one there if ``replace``, else only if none is."""
    tags = texts[::2]
    if tag not in tags:
        return (*texts, tag, text)
    if not replace:
        return texts
    at = 2 * tags.index(tag)
    return (*texts[: at + 1], text, *texts[at + 2 :])


def served_language(lang: str, offered: Iterable[str]) -> str:
    """The language an answer asked for in ``lang`` is served in: ``lang`` if the data has it, else its primary
    language, else English."""
    languages = set(offered)
    primary = lang.split("-", 1)[0].lower()
    return lang if lang in languages else primary if primary in languages else "en"


@dataclass(slots=True)
class Hop:
    """One career transition: its two roles, its bridging and shared skills, and whether CareerKG derived it
    (slotted, skills in tuples: 13,000 transitions at a million triples)."""

    start: str
    end: str
    bridging: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    derived: bool = False


@dataclass
class Index:
    """Every CareerKG resource with its labels, by IRI and by kind (sorted by English label)."""

    by_iri: dict[str, Entry]
    by_kind: dict[str, list[Entry]]
    languages: list[str]
    # role IRI -> property -> object IRIs (compare, gap, match; ``Catalog.linked`` gives one as a set)
    profiles: dict[str, dict[str, tuple[str, ...]]]
    # transition IRI -> its roles and skills
    transitions: dict[str, Hop]
    # (kind, slug, lang) -> detail, filled as details are asked for; an index lives for one dataset version
    details: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    # (kind, language) -> the entries sorted by their label in that language (English: by_kind itself)
    orders: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)

    MAX_DETAILS: ClassVar[int] = 4096


class Catalog:
    """The REST domain over one store; call ``refresh(version)`` before use after writes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._version: object = None

    # --- the per-version index ---------------------------------------------------------

    def index(self, version: object) -> Index:
        """The index for this dataset version, built on first use after a change."""
        with self._lock:
            if self._index is None or self._version != version:
                self._index = self._build()
                self._version = version
            return self._index

    def _build(self) -> Index:
        by_iri: dict[str, Entry] = {}
        languages: set[str] = set()
        for row in self._select("index-labels"):
            value = row["item"].value
            match = RESOURCE_IRI.match(value)
            if match is None:
                continue
            entry = by_iri.get(value)
            if entry is None:
                entry = by_iri[value] = Entry(value, sys.intern(match.group("kind")))
            text: ox.Literal = row["text"]
            lang = sys.intern(text.language or "")  # one "en" for 300,000 texts
            field_name = row["field"].value
            if field_name == "label":
                if lang == "en" and (isinstance(entry.labels, str) or not entry.labels):
                    entry.labels = text.value  # no label yet, or only English: the string alone (no tuple made)
                else:
                    labels = entry.labels if isinstance(entry.labels, tuple) else ("en", entry.labels)
                    entry.labels = _with(labels, lang, text.value, replace=True)
                if lang:
                    languages.add(lang)
            else:
                entry.alt = (*entry.alt, lang, text.value)
        by_kind: dict[str, list[Entry]] = defaultdict(list)
        for entry in by_iri.values():
            if entry.labels:
                by_kind[entry.kind].append(entry)
        for entries in by_kind.values():
            entries.sort(key=lambda e: (e.label("en").casefold(), e.slug))

        def same(value: str) -> str:
            """One string per IRI: the index entry's own, else an interned one (a few hundred skills and tools are
            named by thousands of roles)."""
            entry = by_iri.get(value)
            return entry.iri if entry is not None else sys.intern(value)

        linked: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for row in self._select("role-profiles"):
            linked[same(row["role"].value)][sys.intern(row["p"].value)].add(same(row["o"].value))
        # Kept as tuples (a set takes four times the memory; 13,000 roles at a million triples).
        profiles = {role: {p: tuple(objects) for p, objects in links.items()} for role, links in linked.items()}
        del linked
        transitions: dict[str, Hop] = {}
        for row in self._select("transitions"):
            key = same(row["transition"].value)
            if key not in transitions:
                derived = row["derived"] is not None
                transitions[key] = Hop(same(row["from"].value), same(row["to"].value), derived=derived)
        skills: dict[tuple[str, bool], list[str]] = defaultdict(list)
        for row in self._select("transition-skills"):
            if row["transition"].value in transitions:
                skills[row["transition"].value, row["kind"].value == "bridging"].append(same(row["skill"].value))
        for (key, bridging), found in skills.items():
            if bridging:
                transitions[key].bridging = tuple(found)
            else:
                transitions[key].shared = tuple(found)
        del skills
        return Index(by_iri, dict(by_kind), sorted(languages), profiles, transitions)

    def _select(self, name: str, **bindings: ox.NamedNode | ox.Literal) -> ox.QuerySolutions:
        result = self.store.query(queries.load(name), bindings=bindings or None)
        assert isinstance(result, ox.QuerySolutions)
        return result

    # --- lookups -------------------------------------------------------------------------

    def entry(self, index: Index, kind: str, slug: str) -> Entry:
        """The entry of a resource, or 404."""
        found = index.by_iri.get(iri(kind, slug))
        if found is None:
            raise NotFound(f"no {kind} with id {slug!r}")
        return found

    def items(self, index: Index, iris: Iterable[str], lang: str, kind: str | None = None) -> list[dict[str, Any]]:
        """List items for IRIs known to the index, sorted by label."""
        entries = [
            index.by_iri[i] for i in set(iris) if i in index.by_iri and (kind is None or index.by_iri[i].kind == kind)
        ]
        entries.sort(key=lambda e: (e.label(lang).casefold(), e.slug))
        return [e.item(lang) for e in entries]

    def linked_subjects(self, predicate: str, obj: str) -> set[str]:
        return {r["s"].value for r in self._select("subjects-linked", p=ox.NamedNode(predicate), o=ox.NamedNode(obj))}

    # --- lists -----------------------------------------------------------------------------

    def entries(
        self, index: Index, kind: str, lang: str, q: str | None, filters: dict[str, set[str] | None]
    ) -> list[Entry]:
        """Entries of a kind in the order of their labels in ``lang``, kept by text and by every given filter (a set
        of allowed IRIs)."""
        entries = self.ordered(index, kind, lang)
        for allowed in filters.values():
            if allowed is not None:
                entries = [e for e in entries if e.iri in allowed]
        if q:
            needle = q.casefold()
            entries = [
                e
                for e in entries
                if needle in e.label(lang).casefold() or any(needle in a.casefold() for a in e.alt_labels(lang))
            ]
        return entries

    def ordered(self, index: Index, kind: str, lang: str) -> list[Entry]:
        """The entries of a kind sorted by their labels in ``lang`` (its primary language; English if the data has
        neither), built once per index and language."""
        served = served_language(lang, index.languages)
        if served == "en":
            return index.by_kind.get(kind, [])
        key = (kind, served)
        found = index.orders.get(key)
        if found is None:
            found = sorted(index.by_kind.get(kind, []), key=lambda e: (e.label(served).casefold(), e.slug))
            index.orders[key] = found
        return found

    def role_filters(
        self, skill: str | None, tool: str | None, industry: str | None, credential: str | None
    ) -> dict[str, set[str] | None]:
        out: dict[str, set[str] | None] = {}
        if skill:
            target = iri("skill", skill)
            out["skill"] = self.linked_subjects(CKG + "essentialSkill", target) | self.linked_subjects(
                CKG + "optionalSkill", target
            )
        if tool:
            out["tool"] = self.linked_subjects(CKG + "usesTool", iri("tool", tool))
        if industry:
            out["industry"] = self.linked_subjects(CKG + "inIndustry", iri("industry", industry))
        if credential:
            target = iri("credential", credential)
            out["credential"] = self.linked_subjects(CKG + "requiredCredential", target) | self.linked_subjects(
                CKG + "recommendedCredential", target
            )
        return out

    def skills_under(self, category: str) -> set[str]:
        result = set()
        for kind in ("skill-category", "skill"):
            result |= {
                r["skill"].value for r in self._select("skills-under", category=ox.NamedNode(iri(kind, category)))
            }
        return result

    def typed(self, cls: str) -> set[str]:
        return {r["item"].value for r in self._select("typed", **{"class": ox.NamedNode(cls)})}

    # --- search ------------------------------------------------------------------------------

    def search(self, index: Index, q: str, kind: str | None, lang: str) -> list[Entry]:
        """Ranked: exact label, label prefix, label word prefix, alternative label, description words."""
        needle = q.casefold().strip()
        words = [w for w in needle.split() if w]
        described = self._described_with(q, lang) if words else {}
        ranked: list[tuple[int, str, Entry]] = []
        for entry_kind in (kind,) if kind else LISTED_KINDS:
            for entry in index.by_kind.get(entry_kind, []):
                label = entry.label(lang).casefold()
                alts = [a.casefold() for a in entry.alt_labels(lang)]
                description = described.get(entry.iri, "")
                if label == needle:
                    rank = 0
                elif label.startswith(needle):
                    rank = 1
                elif any(part.startswith(needle) for part in label.split()) or needle in label:
                    rank = 2
                elif any(a == needle for a in alts):
                    rank = 3
                elif any(needle in a for a in alts):
                    rank = 4
                elif words and all(w in description for w in words):
                    rank = 5
                else:
                    continue
                ranked.append((rank, label, entry))
        ranked.sort(key=lambda r: (r[0], len(r[1]), r[1]))
        return [entry for _, _, entry in ranked]

    def _described_with(self, q: str, lang: str) -> dict[str, str]:
        """Resource -> its description in ``lang`` (as ``description`` picks it), case-folded, for the resources
        with a description holding the query's longest word; the store finds those, not a scan of the index."""
        word = max(q.lower().split(), key=len)
        found: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for row in self._select("described-with", word=ox.Literal(word)):
            found[row["item"].value][row["p"].value].append(row["text"])
        return {item: (description(statements, lang) or "").casefold() for item, statements in found.items()}

    def suggest(self, index: Index, q: str, kind: str | None, lang: str, limit: int) -> list[dict[str, Any]]:
        """Prefix matches on labels, then alternative labels, in the requested language."""
        needle = q.casefold()
        found: list[tuple[int, str, Entry, str]] = []
        for entry_kind in (kind,) if kind else LISTED_KINDS:
            for entry in index.by_kind.get(entry_kind, []):
                label = entry.label(lang)
                if label.casefold().startswith(needle):
                    found.append((0, label.casefold(), entry, label))
                    continue
                alt = next((a for a in entry.alt_labels(lang) if a.casefold().startswith(needle)), None)
                if alt is not None:
                    found.append((1, alt.casefold(), entry, alt))
        found.sort(key=lambda f: (f[0], len(f[1]), f[1]))
        return [entry.item(lang, matched=text) for _, _, entry, text in found[:limit]]

    # --- details -----------------------------------------------------------------------------

    def _outgoing(self, subject: str) -> dict[str, list[ox.NamedNode | ox.BlankNode | ox.Literal]]:
        """Statements about a resource in the default graph, by predicate (an indexed pattern lookup).

        Within ``detail`` the statements of the resources it will show are fetched together first
        (one round trip on a remote store instead of one per resource).
        """
        prefetched = _PREFETCHED.get()
        if prefetched is not None and subject in prefetched:
            return prefetched[subject]
        grouped: dict[str, list[Any]] = defaultdict(list)
        for quad in self.store.quads_of(subject=ox.NamedNode(subject)):
            if isinstance(quad.graph_name, ox.DefaultGraph):
                grouped[quad.predicate.value].append(quad.object)
        return grouped

    def statements_about(self, subjects: Iterable[str]) -> dict[str, dict[str, list[Any]]]:
        """The default-graph statements of several resources, by subject and predicate, in one lookup."""
        wanted = sorted(set(subjects))
        found: dict[str, dict[str, list[Any]]] = {s: defaultdict(list) for s in wanted}
        for quad in self.store.quads_about([ox.NamedNode(s) for s in wanted]):
            if isinstance(quad.graph_name, ox.DefaultGraph) and isinstance(quad.subject, ox.NamedNode):
                found[quad.subject.value][quad.predicate.value].append(quad.object)
        return found

    def _incoming(self, obj: str) -> dict[str, list[str]]:
        """Resources pointing at one, in the default graph, by predicate (an indexed pattern lookup)."""
        grouped: dict[str, list[str]] = defaultdict(list)
        for quad in self.store.quads_of(obj=ox.NamedNode(obj)):
            if isinstance(quad.graph_name, ox.DefaultGraph) and isinstance(quad.subject, ox.NamedNode):
                grouped[quad.predicate.value].append(quad.subject.value)
        return grouped

    def detail(self, index: Index, kind: str, slug: str, lang: str) -> dict[str, Any]:
        """Everything the graph says of a resource, shaped for its kind (kept with the index until a write)."""
        key = (kind, slug, lang)
        cached = index.details.get(key)
        if cached is None:
            cached = self._fetch_detail(index, kind, slug, lang)
            if len(index.details) >= index.MAX_DETAILS:
                index.details.clear()
            index.details[key] = cached
        return copy.deepcopy(cached)

    def _fetch_detail(self, index: Index, kind: str, slug: str, lang: str) -> dict[str, Any]:
        entry = self.entry(index, kind, slug)
        out = self._outgoing(entry.iri)
        inc = self._incoming(entry.iri)
        nested = [
            *_iris(out.get(DCTERMS + "source", [])),
            *_iris(out.get(CKG + "hasResponsibility", [])),
            *_iris(out.get(CKG + "level", [])),
            *inc.get(CKG + "aboutRole", []),
            *inc.get(CKG + "fromRole", []),  # the transitions, for their descriptions
            *inc.get(CKG + "toRole", []),
        ]
        token = _PREFETCHED.set(self.statements_about(nested) if nested else {})
        try:
            return self._detail(index, entry, kind, out, inc, lang=lang)
        finally:
            _PREFETCHED.reset(token)

    def _detail(
        self, index: Index, entry: Entry, kind: str, out: dict[str, list[Any]], inc: dict[str, list[str]], *, lang: str
    ) -> dict[str, Any]:

        said = self.stated_by(entry.iri)

        def stated(predicate: str, target: str) -> list[str]:
            """The ids of the sources that state the link."""
            return [iri.rsplit("/", 1)[1] for iri in said.get((predicate, ox.NamedNode(target)), [])]

        def refs(predicate: str, target_kind: str | None = None) -> list[dict[str, Any]]:
            linked = self.items(
                index, (o.value for o in out.get(predicate, []) if isinstance(o, ox.NamedNode)), lang, target_kind
            )
            for item in linked:
                item["stated_by"] = stated(predicate, item["iri"])
            return linked

        def back(predicate: str) -> list[dict[str, Any]]:
            return self.items(index, inc.get(predicate, []), lang)

        def texts(predicate: str) -> list[str]:
            literals = [o for o in out.get(predicate, []) if isinstance(o, ox.Literal)]
            return _in_language(literals, lang)

        def text(predicate: str) -> str | None:
            values = texts(predicate)
            return values[0] if values else None

        matches = [
            o.value
            for p in (SKOS + "exactMatch", SKOS + "closeMatch")
            for o in out.get(p, [])
            if isinstance(o, ox.NamedNode)
        ]
        detail: dict[str, Any] = {
            **entry.item(lang),
            "labels": dict(sorted((k or "und", v) for k, v in entry.labels_by_language().items())),
            "alt_labels": entry.alt_labels(lang),
            "description": description(out, lang),
            "external_ids": {
                "onet_soc": sorted(
                    o.value for o in out.get(SCHEMA + "occupationalCategory", []) if isinstance(o, ox.Literal)
                ),
                "esco": sorted(m for m in matches if m.startswith("http://data.europa.eu/esco/")),
                "wikidata": sorted(m for m in matches if m.startswith("http://www.wikidata.org/entity/")),
            },
            "sources": self._sources(index, out, lang),
        }
        if kind == "role":
            detail.update(
                fields=refs(CKG + "field"),
                levels=sorted(
                    (
                        level
                        for lv in _iris(out.get(CKG + "level", []))
                        if (level := self._level(index, lv, lang, stated(CKG + "level", lv))) is not None
                    ),
                    key=lambda level: (level["ladder"]["label"].casefold(), level["rank"]),
                ),
                demand_outlook=text(CKG + "demandOutlook"),
                responsibilities=[
                    {
                        **self._responsibility(index, r, lang),
                        "stated_by": stated(CKG + "hasResponsibility", r),
                    }
                    for r in _iris(out.get(CKG + "hasResponsibility", []))
                ],
                essential_skills=refs(CKG + "essentialSkill"),
                optional_skills=refs(CKG + "optionalSkill"),
                tools=refs(CKG + "usesTool"),
                industries=refs(CKG + "inIndustry"),
                applications=refs(CKG + "worksOnApplication"),
                credentials={
                    "required": refs(CKG + "requiredCredential"),
                    "recommended": refs(CKG + "recommendedCredential"),
                },
                salary_insights=[self._salary(index, s, lang) for s in sorted(inc.get(CKG + "aboutRole", []))],
                transitions_to=[self._transition(index, t, lang) for t in sorted(inc.get(CKG + "fromRole", []))],
                transitions_from=[self._transition(index, t, lang) for t in sorted(inc.get(CKG + "toRole", []))],
            )
            detail["responsibilities"].sort(key=lambda r: r["label"].casefold())
        elif kind == "skill":
            detail.update(
                skill_type=next(
                    (SKILL_TYPES[t] for t in _iris(out.get(ESCO + "skillType", [])) if t in SKILL_TYPES), None
                ),
                broader=refs(SKOS + "broader"),
                narrower=back(SKOS + "broader"),
                related=refs(SKOS + "related"),
                scope_note=text(SKOS + "scopeNote"),
                essential_for=back(CKG + "essentialSkill"),
                optional_for=back(CKG + "optionalSkill"),
                tools=back(CKG + "supportsSkill"),
            )
        elif kind == "tool":
            detail.update(
                categories=refs(CKG + "toolCategory"),
                developer=text(CKG + "developer"),
                licence=text(CKG + "licence"),
                strengths=texts(CKG + "strength"),
                skills=refs(CKG + "supportsSkill"),
                interface_to=refs(CKG + "interfaceTo"),
                programming_languages=refs(CKG + "programmingLanguage"),
                roles=back(CKG + "usesTool"),
            )
        elif kind == "industry":
            linked = inc.get(CKG + "inIndustry", [])
            detail.update(
                applications=self.items(index, linked, lang, "application"),
                roles=self.items(index, linked, lang, "role"),
            )
        elif kind == "application":
            detail.update(
                industries=refs(CKG + "inIndustry"),
                technologies=refs(CKG + "technology"),
                benefits=texts(CKG + "benefit"),
                roles=back(CKG + "worksOnApplication"),
            )
        elif kind == "credential":
            classes = {o.value for o in out.get(TYPE, []) if isinstance(o, ox.NamedNode)}
            detail.update(
                kind=next((k for k, cls in CREDENTIAL_KINDS.items() if cls in classes), None),
                level=next((o.value for o in out.get(CKG + "educationLevel", []) if isinstance(o, ox.Literal)), None),
                subjects=refs(CKG + "subject"),
                required_for=back(CKG + "requiredCredential"),
                recommended_for=back(CKG + "recommendedCredential"),
            )
        return detail

    def stated_by(self, subject: str) -> dict[tuple[str, Any], list[str]]:
        """Who says so: for each statement about a resource, keyed by its predicate's IRI and its object (a term),
        the IRIs of the source documents its record cites (docs/provenance.md)."""
        said: dict[tuple[str, Any], list[str]] = defaultdict(list)
        for row in self._select("stated-by", this=ox.NamedNode(subject)):
            said[(row["p"].value, row["o"])].append(row["source"].value)
        return {key: sorted(sources) for key, sources in said.items()}

    def _sources(self, index: Index, out: dict[str, list[Any]], lang: str) -> list[dict[str, Any]]:
        sources = []
        for source in sorted(_iris(out.get(DCTERMS + "source", []))):
            entry = index.by_iri.get(source)
            if entry is None:
                continue
            props = self._outgoing(source)
            titles = [o for o in props.get(DCTERMS + "title", []) if isinstance(o, ox.Literal)]
            dates = [o.value for o in props.get(DCTERMS + "date", []) if isinstance(o, ox.Literal)]
            urls = [o.value for o in props.get(SCHEMA + "url", []) if isinstance(o, ox.NamedNode)]
            sources.append(
                entry.item(
                    lang,
                    title=next(iter(_in_language(titles, lang)), None),
                    creator=sorted(o.value for o in props.get(DCTERMS + "creator", []) if isinstance(o, ox.Literal)),
                    date=dates[0] if dates else None,
                    url=urls[0] if urls else None,
                )
            )
        return sources

    def _responsibility(self, index: Index, subject: str, lang: str) -> dict[str, Any]:
        entry = index.by_iri.get(subject)
        out = self._outgoing(subject)
        base = (
            entry.item(lang)
            if entry
            else {"id": subject.rsplit("/", 1)[-1], "iri": subject, "label": subject, "type": "responsibility"}
        )
        return {
            **base,
            "description": description(out, lang),
            "skills": self.items(index, _iris(out.get(CKG + "involvesSkill", [])), lang),
        }

    def _level(self, index: Index, subject: str, lang: str, stated_by: list[str]) -> dict[str, Any] | None:
        entry = index.by_iri.get(subject)
        out = self._outgoing(subject)
        ranks = [o.value for o in out.get(CKG + "rank", []) if isinstance(o, ox.Literal)]
        ladders = self.items(index, _iris(out.get(SKOS + "inScheme", [])), lang)
        if entry is None or not ranks or not ladders:
            return None
        return entry.item(lang, rank=int(ranks[0]), ladder=ladders[0], stated_by=stated_by)

    def _salary(self, index: Index, subject: str, lang: str) -> dict[str, Any]:
        entry = index.by_iri[subject]
        out = self._outgoing(subject)
        compared = self.items(index, _iris(out.get(CKG + "comparedWith", [])), lang)
        levels = _iris(out.get(CKG + "relativePay", []))
        figures = []
        for figure in _iris(out.get(CKG + "salaryFigure", [])):
            props = self._outgoing(figure)
            figures.append(
                {
                    "iri": figure,
                    "currency": _first_value(props.get(SCHEMA + "currency")),
                    "min": _number(props.get(SCHEMA + "minValue")),
                    "max": _number(props.get(SCHEMA + "maxValue")),
                    "percentile10": _number(props.get(SCHEMA + "percentile10")),
                    "percentile25": _number(props.get(SCHEMA + "percentile25")),
                    "median": _number(props.get(SCHEMA + "median")),
                    "percentile75": _number(props.get(SCHEMA + "percentile75")),
                    "percentile90": _number(props.get(SCHEMA + "percentile90")),
                    "period": _first_value(props.get(SCHEMA + "duration")),
                    "date": _first_value(props.get(DCTERMS + "date")),
                    "sources": self._sources(index, props, lang),
                }
            )
        return {
            **entry.item(lang),
            "description": description(out, lang),
            "compared_with": compared[0] if compared else None,
            "relative_pay": PAY_LEVELS.get(levels[0]) if levels else None,
            "pay_factors": _in_language([o for o in out.get(CKG + "payFactor", []) if isinstance(o, ox.Literal)], lang),
            "high_pay_locations": _in_language(
                [o for o in out.get(CKG + "highPayLocation", []) if isinstance(o, ox.Literal)], lang
            ),
            "reasons": _in_language([o for o in out.get(CKG + "reason", []) if isinstance(o, ox.Literal)], lang),
            "figures": figures,
            "sources": self._sources(index, out, lang),
        }

    def _transition(self, index: Index, subject: str, lang: str) -> dict[str, Any]:
        entry = index.by_iri[subject]
        hop = index.transitions[subject]
        return {
            **entry.item(lang),
            "description": description(self._outgoing(subject), lang),
            **self._hop(index, hop, lang),
            "shared_skills": self.items(index, hop.shared, lang),
        }

    # --- analytics ------------------------------------------------------------------------------

    FEATURES: ClassVar[dict[str, tuple[str, ...]]] = {
        "skills": (CKG + "essentialSkill", CKG + "optionalSkill"),
        "tools": (CKG + "usesTool",),
        "industries": (CKG + "inIndustry",),
        "applications": (CKG + "worksOnApplication",),
        "credentials": (CKG + "requiredCredential", CKG + "recommendedCredential"),
    }

    @staticmethod
    def linked(index: Index, role: str, predicate: str) -> set[str]:
        """What one of a role's one-hop links points at (only the asked-for link made a set)."""
        return set(index.profiles.get(role, {}).get(predicate, ()))

    def _features(self, index: Index, role: str) -> dict[str, set[str]]:
        profile = index.profiles.get(role, {})
        return {
            name: set().union(*(profile.get(p, ()) for p in predicates)) for name, predicates in self.FEATURES.items()
        }

    def compare(self, index: Index, slugs: Sequence[str], lang: str) -> dict[str, Any]:
        entries = [self.entry(index, "role", s) for s in dict.fromkeys(slugs)]  # a role named twice counts once
        features = {e.slug: self._features(index, e.iri) for e in entries}
        shared = {name: set.intersection(*(f[name] for f in features.values())) for name in self.FEATURES}
        everything = {name: set.union(*(f[name] for f in features.values())) for name in self.FEATURES}
        distinct = {}
        for slug, own in features.items():
            others = [f for s, f in features.items() if s != slug]
            distinct[slug] = {
                name: self.items(index, own[name] - set().union(*(o[name] for o in others)), lang)
                for name in self.FEATURES
            }
        union_size = sum(len(v) for v in everything.values())
        similarity = sum(len(v) for v in shared.values()) / union_size if union_size else 1.0
        return {
            "roles": [e.item(lang) for e in entries],
            "shared": {name: self.items(index, values, lang) for name, values in shared.items()},
            "distinct": distinct,
            "similarity": round(similarity, 4),
        }

    def gap(
        self, index: Index, target: str, *, start: str | None, skills: list[str], tools: list[str], lang: str
    ) -> dict[str, Any]:
        role = self.entry(index, "role", target)
        starting = None
        have_skills = {iri("skill", s) for s in skills}
        have_tools = {iri("tool", t) for t in tools}
        if start:
            starting = self.entry(index, "role", start)
            mine = self._features(index, starting.iri)
            have_skills |= mine["skills"]
            have_tools |= mine["tools"]
        essential = self.linked(index, role.iri, CKG + "essentialSkill")
        optional = self.linked(index, role.iri, CKG + "optionalSkill") - essential
        coverage = len(essential & have_skills) / len(essential) if essential else 1.0
        return {
            "role": role.item(lang),
            "starting_from": starting.item(lang) if starting else None,
            "have_skills": self.items(index, have_skills & (essential | optional), lang),
            "missing_essential_skills": self.items(index, essential - have_skills, lang),
            "missing_optional_skills": self.items(index, optional - have_skills, lang),
            "tools_to_learn": self.items(index, self.linked(index, role.iri, CKG + "usesTool") - have_tools, lang),
            "coverage": round(coverage, 4),
            "unknown_skills": sorted(s for s in skills if iri("skill", s) not in index.by_iri),
            "unknown_tools": sorted(t for t in tools if iri("tool", t) not in index.by_iri),
        }

    def match(self, index: Index, skills: list[str], tools: list[str], limit: int, lang: str) -> dict[str, Any]:
        have_skills = {iri("skill", s) for s in skills if iri("skill", s) in index.by_iri}
        have_tools = {iri("tool", t) for t in tools if iri("tool", t) in index.by_iri}
        results: list[dict[str, Any]] = []
        for role in index.by_kind.get("role", []):
            essential = self.linked(index, role.iri, CKG + "essentialSkill")
            optional = self.linked(index, role.iri, CKG + "optionalSkill") - essential
            role_tools = self.linked(index, role.iri, CKG + "usesTool")
            weight = 2 * len(essential) + len(optional) + len(role_tools)
            gained = 2 * len(essential & have_skills) + len(optional & have_skills) + len(role_tools & have_tools)
            score = gained / weight if weight else 0.0
            results.append(
                {
                    "role": role.item(lang),
                    "score": round(score, 4),
                    "evidence": {
                        "matched_essential_skills": self.items(index, essential & have_skills, lang),
                        "matched_optional_skills": self.items(index, optional & have_skills, lang),
                        "matched_tools": self.items(index, role_tools & have_tools, lang),
                        "missing_essential_skills": self.items(index, essential - have_skills, lang),
                    },
                }
            )
        results.sort(key=lambda r: (-r["score"], r["role"]["label"].casefold()))
        return {
            "items": results[:limit],
            "unknown_skills": sorted(s for s in skills if iri("skill", s) not in index.by_iri),
            "unknown_tools": sorted(t for t in tools if iri("tool", t) not in index.by_iri),
        }

    def paths(self, index: Index, start: str, end: str, *, max_steps: int, limit: int, lang: str) -> dict[str, Any]:
        """Simple paths of transitions from one role to another, shortest first (breadth-first)."""
        source, target = self.entry(index, "role", start), self.entry(index, "role", end)
        outgoing: dict[str, list[str]] = defaultdict(list)
        for transition, hop in sorted(index.transitions.items()):
            outgoing[hop.start].append(transition)
        found: list[list[str]] = []
        queue: deque[tuple[str, list[str]]] = deque([(source.iri, [])])
        while queue and len(found) < limit:
            node, path = queue.popleft()
            if len(path) >= max_steps:
                continue
            visited = {source.iri} | {index.transitions[t].end for t in path}
            for transition in outgoing.get(node, []):
                nxt = index.transitions[transition].end
                if nxt in visited:
                    continue
                if nxt == target.iri:
                    found.append([*path, transition])
                    if len(found) >= limit:
                        break
                else:
                    queue.append((nxt, [*path, transition]))
        return {
            "from_role": source.item(lang),
            "to_role": target.item(lang),
            "paths": [{"steps": [self._step(index, t, lang) for t in path], "length": len(path)} for path in found],
        }

    def _step(self, index: Index, transition: str, lang: str) -> dict[str, Any]:
        hop = index.transitions[transition]
        return {"transition": index.by_iri[transition].item(lang), **self._hop(index, hop, lang)}

    def _hop(self, index: Index, hop: Hop, lang: str) -> dict[str, Any]:
        """What a transition and a path step both show: the two roles, the bridging skills, the derived flag."""
        return {
            "from_role": index.by_iri[hop.start].item(lang),
            "to_role": index.by_iri[hop.end].item(lang),
            "bridging_skills": self.items(index, hop.bridging, lang),
            "derived": hop.derived,
        }

    def stats(self, index: Index, triples: int, version: str) -> dict[str, Any]:
        counts = {kind: len(index.by_kind.get(kind, [])) for kind in sorted({e.kind for e in index.by_iri.values()})}
        return {"counts": counts, "triples": triples, "dataset_version": version, "languages": index.languages}


def _iris(values: Iterable[Any]) -> list[str]:
    return [v.value for v in values if isinstance(v, ox.NamedNode)]


def _in_language(literals: list[ox.Literal], lang: str) -> list[str]:
    """Texts in the requested language, else English, else untagged; sorted."""
    primary = lang.split("-", maxsplit=1)[0].lower()
    for wanted in (primary, "en", ""):
        chosen = [lit.value for lit in literals if (lit.language or "").split("-")[0].lower() == wanted]
        if chosen:
            return sorted(chosen)
    return sorted(lit.value for lit in literals)


def _first_value(values: list[Any] | None) -> str | None:
    return values[0].value if values else None


def _number(values: list[Any] | None) -> float | None:
    try:
        return float(values[0].value) if values else None
    except ValueError:
        return None
