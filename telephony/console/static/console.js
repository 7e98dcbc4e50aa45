// The operator console: sign in with the API token (kept in sessionStorage, never in a URL),
// the call list (live), filters and search, and a call page with its transcript (what the
// caller heard against what the agent generated), summary, exports and recording, live.
// Data comes from the transcript API (GET /calls, GET /calls/{sid}); live updates from the
// event streams (GET /calls/events, /calls/{sid}/events), opened with short-lived tickets.
// Everything is built with textContent: nothing from the server is parsed as HTML.
"use strict";

const TOKEN_KEY = "telephony.apiToken";
const $ = (id) => document.getElementById(id);
const state = { streams: [], listCursor: null, listTimer: null, call: null };

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${token()}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401 || response.status === 403) {
    signOut("Your token was refused. Sign in again.");
    throw new Error("unauthorised");
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response;
}

async function apiJson(path, options) { return (await api(path, options)).json(); }

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

function seconds(ms) { return `${(ms / 1000).toFixed(1)} s`; }

// -- live streams ------------------------------------------------------------------------------

// An EventSource that survives its ticket's expiry: when the browser gives up reconnecting, a
// new ticket is fetched and the stream resumes after the last event seen.
function follow(path, handlers, lastId = null) {
  const stream = { closed: false, source: null, lastId };
  const open = async () => {
    if (stream.closed) return;
    let ticket;
    try {
      ticket = (await apiJson("/calls/events/ticket", { method: "POST" })).ticket;
    } catch (error) {
      setLive(false);
      setTimeout(open, 3000);
      return;
    }
    const params = new URLSearchParams({ ticket });
    if (stream.lastId !== null) params.set("last_event_id", String(stream.lastId));
    const source = new EventSource(`${path}?${params}`);
    stream.source = source;
    source.onopen = () => setLive(true);
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && !stream.closed) {
        setLive(false);
        setTimeout(open, 2000);
      }
    };
    for (const [kind, handler] of Object.entries(handlers)) {
      source.addEventListener(kind, (message) => {
        stream.lastId = Number(message.lastEventId);
        handler(JSON.parse(message.data));
      });
    }
  };
  stream.close = () => { stream.closed = true; if (stream.source) stream.source.close(); };
  open();
  state.streams.push(stream);
  return stream;
}

function closeStreams() {
  for (const stream of state.streams) stream.close();
  state.streams = [];
}

// on: true (live), false (reconnecting), null (nothing is followed).
function setLive(on) {
  const live = $("live");
  live.classList.toggle("on", on === true);
  live.textContent = on === null ? "" : on ? "Live" : "Reconnecting…";
}

// -- views -------------------------------------------------------------------------------------

function show(id) {
  for (const view of ["sign-in-view", "list-view", "call-view"]) $(view).hidden = view !== id;
  $("sign-out").hidden = id === "sign-in-view";
  const heading = $(id).querySelector("h1");
  if (heading) heading.focus();
}

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  closeStreams();
  setLive(null);
  $("sign-in-error").textContent = message;
  show("sign-in-view");
}

