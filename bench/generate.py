"""Generate valid CareerKG data of a given size: ``python bench/generate.py --triples N --out FILE``.

The data follows the ontology and conforms to the shapes (test: tests/test_bench_generate.py): roles with
essential and optional skills, responsibilities, tools, industries, applications, credentials and
transitions; skills in the skill scheme under generated categories; every resource labelled, described
and sourced. It is synthetic and says so in its source document: for benchmarks only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox

ID = "https://w3id.org/careerkg/id/"
CKG = "https://w3id.org/careerkg/ontology#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
DESCRIPTION = ox.NamedNode("http://purl.org/dc/terms/description")
SOURCE = ox.NamedNode("http://purl.org/dc/terms/source")
SKOS = "http://www.w3.org/2004/02/skos/core#"
SCHEME = ox.NamedNode(ID + "scheme/skills")
BENCH_SOURCE = ox.NamedNode(ID + "source/careerkg-benchmark-generator")
XSD_DATE = ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")


def node(kind: str, slug: str) -> ox.NamedNode:
    return ox.NamedNode(f"{ID}{kind}/{slug}")


def ckg(local: str) -> ox.NamedNode:
    return ox.NamedNode(CKG + local)


def en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def described(subject: ox.NamedNode, cls: str, label: str) -> Iterator[ox.Triple]:
    yield ox.Triple(subject, RDF_TYPE, ckg(cls))
    yield ox.Triple(subject, LABEL, en(label))
    yield ox.Triple(subject, DESCRIPTION, en(f"{label}: generated for benchmarks."))
    yield ox.Triple(subject, SOURCE, BENCH_SOURCE)


def header() -> Iterator[ox.Triple]:
    yield ox.Triple(BENCH_SOURCE, RDF_TYPE, ckg("SourceDocument"))
    yield ox.Triple(BENCH_SOURCE, LABEL, en("CareerKG benchmark generator"))
    yield ox.Triple(BENCH_SOURCE, DESCRIPTION, en("Synthetic data generated for benchmarks; not facts."))
    yield ox.Triple(BENCH_SOURCE, ox.NamedNode("http://purl.org/dc/terms/title"), en("CareerKG benchmark data"))
    yield ox.Triple(BENCH_SOURCE, ox.NamedNode("http://purl.org/dc/terms/creator"), ox.Literal("bench/generate.py"))
    yield ox.Triple(
        BENCH_SOURCE, ox.NamedNode("http://purl.org/dc/terms/date"), ox.Literal("2026-11-28", datatype=XSD_DATE)
    )
    yield ox.Triple(SCHEME, RDF_TYPE, ox.NamedNode(SKOS + "ConceptScheme"))
    yield ox.Triple(SCHEME, LABEL, en("CareerKG skills"))
    for i in range(10):
        category = node("skill-category", f"generated-{i}")
        yield from described(category, "SkillCategory", f"Generated skill category {i}")
        yield ox.Triple(category, ox.NamedNode(SKOS + "inScheme"), SCHEME)
        yield ox.Triple(category, ox.NamedNode(SKOS + "topConceptOf"), SCHEME)
    for name in ("framework", "library"):
        category = node("tool-category", f"generated-{name}")
        yield from described(category, "ToolCategory", f"Generated {name}")
    for i in range(20):
        industry = node("industry", f"generated-{i}")
        yield from described(industry, "Industry", f"Generated industry {i}")


def block(i: int) -> Iterator[ox.Triple]:
    """One role and what it links to: about 100 triples."""
    skills = [node("skill", f"generated-{i}-{k}") for k in range(4)]
    for k, skill in enumerate(skills):
        yield from described(skill, "Skill", f"Generated skill {i}.{k}")
        yield ox.Triple(skill, ox.NamedNode(SKOS + "inScheme"), SCHEME)
        broader = skills[0] if k else node("skill-category", f"generated-{i % 10}")
        yield ox.Triple(skill, ox.NamedNode(SKOS + "broader"), broader)
    tool = node("tool", f"generated-{i}")
    yield from described(tool, "Tool", f"Generated tool {i}")
    yield ox.Triple(tool, ckg("toolCategory"), node("tool-category", "generated-" + ("framework", "library")[i % 2]))
    yield ox.Triple(tool, ckg("supportsSkill"), skills[1])
    application = node("application", f"generated-{i}")
    yield from described(application, "Application", f"Generated application {i}")
    yield ox.Triple(application, ckg("inIndustry"), node("industry", f"generated-{i % 20}"))
    yield ox.Triple(application, ckg("technology"), skills[0])
    credential = node("credential", f"generated-{i}")
    yield from described(credential, "Degree", f"Generated degree {i}")
    yield ox.Triple(credential, ckg("subject"), skills[2])
    responsibilities = [node("responsibility", f"generated-{i}-{k}") for k in range(2)]
    for k, responsibility in enumerate(responsibilities):
        yield from described(responsibility, "Responsibility", f"Generated responsibility {i}.{k}")
        yield ox.Triple(responsibility, ckg("involvesSkill"), skills[k])
    role = node("role", f"generated-{i}")
    yield from described(role, "Role", f"Generated role {i}")
    yield ox.Triple(role, ckg("field"), skills[0])
    for skill in skills[:3]:
        yield ox.Triple(role, ckg("essentialSkill"), skill)
    yield ox.Triple(role, ckg("optionalSkill"), skills[3])
    if i:
        yield ox.Triple(role, ckg("optionalSkill"), node("skill", f"generated-{i - 1}-0"))
    yield ox.Triple(role, ckg("usesTool"), tool)
    yield ox.Triple(role, ckg("inIndustry"), node("industry", f"generated-{i % 20}"))
    yield ox.Triple(role, ckg("worksOnApplication"), application)
    yield ox.Triple(role, ckg("requiredCredential"), credential)
    for responsibility in responsibilities:
        yield ox.Triple(role, ckg("hasResponsibility"), responsibility)
    if i:
        transition = node("transition", f"generated-{i}")
        yield from described(transition, "CareerTransition", f"Generated transition {i}")
        yield ox.Triple(transition, ckg("fromRole"), node("role", f"generated-{i - 1}"))
        yield ox.Triple(transition, ckg("toRole"), role)
        yield ox.Triple(transition, ckg("bridgingSkill"), skills[0])


def generate(triples: int) -> Iterator[ox.Triple]:
    """At least ``triples`` triples (whole blocks)."""
    count = 0
    for triple in header():
        count += 1
        yield triple
    i = 0
    while count < triples:
        for triple in block(i):
            count += 1
            yield triple
        i += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, required=True, help="at least this many triples")
    parser.add_argument("--out", type=Path, required=True, help="output file (.nt or .ttl)")
    args = parser.parse_args(argv)
    fmt = ox.RdfFormat.TURTLE if args.out.suffix == ".ttl" else ox.RdfFormat.N_TRIPLES
    with args.out.open("wb") as out:
        ox.serialize(generate(args.triples), out, format=fmt)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
