// Shared helpers of the zhikong pages: language switch, API calls with tokens, formatting.
// Plain ES module, no build step. Chinese first; English on request (stored per browser).

const LANG_KEY = "zk.lang";

export function lang() {
  return document.documentElement.dataset.lang === "en" ? "en" : "zh";
}

/** The text in the current language. */
export function t(zh, en) {
  return lang() === "en" ? en : zh;
}

export function setLang(value) {
  const root = document.documentElement;
  root.dataset.lang = value === "en" ? "en" : "zh";
  root.lang = value === "en" ? "en" : "zh-CN";
  localStorage.setItem(LANG_KEY, root.dataset.lang);
  document.querySelectorAll("[data-zh-title]").forEach((el) => {
    el.title = t(el.dataset.zhTitle, el.dataset.enTitle || el.dataset.zhTitle);
  });
  document.querySelectorAll("[data-zh-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.zhPlaceholder, el.dataset.enPlaceholder || "");
  });
  document.querySelectorAll("[data-zh-label]").forEach((el) => {
    el.setAttribute("aria-label", t(el.dataset.zhLabel, el.dataset.enLabel || ""));
  });
  window.dispatchEvent(new CustomEvent("langchange"));
}

export function initLang() {
  setLang(localStorage.getItem(LANG_KEY) || "zh");
  const button = document.getElementById("lang-switch");
  if (button) {
    button.addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));
  }
}

export const COLOURS = {
  green: { zh: "绿码", en: "Green", hex: "#00873c" },
  yellow: { zh: "黄码", en: "Yellow", hex: "#b07d00" },
  orange: { zh: "橙码", en: "Orange", hex: "#c75000" },
  red: { zh: "红码", en: "Red", hex: "#c0262d" },
};

export function colourLabel(colour) {
  const c = COLOURS[colour];
  return c ? t(c.zh, c.en) : colour;
}

/** Escape text for HTML. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (ch) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[ch]);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(lang() === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai", hour12: false,
  });
}

export function requestId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Tokens kept per audience ("staff" or "resident") in localStorage. */
export class Session {
  constructor(name) {
    this.key = `zk.tokens.${name}`;
  }
  get tokens() {
    try { return JSON.parse(localStorage.getItem(this.key) || "null"); } catch { return null; }
  }
  set tokens(value) {
    if (value) localStorage.setItem(this.key, JSON.stringify(value));
    else localStorage.removeItem(this.key);
  }
  get signedIn() { return Boolean(this.tokens && this.tokens.access_token); }
  signOut() { this.tokens = null; }

  async signInPassword(username, password) {
    const form = new URLSearchParams({ username, password });
    const res = await fetch("/api/v1/auth/token", { method: "POST", body: form });
    if (!res.ok) throw await problem(res);
    this.tokens = await res.json();
  }

  async refresh() {
    const tokens = this.tokens;
    if (!tokens || !tokens.refresh_token) return false;
    const res = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    });
    if (!res.ok) { this.tokens = null; return false; }
    this.tokens = await res.json();
    return true;
  }

  /** fetch() with the bearer token; refreshes once on 401. */
  async fetch(path, options = {}, retry = true) {
    const headers = new Headers(options.headers || {});
    if (this.tokens) headers.set("Authorization", `Bearer ${this.tokens.access_token}`);
    if (options.json !== undefined) {
      headers.set("Content-Type", "application/json");
      options = { ...options, body: JSON.stringify(options.json) };
    }
    const res = await fetch(path, { ...options, headers });
    if (res.status === 401 && retry && (await this.refresh())) {
      return this.fetch(path, options, false);
    }
    return res;
  }

  /** JSON of a successful call, or throws an Error carrying the problem detail. */
  async json(path, options = {}) {
    const res = await this.fetch(path, options);
    if (!res.ok) throw await problem(res);
    return res.status === 204 ? null : res.json();
  }
}

/** An Error from an RFC 9457 problem response. */
export async function problem(res) {
  let detail = `${res.status} ${res.statusText}`;
  let body = null;
  try {
    body = await res.json();
    if (body && body.detail) detail = body.detail;
  } catch { /* not JSON */ }
  const error = new Error(detail);
  error.status = res.status;
  error.body = body;
  return error;
}

/** Fetch JSON without a token; null when the endpoint is missing (404/405/501). */
export async function optionalJson(path, session = null) {
  try {
    const res = session ? await session.fetch(path) : await fetch(path);
    if (res.status === 404 || res.status === 405 || res.status === 501 || res.status === 503) {
      return null;
    }
    if (!res.ok) throw await problem(res);
    return await res.json();
  } catch (error) {
    if (error instanceof TypeError) return null; // network down
    throw error;
  }
}

export function show(el, visible) {
  if (typeof el === "string") el = document.getElementById(el);
  if (el) el.hidden = !visible;
}

export function announce(el, message, kind = "info") {
  if (typeof el === "string") el = document.getElementById(el);
  if (!el) return;
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = !message;
}
