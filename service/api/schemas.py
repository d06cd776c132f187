"""Request and response schemas of the REST API; the OpenAPI document is generated from them."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANG = r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$"
Kind = Literal[
    "role",
    "skill",
    "skill-category",
    "tool",
    "tool-category",
    "industry",
    "application",
    "credential",
    "responsibility",
    "salary",
    "transition",
    "trend",
    "source",
    "level",
    "ladder",
]


def _decimal_digits(value: Any) -> Any:
    """A count in a query string is written in decimal digits only: Python's int() would also take "1_0", " 7",
    "+3" or "٣" (an Arabic-Indic three), which no client means."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,18}", value):
        raise ValueError(f"{value!r} is not a whole number written in the digits 0-9")
    return value


Count = Annotated[int, BeforeValidator(_decimal_digits)]


class Strict(BaseModel):
    """Unknown query parameters are refused (400 naming them), so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


# --- requests ---------------------------------------------------------------------------


class LangQuery(Strict):
    lang: str | None = Field(
        None,
        pattern=LANG,
        description="Language of labels and descriptions (BCP 47). Without it, the best of the request's "
        "Accept-Language that the data has; English otherwise. Content-Language names the language served.",
    )


class PageQuery(LangQuery):
    limit: Count = Field(20, ge=1, le=200, description="Items per page (1-200).")
    offset: Count = Field(0, ge=0, le=1_000_000, description="Items to skip.")
    q: str | None = Field(
        None, max_length=200, description="Keep items whose label or alternative label contains this text."
    )


class RoleListQuery(PageQuery):
    skill: str | None = Field(
        None, pattern=SLUG, description="Only roles needing this skill (id), essential or optional."
    )
    tool: str | None = Field(None, pattern=SLUG, description="Only roles using this tool (id).")
    industry: str | None = Field(None, pattern=SLUG, description="Only roles in this industry (id).")
    credential: str | None = Field(None, pattern=SLUG, description="Only roles naming this credential (id).")


class SkillListQuery(PageQuery):
    category: str | None = Field(None, pattern=SLUG, description="Only skills under this skill category (id).")


class ToolListQuery(PageQuery):
    category: str | None = Field(
        None, pattern=SLUG, description="Only tools of this tool category (id), e.g. framework."
    )
    skill: str | None = Field(None, pattern=SLUG, description="Only tools supporting this skill (id).")


class ApplicationListQuery(PageQuery):
    industry: str | None = Field(None, pattern=SLUG, description="Only applications in this industry (id).")


class CredentialListQuery(PageQuery):
    kind: Literal["degree", "certification", "course", "apprenticeship"] | None = Field(
        None, description="Only credentials of this kind."
    )


class IdPath(BaseModel):
    id: str = Field(pattern=SLUG, description="The resource's id (slug), e.g. ai-engineer.")


class SearchQuery(LangQuery):
    q: str = Field(min_length=1, max_length=200, pattern=r"\S", description="Text to look for (not only spaces).")
    type: Literal["role", "skill", "tool", "industry", "application", "credential"] | None = Field(
        None, description="Only resources of this type."
    )
    limit: Count = Field(20, ge=1, le=200, description="Results per page (1-200).")
    offset: Count = Field(0, ge=0, le=1_000_000, description="Results to skip.")


class SuggestQuery(LangQuery):
    q: str = Field(min_length=1, max_length=100, description="The beginning of a label, as typed so far.")
    type: Literal["role", "skill", "tool", "industry", "application", "credential"] | None = Field(
        None, description="Only resources of this type."
    )
    limit: Count = Field(10, ge=1, le=50, description="Suggestions to return (1-50).")


class CompareQuery(LangQuery):
    roles: str = Field(
        max_length=300,
        description="Two or three role ids, comma-separated, e.g. ai-engineer,ml-engineer.",
        # Stated for clients and generators; checked by the validator below, which says what is wrong in words.
        json_schema_extra={"pattern": r"^[a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*){1,2}$"},
    )

    @field_validator("roles")
    @classmethod
    def _two_or_three_ids(cls, value: str) -> str:
        ids = value.split(",")
        if not 2 <= len(ids) <= 3:
            raise ValueError(
                f"give two or three role ids separated by commas, e.g. ai-engineer,ml-engineer; got {len(ids)}"
            )
        for role in ids:
            if not re.fullmatch(SLUG, role):
                raise ValueError(f"{role!r} is not a role id (lower-case words joined by hyphens, e.g. ml-engineer)")
        return value


class GapQuery(LangQuery):
    from_: str | None = Field(None, alias="from", pattern=SLUG, description="The role you have now (id).")
    skills: str | None = Field(
        None,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*)*$",
        description="Skills you have (ids, comma-separated).",
    )
    tools: str | None = Field(
        None,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*)*$",
        description="Tools you know (ids, comma-separated).",
    )


class PathsQuery(LangQuery):
    to: str = Field(pattern=SLUG, description="The role to reach (id).")
    max_steps: Count = Field(4, ge=1, le=6, description="Longest path, in transitions (1-6).")
    limit: Count = Field(5, ge=1, le=20, description="Paths to return (1-20).")


class MatchBody(Strict):
    skills: list[str] = Field(default_factory=list, max_length=200, description="Skill ids you have.")
    tools: list[str] = Field(default_factory=list, max_length=200, description="Tool ids you know.")
    limit: Count = Field(10, ge=1, le=100, description="Roles to return.")


class MatchQuery(LangQuery):
    pass


# --- responses ------------------------------------------------------------------------


class Item(BaseModel):
    """A resource in a list: enough to show it and to follow it."""

    id: str = Field(description="Slug, unique within its type.")
    iri: str = Field(description="The resource's IRI; dereferenceable.")
    label: str = Field(description="Label in the requested language, else English.")
    type: Kind
    stated_by: list[str] | None = Field(
        None,
        description="In a resource's detail, the link to this item: the ids of the source documents that state it "
        "(careerkg-curation: CareerKG's own statement, no source document makes it; empty for a link a write added "
        "without a source). Absent from lists.",
    )


class Page(BaseModel):
    items: list[Item]
    total: int = Field(description="Items matching, over all pages.")
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, or null on the last one.")
    prev: str | None = Field(None, description="URL of the previous page, or null on the first one.")
    first: str | None = Field(None, description="URL of the first page.")
    last: str | None = Field(None, description="URL of the last page.")


class RoleItem(Item):
    importance: Literal["essential", "optional"] | None = Field(None, description="For skills of a role.")


class SuggestItem(Item):
    matched: str = Field(description="The label or alternative label that begins with what was typed.")


class SuggestPage(Page):
    items: list[SuggestItem]  # type: ignore[assignment]


class RolePage(Page):
    items: list[RoleItem]  # type: ignore[assignment]


class Source(Item):
    title: str | None = None
    creator: list[str] = Field(default_factory=list)
    date: str | None = None
    url: str | None = None


class ExternalIds(BaseModel):
    onet_soc: list[str] = Field(default_factory=list, description="O*NET-SOC codes of the closest occupations.")
    esco: list[str] = Field(default_factory=list, description="ESCO concept IRIs.")
    wikidata: list[str] = Field(default_factory=list, description="Wikidata entity IRIs.")


class Responsibility(Item):
    description: str | None = None
    skills: list[Item] = Field(default_factory=list)


class SalaryFigure(BaseModel):
    iri: str | None = Field(None, description="The figure's own IRI (its /id page lists everything about it).")
    currency: str | None = None
    min: float | None = None
    max: float | None = None
    percentile10: float | None = None
    percentile25: float | None = None
    median: float | None = None
    percentile75: float | None = None
    percentile90: float | None = None
    period: str | None = None
    date: str | None = None
    sources: list[Source] = Field(default_factory=list)


class SalaryInsight(Item):
    description: str | None = None
    compared_with: Item | None = None
    relative_pay: str | None = Field(None, description="higher, slightly higher, comparable, slightly lower, lower.")
    pay_factors: list[str] = Field(default_factory=list)
    high_pay_locations: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    figures: list[SalaryFigure] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)


# Shared by transitions and path steps.
DERIVED = "True when CareerKG derived the transition from the two roles' skill profiles."


class Transition(Item):
    description: str | None = None
    from_role: Item
    to_role: Item
    bridging_skills: list[Item] = Field(default_factory=list)
    shared_skills: list[Item] = Field(
        default_factory=list, description="Skills the target role needs that the starting role already has."
    )
    derived: bool = Field(False, description=DERIVED)


class Level(Item):
    rank: int = Field(description="The level's place on its ladder, from the bottom: one level up is one more.")
    ladder: Item = Field(description="The ladder the level is on (ranks compare only within one ladder).")


class Credentials(BaseModel):
    required: list[Item] = Field(default_factory=list)
    recommended: list[Item] = Field(default_factory=list)


class Detail(Item):
    """Everything common to every resource's detail."""

    labels: dict[str, str] = Field(description="Label per language.")
    alt_labels: list[str] = Field(default_factory=list, description="Alternative labels in the requested language.")
    description: str | None = None
    external_ids: ExternalIds = Field(default_factory=ExternalIds)
    sources: list[Source] = Field(default_factory=list)


