"""The shipped data: it conforms, every resource is sourced, and every claim of the article is in it."""

from __future__ import annotations

import hashlib
import re

import pyoxigraph as ox
import pytest

from service import dataset, rdfio
from service.loading import check_files, subject_files
from service.store import Store

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"

PREFIXES = """
PREFIX ckg: <https://w3id.org/careerkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <https://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX role: <https://w3id.org/careerkg/id/role/>
PREFIX skill: <https://w3id.org/careerkg/id/skill/>
PREFIX tool: <https://w3id.org/careerkg/id/tool/>
PREFIX industry: <https://w3id.org/careerkg/id/industry/>
PREFIX app: <https://w3id.org/careerkg/id/application/>
PREFIX credential: <https://w3id.org/careerkg/id/credential/>
PREFIX source: <https://w3id.org/careerkg/id/source/>
PREFIX wd: <http://www.wikidata.org/entity/>
"""

DATA_FILES = dataset.default_paths()[1:]  # the files of data/


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    """The validation report of the whole default dataset."""
    return check_files(dataset.default_paths()).report


def test_default_dataset_conforms_without_warnings(report) -> None:  # type: ignore[no-untyped-def]
    assert report.conforms, report.to_text()
    assert report.results == [], report.to_text()


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_each_data_file_parses_and_has_no_results(path, report) -> None:  # type: ignore[no-untyped-def]
    parsed = rdfio.parse_file(path)
    assert parsed.quads, f"{path.name} is empty"
    mine = set(subject_files([parsed]))
    assert not [r for r in report.results if r.focus_node in mine]


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_every_statement_of_a_data_file_names_who_says_so(path) -> None:  # type: ignore[no-untyped-def]
    """docs/provenance.md: a statement sits in the graph of the source that makes it, CareerKG's own in the graph of
    source:careerkg-curation. Outside any graph stand only the records of the sources and the resources' citations."""
    source = ox.NamedNode("https://w3id.org/careerkg/id/source/")
    unsourced = [
        q
        for q in ox.parse(path=str(path), format=ox.RdfFormat.TRIG)
        if q.graph_name == ox.DefaultGraph()
        and not q.subject.value.startswith(source.value)
        and q.predicate.value != "http://purl.org/dc/terms/source"
    ]
    assert not unsourced, f"{path.name}: {len(unsourced)} statements in no source's graph, e.g. {unsourced[0]}"
    graphs = {
        q.graph_name.value
        for q in ox.parse(path=str(path), format=ox.RdfFormat.TRIG)
        if q.graph_name != ox.DefaultGraph()
    }
    assert all(g.startswith(source.value) for g in graphs), graphs


def ask(store: Store, query: str) -> bool:
    result = store.query(PREFIXES + query)
    assert isinstance(result, ox.QueryBoolean)
    return bool(result)


def select(store: Store, query: str) -> list[dict[str, str]]:
    """The solutions of a SELECT query, each variable's value as a string."""
    result = store.query(PREFIXES + query)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{name: row[name].value for name in names if row[name] is not None} for row in result]


