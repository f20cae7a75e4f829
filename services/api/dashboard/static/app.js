// The BAT OS dashboard: reads the /v1 API with the bearer token kept in sessionStorage, follows the
// event stream (fetch + ReadableStream: EventSource cannot send an Authorization header), and
// redraws a panel when an event says its data changed. Every API error becomes one line of text.
"use strict";

const {lineChart, barChart, fmtTick} = window.BatosCharts;
const TOKEN_KEY = "batos.apiToken";
const MAX_EVENTS = 200;
const PERIOD_MS = {status: 4000, tasks: 6000, fineTunes: 8000, datasets: 15000, personas: 15000, codex: 15000,
                   tools: 15000};

const state = {
  fineTunes: [],          // as listed, newest first
  curves: new Map(),      // fine-tune id -> [[step, loss], ...] (kept live from progress events)
  events: [],
  forgeJobs: new Map(),   // job id -> last record (terminal ones are not fetched again)
  watchedJobs: new Set(), // job ids seen in events or submitted here
  rollbacks: [],          // model_rolled_back events seen while the page is open
  streamAbort: null,
  timers: new Map(),
};

// --- small DOM helpers -------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = sel => document.querySelector(sel);
const fill = (el, ...children) => el.replaceChildren(...children.flat(Infinity).filter(c => c !== null && c !== undefined && c !== false));
const badge = (text, cls) => h("span", {class: `badge ${cls || text}`}, text);
const clip = (s, n) => (s && s.length > n ? s.slice(0, n - 1) + "…" : s || "");

function ago(t) {
  if (!t) return "";
  const s = Date.now() / 1000 - t;
  if (s < 60) return `${Math.max(0, Math.round(s))} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h ago`;
  return new Date(t * 1000).toLocaleString();
}
const clock = t => new Date(t * 1000).toLocaleTimeString();
const pct = x => `${Math.round(x * 100)}%`;

