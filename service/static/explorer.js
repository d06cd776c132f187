// The explorer: the REST API as a person sees it. Every view has its own address (#/role/ID, #/compare/A,B,
// #/search/TEXT), so Back, bookmarks and sharing work; the language is the browser's unless one is chosen.
(function () {
  "use strict";
  const api = new URL("api/v1", new URL(".", window.location.href)).pathname;
  const $ = (id) => document.getElementById(id);
  const detail = $("detail");
  let roles = [];

  function language() {
    return $("lang").value;
  }

  async function get(path) {
    const url = new URL(api + path, window.location.origin);
    if (language()) url.searchParams.set("lang", language());
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || response.statusText);
    return body;
  }

  function escape(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  // A resource as a link: a role opens here, anything else its own page.
  function link(item) {
    const href = item.type === "role" ? `#/role/${item.id}` : `id/${item.type}/${item.id}`;
    return `<a href="${href}">${escape(item.label)}</a>`;
  }

  function list(title, items, kind) {
    if (!items || !items.length) return "";
    const lis = items.map((i) => `<li>${link(i)}${kind ? ` <span class="kind">${escape(i.type)}</span>` : ""}</li>`).join("");
    return `<section><h3>${escape(title)}</h3><ul>${lis}</ul></section>`;
  }

  function moves(title, transitions, other) {
    if (!transitions || !transitions.length) return "";
    const lis = transitions
      .map((t) => {
        const skills = t.bridging_skills.map((s) => escape(s.label)).join(", ");
        const how = t.derived ? "derived by CareerKG from shared skills" : "stated by a source";
        return `<li>${link(t[other])}${skills ? ` — learn: ${skills}` : ""} <span class="kind">(${how})</span></li>`;
      })
      .join("");
    return `<section><h3>${escape(title)}</h3><ul>${lis}</ul></section>`;
  }

  // What sources say of a role's pay: their statements, and their figures with currency, period and date.
  function pay(insights) {
    if (!insights || !insights.length) return "";
    const amount = (value, currency) =>
      value == null ? "" : new Intl.NumberFormat("en", { style: "currency", currency, maximumFractionDigits: 0 }).format(value);
    const lis = insights
      .map((insight) => {
        const figures = (insight.figures || [])
          .map((f) => {
            const parts = [
              f.median != null ? `median ${amount(f.median, f.currency)}` : "",
              f.percentile10 != null && f.percentile90 != null
                ? `10th–90th percentile ${amount(f.percentile10, f.currency)}–${amount(f.percentile90, f.currency)}`
                : "",
              f.min != null && f.max != null ? `${amount(f.min, f.currency)}–${amount(f.max, f.currency)}` : "",
            ].filter(Boolean);
            const per = f.period === "P1Y" ? "a year" : f.period;
            return parts.length ? `<p class="figures">${escape(parts.join("; "))} ${escape(per)} (${escape(f.date)})</p>` : "";
          })
          .join("");
        const sources = (insight.sources || [])
          // Only web addresses become links (a javascript: IRI in the data stays text).
          .map((src) => (/^https?:\/\//.test(src.url || "") ? `<a href="${escape(src.url)}">${escape(src.label)}</a>` : escape(src.label)))
          .join("; ");
        return `<li><strong>${escape(insight.label)}</strong><p>${escape(insight.description)}</p>${figures}` +
          (sources ? `<p class="kind">Source: ${sources}</p>` : "") + "</li>";
      })
      .join("");
    return `<section><h3>Pay and outlook</h3><ul class="pay">${lis}</ul></section>`;
  }

  function busy(text) {
    detail.setAttribute("aria-busy", "true");
    detail.innerHTML = `<p class="loading">${escape(text)}</p>`;
  }

  function show(html, focus = true) {
    detail.innerHTML = html;
    detail.removeAttribute("aria-busy");
    if (focus) detail.focus(); // on a phone the view is below the list: bring it into sight
  }

  function showError(error) {
    show(`<div class="error" role="alert">${escape(error.message)}</div>`, false);
  }

  function roleOptions(selected) {
    return roles.map((r) => `<option value="${r.id}"${r.id === selected ? " selected" : ""}>${escape(r.label)}</option>`).join("");
  }

  async function showRole(id) {
    busy("Loading the role…");
    const role = await get(`/roles/${encodeURIComponent(id)}`);
    const credentials = role.credentials || {};
    show(
      `<h2>${escape(role.label)}</h2><p>${escape(role.description)}</p>` +
        (role.demand_outlook ? `<p><strong>Outlook:</strong> ${escape(role.demand_outlook)}</p>` : "") +
        list("Essential skills", role.essential_skills) +
        list("Optional skills", role.optional_skills) +
        list("Tools", role.tools) +
        list("Industries", role.industries) +
        list("Applications", role.applications) +
        list("Credentials required", credentials.required) +
        list("Credentials recommended", credentials.recommended) +
        list("Responsibilities", role.responsibilities) +
        pay(role.salary_insights) +
        moves("Moves from here", role.transitions_to, "to_role") +
        moves("Moves into this role", role.transitions_from, "from_role") +
        `<section><h3>Paths from here</h3><form class="gap" id="paths-form"><label for="paths-to">To</label>` +
        `<select id="paths-to">${roleOptions(roles.find((r) => r.id !== id)?.id)}</select>` +
        `<button type="submit">Show the ways there</button></form><div id="paths" aria-live="polite"></div></section>` +
        `<section><h3>Skill gap</h3><form class="gap" id="gap-form"><label for="gap-from">Coming from</label>` +
        `<select id="gap-from">${roleOptions(roles.find((r) => r.id !== id)?.id)}</select>` +
        `<button type="submit">Show what to learn</button></form><div id="gap" aria-live="polite"></div></section>` +
        list("Sources", role.sources) +
        `<p><a href="id/role/${escape(role.id)}">All statements about ${escape(role.label)}</a></p>`,
    );
    $("paths-form").addEventListener("submit", (event) => {
      event.preventDefault();
      showPaths(id, $("paths-to").value).catch((error) => ($("paths").textContent = error.message));
    });
    $("gap-form").addEventListener("submit", (event) => {
      event.preventDefault();
      showGap(id, $("gap-from").value).catch((error) => ($("gap").textContent = error.message));
    });
    document.title = `${role.label} — CareerKG`;
    markCurrent(id);
  }

  async function showGap(id, from) {
    $("gap").textContent = "Loading…";
    const gap = await get(`/roles/${encodeURIComponent(id)}/gap?from=${encodeURIComponent(from)}`);
    $("gap").innerHTML =
      `<p>You have ${(gap.coverage * 100).toFixed(0)} % of what this role asks for.</p>` +
      list("Essential skills to learn", gap.missing_essential_skills) +
      list("Optional skills to learn", gap.missing_optional_skills) +
      list("Tools to learn", gap.missing_tools);
  }

  async function showPaths(id, to) {
    $("paths").textContent = "Loading…";
    const found = await get(`/roles/${encodeURIComponent(id)}/paths?to=${encodeURIComponent(to)}`);
    if (!found.paths.length) {
      $("paths").innerHTML = "<p>No chain of known moves leads there.</p>";
      return;
    }
    $("paths").innerHTML = "<ol>" + found.paths
      .map((path) => "<li>" + path.steps
        .map((step) => `${link(step.from_role)} → ${link(step.to_role)}` +
          (step.bridging_skills.length ? ` <span class="kind">(learn: ${step.bridging_skills.map((s) => escape(s.label)).join(", ")})</span>` : ""))
        .join("; then ") + "</li>")
      .join("") + "</ol>";
  }

  // --- roles that fit the skills and tools a person has ------------------------------------------------------
  let catalogue = null; // label -> item, for the skills and tools a person can pick

  async function pickable() {
    if (!catalogue) {
      const [skills, tools] = await Promise.all([get("/skills?limit=200"), get("/tools?limit=200")]);
      catalogue = new Map([...skills.items, ...tools.items].map((i) => [i.label, i]));
    }
    return catalogue;
  }

  async function showMatch(ids) {
    busy("Matching…");
    const known = await pickable();
    const picked = [...known.values()].filter((i) => ids.includes(i.id));
    const options = [...known.keys()].sort().map((label) => `<option value="${escape(label)}"></option>`).join("");
    let html =
      `<h2>Roles that fit what you have</h2><form id="match-form" class="gap"><label for="match-add">Add a skill or tool</label>` +
      `<input id="match-add" list="match-options" autocomplete="off"><datalist id="match-options">${options}</datalist>` +
      `<button type="submit">Add</button></form>` +
      `<p>You have: ${picked.length ? picked.map((i) => escape(i.label)).join(", ") : "nothing yet"}</p>`;
    if (picked.length) {
      const body = { skills: picked.filter((i) => i.type === "skill").map((i) => i.id), tools: picked.filter((i) => i.type === "tool").map((i) => i.id) };
      const url = new URL(api + "/match", window.location.origin);
      if (language()) url.searchParams.set("lang", language());
      const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) });
      const found = await response.json();
      if (!response.ok) throw new Error(found.detail || response.statusText);
      html += "<ol>" + found.items.slice(0, 10)
        .map((m) => `<li>${link(m.role)} — ${(m.score * 100).toFixed(0)} %</li>`)
        .join("") + "</ol>";
    }
    show(html);
    $("match-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const item = known.get($("match-add").value.trim());
      if (item && !ids.includes(item.id)) go(`#/match/${[...ids, item.id].join(",")}`);
    });
    document.title = "Roles that fit you — CareerKG";
    markCurrent(null);
  }

  async function showCompare(a, b) {
    busy("Comparing…");
    const result = await get(`/compare?roles=${encodeURIComponent(a)},${encodeURIComponent(b)}`);
    const [ra, rb] = result.roles;
    show(
      `<h2>${escape(ra.label)} and ${escape(rb.label)}</h2>` +
        `<p class="similarity">Similarity: ${(result.similarity * 100).toFixed(0)} %</p>` +
        list("Shared skills", result.shared.skills) +
        list("Shared tools", result.shared.tools) +
        list(`Only ${ra.label}: skills`, result.distinct[ra.id].skills) +
        list(`Only ${rb.label}: skills`, result.distinct[rb.id].skills) +
        list(`Only ${ra.label}: tools`, result.distinct[ra.id].tools) +
        list(`Only ${rb.label}: tools`, result.distinct[rb.id].tools),
    );
    $("compare-a").value = a;
    $("compare-b").value = b;
    document.title = `${ra.label} and ${rb.label} — CareerKG`;
    markCurrent(null);
  }

  async function showSearch(q) {
    busy(`Searching for “${q}”…`);
    $("search").value = q;
    const found = await get(`/search?q=${encodeURIComponent(q)}&limit=50`);
    show(
      `<h2>${found.total} result${found.total === 1 ? "" : "s"} for “${escape(q)}”</h2>` +
        (found.items.length ? list("Results", found.items, true) : "<p>Nothing matches; try another word.</p>"),
    );
    document.title = `${q} — CareerKG search`;
    markCurrent(null);
  }

  function showWelcome() {
    show(
      "<h2>Explore</h2><p>Pick a role to see the skills and tools it asks for, where it leads and what to learn " +
        "to get there; compare two roles; search for a skill, tool or industry; or " +
        '<a href="#/match/-">find the roles that fit the skills and tools you have</a>.</p>',
      false,
    );
    document.title = "CareerKG — explore AI and ML careers";
    markCurrent(null);
  }

  function markCurrent(id) {
    document.querySelectorAll("#roles a").forEach((a) => {
      if (a.dataset.role === id) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
  }

  // The address names the view; rendering follows it (on load, on a link, on Back).
  function route() {
    let hash = window.location.hash;
    try {
      hash = decodeURIComponent(hash);
    } catch (error) {
      hash = ""; // an address no view has (a broken % escape): the welcome view
    }
    const [, view, arg] = hash.match(/^#\/([a-z]+)\/(.+)$/) || [];
    if (view === "role") return showRole(arg);
    if (view === "compare") return showCompare(...arg.split(","));
    if (view === "search") return showSearch(arg);
    if (view === "match") return showMatch(arg === "-" ? [] : arg.split(","));
    return showWelcome();
  }

  function go(hash) {
    if (window.location.hash === hash) route().catch(showError);
    else window.location.hash = hash;
  }

  async function loadRoles() {
    const found = await get("/roles?limit=200");
    roles = found.items;
    $("roles").innerHTML = roles.map((r) => `<li><a href="#/role/${r.id}" data-role="${r.id}">${escape(r.label)}</a></li>`).join("");
    $("compare-a").innerHTML = roleOptions(roles[0]?.id);
    $("compare-b").innerHTML = roleOptions(roles[1]?.id);
  }

  async function loadLanguages() {
    const stats = await get("/stats");
    const saved = window.localStorage.getItem("careerkg-lang") || "";
    $("lang").innerHTML += stats.languages.map((l) => `<option value="${l}">${l}</option>`).join("");
    $("lang").value = stats.languages.includes(saved) ? saved : "";
  }

  // --- search with suggestions: an ARIA combobox (arrows move, Enter opens, Escape closes) -------------
  const input = $("search");
  const box = $("suggestions");
  let options = [];
  let active = -1;
  let timer = null;

  function close() {
    box.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    active = index;
    Array.from(box.children).forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) input.setAttribute("aria-activedescendant", `suggestion-${index}`);
    else input.removeAttribute("aria-activedescendant");
  }

  function open(item) {
    close();
    if (item.type === "role") go(`#/role/${item.id}`);
    else window.location.href = `id/${item.type}/${item.id}`;
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    timer = setTimeout(async () => {
      if (!q) return close();
      const found = await get(`/suggest?q=${encodeURIComponent(q)}`);
      options = found.items;
      box.innerHTML = options
        .map((i, n) => `<li id="suggestion-${n}" role="option" aria-selected="false">${escape(i.label)}<small>${escape(i.type)}</small></li>`)
        .join("");
      box.hidden = !options.length;
      input.setAttribute("aria-expanded", String(options.length > 0));
      highlight(-1);
    }, 150);
  });
  input.addEventListener("keydown", (event) => {
    if (box.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      let next = active + (event.key === "ArrowDown" ? 1 : -1);
      if (next < -1) next = options.length - 1; // -1 is the text typed, between the last option and the first
      if (next >= options.length) next = -1;
      highlight(next);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      open(options[active]);
    } else if (event.key === "Escape") {
      close();
    }
  });
  box.addEventListener("mousedown", (event) => {
    const li = event.target.closest("li");
    if (li) open(options[Number(li.id.split("-")[1])]);
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    close();
    if (q) go(`#/search/${encodeURIComponent(q)}`);
  });
  $("compare-form").addEventListener("submit", (event) => {
    event.preventDefault();
    go(`#/compare/${$("compare-a").value},${$("compare-b").value}`);
  });
  $("lang").addEventListener("change", () => {
    window.localStorage.setItem("careerkg-lang", language());
    loadRoles().then(route).catch(showError);
  });
  window.addEventListener("hashchange", () => route().catch(showError));

  loadLanguages()
    .catch(() => {})
    .then(loadRoles)
    .then(route)
    .catch(showError);
})();