# Each claim of the seed article, as a one- or two-hop question the graph must answer "yes" to.
ARTICLE_CLAIMS = {
    "article is a source with title, author and date": """ASK { source:ai-engineer-vs-ml-engineer
        a ckg:SourceDocument ; dcterms:creator "Syed Muhammad Hussain Shah" ;
        dcterms:date "2024-09-04"^^xsd:date ; dcterms:title ?t }""",
    "AI engineers simulate human intelligence": """ASK { role:ai-engineer dcterms:description ?d
        FILTER(CONTAINS(?d, "simulate human intelligence")) }""",
    "ML engineers design systems that learn from data": """ASK { role:ml-engineer dcterms:description ?d
        FILTER(CONTAINS(?d, "learn from data")) }""",
    "ML is a subset of AI": "ASK { skill:machine-learning skos:broader skill:artificial-intelligence }",
    "AI engineers design and implement AI models": """ASK { role:ai-engineer ckg:hasResponsibility ?r .
        ?r rdfs:label "Design and implement AI models"@en }""",
    "AI engineers build self-learning systems with neural networks": """ASK { role:ai-engineer
        ckg:hasResponsibility ?r . ?r ckg:involvesSkill skill:neural-networks, skill:deep-learning }""",
    "AI engineers develop algorithms for translation and problem-solving": """ASK { role:ai-engineer
        ckg:hasResponsibility ?r .
        ?r ckg:involvesSkill skill:language-translation, skill:automated-problem-solving }""",
    "ML engineers handle large datasets": """ASK { role:ml-engineer ckg:hasResponsibility ?r .
        ?r ckg:involvesSkill skill:large-scale-data-handling }""",
    "ML engineers deploy models into production": """ASK { role:ml-engineer ckg:hasResponsibility ?r .
        ?r ckg:involvesSkill skill:model-deployment }""",
    "both roles require programming": """ASK { role:ai-engineer ckg:essentialSkill skill:programming .
        role:ml-engineer ckg:essentialSkill skill:programming }""",
    "AI engineers need algorithms and data structures, neural networks, deep learning": """ASK {
        role:ai-engineer ckg:essentialSkill skill:algorithms-and-data-structures, skill:neural-networks,
        skill:deep-learning, skill:ai-frameworks }""",
    "AI work often involves NLP, robotics, computer vision": """ASK { role:ai-engineer ckg:optionalSkill
        skill:natural-language-processing, skill:robotics, skill:computer-vision }""",
    "ML engineers need statistical modelling and data analysis": """ASK { role:ml-engineer ckg:essentialSkill
        skill:statistical-modelling, skill:data-analysis, skill:feature-engineering, skill:algorithm-selection,
        skill:model-evaluation, skill:model-deployment, skill:model-optimisation }""",
    "AI engineers use TensorFlow and PyTorch": "ASK { role:ai-engineer ckg:usesTool tool:tensorflow, tool:pytorch }",
    "ML engineers use scikit-learn and Keras": "ASK { role:ml-engineer ckg:usesTool tool:scikit-learn, tool:keras }",
    "TensorFlow is an open-source platform by Google": """ASK { tool:tensorflow ckg:developer "Google"@en ;
        ckg:licence "open source"@en ; ckg:toolCategory ?c . ?c rdfs:label "Platform"@en }""",
    "PyTorch comes from Facebook's AI Research lab, with a dynamic computation graph": """ASK {
        tool:pytorch dcterms:description ?d ; ckg:strength "dynamic computation graph"@en
        FILTER (CONTAINS(?d, "Facebook's AI Research lab")) }""",
    "PyTorch is governed by the PyTorch Foundation since 2022 (not the article: its source is cited)": """ASK {
        tool:pytorch ckg:developer "PyTorch Foundation (Linux Foundation)"@en ;
            dcterms:source <https://w3id.org/careerkg/id/source/linux-foundation-welcoming-pytorch> }""",
    "scikit-learn: data mining and analysis, supervised and unsupervised, in Python": """ASK {
        tool:scikit-learn ckg:supportsSkill skill:data-mining, skill:data-analysis, skill:supervised-learning,
        skill:unsupervised-learning ; ckg:programmingLanguage tool:python }""",
    "Keras is an interface for TensorFlow": "ASK { tool:keras ckg:interfaceTo tool:tensorflow }",
    "Keras 3 also runs on PyTorch (not the article: its source is cited)": """ASK { tool:keras ckg:interfaceTo
        tool:pytorch ; dcterms:source <https://w3id.org/careerkg/id/source/pypi-keras-3> }""",
    "frameworks serve image recognition, NLP, autonomous systems": """ASK { tool:pytorch ckg:supportsSkill
        skill:image-recognition, skill:natural-language-processing, skill:autonomous-systems }""",
    "AI engineers typically need a bachelor's in CS or engineering": """ASK { role:ai-engineer
        ckg:requiredCredential ?a, ?b . ?a ckg:subject skill:computer-science ; ckg:educationLevel "bachelor" .
        ?b ckg:subject skill:engineering }""",
    "advanced degrees in AI or data science are recommended for AI engineers": """ASK { role:ai-engineer
        ckg:recommendedCredential ?a, ?b . ?a ckg:subject skill:artificial-intelligence ; a ckg:Degree .
        ?b ckg:subject skill:data-science ; a ckg:Degree }""",
    "ML engineers hold degrees in CS, mathematics or statistics": """ASK { role:ml-engineer
        ckg:recommendedCredential ?a, ?b, ?c . ?a ckg:subject skill:computer-science .
        ?b ckg:subject skill:mathematics . ?c ckg:subject skill:statistics }""",
    "courses in data science, ML and programming help ML engineers": """ASK { role:ml-engineer
        ckg:recommendedCredential ?a, ?b, ?c . ?a a ckg:Course ; ckg:subject skill:data-science .
        ?b a ckg:Course ; ckg:subject skill:machine-learning . ?c a ckg:Course ; ckg:subject skill:programming }""",
    "certifications help both roles": """ASK { role:ai-engineer ckg:recommendedCredential ?c .
        role:ml-engineer ckg:recommendedCredential ?c . ?c a ckg:Certification }""",
    "AI engineers are in demand in healthcare, finance, automotive": """ASK { role:ai-engineer ckg:inIndustry
        industry:healthcare, industry:finance, industry:automotive ; ckg:demandOutlook ?d }""",
    "demand for ML engineers is rising": """ASK { role:ml-engineer ckg:demandOutlook ?d
        FILTER(CONTAINS(?d, "on the rise")) }""",
    "healthcare: outcome prediction, personalised treatment, image diagnosis": """ASK {
        app:patient-outcome-prediction ckg:inIndustry industry:healthcare .
        app:personalised-treatment ckg:inIndustry industry:healthcare .
        app:medical-image-diagnosis ckg:inIndustry industry:healthcare ; ckg:technology skill:machine-learning }""",
    "finance: fraud detection, automated trading, credit risk": """ASK {
        app:fraud-detection ckg:inIndustry industry:finance ; ckg:technology skill:artificial-intelligence .
        app:automated-trading ckg:inIndustry industry:finance .
        app:credit-risk-assessment ckg:inIndustry industry:finance ; ckg:technology skill:machine-learning }""",
    "automotive: autonomous vehicles and safety features": """ASK {
        app:autonomous-vehicles ckg:inIndustry industry:automotive .
        app:vehicle-safety-features ckg:inIndustry industry:automotive }""",
    "transition between the roles is possible both ways": """ASK {
        ?t1 ckg:fromRole role:ai-engineer ; ckg:toRole role:ml-engineer .
        ?t2 ckg:fromRole role:ml-engineer ; ckg:toRole role:ai-engineer }""",
    "AI roles tend to pay slightly more than ML roles": """ASK { ?s ckg:aboutRole role:ai-engineer ;
        ckg:comparedWith role:ml-engineer ; ckg:relativePay ckg:SlightlyHigher }""",
    "Silicon Valley and New York City pay AI professionals the most": """ASK { ?s ckg:aboutRole role:ai-engineer ;
        ckg:highPayLocation "Silicon Valley"@en, "New York City"@en }""",
    "ML pay depends on industry, location, expertise": """ASK { ?s ckg:aboutRole role:ml-engineer ;
        ckg:payFactor "industry"@en, "location"@en, "expertise"@en }""",
    "reinforcement learning and generative models are future trends": """ASK {
        ?a a ckg:Trend ; ckg:concerns skill:reinforcement-learning .
        ?b a ckg:Trend ; ckg:concerns skill:generative-models }""",
    "AI and ML engineers will collaborate more in the next decade": """ASK { ?t a ckg:Trend ;
        ckg:concerns role:ai-engineer, role:ml-engineer ; ckg:horizon "the next decade"@en }""",
}


@pytest.mark.parametrize("claim", ARTICLE_CLAIMS, ids=lambda c: c.replace(" ", "-")[:60])
def test_article_claim_is_in_the_graph(filled_store: Store, claim: str) -> None:
    assert ask(filled_store, ARTICLE_CLAIMS[claim]), claim


def test_no_salary_figure_is_invented(filled_store: Store) -> None:
    # The article gives no numbers: its insights are qualitative, and no figure cites it.
    assert ask(filled_store, "ASK { ?s a ckg:SalaryInsight ; dcterms:source source:ai-engineer-vs-ml-engineer }")
    assert not ask(filled_store, "ASK { ?s ckg:salaryFigure ?f . ?f dcterms:source source:ai-engineer-vs-ml-engineer }")
    assert not ask(filled_store, "ASK { ?s ckg:salaryFigure ?f . ?s dcterms:source source:ai-engineer-vs-ml-engineer }")
    # Every figure there is comes from a dated statistical release with a public address, and is dated itself.
    assert ask(filled_store, "ASK { ?s ckg:salaryFigure ?f }")
    assert not ask(
        filled_store,
        """ASK { ?s ckg:salaryFigure ?f .
            FILTER NOT EXISTS { ?f dcterms:date ?when ; dcterms:source ?src .
                ?src dcterms:type "statistical release" ; dcterms:date ?released ; schema:url ?url } }""",
    )


def test_every_article_resource_points_to_the_article(filled_store: Store) -> None:
    result = filled_store.query(
        PREFIXES
        + """SELECT ?r WHERE { ?r a ?c . FILTER(STRSTARTS(STR(?r), "https://w3id.org/careerkg/id/"))
        FILTER(?c != ckg:SourceDocument) FILTER NOT EXISTS { ?r dcterms:source ?s } }"""
    )
    assert isinstance(result, ox.QuerySolutions)
    assert [str(row["r"]) for row in result] == []


