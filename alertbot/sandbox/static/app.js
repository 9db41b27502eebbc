// The alertbot sandbox page: personas' chats with the real bot, and the live side panel.
// Talks to the sandbox's own server only: GET /sandbox/state and /sandbox/chats/{persona}, POST messages and
// taps, and server-sent events on /sandbox/events ("message": a new or changed message; "panel": the figures).
"use strict";

const TEXTS = {
  zh: {
    personas: "你是谁", "personas-hint": "切换身份时，每个身份的对话都会保留。", panel: "实时情况",
    "no-warning": "还没有预警。请以值班员身份发送 /alert。", recipients: "接收人", delivered: "已送达",
    pending: "待发送", blocked: "已屏蔽", pace: "发送速度", "per-second": "条/秒（Telegram 上限）",
    progress: "值班员看到的进度消息", channels: "区县频道发帖", population: "模拟人群",
    "population-text": "已订阅 {subscribed} / {total} · 其后屏蔽机器人 {blocked} · 注销账号 {deleted}",
    "population-ready": "订阅完成", "no-posts": "暂无频道发帖", "no-progress": "暂无",
    send: "发送", placeholder: "输入消息…", "no-commands": "没有命令", edited: "已编辑", deleted: "已删除",
    badge: "沙盒", "connection-lost": "连接中断，正在重连…", "http-api": "机器人 HTTP API 文档：",
    bot: "机器人", error: "出错了：",
    statuses: { pending_approval: "待审批", queued: "排队中", sending: "发送中", done: "已完成",
      cancelled: "已撤回", rejected: "已驳回", expired: "已过期" },
  },
  en: {
    personas: "Who are you", "personas-hint": "Each persona keeps its conversation when you switch.",
    panel: "Live", "no-warning": "No warning yet. Be the duty officer and send /alert.",
    recipients: "Recipients", delivered: "Delivered", pending: "Pending", blocked: "Blocked",
    pace: "Pace", "per-second": "messages/s (Telegram's limit)", progress: "The officer's progress message",
    channels: "District channel posts", population: "Simulated population",
    "population-text": "{subscribed} of {total} subscribed · {blocked} then blocked the bot · {deleted} deleted their account",
    "population-ready": "subscribing done", "no-posts": "No channel posts yet", "no-progress": "None yet",
    send: "Send", placeholder: "Write a message…", "no-commands": "No commands", edited: "edited",
    deleted: "deleted", badge: "SANDBOX", "connection-lost": "Connection lost, reconnecting…",
    "http-api": "The bot's HTTP API docs: ", bot: "bot", error: "Error: ",
    statuses: { pending_approval: "waiting for approval", queued: "queued", sending: "sending", done: "done",
      cancelled: "cancelled", rejected: "rejected", expired: "expired" },
  },
};

const state = {
  language: chooseLanguage(),
  sandbox: null,        // GET /sandbox/state
  active: null,         // persona id
  chats: new Map(),     // persona id -> Map(key -> message), in arrival order
  loaded: new Set(),    // personas whose chat was fetched
  unread: new Set(),
  panel: null,
};

const $ = (id) => document.getElementById(id);
const t = (key) => TEXTS[state.language][key] ?? key;

