// The explorer: the REST API as a person sees it.
(function () {
  "use strict";
  const api = "/api/v1";
  const $ = (id) => document.getElementById(id);

  async function get(path) {
    const response = await fetch(api + path, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || response.statusText);
    return body;
  }

  function list(title, items) {
    if (!items || !items.length) return "";
    const lis = items.map((i) => `<li><a href="/id/${i.type}/${i.id}">${escape(i.label)}</a></li>`).join("");
    return `<h3>${escape(title)}</h3><ul>${lis}</ul>`;
  }

  function escape(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  async function showRole(id) {
    const role = await get(`/roles/${id}`);
    $("detail").innerHTML =
      `<h2>${escape(role.label)}</h2><p>${escape(role.description)}</p>` +
      list("Essential skills", role.essential_skills) +
      list("Optional skills", role.optional_skills) +
      list("Tools", role.tools) +
      list("Industries", role.industries) +
      list("Responsibilities", role.responsibilities) +
      list("Sources", role.sources);
  }

  async function loadRoles() {
    const roles = await get("/roles?limit=200");
    $("roles").innerHTML = roles.items
      .map((r) => `<li><a data-role="${r.id}">${escape(r.label)}</a></li>`)
      .join("");
    const options = roles.items.map((r) => `<option value="${r.id}">${escape(r.label)}</option>`).join("");
    $("compare-a").innerHTML = options;
    $("compare-b").innerHTML = options;
    if (roles.items.length > 1) $("compare-b").selectedIndex = 1;
    $("roles").addEventListener("click", (event) => {
      const id = event.target.dataset.role;
      if (id) showRole(id).catch(showError);
    });
  }

  async function compare() {
    const a = $("compare-a").value;
    const b = $("compare-b").value;
    const result = await get(`/compare?roles=${a},${b}`);
    const [ra, rb] = result.roles;
    $("detail").innerHTML =
      `<h2>${escape(ra.label)} and ${escape(rb.label)}</h2>` +
      `<p class="similarity">Similarity: ${(result.similarity * 100).toFixed(0)} %</p>` +
      list("Shared skills", result.shared.skills) +
      list(`Only ${ra.label}: skills`, result.distinct[ra.id].skills) +
      list(`Only ${rb.label}: skills`, result.distinct[rb.id].skills) +
      list(`Only ${ra.label}: tools`, result.distinct[ra.id].tools) +
      list(`Only ${rb.label}: tools`, result.distinct[rb.id].tools);
  }

  function showError(error) {
    $("detail").innerHTML = `<div class="error">${escape(error.message)}</div>`;
  }

  let timer = null;
  $("search").addEventListener("input", (event) => {
    clearTimeout(timer);
    const q = event.target.value.trim();
    timer = setTimeout(async () => {
      if (!q) { $("suggestions").innerHTML = ""; return; }
      const found = await get(`/suggest?q=${encodeURIComponent(q)}`);
      $("suggestions").innerHTML = found.items
        .map((i) => `<li><a href="/id/${i.type}/${i.id}">${escape(i.label)}</a><small>${i.type}</small></li>`)
        .join("");
    }, 150);
  });
  $("compare").addEventListener("click", () => compare().catch(showError));
  loadRoles().catch(showError);
})();
