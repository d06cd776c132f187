"""The quality report of the graph: counts per kind, alignment, provenance, languages, depth, SHACL status.

``careerkg stats`` prints it. Figures are computed from the statements of the store in one pass (no
inference); the targets are those of the data-growth issue, so the report says where the graph stands.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from service.namespaces import CKG, CREDENTIAL_KINDS, DCTERMS, ESCO, ID, RDF, RDFS, SCHEMA, SKOS, WIKIDATA
from service.validation import validate_whole

KINDS = {
    "role": CKG + "Role",
    "skill": CKG + "Skill",
    "skill-category": CKG + "SkillCategory",
    "tool": CKG + "Tool",
    "tool-category": CKG + "ToolCategory",
    "industry": CKG + "Industry",
    "application": CKG + "Application",
    "credential": CKG + "Credential",
    "responsibility": CKG + "Responsibility",
    "transition": CKG + "CareerTransition",
    "salary-insight": CKG + "SalaryInsight",
    "trend": CKG + "Trend",
    "source": CKG + "SourceDocument",
}
# Subclasses of ckg:Credential the data uses (the report counts without inference).
CREDENTIAL_CLASSES = {CKG + "Credential", *CREDENTIAL_KINDS.values()}
ESCO_ID = "http://data.europa.eu/esco/"
CURATION = ID + "source/careerkg-curation"  # the record of what CareerKG's curators state themselves
LANGUAGES = ("en", "de", "fr", "es")
ONET = re.compile(r"^\d{2}-\d{4}\.\d{2}$")

# The figures the data-growth issue asks for: (what, minimum).
TARGETS: dict[str, float] = {
    "roles": 20,
    "skills": 150,
    "tools": 60,
    "industries": 10,
    "applications": 40,
    "credentials": 10,
    "skills with a broader concept (%)": 80,
    "tools linked to Wikidata (%)": 80,
    "roles meeting the depth bar (%)": 100,
    "roles and industries labelled in de, fr and es (%)": 100,
    "resources with a source (%)": 100,
    # The 2026 map of AI careers (the issue after it): more of each, every tool supporting a skill, translations.
    "roles (2026 map)": 30,
    "skills (2026 map)": 250,
    "tools (2026 map)": 100,
    "statements with a source (%)": 100,
    "tools supporting a skill (%)": 100,
    "roles labelled in de, fr and es (%)": 80,
    "skills labelled in de, fr and es (%)": 80,
    "tools labelled in de, fr and es (%)": 80,
    "industries labelled in de, fr and es (%)": 80,
    "roles with a level (%)": 100,
    "skills typed knowledge or skill/competence (%)": 100,
    "applications linked from a role (%)": 100,  # (or removed, the issue says)
}
# Per role: at least 5 essential skills, 1 optional skill, 3 tools, 1 industry, 1 responsibility, 1 credential and
# 1 transition out (the data-growth issue's depth bar).
DEPTH = {
    "essential skills": 5,
    "optional skills": 1,
    "tools": 3,
    "industries": 1,
    "responsibilities": 1,
    "credentials": 1,
    "transitions": 1,
}


@dataclass
class Quality:
    """The report; ``to_json`` and ``to_text`` render it."""

    counts: dict[str, int]
    triples: int
    alignment: dict[str, dict[str, int]]
    provenance: dict[str, Any]
    languages: dict[str, dict[str, int]]
    depth: dict[str, dict[str, int]]
    figures: dict[str, float]
    shacl: dict[str, Any] = field(default_factory=dict)

    def targets(self) -> list[dict[str, Any]]:
        """Each target with the figure reached and whether it is met."""
        return [
            {"target": name, "minimum": minimum, "value": self.figures[name], "met": self.figures[name] >= minimum}
            for name, minimum in TARGETS.items()
        ]

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready mapping."""
        return {
            "counts": self.counts,
            "triples": self.triples,
            "alignment": self.alignment,
            "provenance": self.provenance,
            "languages": self.languages,
            "depth": self.depth,
            "targets": self.targets(),
            "shacl": self.shacl,
        }

    def to_text(self) -> str:
        """A readable report."""
        lines = ["CareerKG quality report", "", "Counts"]
        lines += [f"  {kind:<16} {n:>6}" for kind, n in self.counts.items()]
        lines += [f"  {'triples':<16} {self.triples:>6}", "", "Alignment (resources with an identifier)"]
        for kind, row in self.alignment.items():
            lines.append(f"  {kind:<16} " + ", ".join(f"{k} {v}" for k, v in row.items()))
        lines += [
            "",
            f"Provenance: {self.provenance['sourced']} of {self.provenance['resources']} resources name a source; "
            f"{self.provenance['statements_with_a_source']} of {self.provenance['statements']} statements have a "
            f"record citing a source ({self.provenance['statements_of_careerkg_curation_only']} of them cite only "
            "CareerKG's own curation)",
        ]
        lines += [f"  {name:<40} {n:>5}" for name, n in self.provenance["by_source"].items()]
        lines += ["", "Labels per language"]
        for kind, row in self.languages.items():
            lines.append(f"  {kind:<16} " + ", ".join(f"{k} {v}" for k, v in row.items()))
        lines += ["", "Role depth (" + ", ".join(DEPTH) + "; * below the bar)"]
        for role, row in self.depth.items():
            marks = " ".join(f"{v:>3}{'*' if v < DEPTH[k] else ' '}" for k, v in row.items())
            lines.append(f"  {role:<44} {marks}")
        lines += ["", "Targets"]
        for target in self.targets():
            mark = "met" if target["met"] else "NOT met"
            lines.append(f"  {target['target']:<52} {target['value']:>7g} / {target['minimum']:g}  {mark}")
        if self.shacl:
            lines += [
                "",
                f"SHACL: {'conforms' if self.shacl['conforms'] else 'does not conform'}, "
                f"{self.shacl['violations']} violations, {self.shacl['warnings']} warnings",
            ]
        return "\n".join(lines) + "\n"


