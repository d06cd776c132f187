"""REST writes for curators: a resource's JSON turned into the statements it stands for, as a delta."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from service.api.catalog import iri
from service.api.schemas import ResourceWrite
from service.errors import BadRequest
from service.namespaces import CKG, CREDENTIAL_KINDS, DCTERMS, RDF, RDFS, SCHEMA, SKILL_SCHEME, SKOS
from service.store import Store
from service.writes import Delta, delta_of_quads


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
    "skill": {"broader": Link(SKOS + "broader", "skill"), "categories": Link(SKOS + "broader", "skill-category")},
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
    "skill": {},
    "tool": {"developer": CKG + "developer", "licence": CKG + "licence", "strengths": CKG + "strength"},
    "industry": {},
    "application": {"benefits": CKG + "benefit"},
    "credential": {},
}
PLAIN: dict[str, dict[str, str]] = {
    "role": {"onet_soc": SCHEMA + "occupationalCategory"},
    "credential": {"level": CKG + "educationLevel", "kind": SCHEMA + "credentialCategory"},
}


def statements(
    kind: str, slug: str, body: ResourceWrite, *, partial: bool
) -> tuple[ox.NamedNode, list[ox.Quad], set[str]]:
    """The resource's statements from a body, and the predicates they cover (all of them unless partial)."""
    subject = ox.NamedNode(iri(kind, slug))
    quads: list[ox.Quad] = []
    covered: set[str] = set()

    def add(predicate: str, obj: ox.NamedNode | ox.Literal) -> None:
        quads.append(ox.Quad(subject, ox.NamedNode(predicate), obj))

    def texts(predicate: str, values: dict[str, str] | None) -> None:
        if values is None:
            return
        covered.add(predicate)
        for lang, text in values.items():
            add(predicate, ox.Literal(text, language=lang))

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
    texts(RDFS + "label", body.label)
    texts(DCTERMS + "description", body.description)
    if body.alt_labels is not None:
        covered.add(SKOS + "altLabel")
        for lang, labels in body.alt_labels.items():
            for text in labels:
                add(SKOS + "altLabel", ox.Literal(text, language=lang))
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
    return subject, quads, covered


def _node(kind: str, slug: str, field_name: str) -> ox.NamedNode:
    from service.namespaces import SLUG

    if not SLUG.match(slug):
        raise BadRequest(f"{field_name}: {slug!r} is not an id (lower-case words joined by hyphens)")
    return ox.NamedNode(iri(kind, slug))


def put_delta(store: Store, kind: str, slug: str, body: ResourceWrite) -> Delta:
    """Replace every statement about the resource with the body's."""
    base = store.version_token()
    subject, quads, _ = statements(kind, slug, body, partial=False)
    return delta_of_quads(store, added=quads, removed=list(store.quads_of(subject=subject)), base=base)


def patch_delta(store: Store, kind: str, slug: str, body: ResourceWrite) -> Delta:
    """Replace the statements of the fields given; keep the rest."""
    base = store.version_token()
    subject, quads, covered = statements(kind, slug, body, partial=True)
    removed = [q for q in store.quads_of(subject=subject) if q.predicate.value in covered]
    return delta_of_quads(store, added=quads, removed=removed, base=base)


def delete_delta(store: Store, kind: str, slug: str) -> Delta:
    """Remove the resource: its statements and every statement pointing at it."""
    base = store.version_token()
    subject = ox.NamedNode(iri(kind, slug))
    removed = [*store.quads_of(subject=subject), *store.quads_of(obj=subject)]
    return delta_of_quads(store, removed=removed, base=base)
