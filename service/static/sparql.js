// The CareerKG query editor: CodeMirror for editing, fetch for running, a table for results.
(function () {
  "use strict";
  const endpoint = document.getElementById("endpoint").textContent;
  const examples = JSON.parse(document.getElementById("example-data").textContent);
  // CareerKG's own IRIs open their page on this server; others go where they point.
  const localIds = JSON.parse(document.getElementById("local-ids").textContent);
  const localBase = new URL("id/", new URL(endpoint).origin + new URL(endpoint).pathname.replace(/sparql$/, "")).href;
  const editor = CodeMirror.fromTextArea(document.getElementById("query"), {
    mode: "application/sparql-query",
    lineNumbers: true,
    lineWrapping: true, // no sideways scrolling on a phone
    viewportMargin: Infinity, // the editor grows with the query: no scrolling region inside the page
    indentUnit: 2,
    extraKeys: { "Ctrl-Enter": run, "Cmd-Enter": run },
  });
  editor.getInputField().setAttribute("aria-label", "SPARQL query"); // the field people type into
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const errorBox = document.getElementById("error");
  const downloads = document.getElementById("downloads");
  const links = document.getElementById("download-links");
  const runButton = document.getElementById("run");

  document.getElementById("examples").addEventListener("change", (event) => {
    editor.setValue(examples[Number(event.target.value)].text);
  });
  runButton.addEventListener("click", run);
  window.addEventListener("popstate", () => {
    const query = new URL(window.location.href).searchParams.get("query");
    if (query !== null) {
      editor.setValue(query);
      run();
    }
  });
  if (document.getElementById("query").dataset.shared) run();  // opened from a shared link

  function cell(term) {
    const td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri") {
      const a = document.createElement("a");
      a.href = term.value.startsWith(localIds) ? localBase + term.value.slice(localIds.length) : term.value;
      a.textContent = term.value;
      td.appendChild(a);
    } else if (term.type === "bnode") {
      td.textContent = "_:" + term.value;
    } else {
      td.textContent = term.value + (term["xml:lang"] ? " @" + term["xml:lang"] : "");
      if (term.datatype) td.title = term.datatype;
    }
    return td;
  }

  function table(json) {
    const t = document.createElement("table");
    const head = t.createTHead().insertRow();
    json.head.vars.forEach((v) => {
      const th = document.createElement("th");
      th.textContent = v;
      head.appendChild(th);
    });
    const body = t.createTBody();
    json.results.bindings.forEach((row) => {
      const tr = body.insertRow();
      json.head.vars.forEach((v) => tr.appendChild(cell(row[v])));
    });
    return t;
  }

  function showDownloads(kind, query) {
    const formats = kind === "graph"
      ? [["Turtle", "ttl"], ["N-Triples", "nt"], ["JSON-LD", "jsonld"], ["RDF/XML", "rdfxml"]]
      : [["JSON", "json"], ["XML", "xml"], ["CSV", "csv"], ["TSV", "tsv"]];
    links.textContent = "";
    formats.forEach(([label, name]) => {
      const a = document.createElement("a");
      a.href = endpoint + "?" + new URLSearchParams({ query: query, format: name });
      a.textContent = label;
      a.setAttribute("download", "results." + name);
      a.dataset.format = name;
      links.appendChild(a);
    });
    downloads.hidden = false;
  }

  async function run() {
    const query = editor.getValue();
    // The address bar holds the query: copy it to share it, Back returns to the one before.
    const shared = new URL(window.location.href);
    if (shared.searchParams.get("query") !== query) {
      shared.search = new URLSearchParams({ query: query }).toString();
      window.history.pushState({ query: query }, "", shared);
    }
    errorBox.hidden = true;
    results.textContent = "";
    downloads.hidden = true;
    runButton.disabled = true;
    status.textContent = "Running…";
    const started = performance.now();
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/sparql-query",
          "Accept": "application/sparql-results+json, text/turtle;q=0.9",
        },
        body: query,
      });
      const type = (response.headers.get("Content-Type") || "").split(";")[0];
      if (!response.ok) {
        const problem = type === "application/problem+json" ? await response.json() : { detail: await response.text() };
        throw new Error((problem.title ? problem.title + ": " : "") + problem.detail);
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      if (type === "application/sparql-results+json") {
        const json = await response.json();
        if ("boolean" in json) {
          results.textContent = "ASK: " + json.boolean;
          status.textContent = "Answered in " + seconds + " s";
        } else {
          results.appendChild(table(json));
          status.textContent = json.results.bindings.length + " rows in " + seconds + " s";
        }
        showDownloads("table", query);
      } else {
        const pre = document.createElement("pre");
        pre.className = "graph";
        pre.textContent = await response.text();
        results.appendChild(pre);
        status.textContent = "Graph in " + seconds + " s";
        showDownloads("graph", query);
      }
    } catch (error) {
      errorBox.textContent = error.message;
      errorBox.hidden = false;
      status.textContent = "Failed";
    } finally {
      runButton.disabled = false;
    }
  }
})();