def measure(quads: Iterable[ox.Quad], *, check_shapes: bool = True) -> Quality:
    """The quality report of a dataset's default graph."""
    quads = [q for q in quads if isinstance(q.graph_name, ox.DefaultGraph)]
    out: dict[str, dict[str, list[ox.NamedNode | ox.Literal | ox.BlankNode]]] = defaultdict(lambda: defaultdict(list))
    for q in quads:
        if isinstance(q.subject, ox.NamedNode):
            out[q.subject.value][q.predicate.value].append(q.object)  # type: ignore[arg-type]

    def values(subject: str, predicate: str) -> list[str]:
        return [v.value for v in out[subject].get(predicate, [])]

    members: dict[str, list[str]] = {}
    for kind, cls in KINDS.items():
        wanted = CREDENTIAL_CLASSES if kind == "credential" else {cls}
        members[kind] = sorted(s for s in out if s.startswith(ID) and wanted & set(values(s, RDF + "type")))
    counts = {kind: len(iris) for kind, iris in members.items()}

    def share(part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else 0.0

    def matches(subject: str) -> list[str]:
        return values(subject, SKOS + "exactMatch") + values(subject, SKOS + "closeMatch")

    alignment: dict[str, dict[str, int]] = {}
    for kind in ("role", "skill", "tool", "industry"):
        iris = members[kind]
        row = {
            "total": len(iris),
            "wikidata": sum(any(m.startswith(WIKIDATA) for m in matches(s)) for s in iris),
            "esco": sum(any(m.startswith(ESCO_ID) for m in matches(s)) for s in iris),
        }
        if kind == "role":
            row["onet_soc"] = sum(any(ONET.match(c) for c in values(s, SCHEMA + "occupationalCategory")) for s in iris)
        alignment[kind] = row

    described = [s for kind, iris in members.items() if kind != "source" for s in iris]
    sourced = [s for s in described if values(s, DCTERMS + "source")]
    by_source: dict[str, int] = defaultdict(int)
    for s in described:
        for source in values(s, DCTERMS + "source"):
            by_source[source.removeprefix(ID + "source/")] += 1
    statements, stated, curated_only = _statement_sources(quads, out, set(members["source"]))
    provenance = {
        "statements": len(statements),
        "statements_with_a_source": len(statements & stated),
        "statements_of_careerkg_curation_only": len(statements & curated_only),
        "resources": len(described),
        "sourced": len(sourced),
        "unsourced": sorted(set(described) - set(sourced)),
        "by_source": dict(sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))),
    }

    def labelled(subject: str, lang: str) -> bool:
        return any(
            isinstance(v, ox.Literal) and (v.language or "").split("-")[0] == lang
            for v in out[subject].get(RDFS + "label", [])
        )

    languages: dict[str, dict[str, int]] = {}
    for kind in ("role", "industry", "skill", "tool", "application", "credential"):
        languages[kind] = {lang: sum(labelled(s, lang) for s in members[kind]) for lang in LANGUAGES}
        languages[kind]["total"] = len(members[kind])
    languages["role"]["with English alternative labels"] = sum(
        any(isinstance(v, ox.Literal) and v.language == "en" for v in out[s].get(SKOS + "altLabel", []))
        for s in members["role"]
    )

    transitions_from: dict[str, int] = defaultdict(int)
    for t in members["transition"]:
        for origin in values(t, CKG + "fromRole"):
            transitions_from[origin] += 1
    depth: dict[str, dict[str, int]] = {}
    for role in members["role"]:
        depth[role.removeprefix(ID + "role/")] = {
            "essential skills": len(values(role, CKG + "essentialSkill")),
            "optional skills": len(values(role, CKG + "optionalSkill")),
            "tools": len(values(role, CKG + "usesTool")),
            "industries": len(values(role, CKG + "inIndustry")),
            "responsibilities": len(values(role, CKG + "hasResponsibility")),
            "credentials": len(values(role, CKG + "requiredCredential") + values(role, CKG + "recommendedCredential")),
            "transitions": transitions_from[role],
        }
    deep = sum(all(row[k] >= n for k, n in DEPTH.items()) for row in depth.values())

    skills = members["skill"]
    with_broader = sum(bool(values(s, SKOS + "broader")) for s in skills)
    worked_on = {a for role in members["role"] for a in values(role, CKG + "worksOnApplication")}
    both = members["role"] + members["industry"]
    figures = {
        "roles": float(counts["role"]),
        "skills": float(counts["skill"]),
        "tools": float(counts["tool"]),
        "industries": float(counts["industry"]),
        "applications": float(counts["application"]),
        "credentials": float(counts["credential"]),
        "skills with a broader concept (%)": share(with_broader, len(skills)),
        "tools linked to Wikidata (%)": share(alignment["tool"]["wikidata"], len(members["tool"])),
        "roles meeting the depth bar (%)": share(deep, len(members["role"])),
        "roles and industries labelled in de, fr and es (%)": share(
            sum(all(labelled(s, lang) for lang in ("de", "fr", "es")) for s in both), len(both)
        ),
        "resources with a source (%)": share(len(sourced), len(described)),
        "statements with a source (%)": share(len(statements & stated), len(statements)),
        "roles (2026 map)": float(counts["role"]),
        "skills (2026 map)": float(counts["skill"]),
        "tools (2026 map)": float(counts["tool"]),
        "roles with a level (%)": share(
            sum(bool(values(r, CKG + "level")) for r in members["role"]), len(members["role"])
        ),
        "skills typed knowledge or skill/competence (%)": share(
            sum(bool(values(s, ESCO + "skillType")) for s in skills), len(skills)
        ),
        "tools supporting a skill (%)": share(
            sum(bool(values(t, CKG + "supportsSkill")) for t in members["tool"]), len(members["tool"])
        ),
        "applications linked from a role (%)": share(
            sum(a in worked_on for a in members["application"]), len(members["application"])
        ),
        **{
            f"{plural} labelled in de, fr and es (%)": share(
                sum(all(labelled(s, lang) for lang in ("de", "fr", "es")) for s in members[kind]), len(members[kind])
            )
            for kind, plural in (("role", "roles"), ("skill", "skills"), ("tool", "tools"), ("industry", "industries"))
        },
    }
    report = Quality(counts, len(quads), alignment, provenance, languages, depth, figures)
    if check_shapes:
        checked = validate_whole(quads)
        report.shacl = {
            "conforms": checked.conforms,
            "violations": len(checked.violations),
            "warnings": len(checked.warnings),
        }
    return report


