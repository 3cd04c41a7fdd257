/* supportbot web chat widget: one <script> tag, no dependencies, no external requests.
 * <script src="https://bot.example.com/widget.js" data-title="..." data-color="#8a4b2a" data-greeting="..." async></script>
 * Everything written by a customer, the bot or an agent is inserted as text (textContent), never as markup. */
(() => {
  "use strict";
  if (window.supportbotWidget) return; // included twice: keep the first one

  const script = document.currentScript ||
    [...document.querySelectorAll("script[src]")].reverse().find((s) => /\/widget\.js([?#].*)?$/.test(s.src));
  const data = (script && script.dataset) || {};
  const src = new URL(script ? script.src : "/widget.js", location.href);
  const WS_URL = (src.protocol === "https:" ? "wss://" : "ws://") + src.host + "/widget/ws";

  const pick = (v, d) => (typeof v === "string" && v.trim() ? v.trim() : d);
  const TITLE = pick(data.title, "Chat with us");
  const GREETING = pick(data.greeting, "Hi! How can I help you today?");
  const COLOR = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(pick(data.color, "")) ? data.color.trim() : "#8a4b2a";
  const TOKEN_KEY = "supportbot.token";
  const OPEN_KEY = "supportbot.open";
  const ERRORS = {
    too_long: "That message is too long. Please shorten it.",
    rate_limited: "You're sending messages too quickly. Please wait a moment.",
    bad_request: "Sorry, that message could not be sent.",
    origin: "Chat is not available on this site.",
  };

  // Storage can throw (privacy modes, sandboxed iframes): never let that break the widget.
  const get = (area, key) => { try { return window[area].getItem(key); } catch (e) { return null; } };
  const put = (area, key, value) => { try { window[area].setItem(key, value); } catch (e) { /* ignore */ } };

  // Readable text colour on the accent (WCAG relative luminance).
  function ink(hex) {
    let h = hex.slice(1);
    if (h.length < 6) h = [...h].map((c) => c + c).join("");
    const [r, g, b] = [0, 2, 4].map((i) => {
      const c = parseInt(h.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? "#1b1b1b" : "#fff";
  }

  const CSS = `
:host{all:initial!important}
*{box-sizing:border-box}
[hidden]{display:none!important}
.sb-root{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222}
#sb-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:58px;height:58px;padding:0;border:0;border-radius:50%;background:var(--sb-accent);color:var(--sb-ink);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.28);display:grid;place-items:center;transition:transform .15s}
#sb-launcher:hover{transform:scale(1.06)}
#sb-launcher svg{width:27px;height:27px;fill:currentColor}
.sb-dot{position:absolute;top:3px;right:3px;width:14px;height:14px;border-radius:50%;background:#d93025;border:2px solid #fff}
#sb-panel{position:fixed;right:20px;bottom:90px;z-index:2147483001;width:370px;max-width:calc(100vw - 40px);height:min(600px,calc(100vh - 110px));display:flex;flex-direction:column;background:#faf7f4;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.3);overflow:hidden}
.sb-head{display:flex;align-items:center;gap:8px;padding:10px 10px 10px 16px;background:var(--sb-accent);color:var(--sb-ink)}
.sb-title{flex:1;margin:0;font-size:16px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#sb-close{width:36px;height:36px;padding:0;border:0;border-radius:8px;background:transparent;color:inherit;font:inherit;font-size:26px;line-height:1;cursor:pointer}
#sb-close:hover{background:rgba(127,127,127,.25)}
#sb-close:focus-visible{outline-color:currentColor;outline-offset:-3px}
#sb-log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px;overscroll-behavior:contain}
.sb-msg{max-width:85%;padding:9px 13px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}
.sb-bot,.sb-agent{align-self:flex-start;background:#fff;border:1px solid #e6ded6;border-bottom-left-radius:4px}
.sb-agent{border-color:var(--sb-accent)}
.sb-agent::before{content:"Support team";display:block;font-size:12px;font-weight:600;color:#6b5a4e}
.sb-agent.sb-named::before{content:none}
.sb-who{display:block;font-size:12px;font-weight:600;color:#6b5a4e}
.sb-customer{align-self:flex-end;background:var(--sb-accent);color:var(--sb-ink);border-bottom-right-radius:4px}
a.sb-link{display:block;margin-top:6px;color:var(--sb-accent);font-weight:600;text-decoration:underline}
.sb-choices{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start;max-width:95%}
.sb-choices button{padding:6px 12px;border:1px solid var(--sb-accent);border-radius:999px;background:#fff;color:#222;font:inherit;font-size:14px;cursor:pointer}
.sb-choices button:hover{background:#f3ebe4}
.sb-notice,#sb-status{align-self:center;max-width:90%;padding:4px 10px;border-radius:8px;background:#efe7df;color:#5c4b40;font-size:12.5px;text-align:center}
#sb-status{margin:0 auto 6px}
#sb-typing{align-self:flex-start;display:flex;gap:4px;padding:12px 14px;background:#fff;border:1px solid #e6ded6;border-radius:14px}
#sb-typing i{width:7px;height:7px;border-radius:50%;background:#9a8a7e;animation:sb-bounce 1.2s infinite ease-in-out}
#sb-typing i:nth-of-type(2){animation-delay:.15s}
#sb-typing i:nth-of-type(3){animation-delay:.3s}
@keyframes sb-bounce{0%,60%,100%{transform:none;opacity:.45}30%{transform:translateY(-4px);opacity:1}}
.sb-form{display:flex;gap:8px;padding:10px;border-top:1px solid #e6ded6;background:#fff}
#sb-input{flex:1;min-width:0;padding:10px 12px;border:1px solid #b9aca0;border-radius:10px;background:#fff;color:#222;font:inherit;font-size:16px}
#sb-send{padding:0 16px;border:0;border-radius:10px;background:var(--sb-accent);color:var(--sb-ink);font:inherit;font-weight:600;cursor:pointer}
#sb-send:disabled{opacity:.5;cursor:not-allowed}
:focus-visible{outline:3px solid #1a5fd0;outline-offset:2px}
#sb-log:focus-visible,#sb-input:focus-visible{outline-offset:-3px}
.sb-sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
@media (max-width:479.98px){#sb-panel{inset:0;width:100%;max-width:none;height:100%;border-radius:0}}
@media (prefers-reduced-motion:reduce){#sb-typing i{animation:none}#sb-launcher{transition:none}}`;

  // Static skeleton only: no customer/bot/agent text ever goes through innerHTML.
  const HTML = `<div class="sb-root">
<button id="sb-launcher" type="button" aria-label="Open chat" aria-expanded="false" aria-controls="sb-panel"><svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z"/></svg><span class="sb-dot" hidden></span></button>
<div id="sb-panel" role="dialog" hidden>
<div class="sb-head"><h2 class="sb-title"></h2><button id="sb-close" type="button" aria-label="Close chat">\u00d7</button></div>
<div id="sb-log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0"><div id="sb-typing" hidden><span class="sb-sr">Typing\u2026</span><i></i><i></i><i></i></div></div>
<div id="sb-status" role="status" hidden></div>
<form class="sb-form" autocomplete="off" novalidate><label class="sb-sr" for="sb-input">Type your message</label><input id="sb-input" type="text" maxlength="4000" autocomplete="off" placeholder="Type your message\u2026"><button id="sb-send" type="submit" disabled>Send</button></form>
</div></div>`;

  const host = document.createElement("supportbot-widget");
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `<style>${CSS}</style>${HTML}`;
  const $ = (id) => root.getElementById(id);
  const launcher = $("sb-launcher"), panel = $("sb-panel"), log = $("sb-log"), input = $("sb-input");
  const sendBtn = $("sb-send"), typingEl = $("sb-typing"), status = $("sb-status");
  const dot = root.querySelector(".sb-dot");
  const box = root.querySelector(".sb-root");
  box.style.setProperty("--sb-accent", COLOR);
  box.style.setProperty("--sb-ink", ink(COLOR));
  root.querySelector(".sb-title").textContent = TITLE;
  panel.setAttribute("aria-label", TITLE);

  let ws = null, ready = false, attempt = 0, retryTimer = 0, typingTimer = 0, fatal = false;
  const seen = new Set(); // reply ids already rendered

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = String(text);
    return n;
  }

  // The typing indicator always stays the last child of the log.
  function add(node) {
    log.insertBefore(node, typingEl);
    log.scrollTop = log.scrollHeight;
  }

  function safeLink(link) {
    if (typeof link !== "string") return null;
    try {
      const u = new URL(link);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (e) { return null; }
  }

  function bubble(m) {
    const from = m.from === "customer" || m.from === "agent" ? m.from : "bot";
    const named = from === "agent" && typeof m.agent === "string" && m.agent;
    const b = el("div", "sb-msg sb-" + from + (named ? " sb-named" : ""));
    if (named) b.append(el("span", "sb-who", m.agent));
    b.append(el("span", "sb-text", m.text == null ? "" : m.text));
    const href = from !== "customer" && safeLink(m.link);
    if (href) {
      const a = el("a", "sb-link", "Read more");
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener";
      b.append(a);
    }
    if (m.at) {
      const d = new Date(m.at);
      if (!isNaN(d)) b.title = d.toLocaleString();
    }
    add(b);
  }

  const clearChoices = () => log.querySelectorAll(".sb-choices").forEach((n) => n.remove());

  function choices(list) {
    const items = Array.isArray(list) ? list.filter((c) => c && typeof c.label === "string" && c.label) : [];
    if (!items.length) return;
    const row = el("div", "sb-choices");
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", "Suggested replies");
    for (const c of items) {
      const btn = el("button", null, c.label);
      btn.type = "button";
      btn.addEventListener("click", () => {
        if (!send({ type: "button", payload: c.payload, label: c.label })) return;
        row.remove();
        bubble({ from: "customer", text: c.label });
        input.focus();
      });
      row.append(btn);
    }
    add(row);
  }

  function typing(on) {
    clearTimeout(typingTimer);
    typingEl.hidden = !on;
    if (on) {
      typingTimer = setTimeout(() => typing(false), 15000);
      log.scrollTop = log.scrollHeight;
    }
  }

  function setStatus(text) {
    status.textContent = text || "";
    status.hidden = !text;
    log.scrollTop = log.scrollHeight;
  }

  function sync() { sendBtn.disabled = !ready; }

  function renderHistory(items) {
    log.replaceChildren(typingEl); // replace, never append: reconnecting must not duplicate bubbles
    items = items.filter((m) => m && typeof m === "object");
    if (!items.length) bubble({ from: "bot", text: GREETING });
    for (const m of items) {
      if (m.id != null) seen.add(m.id);
      bubble(m);
    }
    const last = items[items.length - 1];
    if (last && last.from !== "customer") choices(last.choices);
  }

  function send(obj) {
    if (!ready || !ws || ws.readyState !== 1) return false;
    try { ws.send(JSON.stringify(obj)); return true; } catch (e) { return false; }
  }

  function handle(raw) {
    let m;
    try { m = JSON.parse(raw); } catch (e) { return; }
    if (!m || typeof m !== "object") return;
    if (m.type === "welcome") {
      if (typeof m.token === "string" && m.token) put("localStorage", TOKEN_KEY, m.token);
      typing(false);
      renderHistory(Array.isArray(m.history) ? m.history : []);
      ready = true;
      attempt = 0;
      setStatus("");
      sync();
    } else if (m.type === "typing") {
      typing(true);
    } else if (m.type === "reply") {
      typing(false);
      if (m.id != null) {
        if (seen.has(m.id)) return;
        seen.add(m.id);
      }
      clearChoices();
      bubble({ from: m.from === "agent" ? "agent" : "bot", text: m.text, link: m.link });
      choices(m.choices);
      if (panel.hidden) dot.hidden = false;
    } else if (m.type === "error") {
      typing(false);
      add(el("div", "sb-notice", typeof m.message === "string" && m.message ? m.message : ERRORS[m.code] || "Something went wrong."));
      if (m.code === "origin") { fatal = true; setStatus(""); }
    }
  }

  function connect() {
    if (fatal || (ws && ws.readyState < 2)) return;
    clearTimeout(retryTimer);
    retryTimer = 0;
    let sock;
    try { sock = new WebSocket(WS_URL); } catch (e) { retry(); return; }
    ws = sock;
    sock.onopen = () => sock.send(JSON.stringify({ type: "hello", token: get("localStorage", TOKEN_KEY) }));
    sock.onmessage = (e) => { if (ws === sock) handle(e.data); };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      ready = false;
      typing(false);
      sync();
      retry();
    };
  }

  // Exponential backoff with jitter: ~1 s, 2 s, 4 s ... capped at 30 s.
  function retry() {
    if (fatal || retryTimer) return;
    setStatus("Reconnecting\u2026");
    const base = 1000 * 2 ** Math.min(attempt++, 5);
    retryTimer = setTimeout(() => { retryTimer = 0; connect(); }, Math.min(30000, base * (0.75 + Math.random() * 0.5)));
  }

  function open(focus = true) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    put("sessionStorage", OPEN_KEY, "1");
    dot.hidden = true;
    connect();
    log.scrollTop = log.scrollHeight;
    if (focus) input.focus();
  }

  function close(refocus = true) {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    put("sessionStorage", OPEN_KEY, "0");
    if (refocus) launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
  $("sb-close").addEventListener("click", () => close());
  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !panel.hidden) {
      e.preventDefault();
      close();
    }
  });
  root.querySelector("form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || !send({ type: "message", text })) return; // offline: keep what was typed
    input.value = "";
    clearChoices();
    bubble({ from: "customer", text });
  });
  window.addEventListener("online", () => { if (retryTimer) connect(); });

  window.supportbotWidget = { root, open: () => open(), close: () => close() };

  function mount() {
    document.body.appendChild(host);
    renderHistory([]);
    if (get("sessionStorage", OPEN_KEY) === "1") open(false); // restore after reload, without stealing focus
    else if (get("localStorage", TOKEN_KEY)) connect(); // returning visitor: receive agent replies
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