def test_spec_fixed_slugs_exist(filled_store: Store) -> None:
    for kind, slug in [
        ("role", "ai-engineer"),
        ("role", "ml-engineer"),
        ("tool", "tensorflow"),
        ("tool", "pytorch"),
        ("tool", "scikit-learn"),
        ("tool", "keras"),
        ("industry", "healthcare"),
        ("industry", "finance"),
        ("industry", "automotive"),
    ]:
        assert ask(filled_store, f"ASK {{ <https://w3id.org/careerkg/id/{kind}/{slug}> rdfs:label ?l }}"), slug


# Each skill linked to Wikidata, with the item it was checked against: the notes' fields (artificial intelligence,
# data science), the ML concepts checked against several public mappings, and fields of study and methods found
# under the same label in OpenAlex concept records and at least one further independent mapping (data/alignment.ttl).
SKILL_WIKIDATA = {
    "artificial-intelligence": "Q11660",
    "data-science": "Q2374463",
    "machine-learning": "Q2539",
    "deep-learning": "Q197536",
    "neural-networks": "Q192776",
    "natural-language-processing": "Q30642",
    "computer-vision": "Q844240",
    "data-analysis": "Q1988917",
    "statistics": "Q12483",
    "mathematics": "Q395",
    "computer-science": "Q21198",
    "engineering": "Q11023",
    "biology": "Q420",
    "genetics": "Q7162",
    "robotics": "Q170978",
    "data-mining": "Q172491",
    "reinforcement-learning": "Q830687",
    "mathematical-optimisation": "Q141495",
}


