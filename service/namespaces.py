"""Every namespace and IRI pattern CareerKG uses, in one place."""

from __future__ import annotations

import re

CKG = "https://w3id.org/careerkg/ontology#"
SHAPES = "https://w3id.org/careerkg/shapes#"
ID = "https://w3id.org/careerkg/id/"
# In a data file, a source document's IRI names the graph of the statements it makes; loaded, each of those
# statements has a record (an rdf:Statement) under STATEMENTS citing the document (docs/provenance.md).
SOURCE_GRAPHS = ID + "source/"
STATEMENTS = ID + "statement/"
ONTOLOGY_IRI = "https://w3id.org/careerkg/ontology"
SKILL_SCHEME = ID + "scheme/skills"
# The kinds of credential (schema:credentialCategory) and the class of each.
CREDENTIAL_KINDS = {
    "degree": CKG + "Degree",
    "certification": CKG + "Certification",
    "course": CKG + "Course",
    "apprenticeship": CKG + "Apprenticeship",
}

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
SCHEMA = "https://schema.org/"
SH = "http://www.w3.org/ns/shacl#"
ESCO = "http://data.europa.eu/esco/model#"
WIKIDATA = "http://www.wikidata.org/entity/"

# Prefixes offered to users (CLI output, serialisations, query editor).
PREFIXES: dict[str, str] = {
    "ckg": CKG,
    "ckgsh": SHAPES,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "schema": SCHEMA,
    "sh": SH,
    "esco": ESCO,
    "wd": WIKIDATA,
    "role": ID + "role/",
    "skill": ID + "skill/",
    "tool": ID + "tool/",
    "industry": ID + "industry/",
    "application": ID + "application/",
    "credential": ID + "credential/",
}

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
RESOURCE_IRI = re.compile(r"^https://w3id\.org/careerkg/id/(?P<kind>[a-z-]+)/(?P<slug>[a-z0-9]+(-[a-z0-9]+)*)$")


def resource_iri(kind: str, slug: str) -> str:
    """The IRI of the resource of this kind and slug."""
    if not SLUG.match(kind) or not SLUG.match(slug):
        raise ValueError(f"not a valid kind/slug: {kind!r}/{slug!r}")
    return f"{ID}{kind}/{slug}"


def compact(iri: str) -> str:
    """The shortest prefixed name for an IRI, or the IRI in angle brackets."""
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            local = iri[len(namespace) :]
            if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", local) and not local.endswith("."):
                best = prefix
    if best:
        return f"{best}:{iri[len(PREFIXES[best]) :]}"
    return f"<{iri}>"
