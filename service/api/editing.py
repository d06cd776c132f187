"""REST writes for curators: a resource's JSON turned into the statements it stands for, as a delta."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

import pyoxigraph as ox
from pydantic import ConfigDict, Field, StringConstraints, create_model

from service.api.catalog import iri
from service.api.schemas import SLUG, ResourceWrite, Text, TextsByLanguage
from service.errors import BadRequest
from service.namespaces import CKG, CREDENTIAL_KINDS, DCTERMS, RDF, RDFS, SCHEMA, SKILL_SCHEME, SKOS
from service.store import Store
from service.writes import RELATED, Delta, delta_of_quads


@dataclass(frozen=True)
class Link:
    predicate: str
    kind: str


# Per kind: the class, the link fields (-> predicate, kind of the ids) and the text fields (-> predicate).
CLASSES = {
    "role": CKG + "Role",
    "skill": CKG + "Skill",
    "tool": CKG + "Tool",
    "industry": CKG + "Industry",
    "application": CKG + "Application",
    "credential": CKG + "Credential",
}
LINKS: dict[str, dict[str, Link]] = {
    "role": {
        "essential_skills": Link(CKG + "essentialSkill", "skill"),
        "optional_skills": Link(CKG + "optionalSkill", "skill"),
        "tools": Link(CKG + "usesTool", "tool"),
        "industries": Link(CKG + "inIndustry", "industry"),
        "applications": Link(CKG + "worksOnApplication", "application"),
        "required_credentials": Link(CKG + "requiredCredential", "credential"),
        "recommended_credentials": Link(CKG + "recommendedCredential", "credential"),
        "responsibilities": Link(CKG + "hasResponsibility", "responsibility"),
        "fields": Link(CKG + "field", "skill"),
    },
    "skill": {
        "broader": Link(SKOS + "broader", "skill"),
        "categories": Link(SKOS + "broader", "skill-category"),
        "related": Link(SKOS + "related", "skill"),  # symmetric: written both ways (_both_ways)
    },
    "tool": {
        "categories": Link(CKG + "toolCategory", "tool-category"),
        "skills": Link(CKG + "supportsSkill", "skill"),
        "interface_to": Link(CKG + "interfaceTo", "tool"),
        "programming_languages": Link(CKG + "programmingLanguage", "tool"),
    },
    "industry": {},
    "application": {
        "industries": Link(CKG + "inIndustry", "industry"),
        "technologies": Link(CKG + "technology", "skill"),
    },
    "credential": {"subjects": Link(CKG + "subject", "skill")},
}
TEXTS: dict[str, dict[str, str]] = {
    "role": {"demand_outlook": CKG + "demandOutlook"},
    "skill": {"scope_note": SKOS + "scopeNote"},
    "tool": {"developer": CKG + "developer", "licence": CKG + "licence", "strengths": CKG + "strength"},
    "industry": {},
    "application": {"benefits": CKG + "benefit"},
    "credential": {},
}
PLAIN: dict[str, dict[str, str]] = {
    "role": {"onet_soc": SCHEMA + "occupationalCategory"},
    "credential": {"level": CKG + "educationLevel", "kind": SCHEMA + "credentialCategory"},
}


# What a body's statements replace: predicate -> the languages replaced (None: every statement of it).
Covered = dict[str, set[str] | None]


def statements(
    kind: str, slug: str, body: ResourceWrite, *, partial: bool
) -> tuple[ox.NamedNode, list[ox.Quad], Covered]:
    """The resource's statements from a body, and what they replace (everything about it unless partial)."""
    subject = ox.NamedNode(iri(kind, slug))
    quads: list[ox.Quad] = []
    covered = _Covered()

    def add(predicate: str, obj: ox.NamedNode | ox.Literal) -> None:
        quads.append(ox.Quad(subject, ox.NamedNode(predicate), obj))

    def tagged(text: str, lang: str, field_name: str) -> ox.Literal:
        try:
            return ox.Literal(text, language=lang)
        except ValueError:
            raise BadRequest(f"{field_name}: {lang!r} is not a language tag (BCP 47, e.g. en, de, pt-BR)") from None

    def texts(predicate: str, values: dict[str, str | None] | None, field_name: str) -> None:
        if values is None:
            return
        covered.languages(predicate, values)  # a language map merges: only its languages are replaced
        for lang, text in values.items():
            if text is not None:  # null: the language is removed
                add(predicate, tagged(text, lang, field_name))

    if not partial:
        covered.add(RDF + "type")
        cls = CLASSES[kind]
        if kind == "credential":
            wanted = ((body.values or {}).get("kind") or ["degree"])[0]
            cls = CREDENTIAL_KINDS.get(wanted, cls)
        add(RDF + "type", ox.NamedNode(cls))
        if kind == "skill":
            covered.add(SKOS + "inScheme")
            add(SKOS + "inScheme", ox.NamedNode(SKILL_SCHEME))
    texts(RDFS + "label", body.label, "label")
    texts(DCTERMS + "description", body.description, "description")
    if body.alt_labels is not None:
        covered.languages(SKOS + "altLabel", body.alt_labels)
        for lang, labels in body.alt_labels.items():
            for text in labels:
                add(SKOS + "altLabel", tagged(text, lang, "alt_labels"))
    if body.sources is not None:
        covered.add(DCTERMS + "source")
        for source in body.sources:
            add(DCTERMS + "source", _node("source", source, "sources"))
    if body.exact_matches is not None:
        covered.add(SKOS + "exactMatch")
        for match in body.exact_matches:
            try:
                add(SKOS + "exactMatch", ox.NamedNode(match))
            except ValueError:
                raise BadRequest(f"exact_matches: {match!r} is not an IRI") from None
    _links_and_values(kind, body, add, covered)
    if not partial:
        return subject, quads, {}  # everything about the resource is replaced
    return subject, quads, covered.replaced


