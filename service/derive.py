"""Career transitions derived from the roles' skill profiles: ``careerkg derive-transitions``.

The documents behind CareerKG's roles (O*NET, ESCO, the seed article) list each role's essential and optional
skills, but only the article states transitions between roles. The rest are derived here, by one documented
rule, and written as TriG to ``data/derived-transitions.trig`` so that they are reviewed like any curated
file (a test re-derives them and fails when the file is stale):

- a transition from role A to role B is derived when A already has (as essential or optional skill) at
  least ``MIN_SHARED`` of B's essential skills and at least ``MIN_SHARE`` of them;
- its bridging skills are B's essential skills that A lacks; its shared skills (``ckg:sharedSkill``) the
  ones A already has;
- a move goes at most ``MAX_LEVELS_UP`` level up on every ladder that levels both roles (``ckg:level``: a
  job-family framework's grades, e.g. not from an intermediate data analyst straight to chief data officer; O*NET's
  Job Zones of preparation; ISCO-08's skill levels); ranks compare only within a ladder, and roles without a level
  are not held;
- each role keeps its ``PER_ROLE`` best targets (largest share, then most shared skills, then label);
- pairs that a document states (a transition without the derivation as its source) are left to it; where that
  document names no bridging skill, the rule adds them (B's essential skills that A lacks) and the shared ones,
  in the rule's graph too, so every transition says what to learn.

Every derived transition cites ``source:careerkg-skill-overlap``, the source resource describing this rule,
so a user can tell derived from stated transitions with one triple pattern; what the rule states sits in that
resource's graph, so asking who says so of a derived statement names the rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox
from rdflib import Literal

from service import queries
from service.namespaces import CKG, ID
from service.store.base import Store

# The rule as of this date (the date of the source resource; change it with the rule).
RULE_DATE = date(2026, 11, 30)
TRANSITION = ID + "transition/"
MIN_SHARED = 2
MIN_SHARE = 0.2
PER_ROLE = 3
MAX_LEVELS_UP = 1
RULE = (
    f"CareerKG derives a transition from role A to role B when A already has at least {MIN_SHARED} of B's "
    f"essential skills and at least {MIN_SHARE:.0%} of them (as essential or optional skills) and B is at most "
    f"{MAX_LEVELS_UP} level above A on every ladder that levels both (a job-family framework's grades, O*NET's "
    "Job Zones, ISCO-08's skill levels); it keeps each "
    f"role's {PER_ROLE} best targets; the bridging skills are B's essential skills that A lacks. The skills "
    "come from the documents each role cites (O*NET, ESCO, the seed article); the transition is a computed "
    "relation between their skill profiles, not a statement of those documents."
)


@dataclass(frozen=True)
class Completion:
    """A stated transition whose document names no bridging skill, and the skills the rule gives it."""

    iri: str
    shared: tuple[str, ...]
    bridging: tuple[str, ...]


@dataclass(frozen=True)
class Transition:
    """One derived transition: the two roles and the target's essential skills, split by the start's."""

    start: str
    end: str
    shared: tuple[str, ...]
    bridging: tuple[str, ...]
    essential: int

    @property
    def share(self) -> float:
        return len(self.shared) / self.essential

    @property
    def slug(self) -> str:
        return f"{_slug(self.start)}-to-{_slug(self.end)}"


def _slug(iri: str) -> str:
    return iri.rsplit("/", 1)[1]


def derive(store: Store) -> tuple[list[Transition], dict[str, str], list[Completion]]:
    """The derived transitions of the graph in ``store`` (sorted by start, then rank), the role labels, and the
    completions of stated transitions that name no bridging skill (sorted by IRI). ``store`` holds the source data
    without the derived file (whose completions would otherwise count as stated)."""
    labels: dict[str, str] = {}
    essential: dict[str, set[str]] = defaultdict(set)
    known: dict[str, set[str]] = defaultdict(set)
    profiles = store.query(queries.load("derive-profiles"))
    assert isinstance(profiles, ox.QuerySolutions)
    for row in profiles:
        role, skill = row["role"].value, row["skill"].value
        labels[role] = row["label"].value
        known[role].add(skill)
        if row["link"].value == CKG + "essentialSkill":
            essential[role].add(skill)
    levels = store.query(queries.load("role-levels"))
    assert isinstance(levels, ox.QuerySolutions)
    rank: dict[str, dict[str, int]] = defaultdict(dict)  # role -> ladder -> rank
    for row in levels:
        rank[row["role"].value][row["ladder"].value] = int(row["rank"].value)
    stated = store.query(queries.load("derive-curated"))
    assert isinstance(stated, ox.QuerySolutions)
    curated: set[tuple[str, str]] = set()
    completions: list[Completion] = []
    for row in stated:
        start, end = row["from"].value, row["to"].value
        curated.add((start, end))
        bridging = essential[end] - known[start]
        if row["bridged"].value != "true" and bridging:
            shared = essential[end] & known[start]
            completions.append(Completion(row["transition"].value, tuple(sorted(shared)), tuple(sorted(bridging))))
    completions.sort(key=lambda c: c.iri)
    out: list[Transition] = []
    for start in sorted(labels):
        candidates = []
        for end in sorted(labels):
            if end == start or (start, end) in curated or not essential[end]:
                continue
            if any(rank[end][ladder] - on > MAX_LEVELS_UP for ladder, on in rank[start].items() if ladder in rank[end]):
                continue
            shared = essential[end] & known[start]
            bridging = essential[end] - known[start]
            candidate = Transition(start, end, tuple(sorted(shared)), tuple(sorted(bridging)), len(essential[end]))
            if len(shared) >= MIN_SHARED and candidate.share >= MIN_SHARE and bridging:
                candidates.append(candidate)
        candidates.sort(key=lambda t: (-t.share, -len(t.shared), labels[t.end]))
        out.extend(candidates[:PER_ROLE])
    return out, labels, completions


def to_trig(transitions: Iterable[Transition], labels: dict[str, str], completions: Iterable[Completion] = ()) -> str:
    """The derived transitions, the source describing the rule and the completions of stated transitions, as a
    TriG document: what the rule states sits in the graph of ``source:careerkg-skill-overlap`` (docs/provenance.md),
    the rule's own record and the transitions' citations in the default graph."""
    lines = [
        "# Career transitions DERIVED by CareerKG from the roles' skill profiles; not stated by a source document.",
        "# Generated by `careerkg derive-transitions --output data/derived-transitions.trig`: do not edit by hand;",
        "# edit the roles' skills and run it again (tests/test_data.py fails while this file is stale).",
        "# What the rule states sits in the graph of the rule's record, source:careerkg-skill-overlap: asking who",
        "# says so of a derived statement names the rule, not a document about careers.",
        "@prefix ckg:        <https://w3id.org/careerkg/ontology#> .",
        "@prefix dcterms:    <http://purl.org/dc/terms/> .",
        "@prefix rdfs:       <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix role:       <https://w3id.org/careerkg/id/role/> .",
        "@prefix skill:      <https://w3id.org/careerkg/id/skill/> .",
        "@prefix source:     <https://w3id.org/careerkg/id/source/> .",
        "@prefix transition: <https://w3id.org/careerkg/id/transition/> .",
        "@prefix xsd:        <http://www.w3.org/2001/XMLSchema#> .",
        "",
        "source:careerkg-skill-overlap",
        "    a ckg:SourceDocument ;",
        f"    rdfs:label {_en('CareerKG skill-overlap derivation')} ;",
        f"    dcterms:title {_en('Career transitions derived from overlapping skill profiles')} ;",
        '    dcterms:creator "The CareerKG project" ;',
        f'    dcterms:date "{RULE_DATE.isoformat()}"^^xsd:date ;',
        '    dcterms:type "derivation" ;',
        f"    dcterms:description {_en(RULE)} .",
        "",
        "source:careerkg-skill-overlap {",
    ]
    transitions = list(transitions)
    for t in transitions:
        start, end = labels[t.start], labels[t.end]
        description = (
            f"Derived by CareerKG from the two roles' skill profiles: of the {t.essential} essential skills of the "
            f"{end} role, the {start} role already has {len(t.shared)}; the other {len(t.bridging)} are the skills "
            "to acquire."
        )
        lines += [
            "",
            f"    transition:{t.slug}",
            "        a ckg:CareerTransition ;",
            f"        rdfs:label {_en(f'{start} to {end}')} ;",
            f"        dcterms:description {_en(description)} ;",
            f"        ckg:fromRole role:{_slug(t.start)} ;",
            f"        ckg:toRole role:{_slug(t.end)} ;",
            f"        ckg:sharedSkill {_skills(t.shared)} ;",
            f"        ckg:bridgingSkill {_skills(t.bridging)} .",
        ]
    completed = list(completions)
    if completed:
        lines += [
            "",
            "    # Stated transitions whose documents name no bridging skill: the skills the rule gives them (the",
            "    # transitions keep their documents as their only cited source).",
        ]
    for c in completed:
        subject = f"transition:{_slug(c.iri)}" if c.iri.startswith(TRANSITION) else f"<{c.iri}>"
        bridging = f"        ckg:bridgingSkill {_skills(c.bridging)}" + (" ;" if c.shared else " .")
        lines += ["", f"    {subject}", bridging]
        if c.shared:
            lines.append(f"        ckg:sharedSkill {_skills(c.shared)} .")
    lines += ["}", "", "# The derived transitions' citations (resource level)."]
    lines += [f"transition:{t.slug} dcterms:source source:careerkg-skill-overlap ." for t in transitions]
    return "\n".join(lines) + "\n"


def _en(text: str) -> str:
    return Literal(text, lang="en").n3()


def _skills(iris: Iterable[str]) -> str:
    return ", ".join(f"skill:{_slug(iri)}" for iri in iris)