class RoleDetail(Detail):
    fields: list[Item] = Field(default_factory=list)
    levels: list[Level] = Field(
        default_factory=list,
        description="Where cited frameworks place the role, one level per ladder (a job-family framework's grades, "
        "O*NET's Job Zones of preparation), by ladder.",
    )
    demand_outlook: str | None = None
    responsibilities: list[Responsibility] = Field(default_factory=list)
    essential_skills: list[Item] = Field(default_factory=list)
    optional_skills: list[Item] = Field(default_factory=list)
    tools: list[Item] = Field(default_factory=list)
    industries: list[Item] = Field(default_factory=list)
    applications: list[Item] = Field(default_factory=list)
    credentials: Credentials = Field(default_factory=Credentials)
    salary_insights: list[SalaryInsight] = Field(default_factory=list)
    transitions_to: list[Transition] = Field(default_factory=list, description="Moves out of this role.")
    transitions_from: list[Transition] = Field(default_factory=list, description="Moves into this role.")


class SkillDetail(Detail):
    skill_type: Literal["knowledge", "skill"] | None = Field(
        None,
        description="knowledge, or skill (skill/competence): ESCO's type of the skill it is the same concept as, "
        "or for a skill ESCO does not have, CareerKG's classification by ESCO's definitions (source "
        "careerkg-skill-typing).",
    )
    broader: list[Item] = Field(default_factory=list)
    narrower: list[Item] = Field(default_factory=list)
    related: list[Item] = Field(
        default_factory=list,
        description="Skills close to this one but kept apart (skos:related, stated both ways); scope_note says how "
        "they differ.",
    )
    scope_note: str | None = Field(None, description="What the skill covers, beside the skills it is related to.")
    essential_for: list[Item] = Field(default_factory=list, description="Roles for which the skill is essential.")
    optional_for: list[Item] = Field(default_factory=list, description="Roles for which the skill is optional.")
    tools: list[Item] = Field(default_factory=list, description="Tools supporting the skill.")