function kv(pairs) {
  return h("dl", {class: "kv"}, pairs.filter(p => p[1] !== null && p[1] !== undefined && p[1] !== "")
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

// --- the API -----------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message, data) { super(message); this.status = status; this.data = data; }
}

function describe(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map(d => (d && d.msg ? `${(d.loc || []).join(".")}: ${d.msg}` : JSON.stringify(d))).join("; ");
  if (typeof detail === "object") return detail.error || detail.reason || JSON.stringify(detail);
  return String(detail);
}

async function api(path, {method = "GET", body} = {}) {
  const headers = {Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}`};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    throw new ApiError(0, `cannot reach the API (${err.message})`);
  }
  const text = await res.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* a text answer (uvicorn's 503) */ }
  if (!res.ok) {
    const why = data && typeof data === "object" ? describe(data.detail) : clip(String(data || res.statusText), 200);
    const err = new ApiError(res.status, `${method} ${path}: ${res.status} ${why}`.trim(), data);
    if (res.status === 401) askForToken("The API refused the token (401). Enter it again.");
    throw err;
  }
  return data;
}

// --- errors: one line per panel, and the latest one at the top ----------------------------------
function showError(message) {
  const line = $("#error");
  line.textContent = message;
  line.hidden = !message;
}

function panelError(panel, err) {
  const line = panel.querySelector(".panel-error");
  if (!line) return;
  line.textContent = err ? (err.message || String(err)) : "";
  line.hidden = !err;
  if (err) showError(err.message || String(err));
}

// Run a panel's refresh; its errors go to its line instead of breaking the page.
async function refresh(name) {
  const spec = PANELS[name];
  const panel = $(spec.el);
  try {
    await spec.load(panel);
    panelError(panel, null);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    panelError(panel, err);
  }
}

// Refresh soon (coalesced), e.g. when an event says something changed.
function soon(name, delay = 300) {
  if (state.timers.has(`soon:${name}`)) return;
  state.timers.set(`soon:${name}`, setTimeout(() => {
    state.timers.delete(`soon:${name}`);
    refresh(name);
  }, delay));
}

// --- status: queues, workers, services -----------------------------------------------------------
async function loadStatus(panel) {
  const body = panel.querySelector(".body");
  const pill = $("#health");
  let status;
  try {
    status = await api("/v1/status");
  } catch (err) {
    if (err instanceof ApiError && err.status === 503 && err.data && err.data.status) {
      status = err.data; // "down": the answer still says why
    } else if (!(err instanceof ApiError) || err.status !== 404) {
      throw err;
    }
  }
  if (!status) {
    const health = await fetch("/healthz").then(r => r.json()).catch(() => null);
    pill.textContent = `health: ${health ? health.status : "unknown"}`;
    pill.className = `pill ${health && health.status === "ok" ? "ok" : "degraded"}`;
    fill(body,
      h("p", {class: "note"}, "This API has no GET /v1/status yet (404): queues and workers cannot be shown."),
      health ? kv([["health", badge(health.status, health.status === "ok" ? "ok" : "degraded")],
                   ["redis", health.redis], ["LLM", health.llm]]) : h("p", {class: "err"}, "/healthz did not answer"));
    return;
  }
  pill.textContent = `status: ${status.status}`;
  pill.className = `pill ${status.status}`;
  const llm = status.llm || {};
  const sandbox = status.sandbox || {};
  const reach = (r, err) => (r === null || r === undefined ? h("span", {class: "muted"}, "not checked")
    : r ? badge("reachable", "ok") : h("span", {}, badge("unreachable", "failed"), " ", clip(err || "", 120)));
  const queues = h("table", {id: "queues"},
    h("thead", {}, h("tr", {}, h("th", {}, "queue"), h("th", {class: "num"}, "depth"),
      h("th", {class: "num"}, "oldest waiting"), h("th", {class: "num"}, "workers alive"))),
    h("tbody", {}, (status.queues || []).map(q => h("tr", {dataset: {kind: q.kind}},
      h("td", {}, q.kind), h("td", {class: "num"}, q.depth),
      h("td", {class: "num"}, q.oldest_age_s === null || q.oldest_age_s === undefined ? "–" : `${q.oldest_age_s.toFixed(1)} s`),
      h("td", {class: "num"}, q.workers_alive === 0 && q.depth > 0 ? badge("0", "failed") : q.workers_alive)))));
  const services = (status.services || []).map(s => h("span", {class: "badge " + (s.alive > 0 ? "ok" : "failed")},
    `${s.name} ×${s.alive}`));
  fill(body,
    kv([["status", badge(status.status, status.status)],
        ["reasons", (status.reasons || []).join("; ")],
        ["redis", status.redis], ["LLM", reach(llm.reachable, llm.error)],
        ["sandbox", reach(sandbox.reachable, sandbox.error)],
        ["services", services.length ? h("span", {}, services.flatMap(s => [s, " "])) : "none seen"],
        ["personas", (status.personas || []).map(p => `${p.name}: ${p.model}`).join(", ")]]),
    queues);
}

// --- tasks ---------------------------------------------------------------------------------------
async function loadTasks(panel) {
  const data = await api("/v1/tasks?limit=100");
  const tasks = data.items || [];
  const answered = tasks.filter(t => t.result && typeof t.result.dissonance === "number")
    .map(t => [t.finished_at || t.created_at, t.result.dissonance]).sort((a, b) => a[0] - b[0]);
  $("#dissonance-chart").replaceChildren($("#dissonance-chart figcaption"),
    lineChart(answered, {width: 520, height: 140, cls: "dissonance-chart", yDomain: [0, 1], dots: true,
                         xFormat: clock, empty: "no answered task with a dissonance yet"}));
  const rows = tasks.slice(0, 30).map(t => {
    const r = t.result || {};
    const d = typeof r.dissonance === "number" ? r.dissonance : null;
    const answer = t.status === "failed" ? h("span", {class: "err"}, t.error || "failed")
      : r.response ? h("details", {}, h("summary", {}, clip(r.response, 160)), r.response,
          r.dissonance_reason ? h("p", {class: "note"}, `ALFRED: ${r.dissonance_reason}`) : null,
          (r.degraded || []).length ? h("p", {class: "note"}, `degraded: ${r.degraded.join("; ")}`) : null)
      : h("span", {class: "muted"}, "…");
    return h("tr", {dataset: {taskId: t.id}},
      h("td", {}, badge(t.status)),
      h("td", {class: "text"}, clip(t.text, 140), h("div", {class: "note"}, `${t.source} · ${ago(t.created_at)}`)),
      h("td", {class: "answer"}, answer),
      h("td", {class: "num dissonance"}, d === null ? "–" : [d.toFixed(2),
        h("span", {class: "dbar"}, h("span", {style: `width:${Math.round(d * 100)}%`}))]));
  });
  fill(panel.querySelector(".body"),
    h("p", {class: "note"}, `${data.total} tasks in all; the newest ${rows.length}:`),
    h("table", {id: "tasks"}, h("thead", {}, h("tr", {}, h("th", {}, "status"), h("th", {}, "task"),
      h("th", {}, "answer"), h("th", {class: "num"}, "dissonance"))), h("tbody", {}, rows)));
}

async function submitTask(event) {
  event.preventDefault();
  const text = $("#task-text").value;
  const message = $("#task-message");
  try {
    const task = await api("/v1/tasks", {method: "POST", body: {text}});
    message.textContent = `queued ${task.id.slice(0, 8)}…`;
    message.className = "note";
    $("#task-text").value = "";
    refresh("tasks");
  } catch (err) {
    message.textContent = err.message;
    message.className = "err";
  }
}

// --- fine-tunes ----------------------------------------------------------------------------------
function lossChart(ft) {
  const curve = state.curves.get(ft.id) || [];
  return lineChart(curve, {width: 340, height: 140, cls: "loss-curve", yLabel: "loss", dots: curve.length <= 30,
                           xFormat: x => `step ${Math.round(x)}`, empty: "no loss points yet",
                           title: `loss of ${ft.id}`});
}

function fineTuneCard(ft) {
  const p = ft.progress || {};
  const ev = ft.evaluation || {};
  const evalText = Object.keys(ev).length
    ? Object.entries(ev).filter(([, v]) => typeof v !== "object").map(([k, v]) =>
      `${k}=${typeof v === "number" ? fmtTick(v) : v}`).join(", ")
    : null;
  return h("div", {class: "card", dataset: {fineTuneId: ft.id}},
    h("h3", {}, badge(ft.state), ft.persona, h("span", {class: "mono"}, ft.id)),
    p.max_steps ? h("progress", {max: p.max_steps, value: p.step || 0}) : null,
    kv([["dataset", ft.dataset_version], ["phase", ft.state === "training" ? ft.phase : null],
        ["step", p.max_steps ? `${p.step} / ${p.max_steps}` : null],
        ["loss", typeof p.loss === "number" ? p.loss.toFixed(4) : null],
        ["eta", typeof p.eta_s === "number" && !["swapped", "rejected", "failed"].includes(ft.state) ? `${Math.round(p.eta_s)} s` : null],
        ["model", ft.model_tag], ["against", ft.previous_model], ["evaluation", evalText],
        ["reason", ft.reason], ["updated", ago(ft.updated_at || ft.created_at)]]),
    h("div", {class: "chart"}, lossChart(ft)));
}

function drawFineTunes(panel) {
  const shown = state.fineTunes.slice(0, 8);
  fill(panel.querySelector(".body"),shown.length
    ? h("div", {class: "cards", id: "fine-tunes"}, shown.map(fineTuneCard))
    : h("p", {class: "note"}, "No fine-tune yet: one starts when a dataset version is sealed."));
}

async function loadFineTunes(panel) {
  const data = await api("/v1/fine-tunes?limit=50");
  state.fineTunes = data.items || [];
  for (const ft of state.fineTunes) {
    const live = state.curves.get(ft.id) || [];
    const stored = (ft.curve || []).map(([s, l]) => [s, l]);
    // the stored curve, plus the points progress events brought since it was read
    const storedLast = stored.length ? stored.at(-1)[0] : -Infinity;
    state.curves.set(ft.id, stored.concat(live.filter(p => p[0] > storedLast)));
  }
  drawFineTunes(panel);
  soon("personas", 100); // model history comes from the fine-tunes
}

function onProgress(data) {
  const ft = state.fineTunes.find(f => f.id === data.fine_tune_id);
  if (!ft) { soon("fineTunes"); return; }
  const curve = state.curves.get(ft.id) || [];
  if (typeof data.loss === "number" && !curve.some(p => p[0] === data.step)) {
    curve.push([data.step, data.loss]);
    curve.sort((a, b) => a[0] - b[0]);
  }
  state.curves.set(ft.id, curve);
  ft.progress = {...ft.progress, step: data.step, max_steps: data.max_steps, loss: data.loss, eta_s: data.eta_s};
  if (ft.state === "queued") ft.state = "training";
  const card = document.querySelector(`[data-fine-tune-id="${CSS.escape(ft.id)}"]`);
  if (card) card.replaceWith(fineTuneCard(ft));
}

// --- datasets and curation acceptance --------------------------------------------------------------
async function loadDatasets(panel) {
  const [data, verdicts] = await Promise.all([
    api("/v1/datasets"),
    api("/v1/dashboard/curation?limit=2000").catch(err => ({error: err})),
  ]);
  const versions = data.items || [];
  const items = verdicts.error ? [] : verdicts.items;
  // golden verdicts name their version; a rejected one counts for the version open when it was judged
  const byVersion = new Map(versions.map(v => [v.version, {golden: 0, rejected: 0}]));
  const openAt = t => versions.find(v => v.created_at <= t && (!v.sealed_at || t <= v.sealed_at));
  for (const it of items) {
    if (it.status === "golden" && it.dataset_version && byVersion.has(it.dataset_version)) {
      byVersion.get(it.dataset_version).golden += 1;
    } else if (it.status === "rejected") {
      const v = openAt(it.judged_at);
      if (v) byVersion.get(v.version).rejected += 1;
    }
  }
  const rate = c => (c.golden + c.rejected ? c.golden / (c.golden + c.rejected) : null);
  const oldestFirst = [...versions].reverse();
  const bars = oldestFirst.map(v => ({v, c: byVersion.get(v.version)})).filter(x => rate(x.c) !== null).slice(-12)
    .map(({v, c}) => ({label: v.version.replace(/^v0*/, "v"), value: rate(c), text: pct(rate(c))}));
  $("#acceptance-chart").replaceChildren($("#acceptance-chart figcaption"),
    barChart(bars, {width: 380, height: 140, cls: "acceptance-chart", yFormat: pct,
                    empty: verdicts.error ? "verdicts unavailable" : "no verdicts yet"}));
  const judged = items.filter(it => it.status === "golden" || it.status === "rejected");
  const rolling = judged.map((it, i) => {
    const window = judged.slice(Math.max(0, i - 19), i + 1);
    return [it.judged_at, window.filter(w => w.status === "golden").length / window.length];
  });
  $("#acceptance-time-chart").replaceChildren($("#acceptance-time-chart figcaption"),
    lineChart(rolling, {width: 380, height: 140, cls: "acceptance-time-chart", yDomain: [0, 1], xFormat: clock,
                        empty: verdicts.error ? "verdicts unavailable" : "no verdicts yet"}));
  const counts = verdicts.error ? null : Object.entries(verdicts.by_status || {}).map(([k, n]) => `${k} ${n}`).join(", ");
  const rows = versions.slice(0, 20).map(v => {
    const c = byVersion.get(v.version);
    const r = rate(c);
    return h("tr", {dataset: {version: v.version}},
      h("td", {class: "mono"}, v.version), h("td", {}, badge(v.state)),
      h("td", {class: "num"}, v.sample_count),
      h("td", {class: "num"}, v.train_count === null || v.train_count === undefined ? "–" : `${v.train_count} / ${v.heldout_count}`),
      h("td", {}, Object.entries(v.votes || {}).map(([k, n]) => `${k} ${n}`).join(", ")),
      h("td", {}, v.persona || "–"),
      h("td", {class: "num acceptance"}, r === null ? "–" : `${pct(r)} (${c.golden}/${c.golden + c.rejected})`),
      h("td", {class: "note"}, v.sealed_at ? `sealed ${ago(v.sealed_at)}` : `opened ${ago(v.created_at)}`));
  });
  fill(panel.querySelector(".body"),
    verdicts.error ? h("p", {class: "err"}, `curation verdicts: ${verdicts.error.message}`)
      : h("p", {class: "note"}, `The last ${items.length} verdicts: ${counts || "none"}.`),
    versions.length ? h("table", {id: "datasets"}, h("thead", {}, h("tr", {}, h("th", {}, "version"), h("th", {}, "state"),
      h("th", {class: "num"}, "samples"), h("th", {class: "num"}, "train / held out"), h("th", {}, "votes"),
      h("th", {}, "tunes"), h("th", {class: "num"}, "acceptance"), h("th", {}, ""))), h("tbody", {}, rows))
      : h("p", {class: "note"}, "No dataset version yet."));
}

// --- personas: model history and rollback -----------------------------------------------------------
async function loadPersonas(panel) {
  const personas = await api("/v1/personas");
  fill(panel.querySelector(".body"),...personas.map(p => {
    const tuned = state.fineTunes.filter(f => f.persona === p.name && f.model_tag &&
      ["swapped", "rejected", "evaluating", "creating"].includes(f.state));
    const history = [
      ...tuned.map(f => ({t: f.finished_at || f.updated_at || f.created_at,
                          text: `${f.model_tag} ${f.state === "swapped" ? "swapped in" : f.state} (fine-tune on ${f.dataset_version})`})),
      ...state.rollbacks.filter(r => r.persona === p.name).map(r => ({t: r.t,
        text: `rolled back to ${r.restored_model_tag} (from ${r.replaced_model_tag})`})),
      {t: 0, text: `${p.default_model} (default)`},
    ].sort((a, b) => b.t - a.t);
    const message = h("span", {class: "note"});
    const button = h("button", {type: "button", class: "danger rollback", disabled: !p.previous_model,
      title: p.previous_model ? `restore ${p.previous_model}` : "no previous model to go back to",
      onclick: async () => {
        button.disabled = true;
        try {
          const after = await api(`/v1/personas/${encodeURIComponent(p.name)}/rollback`, {method: "POST"});
          message.textContent = `now ${after.model}`;
          message.className = "note";
          soon("personas", 50);
        } catch (err) {
          message.textContent = err.message;
          message.className = "err";
          button.disabled = false;
        }
      }}, "Roll back");
    return h("div", {class: "card", dataset: {persona: p.name}},
      h("h3", {}, p.name, h("span", {class: "mono"}, p.model), button, message),
      kv([["previous", p.previous_model || "–"], ["changed", p.updated_at ? ago(p.updated_at) : "never"],
          ["bases", `${p.ollama_base} · ${p.hf_base}`]]),
      h("ol", {class: "history"}, history.slice(0, 8).map(x => h("li", {}, x.t ? `${clock(x.t)} ` : "", x.text))));
  }));
}

// --- codex proposals ------------------------------------------------------------------------------
async function loadCodex(panel) {
  const [codex, proposals] = await Promise.all([
    api("/v1/codex").catch(err => ({error: err})),
    api("/v1/codex/proposals?limit=30"),
  ]);
  const items = proposals.items || [];
  fill(panel.querySelector(".body"),
    codex.error ? h("p", {class: "err"}, `codex: ${codex.error.message}`)
      : h("details", {}, h("summary", {}, `Codex version ${codex.version} (${ago(codex.updated_at)})`),
          h("pre", {class: "mono", style: "white-space:pre-wrap"}, codex.text)),
    items.length ? null : h("p", {class: "note"}, "No proposals."),
    ...items.map(p => {
      const note = h("input", {type: "text", placeholder: "note (optional)", maxlength: 2000});
      const message = h("span", {class: "note"});
      const decide = verb => async () => {
        try {
          await api(`/v1/codex/proposals/${encodeURIComponent(p.id)}/${verb}`, {method: "POST", body: {note: note.value}});
          soon("codex", 50);
        } catch (err) {
          message.textContent = err.message;
          message.className = "err";
        }
      };
      return h("div", {class: "proposal", dataset: {proposalId: p.id}},
        h("div", {}, badge(p.status), " ", h("strong", {}, p.title),
          p.repeats ? h("span", {class: "note"}, ` · proposed ${p.repeats + 1}×`) : null),
        h("div", {}, p.amendment),
        p.rationale ? h("div", {class: "note"}, p.rationale) : null,
        h("div", {class: "note"}, `against codex v${p.based_on_version} · ${ago(p.created_at)}` +
          (p.note ? ` · note: ${p.note}` : "") + (p.applied_version ? ` · applied as v${p.applied_version}` : "")),
        p.status === "pending" ? h("div", {class: "actions"}, note,
          h("button", {type: "button", class: "approve", onclick: decide("approve")}, "Approve"),
          h("button", {type: "button", class: "reject danger", onclick: decide("reject")}, "Reject"), message) : null);
    }));
}

// --- tools and forge attempts ------------------------------------------------------------------------
async function forgeJob(id) {
  const known = state.forgeJobs.get(id);
  if (known && ["succeeded", "failed"].includes(known.status)) return known;
  const job = await api(`/v1/tools/jobs/${encodeURIComponent(id)}`);
  state.forgeJobs.set(id, job);
  return job;
}

function attemptsTable(job) {
  if (!job.attempts || !job.attempts.length) return h("p", {class: "note"}, `job ${job.id.slice(0, 8)}: ${job.status}, no attempt yet`);
  return h("table", {class: "attempts", dataset: {jobId: job.id}}, h("tbody", {}, job.attempts.map(a => h("tr", {},
    h("td", {}, `#${a.number}`), h("td", {}, badge(a.outcome)), h("td", {class: "num"}, `${a.duration_s.toFixed(1)} s`),
    h("td", {}, clip(a.reason, 200))))));
}

