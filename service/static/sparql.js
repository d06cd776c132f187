// The CareerKG query editor: YASGUI (vendored, served from here) against this endpoint, with CareerKG's example
// queries, its prefixes and ontology terms for completion, the query in the address bar, and local result links.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("editor-data").textContent);
  const endpoint = data.endpoint;
  const examples = data.examples;
  const localBase = new URL("id/", endpoint.replace(/sparql$/, "")).href;
  const Yasqe = Yasgui.Yasqe;
  const SHARED = "Shared query"; // the tab shared links open in

  // Completion from what this page ships, never from another host: CareerKG's prefixes before the bundled list,
  // and the ontology's classes and properties in place of the Linked Open Vocabularies look-ups.
  Yasqe.forkAutocompleter("prefixes", {
    name: "careerkg-prefixes",
    persistenceId: null,
    get: (yasqe, token) =>
      Promise.resolve(Yasqe.Autocompleters.prefixes.get(yasqe, token)).then((bundled) => [
        ...Object.entries(data.prefixes).map(([prefix, iri]) => `${prefix}: <${iri}>`),
        ...(bundled || []).filter((line) => !(line.split(":")[0] in data.prefixes)),
      ]),
  });
  Yasqe.forkAutocompleter("property", { name: "careerkg-properties", bulk: true, get: () => data.properties });
  Yasqe.forkAutocompleter("class", { name: "careerkg-classes", bulk: true, get: () => data.classes });
  Yasqe.defaults.autocompleters = ["careerkg-prefixes", "careerkg-properties", "careerkg-classes", "variables"];
  Yasqe.defaults.lineWrapping = true; // no sideways scrolling on a phone
  Yasqe.defaults.viewportMargin = Infinity; // the editor grows with the query: no scrolling region inside the page
  Yasqe.defaults.editorHeight = "auto";
  Yasqe.defaults.resizeable = false;

  const yasgui = (window.careerkgEditor = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    populateFromUrl: false, // the address is read below: ?query= is this service's own share link
    persistenceId: "careerkg-sparql",
    yasqe: { value: examples.length ? examples[0].text : "" },
  })); // window.careerkgEditor: the YASGUI instance, for scripts and tests driving the page

  // The address bar holds the query that ran: copy it to share it; Back returns to the one before.
  let fromAddress = false;
  yasgui.on("query", (instance, tab) => {
    const query = tab.getQuery();
    const address = new URL(window.location.href);
    if (!fromAddress && address.searchParams.get("query") !== query) {
      address.search = new URLSearchParams({ query: query }).toString();
      window.history.pushState({ query: query }, "", address);
    }
    fromAddress = false;
  });
  yasgui.on("queryResponse", (instance, tab) => showDownloads(tab));
  window.addEventListener("popstate", () => openFromAddress(false));
  openFromAddress(true);

  function openFromAddress(newTab) {
    const query = new URL(window.location.href).searchParams.get("query");
    if (query === null) return;
    // Shared links open in one tab of their own, so the tabs a person keeps are not overwritten.
    const kept = newTab && yasgui.persistentConfig.getTabs().find((id) => yasgui.persistentConfig.getTab(id).name === SHARED);
    if (kept) yasgui.selectTabId(kept);
    const tab = newTab && !kept ? yasgui.addTab(true, { name: SHARED }) : yasgui.getTab();
    tab.setQuery(query);
    fromAddress = true;
    tab.getYasqe().query().catch(() => {}); // an error answer is drawn in the results, as from the run button
  }

  document.getElementById("examples").addEventListener("change", (event) => {
    if (event.target.value === "") return;
    yasgui.getTab().setQuery(examples[Number(event.target.value)].text);
  });

  function showDownloads(tab) {
    const type = tab.getYasqe().getQueryType();
    const graph = type === "CONSTRUCT" || type === "DESCRIBE";
    const formats = graph
      ? [["Turtle", "ttl"], ["N-Triples", "nt"], ["JSON-LD", "jsonld"], ["RDF/XML", "rdfxml"]]
      : [["JSON", "json"], ["XML", "xml"], ["CSV", "csv"], ["TSV", "tsv"]];
    const links = document.getElementById("download-links");
    links.textContent = "";
    formats.forEach(([label, name]) => {
      const a = document.createElement("a");
      a.href = endpoint + "?" + new URLSearchParams({ query: tab.getQuery(), format: name });
      a.textContent = label;
      a.setAttribute("download", "results." + name);
      a.dataset.format = name;
      links.appendChild(a);
    });
    document.getElementById("downloads").hidden = false;
  }

  // YASGUI draws as it goes: CareerKG's IRIs in results open their page on this server, and the controls it draws
  // get the names assistive technology reads.
  const names = [
    [".CodeMirror textarea", "SPARQL query"],
    ["select.tableSizer", "Rows per page"],
    ["input.tableFilter", "Filter the results"],
  ];
  function tidy(root) {
    root.querySelectorAll(`a[href^="${data.local_ids}"]`).forEach((a) => {
      a.href = localBase + a.getAttribute("href").slice(data.local_ids.length);
      a.removeAttribute("target");
    });
    names.forEach(([selector, name]) =>
      root.querySelectorAll(selector).forEach((element) => element.setAttribute("aria-label", name)),
    );
    // A tab list holds tabs only: the "add a tab" button goes beside it (its empty box stays: YASGUI adds tabs
    // before it).
    root.querySelectorAll('[role="tablist"] button.addTab').forEach((button) => {
      button.closest('[role="tablist"]').after(button);
    });
  }
  new MutationObserver(() => tidy(document.getElementById("yasgui"))).observe(document.getElementById("yasgui"), {
    childList: true,
    subtree: true,
  });
  tidy(document.getElementById("yasgui"));
})();
