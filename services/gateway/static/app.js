// The planners' dashboard: plain JS over the gateway's /api/v1 (same origin, bearer token).
"use strict";
const $ = (sel) => document.querySelector(sel);
let TOKEN = sessionStorage.getItem("token") || "";
let nextPage = "";

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (TOKEN) headers.Authorization = `Bearer ${TOKEN}`;
  if (options.body) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { ...options, headers });
  if (!resp.ok) {
    let body = {};
    try { body = await resp.json(); } catch (e) { /* not JSON */ }
    const known = { 401: "err.401", 403: "err.403", 503: "err.503" }[resp.status];
    const fields = (body.details || []).flatMap((d) => d.field_violations || [])
      .map((v) => `${v.field}: ${v.description}`).join("; ");
    throw new Error(`${resp.status} ${known ? t(known) : body.message || ""} ${fields}`.trim());
  }
  return resp;
}

async function json(path, options) { return (await api(path, options)).json(); }

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

// ------------------------------------------------------------------ overview (chart)
async function showOverview() {
  const groupBy = $("#group-by").value;
  const data = await json(`/api/v1/grades/counts?group_by=${groupBy}`);
  $("#total").textContent = t("overview.total") + data.total;
  drawGradeChart($("#chart"), data.counts, (g) => g || "—");
  $("#legend").replaceChildren(...Object.entries(GRADE_COLORS).map(([g, color]) => {
    const span = document.createElement("span");
    const i = document.createElement("i");
    i.style.background = color;
    span.append(i, g);
    return span;
  }));
}

// ------------------------------------------------------------------ tiered list
function filterQuery() {
  const form = new FormData($("#filters"));
  const q = new URLSearchParams();
  for (const g of form.getAll("grade")) q.append("grade", g);
  for (const name of ["region", "industry", "source"]) {
    const v = String(form.get(name) || "").trim();
    if (v) q.append(name, v);
  }
  return q;
}

async function showList(append = false) {
  const q = filterQuery();
  q.set("page_size", "50");
  if (append && nextPage) q.set("page_token", nextPage);
  const data = await json(`/api/v1/grades?${q}`);
  const tbody = $("#grades tbody");
  if (!append) tbody.replaceChildren();
  for (const g of data.grades) {
    const tr = document.createElement("tr");
    const name = cell(tr, "");
    const a = document.createElement("a");
    a.href = `#/entity/${encodeURIComponent(g.entity_key)}`;
    a.textContent = g.name;
    name.appendChild(a);
    cell(tr, g.display_id); cell(tr, g.region_code); cell(tr, g.industry);
    cell(tr, g.grade, `grade g-${g.grade}`); cell(tr, g.score.toFixed(1)); cell(tr, g.decided_by);
    tbody.appendChild(tr);
  }
  if (!append && data.grades.length === 0) {
    const tr = document.createElement("tr");
    cell(tr, t("list.empty")).colSpan = 7;
    tbody.appendChild(tr);
  }
  nextPage = data.next_page_token;
  $("#more").hidden = !nextPage;
  const exportQuery = filterQuery();
  exportQuery.set("headers", LANG === "en" ? "en" : "zh");
  $("#export").dataset.href = `/api/v1/grades/export.csv?${exportQuery}`;
}

async function exportCsv(ev) {
  ev.preventDefault();
  // fetch (not a plain link) so the bearer token goes with the request.
  const blob = await (await api($("#export").dataset.href)).blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "grades.csv";
  a.click();
  URL.revokeObjectURL(a.href);
}