function chooseLanguage() {
  const saved = localStorage.getItem("alertbot-sandbox-language");
  if (saved === "zh" || saved === "en") return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

// -- talking to the server -------------------------------------------------------------------------

async function request(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

async function loadChat(persona) {
  const data = await request("GET", `/sandbox/chats/${persona}`);
  const messages = new Map();
  for (const message of data.messages) messages.set(message.key, message);
  state.chats.set(persona, messages);
  state.loaded.add(persona);
  return data.commands;
}

function listen() {
  const events = new EventSource("/sandbox/events");
  let lost = false;
  events.addEventListener("open", () => {
    $("connection").hidden = true;
    if (lost) {  // messages may have been missed meanwhile: read the chats again
      lost = false;
      state.loaded.clear();
      reloadActive();
    }
  });
  events.addEventListener("error", () => {
    lost = true;
    $("connection").textContent = t("connection-lost");
    $("connection").hidden = false;
  });
  events.addEventListener("message", (event) => received(JSON.parse(event.data)));
  events.addEventListener("panel", (event) => {
    state.panel = JSON.parse(event.data);
    renderPanel();
  });
}

function received({ persona, message }) {
  if (!state.chats.has(persona)) state.chats.set(persona, new Map());
  state.chats.get(persona).set(message.key, message);
  if (persona === state.active) {
    renderMessage(message);
  } else {
    state.unread.add(persona);
    renderPersonas();
  }
}

// -- personas and the chat -------------------------------------------------------------------------

function renderPersonas() {
  const list = $("personas");
  list.replaceChildren();
  for (const persona of state.sandbox.personas) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "persona";
    button.setAttribute("data-testid", "persona-" + persona.id);
    button.setAttribute("aria-pressed", String(persona.id === state.active));
    button.append(span("avatar", persona.avatar), who(persona));
    if (state.unread.has(persona.id)) button.append(span("unread", ""));
    button.addEventListener("click", () => switchTo(persona.id));
    const item = document.createElement("li");
    item.append(button);
    list.append(item);
  }
}

function who(persona) {
  const box = span("who", "");
  box.append(span("name", persona.name[state.language]), span("role", persona.role[state.language]));
  return box;
}

function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

async function switchTo(personaId) {
  state.active = personaId;
  state.unread.delete(personaId);
  closeMenu();
  renderPersonas();
  const persona = currentPersona();
  $("chat-avatar").textContent = persona.avatar;
  $("chat-title").textContent = persona.name[state.language];
  $("chat-subtitle").textContent = `${state.sandbox.bot.name} · @${state.sandbox.bot.username}`;
  await reloadActive();
  $("composer-input").focus();
}

async function reloadActive() {
  if (state.active === null) return;
  try {
    if (!state.loaded.has(state.active)) await loadChat(state.active);
  } catch (error) {
    toast(t("error") + error.message);
  }
  renderChat();
}

function currentPersona() {
  return state.sandbox.personas.find((persona) => persona.id === state.active);
}

function renderChat() {
  const list = $("messages");
  list.replaceChildren();
  for (const message of (state.chats.get(state.active) || new Map()).values()) list.append(messageElement(message));
  list.scrollTop = list.scrollHeight;
}

function renderMessage(message) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const element = messageElement(message);
  const existing = list.querySelector(`[data-key="${CSS.escape(message.key)}"]`);
  if (existing) existing.replaceWith(element);
  else list.append(element);
  if (atBottom || message.from === "user") list.scrollTop = list.scrollHeight;
}

function messageElement(message) {
  const item = document.createElement("li");
  item.className = "message";
  item.setAttribute("data-testid", "message");
  item.dataset.from = message.from;
  item.dataset.key = message.key;
  item.dataset.edited = String(message.edited);
  item.dataset.deleted = String(message.deleted);
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (message.reply_to) {
    const quote = document.createElement("div");
    quote.className = "quote";
    quote.innerHTML = message.reply_to.html;  // server-made safe HTML (alertbot/sandbox/chats.py)
    bubble.append(quote);
  }
  if (message.photo) {
    const image = document.createElement("img");
    image.className = "photo";
    image.src = message.photo;
    image.alt = "";
    bubble.append(image);
  }
  const text = document.createElement("div");
  text.className = "text";
  text.setAttribute("data-testid", "message-text");
  text.innerHTML = message.html;  // server-made safe HTML (alertbot/sandbox/chats.py)
  bubble.append(text, meta(message));
  item.append(bubble);
  if (message.buttons.length && !message.deleted) item.append(keyboard(message));
  return item;
}

function meta(message) {
  const line = document.createElement("div");
  line.className = "meta";
  if (message.from === "bot") line.append(span("badge", t("badge")));
  if (message.deleted) line.append(span("flag", t("deleted")));
  else if (message.edited) line.append(span("flag", t("edited")));
  line.append(span("time", message.time));
  return line;
}