Subjects = dict[str, dict[str, list[ox.NamedNode | ox.Literal | ox.BlankNode]]]
Statement = tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode | ox.Literal | ox.BlankNode]


def _statement_sources(
    quads: list[ox.Quad], out: Subjects, sources: set[str]
) -> tuple[set[Statement], set[Statement], set[Statement]]:
    """Statement level: each statement about a resource (not a source document's own record, not a citation, not a
    statement's record); those a record citing a source stands for (docs/provenance.md); and those whose only
    source is CareerKG's own curation (its judgement, not a fact read in a source)."""
    records = {
        s for s in out if s.startswith(ID) and RDF + "Statement" in [v.value for v in out[s].get(RDF + "type", [])]
    }
    stated: set[Statement] = set()
    curated_only: set[Statement] = set()
    for record in records:
        parts = [out[record].get(RDF + name, []) for name in ("subject", "predicate", "object")]
        cited = {v.value for v in out[record].get(DCTERMS + "source", [])}
        if all(len(part) == 1 for part in parts) and cited:
            statement = (parts[0][0], parts[1][0], parts[2][0])
            stated.add(statement)  # type: ignore[arg-type]
            if cited == {CURATION}:
                curated_only.add(statement)  # type: ignore[arg-type]
    skip = sources | records
    statements: set[Statement] = {
        (q.subject, q.predicate, q.object)  # type: ignore[misc]
        for q in quads
        if isinstance(q.subject, ox.NamedNode)
        and q.subject.value.startswith(ID)
        and q.subject.value not in skip
        and q.predicate.value != DCTERMS + "source"
    }
    return statements, stated, curated_only