def _links_and_values(
    kind: str, body: ResourceWrite, add: Callable[[str, ox.NamedNode | ox.Literal], None], covered: _Covered
) -> None:
    """The statements of a body's ``links`` and ``values`` fields."""
    known_links = LINKS[kind]
    for name, ids in (body.links or {}).items():
        link = known_links.get(name)
        if link is None:
            raise BadRequest(
                f"links: unknown field {name!r} for a {kind}; known: {', '.join(sorted(known_links)) or 'none'}"
            )
        covered.add(link.predicate)
        for target in ids:
            add(link.predicate, _node(link.kind, target, f"links.{name}"))
    known_texts, known_plain = TEXTS[kind], PLAIN.get(kind, {})
    for name, values in (body.values or {}).items():
        if name in known_texts:
            covered.add(known_texts[name])
            for text in values:
                add(known_texts[name], ox.Literal(text, language="en"))
        elif name in known_plain:
            covered.add(known_plain[name])
            for text in values:
                add(known_plain[name], ox.Literal(text))
        else:
            known = sorted([*known_texts, *known_plain])
            raise BadRequest(f"values: unknown field {name!r} for a {kind}; known: {', '.join(known) or 'none'}")


class _Covered:
    """What a body replaces, gathered field by field."""

    def __init__(self) -> None:
        self.replaced: Covered = {}

    def add(self, predicate: str) -> None:
        self.replaced[predicate] = None

    def languages(self, predicate: str, values: dict[str, Any]) -> None:
        current = self.replaced.get(predicate, set())
        if current is not None:
            self.replaced[predicate] = current | {lang.lower() for lang in values}


def _replaced(quad: ox.Quad, covered: Covered) -> bool:
    if quad.predicate.value not in covered:
        return False
    languages = covered[quad.predicate.value]
    if languages is None:
        return True
    return isinstance(quad.object, ox.Literal) and (quad.object.language or "").lower() in languages


def _node(kind: str, slug: str, field_name: str) -> ox.NamedNode:
    from service.namespaces import SLUG

    if not SLUG.match(slug):
        raise BadRequest(f"{field_name}: {slug!r} is not an id (lower-case words joined by hyphens)")
    return ox.NamedNode(iri(kind, slug))


def put_delta(store: Store, kind: str, slug: str, body: ResourceWrite) -> Delta:
    """Replace every statement about the resource with the body's."""
    base = store.version_token()
    subject, quads, _ = statements(kind, slug, body, partial=False)
    added, removed = _both_ways(store, kind, subject, quads, list(store.quads_of(subject=subject)), replaced=True)
    return delta_of_quads(store, added=added, removed=removed, base=base)


def patch_delta(store: Store, kind: str, slug: str, body: ResourceWrite) -> Delta:
    """Replace the statements of the fields given; keep the rest."""
    base = store.version_token()
    subject, quads, covered = statements(kind, slug, body, partial=True)
    removed = [q for q in store.quads_of(subject=subject) if _replaced(q, covered)]
    added, removed = _both_ways(store, kind, subject, quads, removed, replaced=RELATED.value in covered)
    return delta_of_quads(store, added=added, removed=removed, base=base)