class ToolDetail(Detail):
    categories: list[Item] = Field(default_factory=list)
    developer: str | None = None
    licence: str | None = None
    strengths: list[str] = Field(default_factory=list)
    skills: list[Item] = Field(default_factory=list, description="Skills the tool supports.")
    interface_to: list[Item] = Field(default_factory=list)
    programming_languages: list[Item] = Field(default_factory=list)
    roles: list[Item] = Field(default_factory=list, description="Roles using the tool.")


class IndustryDetail(Detail):
    applications: list[Item] = Field(default_factory=list)
    roles: list[Item] = Field(default_factory=list)


class ApplicationDetail(Detail):
    industries: list[Item] = Field(default_factory=list)
    technologies: list[Item] = Field(default_factory=list)
    benefits: list[str] = Field(default_factory=list)
    roles: list[Item] = Field(default_factory=list)


class CredentialDetail(Detail):
    kind: str | None = Field(None, description="degree, certification or course.")
    level: str | None = None
    subjects: list[Item] = Field(default_factory=list)
    required_for: list[Item] = Field(default_factory=list)
    recommended_for: list[Item] = Field(default_factory=list)


class FeatureSets(BaseModel):
    skills: list[Item] = Field(default_factory=list)
    tools: list[Item] = Field(default_factory=list)
    industries: list[Item] = Field(default_factory=list)
    applications: list[Item] = Field(default_factory=list)
    credentials: list[Item] = Field(default_factory=list)


class Comparison(BaseModel):
    roles: list[Item]
    shared: FeatureSets = Field(description="What every compared role has.")
    distinct: dict[str, FeatureSets] = Field(description="Per role id: what only that role has.")
    similarity: float = Field(
        ge=0,
        le=1,
        description="Jaccard index over the roles' skills, tools, industries, applications and credentials: "
        "|shared by all| / |had by any|; 1 for identical roles, 0 for nothing in common.",
    )


class Gap(BaseModel):
    role: Item
    starting_from: Item | None = Field(None, description="The role given with from=, if any.")
    have_skills: list[Item]
    missing_essential_skills: list[Item] = Field(description="Learn these first.")
    missing_optional_skills: list[Item]
    tools_to_learn: list[Item]
    coverage: float = Field(ge=0, le=1, description="Share of the role's essential skills already held.")
    unknown_skills: list[str] = Field(default_factory=list, description="Given skill ids that are not in the graph.")
    unknown_tools: list[str] = Field(default_factory=list, description="Given tool ids that are not in the graph.")


class MatchEvidence(BaseModel):
    matched_essential_skills: list[Item]
    matched_optional_skills: list[Item]
    matched_tools: list[Item]
    missing_essential_skills: list[Item]


class RoleMatch(BaseModel):
    role: Item
    score: float = Field(
        ge=0,
        le=1,
        description="(2 x essential skills matched + optional skills matched + tools matched) / "
        "(2 x essential skills + optional skills + tools) of the role.",
    )
    evidence: MatchEvidence


class Matches(BaseModel):
    items: list[RoleMatch]
    unknown_skills: list[str] = Field(default_factory=list)
    unknown_tools: list[str] = Field(default_factory=list)