function keyboard(message) {
  const box = document.createElement("div");
  box.className = "keyboard";
  for (const row of message.buttons) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) line.append(inlineButton(message, button));
    box.append(line);
  }
  return box;
}

function inlineButton(message, button) {
  const element = document.createElement("button");
  element.type = "button";
  element.setAttribute("data-testid", "inline-button");
  element.textContent = button.text;
  if (button.url) {
    element.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
  } else {
    element.addEventListener("click", () => tap(element, message.id, button.data));
  }
  return element;
}

async function tap(element, messageId, data) {
  element.disabled = true;
  try {
    const answer = await request("POST", `/sandbox/chats/${state.active}/taps`, { message_id: messageId, data });
    if (answer.text) (answer.show_alert ? modal : toast)(answer.text);
  } catch (error) {
    toast(t("error") + error.message);
  } finally {
    element.disabled = false;
  }
}

async function send(text) {
  if (!text.trim()) return;
  try {
    await request("POST", `/sandbox/chats/${state.active}/messages`, { text });
    $("composer-input").value = "";
  } catch (error) {
    toast(t("error") + error.message);
  }
}

// -- the command menu ------------------------------------------------------------------------------

async function toggleMenu() {
  const menu = $("command-menu");
  if (!menu.hidden) return closeMenu();
  let commands = [];
  try {
    commands = (await request("GET", `/sandbox/chats/${state.active}`)).commands;
  } catch (error) {
    toast(t("error") + error.message);
    return;
  }
  menu.replaceChildren();
  if (!commands.length) menu.append(span("empty", t("no-commands")));
  for (const command of commands) {
    const item = document.createElement("button");
    item.type = "button";
    item.setAttribute("role", "menuitem");
    item.setAttribute("data-testid", "command");
    item.dataset.command = command.command;
    item.append(span("name", "/" + command.command), span("description", command.description));
    item.addEventListener("click", () => {
      closeMenu();
      send("/" + command.command);
    });
    menu.append(item);
  }
  menu.hidden = false;
  $("menu-toggle").setAttribute("aria-expanded", "true");
  menu.querySelector("button")?.focus();
}

function closeMenu() {
  $("command-menu").hidden = true;
  $("menu-toggle").setAttribute("aria-expanded", "false");
}

// -- pop-ups ---------------------------------------------------------------------------------------

let toastTimer = null;

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3000);
}

function modal(text) {
  $("modal-text").textContent = text;
  $("modal").hidden = false;
  $("modal-ok").focus();
}

// -- the side panel --------------------------------------------------------------------------------

function renderPanel() {
  const panel = state.panel;
  if (!panel) return;
  const warning = panel.broadcast;
  $("warning-empty").hidden = Boolean(warning);
  $("warning-body").hidden = !warning;
  if (warning) {
    $("warning-severity").className = "severity " + (warning.severity || "");
    $("warning-severity").textContent = warning.severity ? `#${warning.id} ${warning.severity}` : `#${warning.id}`;
    $("warning-title").textContent = (warning.titles && warning.titles[state.language]) || warning.title;
    $("warning-status").textContent = t("statuses")[warning.status] || warning.status;
    for (const name of ["recipients", "delivered", "pending", "blocked"]) $(name).textContent = String(warning[name]);
    drawChart($("chart"), warning.series, warning.recipients);
  }
  $("pace").textContent = String(panel.pace.per_second);
  $("limit").textContent = String(panel.pace.limit);
  $("pace-bar").style.width = `${Math.min(100, (100 * panel.pace.per_second) / panel.pace.limit)}%`;
  $("progress").innerHTML = panel.progress ? panel.progress.html : "";  // server-made safe HTML
  if (!panel.progress) $("progress").textContent = t("no-progress");
  renderChannelPosts(panel.channels);
  renderPopulation(panel.population);
}