def _both_ways(
    store: Store, kind: str, subject: ox.NamedNode, added: list[ox.Quad], removed: list[ox.Quad], *, replaced: bool
) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """A write's statements with each skos:related link (symmetric in SKOS; the shapes want it stated both ways)
    written back from the other end too; where the write replaces the resource's related links, the links back to
    it that it drops are removed as well. Kinds without the link are left as they are, with no lookup."""
    if not any(link.predicate == RELATED.value for link in LINKS[kind].values()):
        return added, removed
    others = {q.object for q in added if q.predicate == RELATED and isinstance(q.object, ox.NamedNode)}
    back = [ox.Quad(other, RELATED, subject) for other in sorted(others, key=str) if other != subject]
    dropped = (
        [] if not replaced else [q for q in store.quads_of(predicate=RELATED, obj=subject) if q.subject not in others]
    )
    return [*added, *back], [*removed, *dropped]


def delete_delta(store: Store, kind: str, slug: str) -> Delta:
    """Remove the resource: its statements and every statement pointing at it."""
    base = store.version_token()
    subject = ox.NamedNode(iri(kind, slug))
    removed = [*store.quads_of(subject=subject), *store.quads_of(obj=subject)]
    return delta_of_quads(store, removed=removed, base=base)


# --- the write schemas per kind ----------------------------------------------------------------------------------

# The link fields the shapes require at least one value of (ontology/shapes.ttl, sh:minCount 1; a test holds this
# table to the shapes). A skill needs a broader skill or a category: either link field will do.
REQUIRED_LINKS: dict[str, tuple[str, ...]] = {
    "role": ("essential_skills", "responsibilities"),
    "skill": (),
    "tool": ("categories",),
    "industry": (),
    "application": ("industries",),
    "credential": (),
}
_SLUG_ITEMS = Annotated[str, StringConstraints(pattern=SLUG)]


@cache
def write_models(kind: str) -> tuple[type[ResourceWrite], type[ResourceWrite]]:
    """The PUT and PATCH bodies of a kind, as client generators should see them: its own link and text fields
    (no other), and for PUT what the shapes require (English label and description, a source, the kind's required
    links). Both read into ``ResourceWrite`` (``as_write``)."""
    title = "".join(part.capitalize() for part in kind.split("-"))
    link_fields: dict[str, Any] = {
        name: (
            list[_SLUG_ITEMS] | None,
            Field(
                None,
                description=f"Ids of {link.kind}s."
                + (" The shapes require one." if name in REQUIRED_LINKS[kind] else ""),
            ),
        )
        for name, link in LINKS[kind].items()
    }
    text_fields: dict[str, Any] = {
        name: (list[Text] | None, Field(None, description="English texts." if name in TEXTS[kind] else "Codes."))
        for name in [*TEXTS[kind], *PLAIN.get(kind, {})]
    }
    forbid = ConfigDict(extra="forbid")
    links = create_model(f"{title}Links", __config__=forbid, **link_fields)
    values = create_model(f"{title}Values", __config__=forbid, **text_fields)
    required: dict[str, Any] = {name: (list[_SLUG_ITEMS], Field(min_length=1)) for name in REQUIRED_LINKS[kind]}
    put_links = create_model(f"{title}PutLinks", __base__=links, **required) if required else links
    english = Field(description="Per language (BCP 47 tag -> text); the shapes require English.")
    put = create_model(
        f"{title}Put",
        __base__=ResourceWrite,
        __doc__=f"A {kind} as a PUT replaces it: every statement about it, with what the shapes require.",
        label=(TextsByLanguage, english),
        description=(TextsByLanguage, english),
        sources=(list[_SLUG_ITEMS], Field(min_length=1, description="Ids of the source documents; one at least.")),
        links=((put_links if required else put_links | None), Field(... if required else None)),
        values=(values | None, None),
    )
    patch = create_model(
        f"{title}Patch",
        __base__=ResourceWrite,
        __doc__=f"The fields of a {kind} a PATCH replaces (the others are kept).",
        links=(links | None, None),
        values=(values | None, None),
    )
    return put, patch


def as_write(body: ResourceWrite) -> ResourceWrite:
    """A kind's PUT or PATCH body as the generic ``ResourceWrite`` the write path reads (unset fields stay unset;
    a link or text field given as null is left out)."""
    data = body.model_dump(exclude_unset=True)
    for group in ("links", "values"):
        if isinstance(data.get(group), dict):
            data[group] = {k: v for k, v in data[group].items() if v is not None}
    return ResourceWrite.model_validate(data)