async function loadTools(panel) {
  const tools = (await api("/v1/tools?limit=30")).items || [];
  const details = await Promise.all(tools.map(t => api(`/v1/tools/${encodeURIComponent(t.name)}`).catch(err => ({error: err, name: t.name}))));
  const cards = [];
  const shownJobs = new Set();
  for (const d of details) {
    if (d.error) { cards.push(h("div", {class: "card"}, h("h3", {}, d.name), h("p", {class: "err"}, d.error.message))); continue; }
    const jobs = await Promise.all(d.versions.filter(v => v.forge_job_id).slice(-3).map(v =>
      forgeJob(v.forge_job_id).catch(err => ({id: v.forge_job_id, status: "unknown", attempts: [], error: err}))));
    jobs.forEach(j => shownJobs.add(j.id));
    cards.push(h("div", {class: "card", dataset: {tool: d.name}},
      h("h3", {}, h("span", {class: "mono"}, d.signature), badge(`v${d.version}`, "ok")),
      h("div", {class: "note"}, clip(d.docstring, 200)),
      ...jobs.map(attemptsTable)));
  }
  const others = [...state.watchedJobs].filter(id => !shownJobs.has(id));
  const otherJobs = await Promise.all(others.slice(-10).map(id => forgeJob(id).catch(() => null)));
  for (const job of otherJobs.filter(Boolean)) {
    cards.push(h("div", {class: "card", dataset: {jobId: job.id}},
      h("h3", {}, badge(job.status), h("span", {}, clip(job.spec.description, 80))),
      job.error ? h("p", {class: "err"}, clip(job.error, 300)) : null, attemptsTable(job)));
  }
  fill(panel.querySelector(".body"),cards.length ? h("div", {class: "cards"}, cards)
    : h("p", {class: "note"}, "No tool yet."));
}