def test_only_verified_external_identifiers(filled_store: Store) -> None:
    # The identifiers of ../shared/notes/identifiers.md, those checked since against several independent public
    # mappings (Python, Q28865), and the skills' (SKILL_WIKIDATA). Anything else must be checked before it is added.
    verified_wikidata = {"Q21447895", "Q47509047", "Q1026367", "Q28865"} | set(SKILL_WIKIDATA.values())
    # Tools from O*NET's Technology Skills, each found under the same name in at least two independent public
    # mappings (openMINDS's programming-language library, Wikidata query results, curated skill-to-QID tables,
    # schema.org sameAs links). Left out as unresolved then: Keras, Hadoop, Airflow, XGBoost, spaCy.
    verified_wikidata |= {"Q206904", "Q47607", "Q460584", "Q251", "Q2613697", "Q15777", "Q2407", "Q2370"}  # R, SQL…
    verified_wikidata |= {"Q37227", "Q2005", "Q42478", "Q161053", "Q59", "Q189248", "Q169478"}  # Go … MATLAB
    verified_wikidata |= {"Q197520", "Q15967387", "Q289281", "Q842014", "Q19399674", "Q756100", "Q8811"}  # NumPy … HTML
    verified_wikidata |= {"Q7573619", "Q16235208", "Q192490", "Q850", "Q1165204", "Q3050461", "Q1628290"}  # Spark …
    verified_wikidata |= {"Q2136322", "Q215819", "Q185524", "Q456157", "Q725967", "Q15206305", "Q22661306"}  # Redis …
    verified_wikidata |= {"Q7491312", "Q28957072", "Q186055", "Q364", "Q11272", "Q388", "Q11368", "Q115564437"}
    # Modern tools, each beside the same label in two independent public files (docs/evidence/modern-tools.md):
    # OpenCV, CUDA, Ollama, FastAPI, llama.cpp; and Google Cloud (docs/evidence/wikidata-links.md).
    verified_wikidata |= {"Q165277", "Q477690", "Q124636097", "Q101119404", "Q125998452", "Q17054505"}
    # Airflow, NLTK, SciPy, XGBoost, spaCy, DuckDB (docs/evidence/wikidata-software-extract.md)
    verified_wikidata |= {"Q28915062", "Q1635410", "Q197492", "Q23793561", "Q28406945", "Q111343643"}
    # Apache Hadoop: a saved Wikipedia page and CSO's links (docs/evidence/wikidata-links.md, third pass)
    verified_wikidata |= {"Q29120"}
    verified_esco = {"258e46f9-0075-4a2e-adae-1ff0477e0f30"}  # data scientist
    verified_esco |= {
        "35553663-deab-4d9a-bf22-15c1625d28e8",  # artificial intelligence engineer
        "f2b15a0e-e65a-438a-affb-29b9d50b77d1",  # software developer
        "8c57af09-719c-42b3-be40-6ed4946236cc",  # database administrator
        "2079755f-d809-49e6-8037-4de6180e54c0",  # data engineer
        "d3edb8f8-3a06-47a0-8fb9-9b212c006aa2",  # data analyst
        "1c5a45b9-440e-4726-b565-16a952abd341",  # computer vision engineer
        "e297ec12-4712-40a4-ad98-ba004cacb205",  # chief data officer
        "812c217d-32b7-4f6a-9faf-993d3577ac7f",  # knowledge engineer
        "68d973df-bf10-4bf7-9a1b-fbd9f604b9db",  # bioinformatics scientist
        "e8fca903-6590-48a8-8902-094bb41ee90c",  # autonomous driving specialist
        "8d9ec84d-cf2d-4179-87bc-335cda54a427",  # database designer
        # business intelligence manager, whose alternative labels include "business intelligence analyst" (the
        # roles-skills copy of ESCO's API answers; another project's table of ESCO occupations)
        "207d7b18-6540-432e-8aa6-785ed434572f",
    }
    # ESCO skill concepts, each found with the same label in at least two independent public copies of ESCO data.
    verified_esco |= {
        "98a1dec3-8138-4f46-a596-5e2a83b884b9",  # business analytics
        "143769cb-b61e-47d8-a61e-eedfbec1016c",  # business intelligence
        "bd14968e-e409-45af-b362-3495ed7b10e0",  # cloud technologies
        "89f6560b-2194-45c9-9ece-d33049a73eef",  # computer engineering
        "afda6ca0-7aa8-41ef-ba5e-8dc607839daf",  # computer graphics
        "7b5cce4d-c7fe-4119-b48f-70aa05391787",  # computer science
        "0823ccef-813f-4f22-afef-ac0d68615e8f",  # computer simulation
        "7b0d5000-00da-4864-b776-6de49a87a669",  # computer vision
        "25f0ea33-b4a2-4f31-b7b4-7d20e827b180",  # data mining
        "edebd83d-35f6-4ed5-a940-6c203d178c01",  # data science
        "a7f0fbe0-c546-4f30-8e41-34a58c64567e",  # data storage
        "65e58886-bd1e-4c5b-8ca5-8d9b353c8aa1",  # data visualisation software
        "ab1e97ed-2319-4293-a8b7-072d2648822f",  # database management systems
        "ecc4552a-92c5-4222-b18d-faf5ac841080",  # deep learning
        "1e77e42a-181f-4b48-8e74-201ce50ffc29",  # interpret current data
        "3a2d5b45-56e4-4f5a-a55a-4a4a65afdc43",  # machine learning
        "11c56452-fcec-4b00-9695-cca4728e5048",  # marketing analytics
        "5608d5a0-6d5e-43b7-be37-616501729bb4",  # artificial neural networks
        "33e584f9-ff7a-4979-bfc0-5a3a374a145a",  # social network analysis
        "5da8018b-ae85-4cde-ad93-0394369018f3",  # SPARQL
        "382c11ed-20d5-4ae7-b60e-15fec527fa6c",  # apply statistical analysis techniques
        "7ee4c2ea-b349-4bd2-81a3-ec31475d4833",  # statistics
        "348b74cd-49ce-4844-8bdf-ec188b497213",  # visual presentation techniques
        "21d2f96d-35f7-4e3f-9745-c533d2dd6e97",  # computer programming (close match)
        "fecf8a0d-62c4-4e71-9b03-0f4fc2ad7bf5",  # data models (close match)
    }
    # ESCO concepts of data/esco-align.trig: each UUID beside the skill's label in ESCO's v1.0 CSV files (or, for the six
    # concepts added since, the v1.2.1 API answers of roles-skills) and in an independent copy of ESCO's German files
    # (alonsopg's CSVs or OpenEduHub's vocabulary): docs/evidence/esco-align.md.
    verified_esco |= {
        "47a49cd6-097d-457a-9f7b-c290c14930d5",  # analyse-big-data
        "b04f377b-ee80-4b38-aca1-19d266a23b17",  # analyse-business-requirements
        "f28617ad-afdd-4041-814c-216153a38998",  # analyse-software-specifications
        "9433da85-70fa-4a25-8f96-71fa59dd1989",  # biology
        "a261c61a-29b8-4b6a-a283-e5a7d5077352",  # biostatistics
        "98301d4a-2cc3-439d-8d7f-0b6ac76302bb",  # business-process-modelling
        "9e84a506-df06-4be3-874a-fa01293e3dd5",  # business-processes
        "e464363b-8346-421d-9035-52118b76d8c8",  # computational-biology
        "9983816d-cc78-4d3f-9e3c-c7baa9ebc77a",  # computer-equipment
        "48db96bf-3314-45c6-bad8-fdb6e20e5639",  # data-engineering
        "cc7370dd-69fa-4c67-a96f-d4d135d38700",  # data-quality-assessment
        "9ef0f3a0-9ce2-4ef1-a987-0366b5cb2dbe",  # database-development-tools
        "3ce1fe19-7f9e-4070-941d-651673a5693b",  # decision-support-systems
        "5706691c-2c38-46e4-9e88-c55be7e5d3ff",  # digital-camera-sensors
        "8f6ed69b-29d0-4c01-81ba-f05920a185f3",  # digital-curation
        "327d15c8-29ff-4ad4-a4fe-6536d777a45f",  # documentation-types
        "2180bd8c-86de-4889-8165-adac902eee9d",  # embedded-systems
        "e3423f86-0e6b-4bec-a354-1d21fe8597b6",  # genetic-engineering
        "54b2c5ea-4475-4bf5-a433-b0dc5442e691",  # genetics
        "e043aeeb-78f5-4049-afbf-12bba52225bc",  # hardware-architectures
        "fb82ae25-b59f-43fd-aacf-a8308afbe85e",  # health-informatics
        "c453cf81-6197-428e-84c6-70c773b63f27",  # ict-architectural-frameworks
        "45f1ae17-c20d-40fc-9307-7d33b6ca9213",  # image-recognition
        "93aaf65c-5aad-4e6f-a7ba-ce9bf7c0e6e6",  # information-categorisation
        "696e3b5b-8b61-45af-ae4c-3ab700f197ec",  # information-extraction
        "03ff0d53-573a-47a0-a0ad-1995815a4339",  # information-structure
        "fa7d581b-da0e-47cf-bae8-4d07f267a225",  # infrared-sensors
        "925463a7-d51f-4d5b-9f79-4d28cf30acde",  # integrated-development-environments
        "8259c2c0-2749-41e2-a4a8-4a64a76eab37",  # laboratory-techniques
        "32a2c63d-2d13-4784-abb8-678ef2cd8a46",  # language-translation
        "a57a54b6-2f2e-43e4-9621-b52f4a63cb08",  # ldap
        "810df100-e85a-4c13-b619-34030a75ecc2",  # linguistics
        "c7d24594-0c11-4b27-9039-fe0bb903da8e",  # linq
        "4339176e-3acd-4f7f-a5d9-445bee3d23f2",  # mathematics
        "1b7c716e-af95-4cda-a42f-6479c8b139f5",  # mdx
        "8f2a4d74-b16f-4023-8fc1-b8dc8b21ffb9",  # molecular-biology
        "f597f772-24d3-4cec-813c-cf5a7027c794",  # n1ql
        "fff0e2cd-d0bd-4b02-9daf-158b79d9688a",  # natural-language-processing
        "07889c08-7220-47c8-96f7-6068fbea00dc",  # normalise-data
        "5be3d306-6cf1-4b49-aa1d-01651dd4ba4c",  # object-oriented-modelling
        "b0a3bb25-a02f-43ed-ab1f-994fa66a424a",  # online-analytical-processing
        "f9a6f35b-01a7-40c9-8b61-b6ee46f97272",  # operating-systems (the German ESCO copy and OpenEduHub's agree)
        "6360a934-cc87-4954-9656-b32db20592e3",  # quantitative-analysis
        "9cf681c7-89ec-470c-b651-7fe03786f586",  # query-languages
        "e87ec79a-c9ff-46f5-84fa-7a0f394cdf40",  # robotics
        "5b26f08b-88bc-45f0-b901-530d7786466b",  # scientific-computing
        "cb304338-3a44-4b6f-802b-dfc6c64de109",  # scientific-modelling
        "cfa2be0d-96d5-4017-a866-962efb9c5070",  # signal-processing
        "c5e8abde-d2ba-4e8e-a65e-720b71180666",  # unstructured-data
        "69bbd53f-fbb0-4476-b4b2-ef7844464e28",  # web-programming
        "3f4dab51-572b-4e2c-85ef-3b4c3f7094e1",  # xquery
    }
    # ... and of data/esco-align-2.trig (the same two copies each; docs/evidence/esco-align-2.md).
    verified_esco |= {
        "9a58cd26-58eb-4a1c-b1b6-64037fe9cfa1",  # abstract-thinking
        "e3fcd642-5f9c-48ee-be58-258dd895d281",  # collecting-biological-data
        "a80fb090-63f4-4b05-83a5-2f090deb7757",  # data-collection-systems
        "f9670490-8aa4-4540-b121-d440a8294aab",  # data-processing-applications
        "2522a6ce-3202-4ac8-9f5b-b9cb5a3a83a1",  # debugging-software
        "2daec0e6-f0c1-43e8-8178-aedba99130ec",  # establishing-data-processes
        "0d6714c6-720e-4985-9791-5ab85d28da79",  # gathering-data
        "4a193795-fa63-414e-9f2e-bfdb3924571e",  # handling-data-samples
        "872a1632-f1db-4feb-bb27-0a6a359b7591",  # open-innovation
        "da930e2f-6047-4616-a598-bba8ecef3039",  # open-publications
        "a8d24a95-47b3-4f88-92e7-06600bcd3612",  # professional-development
        "99207709-d076-4cce-ba38-e90d3bb28806",  # rdf-query-languages
        "5f0082ab-2131-49b5-94d6-a1821daf57d6",  # research-funding
        "f715be1d-5fc4-49d3-82a5-0b8090d12849",  # synthesising-information
    }
    # ... and of data/esco-align-3.trig: biometrics (ESCO v1.0 and v1.1.1 English files, the German vocabulary of
    # OpenEduHub), computational chemistry (ESCO v1.2.0's English and German collections; docs/evidence/esco-align-3.md).
    verified_esco |= {"3c35dfa4-6dae-45a5-ae0a-f6a45923a95f", "d663e407-33c6-4397-b40e-dced5ebe20b5"}
    # ESCO concepts of data/esco-skills.trig, each with the same UUID and label in two independent copies of ESCO
    # data (roles-skills' v1.2.1 API answers and the v1.0 CSV files): docs/evidence/esco-skills.md.
    verified_esco |= {
        "f5308e60-d763-4ead-be95-88c96fb3e02b",  # adapt-to-changes-in-technological-development-plans
        "0a9acb6b-1139-4be9-b431-3a80a959f2f4",  # agile-project-management
        "cbe2c304-1e7d-489a-97d9-a7d3e37a9db6",  # apply-ict-systems-theory
        "0dc7aa1b-b5af-4f4b-81ce-ee22ed8b6926",  # assess-ict-knowledge
        "dc72ad0a-c5dc-4abd-bc0d-ca43e82162e1",  # build-business-relationships
        "38d49d88-9069-467b-b29e-3cae739bdd4d",  # build-predictive-models
        "505e4ef3-7ce4-437d-b7b4-5c608f71c258",  # build-recommender-systems
        "71746a0b-e58d-4dc4-ad03-bd84082eae21",  # collect-customer-feedback-on-applications
        "79e29b8b-47d1-470d-b7b1-32506bfe7d9a",  # collect-ict-data
        "906323f4-00c4-4c3b-ab5a-8af77be3456e",  # create-data-sets
        "901105f8-3a08-453e-b1dc-23619e317fd3",  # create-flowchart-diagram
        "1a4cc54f-1e53-442b-a6d2-1682dc8ef8f9",  # creatively-use-digital-technologies
        "5898d99a-62a4-4e10-a2e3-0d815ce44248",  # cyber-attack-counter-measures
        "43ae58b9-5e56-4524-b45a-b422777a0576",  # database
        "d9e5349e-8791-49c2-8ba4-839fdd1606c2",  # define-technical-requirements
        "b0096dc5-2e2d-4bc1-8172-05bf486c3968",  # design-application-interfaces
        "2c28fc20-8a60-4311-8899-5ef8729c05b3",  # design-process
        "fd33c66c-70c4-40e6-b87c-5495bd3bf26e",  # design-user-interface
        "0b0335f3-0aa1-491e-895e-81fc8774a300",  # develop-automated-migration-methods
        "8c4c49d4-9708-433f-8ca7-bf2c5211ee49",  # develop-creative-ideas
        "797a4416-0b8d-44f3-8fcd-eb10bd0be6b4",  # develop-software-prototype
        "bb165899-d95f-4433-95f2-173fefd716d2",  # develop-statistical-software
        "209a5498-3449-4689-8ed9-bd08cab4fd78",  # engineering-principles
        "72a74f69-5cf1-43c5-99b9-62a444578919",  # engineering-processes
        "0c766ca3-9364-4203-916b-fed16e4814c1",  # gather-data-for-forensic-purposes
        "bec4359e-cb92-468f-a997-8fb28e32fba9",  # ict-project-management-methodologies
        "7814e88f-c133-4c3b-b27f-857afa145d42",  # ict-security-legislation
        "553ad092-b799-44c9-a94c-65a84fdc7526",  # identify-processes-for-re-engineering
        "1bba98a7-92b9-450b-9235-e0c905f8f3c4",  # information-architecture
        "46ec0033-3c71-415e-bcff-b065675ba2dc",  # integrate-ict-data
        "f049d050-12da-4e40-813a-2b5eb6df6b51",  # internet-of-things
        "be48353d-25c7-4f86-bea9-7b9e248fbc6e",  # interpret-technical-requirements
        "da6393d5-a53c-4863-abc7-51f36281d74e",  # lean-project-management
        "41bf7ede-fc84-4a57-8c89-b548d11b0ba1",  # manage-business-knowledge
        "6a899482-8bcf-40ca-ae67-579a1cc467ab",  # manage-engineering-project
        "4d85b881-e490-4b4c-897a-2faa4ef53956",  # manage-ict-data-architecture
        "03a74eee-2dc6-4147-8667-5cdeb65f122d",  # manage-ict-data-classification
        "fda917eb-0d6a-4371-8c93-2a10bf950966",  # manage-ict-semantic-integration
        "57231a22-4da7-49c8-97b8-75672feadf1e",  # manage-quantitative-data
        "a584a638-a2c0-4b3c-bdf3-a64f87225be9",  # mentor-individuals
        "020918ef-4b55-47c1-8430-ab7b8f6a7377",  # migrate-existing-data
        "76ef6ed3-1658-4a1a-9593-204d799c6d0c",  # nosql
        "4fabca9a-7435-4f33-b1da-3cdb00340fdc",  # perform-scientific-research
        "d5a59ca8-2e91-472e-8571-d12ce4478679",  # process-based-management
        "f2d57f41-43b4-4f5b-8100-3df5c21eda50",  # process-data
        "7111b95d-0ce3-441a-9d92-4c75d05c4388",  # project-management
        "979cf728-896f-4f2c-8fa8-2698ca0d4930",  # publish-academic-research
        "438ff259-d086-4004-acda-1ec3e1631bc6",  # software-anomalies
        "24c200e5-be20-4370-a137-ab53797f3a17",  # software-frameworks
        "2de4572a-4724-4f76-afc2-72a568a264ac",  # speak-different-languages
        "611ed16b-99bf-4840-9cab-f55d1d286e0a",  # store-digital-data-and-systems
        "09f2f811-a3fb-4de3-a70f-6420a6935575",  # systems-development-life-cycle
        "7482a123-e801-48de-9733-262125671410",  # task-algorithmisation
        "9d2e926f-53d9-41f5-98f3-19dfaa687f3f",  # tools-for-software-configuration-management
        "04fe962b-4017-4eb7-9139-7d69b6922bc9",  # use-an-application-specific-interface
        "7d10fcb2-b368-48ab-996b-7c9fafcf68ed",  # use-automatic-programming
        "25b291b5-8245-4d9d-b391-86a8a31d7109",  # use-concurrent-programming
        "1b70a55d-b8a4-49fc-96c6-15ab4cff2522",  # use-data-processing-techniques
        "4463a721-69f3-413d-8321-43e3af13a4f1",  # use-databases
        "d31fab87-2a7d-485c-b699-2901ca294b15",  # use-functional-programming
        "2c4e11ef-da18-4e19-816b-e6bc19e12424",  # use-logic-programming
        "5b9cde20-f1b9-4adc-bfb3-dbf70b14138d",  # use-object-oriented-programming
        "2b7a79e5-84d8-4880-be66-3d9bb05bea17",  # use-software-design-patterns
        "8b94aa1e-89c9-459d-b3b4-1dfab8dec2df",  # use-software-libraries
        "1973c966-f236-40c9-b2d4-5d71a89019be",  # use-spreadsheets-software
        "1605025e-a179-421f-8f35-5b07d182a6b2",  # web-analytics
        "8696aff0-18c0-4ba6-a4d0-9a21861b3e5e",  # world-wide-web-consortium-standards
    }
    verified_onet = {"15-2051.00", "15-1221.00", "15-1252.00", "15-2041.00", "15-2031.00", "15-1243.00"}
    verified_onet |= {"15-1243.01", "15-1299.08", "15-1242.00", "15-2051.02", "19-1029.01", "17-2141.02"}
    # Robotics Engineers: the code and title together in O*NET's occupation files as several projects copy them,
    # and the rows of two releases of O*NET's Technology Skills file.
    verified_onet |= {"17-2199.08"}
    # Business Intelligence Analysts, Biostatisticians (O*NET 29.2's files, docs/evidence/onet-roles-2026.md, and
    # other projects' O*NET lists); Health Informatics Specialists (../shared/notes/identifiers.md).
    verified_onet |= {"15-2051.01", "15-2041.01", "15-1211.01"}
    result = filled_store.query(
        PREFIXES
        + """SELECT ?x WHERE { ?r skos:exactMatch|skos:closeMatch ?x
        FILTER(STRSTARTS(STR(?r), "https://w3id.org/careerkg/id/")) }"""
    )
    assert isinstance(result, ox.QuerySolutions)
    linked = {str(row["x"].value).rsplit("/", 1)[-1] for row in result}
    assert linked
    assert linked <= verified_wikidata | verified_esco
    result = filled_store.query(PREFIXES + "SELECT ?c WHERE { ?r schema:occupationalCategory ?c }")
    assert isinstance(result, ox.QuerySolutions)
    codes = {row["c"].value for row in result}
    assert codes
    assert codes <= verified_onet
    assert not ask(filled_store, "ASK { tool:keras skos:exactMatch ?x }")  # Keras's QID is disputed


