"""Examples for every REST operation, from the shipped graph: what a request looks like and what it answers.

``python -m service.api.examples`` asks an in-memory app each operation's example request and writes the answers,
shortened (lists of at most three items; times and versions fixed), to ``examples.json`` beside this file;
``openapi.polish`` puts them into the OpenAPI document. The tests hold every operation to having one, every example
to its schema, and the file to what the shipped graph answers now: after a change to the data, run it again.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from service.api.editing import LINKS, TEXTS

EXAMPLES = Path(__file__).with_name("examples.json")
TOKEN = "example-token"  # the in-memory app's, for the write examples
# One resource per collection whose answers show what the operations do.
SAMPLE = {
    "roles": "ml-engineer",
    "skills": "deep-learning",
    "tools": "pytorch",
    "industries": "healthcare",
    "applications": "fraud-detection",
    "credentials": "google-cloud-professional-ml-engineer",
}
# Query parameters the operations need (or show best with), by operationId.
QUERIES: dict[str, dict[str, str]] = {
    "compareRoles": {"roles": "ai-engineer,ml-engineer"},
    "getRoleGap": {"from": "data-scientist"},
    "getRolePaths": {"to": "ai-engineer"},
    "search": {"q": "learning"},
    "suggest": {"q": "py"},
}
MATCH = {"skills": ["machine-learning", "python-programming", "statistics"], "tools": ["pytorch"]}
LISTED = 3  # items kept per list in an example


@cache
def load() -> dict[str, dict[str, Any]]:
    """The examples, by operationId (empty if they were never built)."""
    if not EXAMPLES.is_file():
        return {}
    examples: dict[str, dict[str, Any]] = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    return examples


# What differs from one run to the next (times, the store instance in a version), replaced by fixed examples.
FIXED = {"at": "2026-11-29T12:00:00+00:00", "dataset_version": "3f2a9c1e-7"}


def shorten(value: Any) -> Any:
    """A JSON value with every list cut to its first LISTED items and run-specific values fixed."""
    if isinstance(value, list):
        return [shorten(v) for v in value[:LISTED]]
    if isinstance(value, dict):
        return {k: FIXED[k] if k in FIXED else shorten(v) for k, v in value.items()}
    return value


def write_body(kind: str, detail: dict[str, Any]) -> dict[str, Any]:
    """A PUT body that states what ``detail`` (a GET answer) says of the resource: labels, description, sources,
    every link and text field the kind takes."""
    links: dict[str, list[str]] = {}
    for name in LINKS[kind]:
        if name in ("required_credentials", "recommended_credentials"):
            found = detail.get("credentials", {}).get(name.removesuffix("_credentials"), [])
        elif kind == "skill" and name in ("broader", "categories"):
            wanted = "skill" if name == "broader" else "skill-category"
            found = [i for i in detail.get("broader", []) if i["type"] == wanted]
        else:
            found = detail.get(name, [])
        if found:
            links[name] = [item["id"] for item in found]
    values = {}
    for name in TEXTS[kind]:
        found = detail.get(name)
        if found:
            values[name] = found if isinstance(found, list) else [found]
    body: dict[str, Any] = {
        "label": detail["labels"],
        "description": {"en": detail["description"]},
        "sources": [source["id"] for source in detail["sources"]],
    }
    if detail.get("alt_labels"):
        body["alt_labels"] = {"en": detail["alt_labels"]}
    matches = [iri for ids in ("esco", "wikidata") for iri in detail["external_ids"].get(ids, [])]
    if matches and kind != "role":  # a role's ESCO link is a close match, which the write form does not take
        body["exact_matches"] = matches
    if links:
        body["links"] = links
    if values:
        body["values"] = values
    return body


def build() -> dict[str, dict[str, Any]]:
    """Ask a fresh in-memory app every operation's example request; its answers, by operationId."""
    from service.api.openapi import SINGULAR
    from service.app import create_app

    app = create_app({"store": "memory", "write_token": TOKEN})
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    document = client.get("/openapi.json").get_json()
    examples: dict[str, dict[str, Any]] = {}
    writes: list[tuple[str, str, str, dict[str, Any]]] = []
    for path, operations in sorted(document["paths"].items()):
        if not path.startswith("/api/v1/"):
            continue
        collection = path.removeprefix("/api/v1/").split("/")[0]
        url = path.replace("{id}", SAMPLE.get(collection, ""))
        for method, operation in operations.items():
            name = operation["operationId"]
            if method in ("put", "patch", "delete"):
                writes.append((name, method, url, {"kind": SINGULAR[collection].lower()}))
                continue
            takes = {p["name"] for p in operation.get("parameters", [])}
            query = QUERIES.get(name, {"limit": "2"} if "limit" in takes else {})
            ident = {"id": SAMPLE[collection]} if "{id}" in path else {}
            if method == "post":
                answer = client.post(url, json=MATCH)
                examples[name] = {"body": MATCH, "status": answer.status_code, "answer": shorten(answer.get_json())}
            else:
                answer = client.get(url, query_string=query)
                examples[name] = {
                    **ident,
                    "query": query,
                    "status": answer.status_code,
                    "answer": shorten(answer.get_json()),
                }
            if answer.status_code != 200:
                raise SystemExit(f"{name}: {url} answered {answer.status_code}: {answer.get_data(as_text=True)}")
    for name, method, sample, facts in sorted(writes, key=lambda w: ("put", "patch", "delete").index(w[1])):
        kind, url = facts["kind"], sample
        if method == "put":
            body = write_body(kind, client.get(url).get_json())
        elif method == "patch":
            body = {"label": {"de": client.get(url, query_string={"lang": "de"}).get_json()["label"]}}
        else:  # a resource nothing else needs: a copy of the sample, made for the example
            body = None
            copy = url.rsplit("/", 1)[0] + "/example-copy"
            made = client.put(copy, json=write_body(kind, client.get(sample).get_json()), headers=auth)
            assert made.status_code == 201, made.get_data(as_text=True)
            url = copy
        answer = client.open(url, method=method.upper(), json=body, headers=auth)
        if answer.status_code not in (200, 201):
            raise SystemExit(f"{name}: {url} answered {answer.status_code}: {answer.get_data(as_text=True)}")
        examples[name] = {
            "id": url.rsplit("/", 1)[1],
            "status": answer.status_code,
            "answer": shorten(answer.get_json()),
        }
        if body is not None:
            examples[name]["body"] = shorten(body) if method == "patch" else body
    return dict(sorted(examples.items()))


def main() -> int:
    examples = build()
    EXAMPLES.write_text(json.dumps(examples, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(examples)} operations' examples written to {EXAMPLES}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