async function submitTool(event) {
  event.preventDefault();
  const message = $("#tool-message");
  try {
    const job = await api("/v1/tools", {method: "POST", body: {description: $("#tool-spec").value}});
    state.watchedJobs.add(job.id);
    message.textContent = `forge job ${job.id.slice(0, 8)}… queued`;
    message.className = "note";
    $("#tool-spec").value = "";
    refresh("tools");
  } catch (err) {
    message.textContent = err.message;
    message.className = "err";
  }
}

// --- live events -------------------------------------------------------------------------------------
const REFRESH_ON = {
  task_completed: ["tasks"], task_failed: ["tasks"], high_cognitive_dissonance: ["tasks"],
  codex_proposal_created: ["codex"], tool_created: ["tools"], tool_forge_failed: ["tools"],
  dataset_sealed: ["datasets", "fineTunes"], model_tuned: ["fineTunes", "personas"],
  model_rejected: ["fineTunes"], model_rolled_back: ["personas"], fine_tune_failed: ["fineTunes"],
  fine_tune_superseded: ["fineTunes"],
};

function drawEvents() {
  const filter = $("#events-filter").value.trim().toLowerCase();
  const shown = state.events.filter(e => !filter || e.type.toLowerCase().includes(filter)).slice(0, 100);
  $("#events").replaceChildren(...shown.map(e => h("li", {dataset: {type: e.type}},
    h("time", {}, new Date(e.time).toLocaleTimeString()), badge(e.type, ""),
    h("span", {class: "data", title: JSON.stringify(e.data)}, summarize(e.data)))));
}