def test_skills_link_to_the_wikidata_items_they_were_checked_against(filled_store: Store) -> None:
    """Each skill's Wikidata link is the item its label was checked against, no more, no fewer, none swapped."""
    rows = select(
        filled_store,
        """SELECT ?s ?x WHERE { ?s a ckg:Skill ; skos:exactMatch|skos:closeMatch ?x
        FILTER(STRSTARTS(STR(?x), "http://www.wikidata.org/entity/")) }""",
    )
    linked = {row["s"].rsplit("/", 1)[-1]: row["x"].rsplit("/", 1)[-1] for row in rows}
    assert len(rows) == len(linked), "a skill has more than one Wikidata link"
    assert linked == SKILL_WIKIDATA


def test_onet_roles_cite_the_page_of_their_code(filled_store: Store) -> None:
    """A role aligned to an O*NET occupation from its O*NET page cites that page, and so do its responsibilities."""
    result = filled_store.query(
        PREFIXES
        + """SELECT ?role ?code ?url WHERE { ?role a ckg:Role ; schema:occupationalCategory ?code ; dcterms:source ?s .
        ?s schema:url ?url FILTER(STRSTARTS(STR(?url), "https://www.onetonline.org/link/summary/")) }"""
    )
    assert isinstance(result, ox.QuerySolutions)
    rows = [(r["role"].value, r["code"].value, r["url"].value) for r in result]
    assert len(rows) >= 7
    for role, code, url in rows:
        assert url.endswith("/" + code), (role, url)
        assert ask(
            filled_store,
            f"""ASK {{ <{role}> ckg:hasResponsibility ?r . ?r dcterms:source ?s . ?s schema:url <{url}> }}""",
        ), role


