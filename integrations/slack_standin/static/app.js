// The stand-in page: pick a person, read their DMs and channels, type commands, click, submit.
"use strict";

const $ = (id) => document.getElementById(id);
const page = { user: new URLSearchParams(location.search).get("user") || "", open: "", version: -1, modalKey: "", state: null };

async function api(path, body) {
  const response = await fetch(`/ui/api/${path}`, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  return response.json();
}

// Times show in the viewer's Slack time zone, as Slack does.
function when(iso) {
  const d = new Date(iso);
  const timeZone = page.state && page.state.me.tz;
  return d.toLocaleString([], { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone, timeZoneName: "short" });
}

function renderPeople(state) {
  const select = $("person");
  if (select.options.length) return;
  const byTeam = {};
  for (const m of state.members) (byTeam[m.team || "Leadership"] ||= []).push(m);
  for (const [team, members] of Object.entries(byTeam)) {
    const group = document.createElement("optgroup");
    group.label = team;
    for (const m of members) group.append(new Option(`${m.name} — ${m.title || "member"}`, m.id));
    select.append(group);
  }
  select.value = page.user;
}

function renderCommands(state) {
  const list = $("commands");
  if (list.options.length || !state.commands.length) return;
  for (const c of state.commands) {
    list.append(new Option(`${c.command} ${c.usage_hint || ""} — ${c.description || ""}`, c.command));
  }
}

function renderSidebar(state) {
  const nav = $("sidebar");
  nav.replaceChildren();
  const entries = [{ id: "home", name: "🏠 Pacesetter (Home)" }, ...state.conversations];
  for (const c of entries) {
    const item = document.createElement("button");
    item.type = "button";
    item.className = `conv ${c.id === page.open ? "active" : ""}`;
    item.dataset.conversation = c.id;
    const count = c.messages ? c.messages.length : 0;
    item.textContent = c.is_im ? `💬 ${c.name}` : c.name;
    if (count) item.append(Object.assign(document.createElement("span"), { className: "count", textContent: count }));
    item.addEventListener("click", () => {
      page.open = c.id;
      draw(true);
      if (c.id === "home") api("home", { user: page.user }).then(poll);
    });
    nav.append(item);
  }
}

function messageCtx(conversation, message) {
  return {
    inView: false,
    errors: {},
    onAction: (action) => api("action", { user: page.user, channel: conversation.id, ts: message.ts, action, state: {} }).then(poll),
  };
}

function renderMessage(conversation, message, state) {
  const node = document.createElement("article");
  node.className = `msg ${message.ephemeral ? "ephemeral" : ""}`;
  node.dataset.ts = message.ts;
  const author = message.bot_id ? "Pacesetter" : (state.members.find((m) => m.id === message.user) || {}).name || message.user;
  const head = document.createElement("div");
  head.className = "msg-head";
  head.innerHTML = `<b>${BlockKit.esc(author)}</b>${message.bot_id ? ' <span class="app">APP</span>' : ""} <time>${when(message.posted_at)}</time>${message.ephemeral ? ' <span class="only-you">Only visible to you</span>' : ""}`;
  node.append(head);
  if (message.blocks && message.blocks.length) node.append(BlockKit.render(message.blocks, messageCtx(conversation, message)));
  else node.append(Object.assign(document.createElement("div"), { className: "msg-text", innerHTML: BlockKit.mrkdwn(message.text) }));
  for (const file of message.files || []) {
    if ((file.mimetype || "").startsWith("image/")) {
      const img = document.createElement("img");
      img.className = "bk-image"; img.src = `/files/${file.id}/${encodeURIComponent(file.name)}`; img.alt = file.title;
      node.append(img);
    } else {
      node.append(Object.assign(document.createElement("a"), { href: `/files/${file.id}/${file.name}`, textContent: `📎 ${file.title}` }));
    }
  }
  return node;
}

function renderMain(state) {
  const box = $("messages");
  const kept = box.scrollTop;
  box.replaceChildren();
  if (page.open === "home") {
    $("title").textContent = "Pacesetter — Home";
    if (state.home) box.append(BlockKit.render(state.home.blocks, {
      inView: false, errors: {},
      onAction: (action) => api("action", { user: page.user, view_id: state.home.id, action, state: BlockKit.stateOf(box) }).then(poll),
    }));
    else box.textContent = "The app has not published a Home tab for you yet.";
    return;
  }
  const conversation = state.conversations.find((c) => c.id === page.open) || state.conversations.find((c) => c.is_im);
  page.open = conversation.id;
  $("title").textContent = conversation.is_im ? "Pacesetter (direct messages)" : conversation.name;
  if (!conversation.messages.length) box.append(Object.assign(document.createElement("p"), { className: "empty", textContent: "No messages yet." }));
  for (const message of conversation.messages) box.append(renderMessage(conversation, message, state));
  if (page.scrolledFor !== `${conversation.id}:${conversation.messages.length}`) {
    page.scrolledFor = `${conversation.id}:${conversation.messages.length}`;
    box.scrollTop = box.scrollHeight;  // follow new messages, but leave the reader alone otherwise
  } else {
    box.scrollTop = kept;
  }
}

function renderNotices(state) {
  $("notices").replaceChildren(...state.notices.map((n) => Object.assign(document.createElement("div"), { className: "notice", textContent: n.text })));
}

function renderModal(state) {
  const modal = state.modal;
  const key = modal ? `${modal.id}:${modal.hash}:${JSON.stringify(modal.errors)}` : "";
  if (key === page.modalKey) return;
  page.modalKey = key;
  const form = $("modal");
  $("modal-backdrop").hidden = !modal;
  form.replaceChildren();
  if (!modal) return;
  form.dataset.viewId = modal.id;
  form.append(Object.assign(document.createElement("h2"), { innerHTML: BlockKit.textObject(modal.title) }));
  const general = modal.errors && modal.errors[""];
  if (general) form.append(Object.assign(document.createElement("div"), { className: "bk-error", textContent: general }));
  form.append(BlockKit.render(modal.blocks, {
    inView: true, errors: modal.errors || {},
    onAction: (action) => api("action", { user: page.user, view_id: modal.id, action, state: BlockKit.stateOf(form) }).then(poll),
  }));
  const buttons = document.createElement("div");
  buttons.className = "modal-buttons";
  const close = Object.assign(document.createElement("button"), { type: "button", innerHTML: modal.close ? BlockKit.textObject(modal.close) : "Cancel" });
  close.addEventListener("click", () => api("close", { user: page.user, view_id: modal.id }).then(poll));
  buttons.append(close);
  if (modal.submit) {
    const submit = Object.assign(document.createElement("button"), { type: "submit", className: "primary", innerHTML: BlockKit.textObject(modal.submit) });
    buttons.append(submit);
  }
  form.append(buttons);
}

function draw(force) {
  const state = page.state;
  if (!state) return;
  BlockKit.setDirectory([...state.members, { id: state.bot.id, name: state.bot.name }], state.conversations);
  renderPeople(state);
  renderCommands(state);
  $("clock").textContent = `🕒 ${when(state.now)}`;
  $("advance").hidden = !state.clock;
  $("links").innerHTML = Object.entries(state.links).map(([name, url]) => `<a href="${BlockKit.esc(url)}" target="_blank">${BlockKit.esc(name)}</a>`).join(" ");
  if (!page.open) page.open = (state.conversations.find((c) => c.is_im) || {}).id;
  if (force !== false) { renderSidebar(state); renderMain(state); renderNotices(state); }
  renderModal(state);
  document.body.dataset.version = state.version;
}

async function poll() {
  if (!page.user) return;
  const state = await api(`state?user=${encodeURIComponent(page.user)}`);
  if (state.error) return;
  const changed = state.version !== page.version;
  page.version = state.version;
  page.state = state;
  draw(changed);
}

async function start() {
  if (!page.user) {
    const anyone = await fetch("/ui/api/people").then((r) => r.json());
    page.user = anyone.default;
  }
  $("person").addEventListener("change", (e) => {
    page.user = e.target.value; page.open = ""; page.version = -1; page.modalKey = "";
    history.replaceState(null, "", `?user=${page.user}`);
    poll();
  });
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("command");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const channel = page.open === "home" ? undefined : page.open;
    const result = await api(text.startsWith("/") ? "command" : "say", { user: page.user, channel, text });
    if (result.error) $("notices").append(Object.assign(document.createElement("div"), { className: "notice", textContent: result.error }));
    poll();
  });
  $("modal").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = $("modal");
    await api("submit", { user: page.user, view_id: form.dataset.viewId, values: BlockKit.stateOf(form) });
    poll();
  });
  $("advance").addEventListener("click", async () => {
    $("advance").disabled = true;
    const result = await api("clock", { user: page.user, days: 1 });
    $("advance").disabled = false;
    if (result.error) $("notices").append(Object.assign(document.createElement("div"), { className: "notice", textContent: result.error }));
    poll();
  });
  await poll();
  setInterval(poll, 700);
}

start();