function summarize(data) {
  return Object.entries(data || {}).filter(([, v]) => v !== null && typeof v !== "object")
    .map(([k, v]) => `${k}=${typeof v === "number" ? fmtTick(v) : clip(String(v), 60)}`).join(" ");
}

function onEvent(type, raw) {
  if (type === "ready") return;
  let envelope;
  try { envelope = JSON.parse(raw); } catch { return; }
  const data = envelope.data || {};
  state.events.unshift({type, time: envelope.time, data});
  state.events.length = Math.min(state.events.length, MAX_EVENTS);
  drawEvents();
  if (type === "fine_tune_progress") onProgress(data);
  if (type === "model_rolled_back") state.rollbacks.push({...data, t: Date.parse(envelope.time) / 1000});
  if ((type === "tool_created" || type === "tool_forge_failed") && data.job_id) state.watchedJobs.add(data.job_id);
  for (const name of REFRESH_ON[type] || []) soon(name);
}

function setStream(text, cls) {
  const pill = $("#stream");
  pill.textContent = `events: ${text}`;
  pill.className = `pill ${cls || ""}`;
}

async function followEvents() {
  let backoff = 1000;
  while (sessionStorage.getItem(TOKEN_KEY)) {
    const abort = new AbortController();
    state.streamAbort = abort;
    try {
      const res = await fetch("/v1/events", {headers: {Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`,
                                                       Accept: "text/event-stream"}, signal: abort.signal});
      if (res.status === 401) { askForToken("The API refused the token (401). Enter it again."); return; }
      if (!res.ok || !res.body) throw new Error(`GET /v1/events: ${res.status}`);
      setStream("live", "ok");
      backoff = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let type = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue; // a ping
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") type = val;
            else if (field === "data") data.push(val);
          }
          if (data.length) onEvent(type, data.join("\n"));
        }
      }
      throw new Error("the event stream ended");
    } catch (err) {
      if (abort.signal.aborted) return;
      setStream(`reconnecting (${err.message})`, "degraded");
    }
    await new Promise(r => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 15000);
  }
}

// --- start, token --------------------------------------------------------------------------------------
const PANELS = {
  status: {el: "#status-panel", load: loadStatus},
  tasks: {el: "#tasks-panel", load: loadTasks},
  fineTunes: {el: "#fine-tunes-panel", load: loadFineTunes},
  datasets: {el: "#datasets-panel", load: loadDatasets},
  personas: {el: "#personas-panel", load: loadPersonas},
  codex: {el: "#codex-panel", load: loadCodex},
  tools: {el: "#tools-panel", load: loadTools},
};

function stopAll() {
  for (const t of state.timers.values()) { clearTimeout(t); clearInterval(t); }
  state.timers.clear();
  if (state.streamAbort) state.streamAbort.abort();
  setStream("off");
}

function askForToken(message) {
  stopAll();
  sessionStorage.removeItem(TOKEN_KEY);
  const line = $("#token-message");
  line.textContent = message || "";
  line.hidden = !message;
  $("#token-overlay").hidden = false;
  $("#token-input").focus();
}

function start() {
  $("#token-overlay").hidden = true;
  showError("");
  for (const [name, ms] of Object.entries(PERIOD_MS)) {
    refresh(name);
    state.timers.set(`every:${name}`, setInterval(() => { if (!document.hidden) refresh(name); }, ms));
  }
  followEvents();
}

$("#token-form").addEventListener("submit", event => {
  event.preventDefault();
  const value = $("#token-input").value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  $("#token-input").value = "";
  start();
});
$("#forget-token").addEventListener("click", () => askForToken(""));
$("#task-form").addEventListener("submit", submitTask);
$("#tool-form").addEventListener("submit", submitTool);
$("#events-filter").addEventListener("input", drawEvents);

if (sessionStorage.getItem(TOKEN_KEY)) start(); else askForToken("");