function renderChannelPosts(posts) {
  const list = $("channel-posts");
  list.replaceChildren();
  if (!posts.length) list.append(span("empty", t("no-posts")));
  for (const post of posts) {
    const item = document.createElement("li");
    item.setAttribute("data-testid", "panel-channel-post");
    const text = document.createElement("div");
    text.className = "post";
    text.innerHTML = post.html;  // server-made safe HTML
    item.append(span("channel", `${post.title} ${post.username ? "@" + post.username : ""}`), span("time", " " + post.time), text);
    list.append(item);
  }
}

function renderPopulation(population) {
  if (!population) return;
  $("population").dataset.ready = String(population.ready);
  const done = population.total ? (100 * (population.subscribed + population.failed)) / population.total : 100;
  $("population-bar").style.width = `${done}%`;
  $("population-text").textContent = format(t("population-text"), population)
    + (population.ready ? ` · ${t("population-ready")}` : "");
}

function drawChart(canvas, series, recipients) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const left = 40, right = 10, top = 10, bottom = 24;
  context.clearRect(0, 0, width, height);
  context.font = "11px system-ui, sans-serif";
  context.fillStyle = "#6d7883";
  context.strokeStyle = "#cfd8e1";
  const seconds = Math.max(1, ...series.map((point) => point[0]));
  const most = Math.max(1, recipients);
  const x = (s) => left + ((width - left - right) * s) / seconds;
  const y = (n) => height - bottom - ((height - top - bottom) * n) / most;
  for (const fraction of most < 4 ? [0, 1] : [0, 0.5, 1]) {  // a few ticks on each axis
    context.beginPath();
    context.moveTo(left, y(most * fraction));
    context.lineTo(width - right, y(most * fraction));
    context.stroke();
    context.fillText(String(Math.round(most * fraction)), 4, y(most * fraction) + 4);
    context.fillText(`${(seconds * fraction).toFixed(1)} s`, x(seconds * fraction) - (fraction ? 24 : 0), height - 6);
  }
  const lines = [[1, "#2e9e4f"], [2, "#9aa4ae"], [3, "#d64545"]];
  for (const [column, colour] of lines) {
    context.beginPath();
    context.strokeStyle = colour;
    context.lineWidth = 2;
    series.forEach((point, index) => {
      const draw = index ? context.lineTo.bind(context) : context.moveTo.bind(context);
      draw(x(point[0]), y(point[column]));
    });
    context.stroke();
  }
  context.lineWidth = 1;
}

// -- start -----------------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.language;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  $("ui-language").textContent = state.language === "zh" ? "English" : "中文";
  $("composer-send").textContent = t("send");
  $("composer-input").placeholder = t("placeholder");
  const api = state.sandbox && state.sandbox.links.http_api;
  $("links").replaceChildren();
  if (api) {
    const link = document.createElement("a");
    link.href = api;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = api;
    $("links").append(t("http-api"), link);
  }
  if (state.sandbox) {
    renderPersonas();
    if (state.active) $("chat-title").textContent = currentPersona().name[state.language];
  }
  renderPanel();
  if (state.active) renderChat();
}

function wire() {
  $("ui-language").addEventListener("click", () => {
    state.language = state.language === "zh" ? "en" : "zh";
    localStorage.setItem("alertbot-sandbox-language", state.language);
    applyLanguage();
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send($("composer-input").value);
  });
  $("composer-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send($("composer-input").value);
    }
  });
  $("menu-toggle").addEventListener("click", toggleMenu);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeMenu(); });
  $("modal-ok").addEventListener("click", () => { $("modal").hidden = true; });
}

async function start() {
  wire();
  applyLanguage();
  try {
    state.sandbox = await request("GET", "/sandbox/state");
  } catch (error) {
    toast(t("error") + error.message);
    return;
  }
  state.panel = { broadcast: null, pace: { per_second: 0, limit: state.sandbox.limits.free_per_second },
    channels: [], progress: null, population: state.sandbox.population };
  applyLanguage();
  listen();
  await switchTo(state.sandbox.personas[0].id);
}

start();