def test_esco_roles_cite_their_esco_page(filled_store: Store) -> None:
    """A role taken from an ESCO occupation (not an O*NET one) matches it and cites its page, and so do its responsibilities."""
    rows = [
        (r["role"], r["esco"])
        for r in select(
            filled_store,
            """SELECT ?role ?esco WHERE { ?role a ckg:Role ; skos:exactMatch ?esco ; dcterms:source ?s .
            ?s schema:url ?esco FILTER NOT EXISTS { ?role schema:occupationalCategory ?onet } }""",
        )
    ]
    assert {role.rsplit("/", 1)[-1] for role, _ in rows} >= {"data-engineer", "data-analyst"}
    for role, esco in rows:
        assert esco.startswith("http://data.europa.eu/esco/occupation/")
        assert ask(
            filled_store,
            f"ASK {{ <{role}> ckg:hasResponsibility ?r . ?r dcterms:source ?s . ?s schema:url <{esco}> }}",
        ), role


def test_esco_skills_belong_to_the_role_of_their_profile(filled_store: Store) -> None:
    """A skill taken from an ESCO occupation profile is essential or optional for the role matching that occupation."""
    rows = [
        (r["skill"], r["esco"])
        for r in select(
            filled_store,
            """SELECT ?skill ?esco WHERE { ?skill a ckg:Skill ; dcterms:source ?s . ?s schema:url ?esco
            FILTER(STRSTARTS(STR(?esco), "http://data.europa.eu/esco/occupation/")) }""",
        )
    ]
    assert len(rows) >= 60
    for skill, esco in rows:
        assert ask(
            filled_store,
            f"ASK {{ ?role skos:exactMatch <{esco}> ; ckg:essentialSkill|ckg:optionalSkill <{skill}> }}",
        ), skill


def test_esco_skill_concepts_map_to_one_careerkg_skill(filled_store: Store) -> None:
    """Only skills link to ESCO's skill pillar, and no two CareerKG skills claim the same ESCO concept."""
    rows = select(
        filled_store,
        """SELECT ?s ?e WHERE { ?s skos:exactMatch|skos:closeMatch ?e
        FILTER(STRSTARTS(STR(?e), "http://data.europa.eu/esco/skill/")) }""",
    )
    assert len(rows) >= 20
    claimed: dict[str, set[str]] = {}
    for row in rows:
        assert row["s"].startswith("https://w3id.org/careerkg/id/skill/"), row
        claimed.setdefault(row["e"], set()).add(row["s"])
    assert {concept: skills for concept, skills in claimed.items() if len(skills) > 1} == {}


