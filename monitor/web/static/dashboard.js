// newsmon's dashboard: reads the JSON API with the token the user gives it,
// follows /api/events for new alerts, and mutes rules and acknowledges alerts.
// Feed text only ever goes into the page as text (textContent, attributes),
// never as HTML.
"use strict";

const TOKEN_KEY = "newsmon.token";
const HIDE_KEY = "newsmon.hideAcked";
const MAX_CARDS = 200;
const RULE_DAYS = 14;
const FEED_DAYS = 7;
const SPANS = [["1h", "1 hour"], ["8h", "8 hours"], ["1d", "1 day"], ["7d", "1 week"]];

const state = {
  cards: new Map(), // key -> {key, alerts: Map(id -> alert), el}
  byId: new Map(), // alert id -> card key
  acks: new Map(), // alert id -> until (Date)
  mutes: new Map(), // rule -> until (Date)
  lastId: 0,
  rules: [],
  feeds: [],
};

// --- the API, with the token -------------------------------------------------

class Unauthorized extends Error {}

function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

function headers(extra) {
  const h = Object.assign({ Accept: "application/json" }, extra || {});
  if (token()) h.Authorization = "Bearer " + token();
  return h;
}

async function api(path, options) {
  for (;;) {
    const opts = Object.assign({}, options || {});
    opts.headers = headers(opts.body ? { "Content-Type": "application/json" } : {});
    const response = await fetch(path, opts);
    if (response.status === 401) {
      await askToken(Boolean(token()));
      continue;
    }
    if (!response.ok) {
      let message = response.statusText;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return response.status === 204 ? null : response.json();
  }
}

let tokenAsked = null;

function askToken(refused) {
  if (tokenAsked) return tokenAsked;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  document.getElementById("token-error").hidden = !refused;
  tokenAsked = new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      const given = input.value.trim();
      if (!given) return;
      localStorage.setItem(TOKEN_KEY, given);
      input.value = "";
      dialog.close();
      tokenAsked = null;
      resolve();
    };
    dialog.addEventListener("cancel", (event) => event.preventDefault());
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  return tokenAsked;
}

// --- small helpers -----------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

// Only web links become links: a feed may carry javascript: or data: URLs.
function safeHref(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch (e) {
    return null;
  }
}