class PathStep(BaseModel):
    transition: Item
    from_role: Item
    to_role: Item
    bridging_skills: list[Item]
    derived: bool = Field(False, description=DERIVED)


class CareerPath(BaseModel):
    steps: list[PathStep]
    length: int


class Paths(BaseModel):
    from_role: Item
    to_role: Item
    paths: list[CareerPath] = Field(description="Shortest first.")


class Stats(BaseModel):
    counts: dict[str, int] = Field(description="Resources per type.")
    triples: int
    dataset_version: str
    languages: list[str] = Field(description="Languages that labels are available in.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    invalid_params: list[dict[str, str]] | None = Field(None, alias="invalid-params")


# --- writes ---------------------------------------------------------------------------------


# BCP 47 as RDF 1.1 allows it in a language-tagged string; text that is not empty or only white space.
# A language tag as the data uses them (BCP 47: language, then an optional script and region: en, de, pt-BR,
# zh-Hant-TW); every such tag is well-formed for the store too, so the schema promises nothing the store refuses.
LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$"
# An IRI on the web, as Wikidata's and ESCO's are: what the write schema promises the store takes.
WEB_IRI = r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$"
LanguageTag = Annotated[str, StringConstraints(pattern=LANGUAGE_TAG, max_length=35)]
Text = Annotated[str, StringConstraints(pattern=r"\S")]
_TEXT = {"type": "string", "pattern": r"\S"}


def _by_language(values: dict[str, Any]) -> WithJsonSchema:
    """The JSON schema of a map from language tags: every key a tag (pydantic would say only what tag keys hold,
    leaving other keys open to anything)."""
    return WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"maxLength": 35},
            "patternProperties": {LANGUAGE_TAG: values},
            "additionalProperties": False,
        }
    )


# Language tag -> text; in a PATCH a null removes that language.
TextsByLanguage = Annotated[dict[LanguageTag, Text], _by_language(_TEXT)]
TextsOrNullByLanguage = Annotated[dict[LanguageTag, Text | None], _by_language({"anyOf": [_TEXT, {"type": "null"}]})]
ListsByLanguage = Annotated[dict[LanguageTag, list[Text]], _by_language({"type": "array", "items": _TEXT})]


class ResourceWrite(Strict):
    """A resource as a curator writes it. PUT replaces every statement about it; PATCH replaces only the
    fields given, and in a language map only the languages given (``null`` removes one). Link fields take ids of
    the linked kind; see each route for the fields it knows. The shapes require an English label and an English
    description of every resource, and say what else each kind needs (a role's essential skills, say): a PUT
    without them is refused with 422 and the SHACL results."""

    label: TextsOrNullByLanguage | None = Field(
        None,
        description="Label per language (BCP 47 tag -> text); exactly one in English. PATCH: a null removes one.",
        examples=[{"en": "JAX", "de": "JAX"}],
    )
    alt_labels: ListsByLanguage | None = Field(
        None, description="Alternative labels per language. PATCH: the languages given are replaced, [] removes."
    )
    description: TextsOrNullByLanguage | None = Field(
        None,
        description="Description per language; English required. PATCH: a null removes one language.",
        examples=[{"en": "A library for numerical computing and machine learning."}],
    )
    sources: list[Annotated[str, StringConstraints(pattern=SLUG)]] | None = Field(
        None, description="Ids of the source documents the facts come from."
    )
    exact_matches: list[Annotated[str, StringConstraints(pattern=WEB_IRI)]] | None = Field(
        None, description="IRIs of the same thing elsewhere (Wikidata, ESCO): http(s) IRIs."
    )
    links: dict[str, list[str]] | None = Field(
        None, description='Link field -> ids, e.g. {"essential_skills": ["programming"]}.'
    )
    values: dict[str, list[Text]] | None = Field(
        None, description='Text field -> English texts, e.g. {"strengths": ["fast"]}.'
    )


class WriteResult(BaseModel):
    id: str
    iri: str
    dataset_version: str
    added: int = Field(description="Statements added.")
    removed: int = Field(description="Statements removed.")
    warnings: list[dict[str, Any]] = Field(default_factory=list, description="SHACL warnings; they do not block.")


class ChangeEntry(BaseModel):
    id: int
    at: str
    who: str | None
    operation: str
    added: int
    removed: int
    triples_added: list[str] = Field(description="N-Quads, at most 200.")
    triples_removed: list[str] = Field(description="N-Quads, at most 200.")


class ChangePage(BaseModel):
    items: list[ChangeEntry]
    total: int
    limit: int
    offset: int
    next: str | None
    prev: str | None = None
    first: str | None = None
    last: str | None = None


class ChangesQuery(Strict):
    limit: Count = Field(20, ge=1, le=200)
    offset: Count = Field(0, ge=0, le=1_000_000)