def test_ai_act_applications_name_their_annex_iii_point(filled_store: Store) -> None:
    """Every application cited to the EU AI Act says which point of Annex III lists it, and sits in an industry."""
    rows = {
        r["app"]: (r["description"], int(r["industries"]))
        for r in select(
            filled_store,
            """SELECT ?app (SAMPLE(?d) AS ?description) (COUNT(?industry) AS ?industries) WHERE {
            ?app a ckg:Application ; dcterms:source source:eu-ai-act ; dcterms:description ?d .
            OPTIONAL { ?app ckg:inIndustry ?industry } } GROUP BY ?app""",
        )
    }
    assert len(rows) >= 20
    for app, (description, industries) in rows.items():
        if app.endswith("/credit-risk-assessment"):
            continue  # the article's application, also listed by the Act
        assert re.search(r"Annex III, point \d", description), app
        assert industries >= 1, app


def test_onet_roles_have_tools_degrees_and_sources(filled_store: Store) -> None:
    """Every role taken from an O*NET occupation uses at least three tools O*NET lists and names its Job Zone's degree."""
    result = filled_store.query(
        PREFIXES
        + """SELECT ?role (COUNT(DISTINCT ?tool) AS ?tools) (COUNT(DISTINCT ?degree) AS ?degrees) WHERE {
        ?role a ckg:Role ; schema:occupationalCategory ?code ;
              dcterms:source source:onet-technology-skills, source:onet-job-zones .
        OPTIONAL { ?role ckg:usesTool ?tool . ?tool dcterms:source source:onet-technology-skills }
        OPTIONAL { ?role ckg:requiredCredential|ckg:recommendedCredential ?degree .
                   ?degree dcterms:source source:onet-job-zones }
        } GROUP BY ?role"""
    )
    assert isinstance(result, ox.QuerySolutions)
    rows = {
        row["role"].value.rsplit("/", 1)[-1]: (int(row["tools"].value), int(row["degrees"].value)) for row in result
    }
    coded = filled_store.query(
        PREFIXES
        + """SELECT DISTINCT ?role WHERE { ?role schema:occupationalCategory ?c ; dcterms:source ?s .
        ?s schema:url ?url FILTER(STRSTARTS(STR(?url), "https://www.onetonline.org/link/summary/")) }"""
    )
    assert isinstance(coded, ox.QuerySolutions)
    assert set(rows) == {row["role"].value.rsplit("/", 1)[-1] for row in coded}
    for role, (tools, degrees) in rows.items():
        assert tools >= 3, role
        assert degrees >= 1, role


def test_industry_links_cite_a_labour_market_source(filled_store: Store) -> None:
    """A role linked to an industry by the BLS or O*NET pages cites the page the industry cites for it (unless the
    link has its own source, a statement record: then that record says who states it)."""
    result = filled_store.query(
        PREFIXES
        + """SELECT ?role ?industry WHERE { ?role a ckg:Role ; ckg:inIndustry ?industry ; dcterms:source ?s .
        ?s dcterms:creator "U.S. Bureau of Labor Statistics" .
        FILTER NOT EXISTS { ?industry dcterms:source ?t . ?role dcterms:source ?t .
            ?t dcterms:creator ?c FILTER(?c IN ("U.S. Bureau of Labor Statistics", "National Center for O*NET Development")) }
        FILTER NOT EXISTS { ?record rdf:subject ?role ; rdf:predicate ckg:inIndustry ; rdf:object ?industry ;
            dcterms:source ?stated }
        }"""
    )
    assert isinstance(result, ox.QuerySolutions)
    assert [(r["role"].value, r["industry"].value) for r in result] == []


def test_apprenticeships_name_their_standard_and_the_role_cites_it(filled_store: Store) -> None:
    """Every apprenticeship names its English standard (STnnnn) and level, is recommended for a role, and that
    role cites the occupational standard the apprenticeship cites."""
    rows = select(
        filled_store,
        """SELECT ?c ?label ?level WHERE { ?c a ckg:Apprenticeship ; rdfs:label ?label ; ckg:educationLevel ?level }""",
    )
    assert len(rows) >= 4
    for row in rows:
        assert re.search(r"\(Level [4-7], ST\d{4}\)$", row["label"]), row["label"]
        assert ask(
            filled_store,
            f"""ASK {{ ?role ckg:recommendedCredential <{row["c"]}> ; dcterms:source ?s .
                <{row["c"]}> dcterms:source ?s . ?s dcterms:type "occupational standard" }}""",
        ), row["c"]


def test_derived_transitions_split_the_target_skills_by_the_start_role(filled_store: Store) -> None:
    """Each derived transition's shared and bridging skills are exactly the target's essential skills, split by
    whether the starting role has them; and it is marked derived by its one source."""
    rows = select(
        filled_store,
        """SELECT ?t ?from ?to WHERE { ?t a ckg:CareerTransition ; ckg:fromRole ?from ; ckg:toRole ?to ;
            dcterms:source source:careerkg-skill-overlap }""",
    )
    assert len(rows) >= 20
    for row in rows:
        t, start, end = row["t"], row["from"], row["to"]
        has = f"<{start}> ckg:essentialSkill|ckg:optionalSkill ?s"
        checks = {
            "a shared skill the start lacks": f"ASK {{ <{t}> ckg:sharedSkill ?s FILTER NOT EXISTS {{ {has} }} }}",
            "a bridging skill the start has": f"ASK {{ <{t}> ckg:bridgingSkill ?s . {has} }}",
            "a shared or bridging skill the target does not need": f"""ASK {{ <{t}> ckg:sharedSkill|ckg:bridgingSkill ?s
                FILTER NOT EXISTS {{ <{end}> ckg:essentialSkill ?s }} }}""",
            "an essential skill of the target left out": f"""ASK {{ <{end}> ckg:essentialSkill ?s
                FILTER NOT EXISTS {{ <{t}> ckg:sharedSkill|ckg:bridgingSkill ?s }} }}""",
            "a second source": f"ASK {{ <{t}> dcterms:source ?other FILTER(?other != source:careerkg-skill-overlap) }}",
            "another transition between the same roles": f"""ASK {{ ?o ckg:fromRole <{start}> ; ckg:toRole <{end}>
                FILTER(?o != <{t}>) }}""",
        }
        found = [name for name, query in checks.items() if ask(filled_store, query)]
        assert not found, (t, found)
        assert ask(filled_store, f"ASK {{ <{t}> ckg:sharedSkill ?a, ?b FILTER(?a != ?b) }}"), f"{t}: under 2 shared"