function link(url, text, className) {
  const href = safeHref(url);
  const node = el(href ? "a" : "span", className, text);
  if (href) {
    node.href = href;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
  }
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function ago(when) {
  if (!when) return "never";
  const date = new Date(when);
  const seconds = (Date.now() - date.getTime()) / 1000;
  if (seconds < 45) return "just now";
  if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
  if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
  if (seconds < 2 * 86400) return "yesterday " + timeFormat.format(date);
  return dayFormat.format(date);
}

function until(date) {
  const sameDay = new Date().toDateString() === date.toDateString();
  return sameDay ? timeFormat.format(date) : dayFormat.format(date) + " " + timeFormat.format(date);
}

function timeEl(when) {
  const node = el("time", "ago", ago(when));
  node.dateTime = when;
  node.title = fullFormat.format(new Date(when));
  node.dataset.when = when;
  return node;
}

// The snippet's plain text with its matched terms in <mark>: the API gives the
// places of the marks in Python's characters (code points), so slice by those.
function snippetEl(snippet) {
  const p = el("p", "snippet");
  const chars = Array.from(snippet.text);
  let at = 0;
  for (const h of snippet.highlights) {
    if (h.start > at) p.append(chars.slice(at, h.start).join(""));
    p.append(el("mark", null, chars.slice(h.start, h.end).join("")));
    at = h.end;
  }
  if (at < chars.length) p.append(chars.slice(at).join(""));
  return p;
}

function menu(label, choices, onChoose) {
  const details = el("details", "menu");
  details.append(el("summary", "button", label));
  const items = el("div", "menu-items");
  for (const [value, text] of choices) {
    const button = el("button", null, "for " + text);
    button.type = "button";
    button.dataset.span = value;
    button.addEventListener("click", () => {
      details.open = false;
      onChoose(value);
    });
    items.append(button);
  }
  details.append(items);
  return details;
}

function closeMenus(event) {
  for (const open of document.querySelectorAll("details.menu[open]")) {
    if (!open.contains(event.target)) open.open = false;
  }
}

// --- alerts ------------------------------------------------------------------

// One card per story item: the same item alerted on several channels is one
// card, listing each channel.
function cardKey(alert) {
  return (alert.story || "") + "|" + alert.link + "|" + alert.title;
}

function addAlert(alert, live) {
  if (state.byId.has(alert.id)) return;
  state.lastId = Math.max(state.lastId, alert.id);
  const key = cardKey(alert);
  let card = state.cards.get(key);
  if (!card) {
    card = { key, alerts: new Map(), el: null };
    state.cards.set(key, card);
  }
  card.alerts.set(alert.id, alert);
  state.byId.set(alert.id, key);
  const fresh = renderCard(card);
  const list = document.getElementById("alerts");
  if (live) {
    fresh.classList.add("fresh");
    list.prepend(fresh);
  } else if (!fresh.isConnected) {
    list.append(fresh);
  }
  trimCards();
  document.getElementById("alerts-empty").hidden = state.cards.size > 0;
}

function trimCards() {
  const list = document.getElementById("alerts");
  while (list.children.length > MAX_CARDS) {
    const last = list.lastElementChild;
    const card = state.cards.get(last.dataset.key);
    if (card) {
      for (const id of card.alerts.keys()) state.byId.delete(id);
      state.cards.delete(card.key);
    }
    last.remove();
  }
}

function cardAcked(card) {
  const now = Date.now();
  let latest = null;
  for (const id of card.alerts.keys()) {
    const untilDate = state.acks.get(id);
    if (!untilDate || untilDate.getTime() <= now) return null;
    if (!latest || untilDate > latest) latest = untilDate;
  }
  return latest;
}

function renderCard(card) {
  const alerts = [...card.alerts.values()].sort((a, b) => a.id - b.id);
  const first = alerts[0];
  const li = el("li", "alert");
  li.dataset.key = card.key;
  li.dataset.ids = alerts.map((a) => a.id).join(" ");

  const meta = el("div", "alert-meta");
  meta.append(timeEl(first.created_at), el("span", "source-feed", first.feed));
  if (first.published) {
    const pub = el("span", null, "published " + ago(first.published));
    pub.title = fullFormat.format(new Date(first.published));
    meta.append(pub);
  }
  li.append(meta);

  const title = el("h3", "alert-title");
  title.append(link(first.link, first.title));
  li.append(title);
  li.append(snippetEl(first.snippet));

  const others = alerts.flatMap((a) => a.other_sources || []);
  const seen = new Set();
  const sources = others.filter((s) => !seen.has(s.link) && seen.add(s.link));
  if (sources.length) {
    const p = el("p", "sources", "Also reported by ");
    for (const s of sources) {
      const a = link(s.link, s.feed);
      a.title = s.title;
      p.append(a);
    }
    li.append(p);
  }

  const chips = el("div", "chips");
  const rules = [...new Set(alerts.flatMap((a) => a.rules))];
  for (const rule of rules) chips.append(el("span", "chip rule-chip", rule));
  for (const a of alerts) {
    // the label is the URL with its secrets masked; its options say little
    const label = a.channel.label || a.channel.id;
    const chip = el("span", "chip channel");
    chip.title = label;
    chip.append(el("span", "label", label.split("?")[0]));
    const stateText = a.state === "dead" ? "failed" : a.state;
    chip.append(el("span", "state " + a.state, "· " + stateText));
    chips.append(chip);
  }
  const foot = el("div", "alert-foot");
  foot.append(chips, el("div", "ack"));
  li.append(foot);
  renderAck(li, card);

  if (card.el && card.el.isConnected) card.el.replaceWith(li);
  card.el = li;
  return li;
}

function renderAck(li, card) {
  const acked = cardAcked(card);
  li.classList.toggle("acked", Boolean(acked));
  const place = li.querySelector(".ack");
  place.replaceChildren();
  if (acked) {
    const note = el("span", "marked", "Acknowledged until " + until(acked) + " · ");
    const undo = el("button", "link", "Undo");
    undo.type = "button";
    undo.addEventListener("click", () => unacknowledge(card));
    note.append(undo);
    place.append(note);
  } else {
    place.append(menu("Acknowledge", SPANS, (span) => acknowledge(card, span)));
  }
}

async function acknowledge(card, span) {
  try {
    for (const id of card.alerts.keys()) {
      const ack = await api("/api/alerts/" + id + "/ack", {
        method: "POST",
        body: JSON.stringify({ duration: span }),
      });
      state.acks.set(ack.alert_id, new Date(ack.until));
    }
  } catch (e) {
    flash(e.message);
  }
  renderAck(card.el, card);
}

async function unacknowledge(card) {
  for (const id of card.alerts.keys()) {
    try {
      await api("/api/alerts/" + id + "/ack", { method: "DELETE" });
    } catch (e) { /* already ended */ }
    state.acks.delete(id);
  }
  renderAck(card.el, card);
}

// --- rules -------------------------------------------------------------------

function bars(counts, width, height) {
  const n = counts.length;
  const gap = 2;
  const w = (width - gap * (n - 1)) / n;
  const max = Math.max(1, ...counts.map((c) => c.count));
  const chart = svg("svg", {
    class: "bars",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
  });
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  chart.setAttribute("aria-label", total + " in " + n + " days");
  counts.forEach((c, i) => {
    const h = c.count ? Math.max(3, (c.count / max) * height) : 2;
    const rect = svg("rect", {
      x: (i * (w + gap)).toFixed(1),
      y: (height - h).toFixed(1),
      width: w.toFixed(1),
      height: h.toFixed(1),
      rx: 1.5,
    });
    rect.classList.add(c.count ? (i === n - 1 ? "today" : "day") : "zero");
    const tip = svg("title");
    tip.textContent = c.day + ": " + c.count;
    rect.append(tip);
    chart.append(rect);
  });
  return chart;
}

function renderRules() {
  const list = document.getElementById("rules");
  list.replaceChildren();
  const now = Date.now();
  for (const rule of state.rules) {
    const mute = state.mutes.get(rule.name);
    const muted = mute && mute.getTime() > now;
    const li = el("li", "rule" + (muted ? " muted" : ""));
    li.dataset.rule = rule.name;
    const name = el("div", "rule-name", rule.name);
    name.title = rule.query;
    if (muted) name.append(el("span", "badge", "muted"));
    li.append(name);
    if (muted) {
      const unmute = el("button", null, "Unmute");
      unmute.type = "button";
      unmute.addEventListener("click", () => unmuteRule(rule.name));
      li.append(unmute);
    } else {
      li.append(menu("Mute", SPANS, (span) => muteRule(rule.name, span)));
    }
    const sub = el("div", "rule-sub");
    sub.append(bars(rule.hits, 112, 22));
    const total = rule.hits.reduce((sum, c) => sum + c.count, 0);
    const today = rule.hits.length ? rule.hits[rule.hits.length - 1].count : 0;
    sub.append(el("span", "count", `${today} today · ${total} in ${rule.hits.length} days`));
    li.append(sub);
    if (muted) li.append(el("p", "rule-note", `No alerts until ${until(mute)}: matches are recorded quietly.`));
    list.append(li);
  }
}

async function muteRule(name, span) {
  try {
    const mute = await api("/api/rules/" + encodeURIComponent(name) + "/mute", {
      method: "POST",
      body: JSON.stringify({ duration: span }),
    });
    state.mutes.set(mute.rule, new Date(mute.until));
  } catch (e) {
    flash(e.message);
  }
  renderRules();
}

async function unmuteRule(name) {
  try {
    await api("/api/rules/" + encodeURIComponent(name) + "/mute", { method: "DELETE" });
  } catch (e) { /* already ended */ }
  state.mutes.delete(name);
  renderRules();
}

// --- feeds -------------------------------------------------------------------

const HEALTH_TEXT = {
  ok: "",
  erring: "last poll failed",
  failing: "failing",
  silent: "silent",
  new: "not polled yet",
};

function renderFeeds() {
  const list = document.getElementById("feeds");
  list.replaceChildren();
  const order = { failing: 0, silent: 1, new: 2, ok: 3 };
  const rank = (f) => order[f.health] - (f.last_error ? 0.5 : 0);
  const feeds = [...state.feeds].sort(
    (a, b) => rank(a) - rank(b) || (a.name || a.url).localeCompare(b.name || b.url)
  );
  for (const feed of feeds) {
    const li = el("li", "feed");
    const name = el("div", "feed-name");
    // not failing yet (health.failures), but its last poll did
    const shown = feed.health === "ok" && feed.last_error ? "erring" : feed.health;
    name.append(el("span", "health " + shown));
    const label = feed.name || hostOf(feed.url);
    const a = link(feed.url, label);
    a.title = feed.url;
    name.append(a);
    li.append(name, el("span", "feed-state " + shown, HEALTH_TEXT[shown] || ""));
    const sub = el("div", "feed-sub");
    sub.append(bars(feed.items_per_day, 70, 18));
    const total = feed.items_per_day.reduce((sum, c) => sum + c.count, 0);
    const perDay = total / Math.max(1, feed.items_per_day.length);
    sub.append(el("span", "count", (perDay >= 10 ? Math.round(perDay) : perDay.toFixed(1)) + "/day"));
    const ok = feed.last_success_at
      ? el("span", null, "read " + ago(feed.last_success_at))
      : el("span", null, feed.last_polled_at ? "never read" : "");
    if (feed.last_success_at) ok.title = fullFormat.format(new Date(feed.last_success_at));
    sub.append(ok);
    li.append(sub);
    if (feed.last_error) {
      const failures = feed.failures > 1 ? ` (${feed.failures} times in a row)` : "";
      li.append(el("p", "feed-error", "Last error: " + feed.last_error + failures));
    }
    list.append(li);
  }
}

function hostOf(url) {
  try { return new URL(url).host; } catch (e) { return url; }
}

// --- the summary line --------------------------------------------------------

function renderHealth(health) {
  const feeds = Object.values(health.feeds).reduce((a, b) => a + b, 0);
  const sick = (health.feeds.failing || 0) + (health.feeds.silent || 0);
  const parts = [
    health.mode,
    `${feeds} feeds` + (sick ? ` (${sick} need a look)` : ""),
    `${health.rules.loaded} rules`,
  ];
  if (health.outbox) {
    parts.push(`${health.outbox.pending} pending`);
    if (health.outbox.dead) parts.push(`${health.outbox.dead} failed`);
  }
  if (health.rules.last_reload_error) parts.push("rules not reloaded: see the log");
  if (health.status !== "ok") parts.push("store not answering");
  document.getElementById("summary").textContent = parts.join(" · ");
}

function flash(message) {
  document.getElementById("live-text").textContent = message;
}

// --- loading -----------------------------------------------------------------

async function loadMarks() {
  const [acks, mutes] = await Promise.all([api("/api/acks"), api("/api/mutes")]);
  state.acks = new Map(acks.map((a) => [a.alert_id, new Date(a.until)]));
  state.mutes = new Map(mutes.map((m) => [m.rule, new Date(m.until)]));
}

async function loadRules() {
  state.rules = await api("/api/rules?days=" + RULE_DAYS);
  renderRules();
}

async function loadFeeds() {
  state.feeds = await api("/api/feeds?days=" + FEED_DAYS);
  renderFeeds();
}

async function loadHealth() {
  renderHealth(await api("/api/health"));
}

async function loadAlerts() {
  const alerts = await api("/api/alerts?limit=100");
  for (const alert of alerts) addAlert(alert, false); // newest first
  document.getElementById("alerts-empty").hidden = state.cards.size > 0;
}

// What changes after an alert is shown: it is sent (or fails), other outlets
// carry the story. Cards are updated in place.
async function refreshAlerts() {
  const alerts = await api("/api/alerts?limit=100");
  for (const alert of alerts.reverse()) {
    const key = state.byId.get(alert.id);
    if (key === undefined) {
      if (alert.id > state.lastId) addAlert(alert, true);
      continue;
    }
    const card = state.cards.get(key);
    if (JSON.stringify(card.alerts.get(alert.id)) !== JSON.stringify(alert)) {
      card.alerts.set(alert.id, alert);
      const fresh = card.el.classList.contains("fresh");
      renderCard(card).classList.toggle("fresh", fresh);
    }
  }
}

let rulesDue = null;
let alertsDue = null;

function refreshSoon() {
  clearTimeout(rulesDue);
  rulesDue = setTimeout(() => loadRules().catch(() => {}), 1500);
  clearTimeout(alertsDue);
  alertsDue = setTimeout(() => refreshAlerts().catch(() => {}), 4000);
}

// --- the live stream ---------------------------------------------------------

function setLive(mode, text) {
  const live = document.getElementById("live");
  live.dataset.state = mode;
  document.getElementById("live-text").textContent = text;
}

// Server-sent events read with fetch(), so the token goes in a header (an
// EventSource cannot send one, and a token in the URL would land in logs).
async function follow() {
  let wait = 1000;
  for (;;) {
    try {
      const response = await fetch("/api/events?after=" + state.lastId, {
        headers: headers({ Accept: "text/event-stream" }),
        cache: "no-store",
      });
      if (response.status === 401) {
        setLive("offline", "needs the token");
        await askToken(Boolean(token()));
        continue;
      }
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      setLive("live", "live");
      wait = 1000;
      await readEvents(response.body);
    } catch (e) {
      /* dropped: try again below */
    }
    setLive("offline", "reconnecting…");
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 30000);
  }
}