async function route() {
  closeStreams();
  setLive(null);
  if (!token()) { show("sign-in-view"); return; }
  const match = location.hash.match(/^#\/calls\/([A-Za-z0-9]+)$/);
  if (match) await showCall(match[1]);
  else await showList();
}

// -- the call list -----------------------------------------------------------------------------

function filterParams() {
  const form = $("filters");
  const params = new URLSearchParams();
  for (const name of ["q", "agent", "direction", "end_reason"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  if (form.elements.since.value) params.set("since", `${form.elements.since.value}T00:00:00Z`);
  if (form.elements.until.value) params.set("until", `${form.elements.until.value}T23:59:59Z`);
  if (form.elements.interrupted.checked) params.set("interrupted", "true");
  return params;
}

function callRow(call) {
  const ended = Boolean(call.ended_at);
  const stateText = ended ? (call.end_reason || "ended").replaceAll("_", " ") : "in progress";
  const badge = el("span", { class: ended ? "badge" : "badge live", text: stateText });
  const flags = call.interrupted ? el("span", { class: "badge warn", text: "interrupted" }) : null;
  const link = el("a", { href: `#/calls/${call.call_sid}`, text: call.call_sid });
  const row = el(
    "tr", { "data-call-sid": call.call_sid, class: ended ? "" : "live-call" },
    el("td", { text: when(call.started_at) }),
    el("td", {}, link),
    el("td", { text: call.agent || "—" }),
    el("td", { text: call.direction || "—" }),
    el("td", { text: call.from_number || "—" }),
    el("td", {}, badge, flags ? " " : null, flags),
    el("td", { text: String(call.turn_count) }),
  );
  return row;
}

async function loadCalls(append = false) {
  const params = filterParams();
  params.set("limit", "50");
  if (append && state.listCursor) params.set("cursor", state.listCursor);
  const page = await apiJson(`/calls?${params}`);
  const body = $("calls").tBodies[0];
  if (!append) body.replaceChildren();
  for (const call of page.calls) body.append(callRow(call));
  state.listCursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
  const count = body.rows.length;
  $("list-status").textContent = count ? `${count} call${count === 1 ? "" : "s"} shown` :
    "No calls match.";
}

function reloadCallsSoon() {
  clearTimeout(state.listTimer);
  state.listTimer = setTimeout(() => loadCalls().catch(() => {}), 250);
}

async function showList() {
  show("list-view");
  await loadCalls();
  follow("/calls/events", { call_started: reloadCallsSoon, call_ended: reloadCallsSoon });
}

// -- one call ----------------------------------------------------------------------------------

function fact(list, name, value) { list.append(el("dt", { text: name }), el("dd", { text: value })); }

function renderFacts(call) {
  const facts = $("call-facts");
  facts.replaceChildren();
  fact(facts, "Agent", call.agent || "—");
  fact(facts, "Direction", call.direction || "—");
  fact(facts, "From", call.from_number || "—");
  fact(facts, "To", call.to_number || "—");
  fact(facts, "Started", when(call.started_at));
  fact(facts, "Ended", call.ended_at ? when(call.ended_at) : "in progress");
  fact(facts, "End reason", call.end_reason ? call.end_reason.replaceAll("_", " ") : "—");
}

function turnItem(turn) {
  const item = el("li", { class: turn.speaker, "data-seq": String(turn.seq) });
  item.append(
    el("span", { class: "who", text: turn.speaker === "agent" ? "Agent" : "Caller" }),
    el("span", { class: "when", text: `${seconds(turn.start_ms)}–${seconds(turn.end_ms)}` }),
    document.createElement("br"),
  );
  if (turn.speaker === "agent" && turn.interrupted) {
    const heard = turn.heard_text || "";
    const rest = turn.text.startsWith(heard) ? turn.text.slice(heard.length) : turn.text;
    item.append(el("span", { class: "heard", text: heard }), " ");
    if (rest.trim()) item.append(el("del", { text: rest.trim() }));
    item.append(" ", el("span", { class: "badge warn", text: "interrupted by the caller" }));
  } else {
    item.append(el("span", { text: turn.text }));
  }
  return item;
}

function addTurn(turn) {
  const list = $("transcript");
  if (list.querySelector(`li[data-seq="${turn.seq}"]`)) return;
  const item = turnItem(turn);
  const later = [...list.querySelectorAll("li[data-seq]")].find((li) => Number(li.dataset.seq) > turn.seq);
  list.insertBefore(item, later || null);
  if (turn.speaker === "agent") clearPartial();
}

function note(text) { $("transcript").append(el("li", { class: "note", text })); }

function clearPartial() {
  const partial = $("partial");
  partial.textContent = "";
  partial.dataset.text = "";
  partial.hidden = true;
}

function renderSummary(summary) {
  const box = $("summary");
  box.replaceChildren();
  if (!summary) { box.append(el("p", { class: "muted", text: "No summary yet." })); return; }
  if (summary.summary) box.append(el("p", { text: summary.summary }));
  const facts = el("dl", { class: "facts" });
  fact(facts, "Outcome", summary.outcome.replaceAll("_", " "));
  fact(facts, "Delivery", `${summary.delivery_status.replaceAll("_", " ")}` +
    (summary.delivery_attempts ? ` (${summary.delivery_attempts} attempts)` : ""));
  if (summary.delivery_error) fact(facts, "Last delivery error", summary.delivery_error);
  box.append(facts);
  if (summary.follow_ups && summary.follow_ups.length) {
    box.append(el("h3", { text: "Follow-ups" }));
    const list = el("ul");
    for (const item of summary.follow_ups) list.append(el("li", { text: item }));
    box.append(list);
  }
  const fields = Object.entries(summary.fields || {});
  if (fields.length) {
    const table = el("dl", { class: "facts" });
    for (const [name, value] of fields) fact(table, name, JSON.stringify(value));
    box.append(el("h3", { text: "Fields" }), table);
  }
}

async function download(path, filename) {
  const blob = await (await api(path)).blob();
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function renderExports(sid, links) {
  const list = $("exports");
  list.replaceChildren();
  const kinds = [["json", "JSON", "json"], ["text", "Text", "txt"], ["vtt", "WebVTT", "vtt"]];
  for (const [key, label, extension] of kinds) {
    if (!links[key]) continue;
    const button = el("button", { type: "button", text: `Download ${label}` });
    button.addEventListener("click", () => download(links[key], `${sid}.${extension}`));
    list.append(el("li", {}, button));
  }
  const box = $("recording-box");
  box.hidden = !links.recording;
  if (links.recording) {
    api(links.recording).then((r) => r.blob()).then((blob) => {
      $("recording").src = URL.createObjectURL(blob);
    }).catch(() => { box.hidden = true; });
  }
}

async function refreshCall(sid) {
  const detail = await apiJson(`/calls/${sid}`);
  renderFacts(detail.call);
  for (const turn of detail.turns) addTurn(turn);
  renderSummary(detail.summary);
  return detail;
}

// After the end the summary takes a moment (a model call): look again a few times.
async function awaitSummary(sid) {
  for (let wait = 500; wait < 20000; wait *= 2) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (state.call !== sid) return;
    const detail = await refreshCall(sid);
    if (detail.summary && detail.summary.delivery_status !== "pending") return;
  }
}

async function showCall(sid) {
  state.call = sid;
  $("call-title").textContent = `Call ${sid}`;
  $("transcript").replaceChildren();
  clearPartial();
  renderSummary(null);
  show("call-view");
  const detail = await refreshCall(sid);
  renderExports(sid, detail.links);
  if (detail.call.ended_at) { setLive(null); return; }
  const stream = follow(`/calls/${sid}/events`, {
    turn: (event) => addTurn(event.data),
    agent_partial: (event) => {
      const partial = $("partial");
      partial.dataset.text = `${partial.dataset.text || ""}${event.data.text}`;
      partial.textContent = `Agent is saying: ${partial.dataset.text}`;
      partial.hidden = false;
    },
    barge_in: () => { note("The caller talked over the agent."); clearPartial(); },
    transfer: () => note("The call was transferred."),
    call_ended: () => {
      stream.close();
      setLive(null);
      note("The call ended.");
      refreshCall(sid).then(() => awaitSummary(sid)).catch(() => {});
    },
  });
}

// -- wiring ------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const given = $("token").value.trim();
    const response = await fetch("/calls?limit=1", { headers: { Authorization: `Bearer ${given}` } });
    if (!response.ok) {
      $("sign-in-error").textContent = response.status === 401 ? "That token was refused." :
        `The server answered ${response.status}.`;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, given);
    $("token").value = "";
    $("sign-in-error").textContent = "";
    await route();
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); loadCalls(); });
  $("filters").addEventListener("reset", () => setTimeout(() => loadCalls(), 0));
  $("more").addEventListener("click", () => loadCalls(true));
  window.addEventListener("hashchange", () => route());
  route();
});