def test_derived_transitions_go_at_most_one_level_up(filled_store: Store) -> None:
    """On every ladder that levels both roles, no derived move climbs more than one rung (an intermediate data
    analyst is no chief data officer in one move, nor does a Job Zone Three occupation lead straight to a Job Zone
    Five one); ranks of different ladders are not compared; stated moves keep their sources' word."""
    rows = select(
        filled_store,
        """SELECT ?t ?ladder ?up WHERE { ?t ckg:fromRole ?from ; ckg:toRole ?to ;
                dcterms:source source:careerkg-skill-overlap .
            ?from ckg:level ?x . ?x skos:inScheme ?ladder ; ckg:rank ?a .
            ?to ckg:level ?y . ?y skos:inScheme ?ladder ; ckg:rank ?b BIND(?b - ?a AS ?up) }""",
    )
    assert len({row["ladder"] for row in rows}) >= 2, "a ladder no derived transition crosses: the rule goes untested"
    assert [row["t"] for row in rows if int(row["up"]) > 1] == []
    # The case the rule is for: the chief data officer is more than one rung above the analyst, and no move from
    # the analyst reaches it, though the analyst has the skills the overlap rule needs at least.
    analyst, officer = (
        "<https://w3id.org/careerkg/id/role/data-analyst>",
        "<https://w3id.org/careerkg/id/role/chief-data-officer>",
    )
    assert ask(
        filled_store, f"ASK {{ {officer} ckg:level/ckg:rank ?b . {analyst} ckg:level/ckg:rank ?a FILTER(?b - ?a > 1) }}"
    )
    assert not ask(filled_store, f"ASK {{ ?t ckg:fromRole {analyst} ; ckg:toRole {officer} }}")
    shared = select(
        filled_store,
        f"""SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {officer} ckg:essentialSkill ?s .
            {analyst} ckg:essentialSkill|ckg:optionalSkill ?s }}""",
    )
    assert int(shared[0]["n"]) >= 2  # without the level rule the skill overlap alone would derive the move


def test_career_moves_an_adviser_would_sign(filled_store: Store) -> None:
    """The audit's sanity cases, both directions: moves an adviser expects are in the graph, stated by a source
    (not left to the derivation's top-3 cut or to skill lists no one aligned), with what to learn; moves an adviser
    would reject are not, stated or derived."""
    role = "https://w3id.org/careerkg/id/role/"
    expected = [
        ("data-scientist", "ml-engineer"),
        ("data-engineer", "ml-engineer"),
        ("software-developer", "ml-engineer"),
    ]
    for start, end in expected:
        rows = select(
            filled_store,
            f"""SELECT ?t ?source ?skill WHERE {{ ?t ckg:fromRole <{role}{start}> ; ckg:toRole <{role}{end}> ;
                dcterms:source ?source ; ckg:bridgingSkill ?skill }}""",
        )
        assert rows, f"{start} -> {end}: no move with skills to learn"
        assert {r["source"] for r in rows} - {"https://w3id.org/careerkg/id/source/careerkg-skill-overlap"}, (
            f"{start} -> {end}: no source"
        )
    rejected = [
        ("chief-data-officer", "ai-engineer"),
        ("ai-engineer", "chief-data-officer"),
        ("bioinformatics-scientist", "computer-vision-engineer"),
        ("computer-vision-engineer", "bioinformatics-scientist"),
        ("data-analyst", "chief-data-officer"),
    ]
    for start, end in rejected:
        assert not ask(filled_store, f"ASK {{ ?t ckg:fromRole <{role}{start}> ; ckg:toRole <{role}{end}> }}"), (
            start,
            end,
        )


@pytest.mark.parametrize(
    "obj",
    [
        ox.NamedNode("https://w3id.org/careerkg/id/tool/pytorch"),
        ox.Literal('quote " backslash \\ newline \n return \r tab \t bell \x07 delete \x7f nul \x00'),
        ox.Literal("Künstliche Intelligenz 😀 \u2028 \ufeff"),
        ox.Literal("Data Engineer", language="en-GB"),
        ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        ox.Literal("2024-09-04", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")),
    ],
)
def test_a_statement_record_is_named_by_the_n_triples_of_its_triple(obj: ox.NamedNode | ox.Literal) -> None:
    """Record IRIs are stable names: the hash of the triple as pyoxigraph's N-Triples writer writes it, whatever
    the literal holds (the name is built from the terms' own printing, which must say the same)."""
    s, p = (
        ox.NamedNode("https://w3id.org/careerkg/id/role/x"),
        ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
    )
    written = ox.serialize([ox.Triple(s, p, obj)], format=ox.RdfFormat.N_TRIPLES) or b""
    digest = hashlib.sha1(written, usedforsecurity=False).hexdigest()[:20]
    assert rdfio.statement_iri(s, p, obj) == ox.NamedNode(f"https://w3id.org/careerkg/id/statement/{digest}")


@pytest.mark.parametrize("others", [0, 40])  # the sources most of the store (moved to a new one), or a few quads
def test_what_a_source_states_is_asserted_with_a_record_and_the_two_fill_paths_agree(others: int) -> None:
    """A statement in a source's graph is asserted, with a record citing that source; one about a blank node, or a
    citation itself, or one in a graph named by a blank node (no source to cite), is asserted without a record. The
    fast fill (``assert_sources_in``, in a store) and the careful one (``asserting_sources``, on quads) agree."""
    ns = "https://w3id.org/careerkg/id/"
    source, role, label = ox.NamedNode(ns + "source/s"), ox.NamedNode(ns + "role/r"), ox.NamedNode(RDFS_LABEL)
    cites = ox.NamedNode("http://purl.org/dc/terms/source")
    blank, blank_graph = ox.BlankNode("b"), ox.BlankNode("g")
    quads = [
        ox.Quad(role, label, ox.Literal("R", language="en"), source),
        ox.Quad(role, cites, source, source),
        ox.Quad(blank, label, ox.Literal("B"), source),
        ox.Quad(role, label, ox.Literal("G", language="de"), blank_graph),
        ox.Quad(role, label, ox.Literal("D", language="fr"), ox.DefaultGraph()),
    ]
    quads += [ox.Quad(ox.NamedNode(f"{ns}role/o{i}"), label, ox.Literal("O"), ox.DefaultGraph()) for i in range(others)]
    careful = set(rdfio.asserting_sources(quads))
    store = ox.Store()
    store.extend(quads)
    fast = rdfio.assert_sources_in(store, ox.DefaultGraph())
    assert set(fast) == careful
    assert (fast is store) == (others > 0)  # moved in place only beside many other quads
    record = rdfio.statement_iri(role, label, ox.Literal("R", language="en"))
    assert {(q.predicate.value, q.object) for q in careful if q.subject == record} == {
        (RDF + "type", rdfio.STATEMENT),
        (RDF + "subject", role),
        (RDF + "predicate", label),
        (RDF + "object", ox.Literal("R", language="en")),
        ("http://purl.org/dc/terms/source", source),
    }
    records = {q.subject for q in careful if q.object == rdfio.STATEMENT}
    assert records == {record}  # the citation, the blank node's label, and the blank-named graph's: no record
    assert ox.Quad(role, label, ox.Literal("G", language="de"), blank_graph) in careful  # left in its graph
    assert ox.Quad(blank, label, ox.Literal("B"), ox.DefaultGraph()) in careful