// ------------------------------------------------------------------ entity page
async function showEntity(key) {
  const [grade, file] = await Promise.all([
    json(`/api/v1/entities/${encodeURIComponent(key)}/grade`),
    json(`/api/v1/entities/${encodeURIComponent(key)}/credit-file`),
  ]);
  const g = grade.grade;
  $("#entity-name").textContent = file.entity.name || g.name;
  $("#entity-id").textContent = file.entity.display_id;
  $("#entity-region").textContent = file.entity.region_code;
  $("#entity-industry").textContent = file.entity.industry;
  $("#entity-grade").textContent = g.grade;
  $("#entity-grade").className = `g-${g.grade}`;
  $("#entity-score").textContent = Number(g.score).toFixed(1);
  const rule = (grade.grade_rules || []).find((r) => r.code === g.decided_by);
  $("#entity-decided").textContent = rule ? (LANG === "en" ? rule.text_en : rule.text_zh) : g.decided_by;
  // Full reasons with texts when the grade carries them, else the stored reason codes.
  const reasons = (grade.reasons || []).length ? grade.reasons.map((r) =>
    (LANG === "en" ? r.text_en : r.text_zh) +
    // Stored grades do not keep the points lost; show them only when known.
    (Number(r.points_lost) > 0 ? ` (−${Number(r.points_lost).toFixed(1)})` : "")) : g.reasons;
  $("#entity-reasons").replaceChildren(...reasons.map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
  $("#entity-basis").replaceChildren(...(grade.legal_basis || []).map((b) => {
    const li = document.createElement("li");
    li.textContent = b.citation || `${b.document} ${b.provision}`;
    return li;
  }));
  const tier = grade.tier || {};
  $("#entity-tier").textContent = LANG === "en"
    ? `${tier.frequency_en || ""} ${tier.measures_en || ""}` : `${tier.frequency_zh || ""} ${tier.measures_zh || ""}`;
  const records = [...file.records].sort((a, b) => (a.decided_on < b.decided_on ? 1 : -1));
  // publication_end is exclusive; people read the last day of publication.
  const lastDay = (end) => new Date(Date.parse(end + "T00:00:00Z") - 86400000).toISOString().slice(0, 10);
  $("#entity-timeline").replaceChildren(...(records.length ? records.map((r) => {
    const li = document.createElement("li");
    li.className = "record";
    li.textContent = `${r.decided_on} · ${t("src." + r.source.replace("SOURCE_", "").toLowerCase())}` +
      ` · ${r.source_level} · ${r.status.replace("RECORD_STATUS_", "")}` +
      (r.publication_end ? ` · ${r.publication_start} – ${lastDay(r.publication_end)}` : "") +
      (r.summary ? ` · ${r.summary}` : "");
    return li;
  }) : [Object.assign(document.createElement("li"), { textContent: t("e.noRecords") })]));
}

// ------------------------------------------------------------------ inspection plans
let currentPlan = null;

function renderPlan(plan) {
  currentPlan = plan;
  $("#plan").hidden = false;
  $("#plan-id").textContent = plan.plan_id;
  $("#plan-hash").textContent = plan.plan_hash;
  $("#verify-result").textContent = "";
  $("#plan-strata tbody").replaceChildren(...plan.strata.map((s) => {
    const tr = document.createElement("tr");
    cell(tr, s.grade); cell(tr, s.candidates); cell(tr, s.ratio); cell(tr, s.drawn);
    return tr;
  }));
  $("#plan-entities tbody").replaceChildren(...plan.entities.map((e) => {
    const tr = document.createElement("tr");
    cell(tr, e.name); cell(tr, e.grade, `grade g-${e.grade}`); cell(tr, e.reason);
    cell(tr, e.inspector_ids.join(", "));
    return tr;
  }));
}

async function showPlans() {
  const data = await json("/api/v1/inspection-plans?page_size=20");
  $("#plan-list").replaceChildren(...data.plans.map((p) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#/plans";
    a.textContent = `${p.created_at} ${p.department} ${p.task_name} (${p.entities.length})`;
    a.addEventListener("click", () => renderPlan(p));
    li.appendChild(a);
    return li;
  }));
}

async function drawPlan(ev) {
  ev.preventDefault();
  const form = new FormData($("#draw"));
  const inspectors = String(form.get("inspectors")).split("\n").map((l) => l.trim()).filter(Boolean)
    .map((line) => {
      const [id, name, capacity] = line.split(",").map((s) => s.trim());
      return { id, name: name || id, capacity: Number(capacity || 1) };
    });
  const body = {
    request_id: `web-${Date.now()}`, task_name: form.get("task_name"), inspectors,
    ...(form.get("department") ? { department: String(form.get("department")) } : {}),
    filter: { region: String(form.get("region") || ""), grades: form.getAll("grade") },
    seed: String(form.get("seed") || ""),
  };
  renderPlan(await json("/api/v1/inspection-plans", { method: "POST", body: JSON.stringify(body) }));
  await showPlans();
}

async function verifyPlan() {
  const r = await json(`/api/v1/inspection-plans/${encodeURIComponent(currentPlan.plan_id)}/verify`,
                       { method: "POST" });
  $("#verify-result").textContent = r.valid ? t("p.valid") : t("p.invalid") + r.problems.join("; ");
  $("#verify-result").className = r.valid ? "valid" : "invalid";
}

// ------------------------------------------------------------------ shell
async function whoami() {
  try {
    const me = await json("/api/v1/me");
    $("#whoami").textContent = `${me.name} (${me.roles.join(", ")})`;
  } catch (e) {
    $("#whoami").textContent = "";
  }
}

async function route() {
  const [, view, arg] = (location.hash || "#/overview").split("/");
  const name = ["overview", "list", "entity", "plans"].includes(view) ? view : "overview";
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== `view-${name}`; });
  document.querySelectorAll("header nav a").forEach((a) => {
    a.classList.toggle("active", a.getAttribute("href") === `#/${name}`);
  });
  showError("");
  try {
    if (name === "overview") await showOverview();
    else if (name === "list") await showList();
    else if (name === "entity") await showEntity(decodeURIComponent(arg || ""));
    else await showPlans();
  } catch (e) {
    showError(e.message);
  }
}

function guarded(fn) {
  return async (ev) => {
    try { await fn(ev); } catch (e) { showError(e.message); }
  };
}

window.addEventListener("hashchange", route);
$("#login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  TOKEN = $("#token").value.trim();
  sessionStorage.setItem("token", TOKEN);
  $("#token").value = "";
  whoami();
  route();
});
$("#lang").addEventListener("click", () => {
  LANG = LANG === "en" ? "zh" : "en";
  localStorage.setItem("lang", LANG);
  applyLanguage();
  route();
});
$("#group-by").addEventListener("change", guarded(showOverview));
$("#filters").addEventListener("submit", guarded(async (ev) => { ev.preventDefault(); await showList(); }));
$("#more").addEventListener("click", guarded(() => showList(true)));
$("#export").addEventListener("click", guarded(exportCsv));
$("#draw").addEventListener("submit", guarded(drawPlan));
$("#verify").addEventListener("click", guarded(verifyPlan));
applyLanguage();
whoami();
route();