async function readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      handleEvent(block);
    }
  }
}

function handleEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (event !== "alert" || !data.length) return;
  addAlert(JSON.parse(data.join("\n")), true);
  refreshSoon();
}

// --- start -------------------------------------------------------------------

function tick() {
  for (const node of document.querySelectorAll("time.ago")) {
    node.textContent = ago(node.dataset.when);
  }
  for (const card of state.cards.values()) {
    if (card.el && card.el.classList.contains("acked") !== Boolean(cardAcked(card))) {
      renderAck(card.el, card);
    }
  }
}

async function start() {
  const hide = document.getElementById("hide-acked");
  const alertsPanel = document.querySelector(".alerts");
  hide.checked = localStorage.getItem(HIDE_KEY) === "1";
  alertsPanel.classList.toggle("hide-acked", hide.checked);
  hide.addEventListener("change", () => {
    localStorage.setItem(HIDE_KEY, hide.checked ? "1" : "0");
    alertsPanel.classList.toggle("hide-acked", hide.checked);
  });
  document.addEventListener("click", closeMenus);

  await loadHealth(); // asks for the token first, when one is needed
  await loadMarks();
  await Promise.all([loadAlerts(), loadRules(), loadFeeds()]);
  document.body.dataset.ready = "1";
  follow();
  setInterval(tick, 30000);
  setInterval(() => loadFeeds().catch(() => {}), 30000);
  setInterval(() => refreshAlerts().catch(() => {}), 20000);
  setInterval(() => loadHealth().catch(() => {}), 30000);
  setInterval(() => loadRules().catch(() => {}), 120000);
  setInterval(async () => {
    try {
      await loadMarks();
      renderRules();
      tick();
    } catch (e) { /* next time */ }
  }, 60000);
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch((e) => setLive("offline", "could not load: " + e.message));
});
