// Checkpoint scanner: decode a QR (camera or image), verify it in the browser against the
// cached, Ed25519-signed trust list, show a big decision, queue scans and upload them online.
import { COLOURS, Session, announce, colourLabel, esc, fmtTime, initLang, t } from "./common.js";
import { verifyText, verifyTrustList } from "./zkverify.js";

const TRUST_KEY = "zk.scan.trust";
const ANCHOR_KEY = "zk.scan.anchor";
const QUEUE_KEY = "zk.scan.queue";
const HISTORY_KEY = "zk.scan.history";
const session = new Session("staff");
const $ = (id) => document.getElementById(id);
let trust = null; // {list, keys, signatureChecked}
let lastResult = null;
let stream = null;

function load(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key) || "null") ?? fallback; } catch { return fallback; }
}
function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }

// -- trust list ---------------------------------------------------------------------------------

async function loadTrust() {
  const pinnedPage = document.querySelector("main.scan").dataset.anchor || null;
  let anchor = load(ANCHOR_KEY, null) || pinnedPage;
  const cached = load(TRUST_KEY, null);
  let fresh = null;
  try {
    if (!anchor) {
      const res = await fetch("/api/v1/credential/anchor", { cache: "no-store" });
      if (res.ok) anchor = (await res.json()).public_key;
    }
    const res = await fetch("/api/v1/credential/trust-list", { cache: "no-store" });
    if (res.ok) fresh = await res.json();
  } catch { /* offline: use the cache */ }
  if (!anchor) { trust = null; renderTrust(t("未取得信任锚", "No trust anchor yet")); return; }
  save(ANCHOR_KEY, anchor);
  let verified = null;
  if (fresh) {
    try {
      verified = await verifyTrustList(fresh, anchor);
      if (cached && cached.trust_list && cached.trust_list.version > verified.list.version) {
        verified = null; // never go back to an older list
      } else {
        save(TRUST_KEY, fresh);
      }
    } catch (error) {
      renderTrust(t(`服务器信任列表被拒绝：${error.message}`, `Server trust list refused: ${error.message}`), true);
      verified = null;
    }
  }
  if (!verified && cached) {
    try { verified = await verifyTrustList(cached, anchor); } catch { verified = null; }
  }
  trust = verified;
  renderTrust();
}

function renderTrust(message = null, error = false) {
  const el = $("trust-state");
  if (message) { el.textContent = message; el.className = error ? "notice" : ""; el.dataset.kind = error ? "error" : ""; return; }
  if (!trust) {
    el.textContent = t("没有可用的信任列表：请联网打开本页一次", "No trust list: open this page online once");
    return;
  }
  const sig = trust.signatureChecked
    ? t("签名已用 Ed25519 验证", "signature verified (Ed25519)")
    : t("本浏览器不支持 Ed25519，签名未在本地验证", "this browser lacks Ed25519; signature not checked locally");
  el.textContent = t(
    `信任列表 第 ${trust.list.version} 版（${trust.list.publisher}，${trust.keys.length} 把密钥，${fmtTime(trust.list.issued_at)}）· ${sig} · 已缓存，可离线验码`,
    `Trust list version ${trust.list.version} (${trust.list.publisher}, ${trust.keys.length} keys, ${fmtTime(trust.list.issued_at)}) · ${sig} · cached for offline use`,
  );
  el.dataset.version = String(trust.list.version);
}

// -- verification and the decision ----------------------------------------------------------------

async function check(text, source) {
  text = String(text || "").trim();
  if (!text) return;
  const now = Date.now() / 1000;
  const result = trust
    ? await verifyText(text, trust.keys, now)
    : { valid: false, decoded: false, error: t("无信任列表", "no trust list"), payload: null };
  lastResult = result;
  renderDecision(result);
  const entry = {
    id: crypto.randomUUID ? crypto.randomUUID() : String(Math.random()),
    text, source, scanned_at: new Date().toISOString(),
    valid: result.valid, colour: result.payload ? result.payload.colour : null,
    masked_name: result.payload ? result.payload.masked_name : null, error: result.error,
  };
  const history = load(HISTORY_KEY, []);
  history.unshift({ ...entry, text: undefined });
  save(HISTORY_KEY, history.slice(0, 20));
  const queue = load(QUEUE_KEY, []);
  queue.push(entry);
  save(QUEUE_KEY, queue);
  renderHistory();
  uploadQueue();
}

function decisionOf(result) {
  if (!result.valid) return "invalid";
  const colour = result.payload.colour;
  if (colour === "green") return "allow";
  if (colour === "yellow") return "hold";
  return "deny";
}

function renderDecision(result) {
  const box = $("decision");
  const decision = decisionOf(result);
  box.className = `decision ${decision}`;
  box.dataset.decision = decision;
  box.dataset.valid = String(result.valid);
  box.dataset.colour = result.payload ? result.payload.colour : "";
  const verdicts = {
    allow: t("通行", "ALLOW"), hold: t("暂缓通行 · 请核查", "HOLD · check"),
    deny: t("禁止通行", "DENY"), invalid: t("无效码 · 禁止通行", "INVALID · DENY"),
  };
  $("verdict").textContent = verdicts[decision];
  if (result.payload && !result.valid) {
    $("colour-label").textContent = t(`码面声称：${colourLabel(result.payload.colour)}（未通过验证，不可采信）`,
      `Claims ${colourLabel(result.payload.colour)} (failed verification: do not trust)`);
    $("who").textContent = "";
  } else if (result.payload) {
    $("colour-label").textContent = `${colourLabel(result.payload.colour)}${result.payload.kind === "paper" ? t("（纸质码，请核验证件）", " (paper code: check an ID)") : ""}`;
    $("who").textContent = `${result.payload.masked_name || ""} · ${result.payload.iss}`;
  } else {
    $("colour-label").textContent = "";
    $("who").textContent = "";
  }
  $("reason").textContent = result.valid
    ? t(`有效期至 ${fmtTime(result.payload.exp)}`, `valid until ${fmtTime(result.payload.exp)}`)
    : `${t("原因", "Reason")}: ${result.error || ""}`;
}

function renderHistory() {
  const items = load(HISTORY_KEY, []);
  $("history").innerHTML = items.map((h) => {
    const label = h.valid ? colourLabel(h.colour) : t("无效", "invalid");
    return `<li>${esc(fmtTime(h.scanned_at))} · ${esc(label)} ${esc(h.masked_name || "")}${h.valid ? "" : ` <span class="muted">${esc(h.error || "")}</span>`}</li>`;
  }).join("");
  const queue = load(QUEUE_KEY, []);
  $("queue-state").textContent = queue.length
    ? t(`待上传 ${queue.length} 条验码记录`, `${queue.length} scan(s) waiting to upload`)
    : t("验码记录均已上传", "All scans uploaded");
  $("queue-state").dataset.pending = String(queue.length);
}

// -- the offline queue --------------------------------------------------------------------------

let uploading = false;
async function uploadQueue() {
  if (uploading || !navigator.onLine || !session.signedIn) { renderHistory(); return; }
  uploading = true;
  try {
    let queue = load(QUEUE_KEY, []);
    const venue = parseInt($("venue-id").value || localStorage.getItem("zk.scan.venue") || "", 10);
    while (queue.length) {
      const item = queue[0];
      const body = { text: item.text };
      if (Number.isInteger(venue) && venue > 0) body.venue_id = venue;
      let res;
      try {
        res = await session.fetch("/api/v1/credential/verify", { method: "POST", json: body });
      } catch { break; }
      if (res.status === 401 || res.status === 403 || res.status >= 500) break;
      queue = load(QUEUE_KEY, []).filter((q) => q.id !== item.id);
      save(QUEUE_KEY, queue);
    }
  } finally {
    uploading = false;
    renderHistory();
  }
}

// -- QR decoding --------------------------------------------------------------------------------

function decodeCanvas(canvas) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
  return found ? found.data : null;
}

async function fromImage(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = $("canvas");
  const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const text = decodeCanvas(canvas);
  if (!text) {
    renderDecision({ valid: false, payload: null, error: t("图片中未找到二维码", "no QR code found in the image") });
    return;
  }
  await check(text, "image");
}

async function startCamera() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (error) {
    renderDecision({ valid: false, payload: null, error: t(`无法打开摄像头：${error.message}`, `Camera unavailable: ${error.message}`) });
    return;
  }
  const video = $("video");
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  $("camera-start").hidden = true;
  $("camera-stop").hidden = false;
  let lastText = null; let lastAt = 0;
  const canvas = $("canvas");
  const tick = async () => {
    if (!stream) return;
    if (video.readyState >= 2) {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      const text = decodeCanvas(canvas);
      const now = performance.now();
      if (text && (text !== lastText || now - lastAt > 4000)) {
        lastText = text; lastAt = now;
        await check(text, "camera");
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function stopCamera() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  $("video").hidden = true;
  $("camera-start").hidden = false;
  $("camera-stop").hidden = true;
}

// -- wiring --------------------------------------------------------------------------------------

function renderNet() {
  const el = $("net-state");
  el.textContent = navigator.onLine ? t("在线", "Online") : t("离线", "Offline");
  el.classList.toggle("offline", !navigator.onLine);
}

function main() {
  initLang();
  renderNet();
  renderHistory();
  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", stopCamera);
  $("image-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) fromImage(file);
    event.target.value = "";
  });
  $("manual-verify").addEventListener("click", () => check($("manual-text").value, "manual"));
  $("manual-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); check($("manual-text").value, "manual"); }
  });
  $("venue-id").value = localStorage.getItem("zk.scan.venue") || "";
  $("venue-id").addEventListener("change", () => localStorage.setItem("zk.scan.venue", $("venue-id").value));
  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await session.signInPassword($("username").value, $("password").value);
      announce("signin-state", t("已登录，正在上传", "Signed in; uploading"), "ok");
      uploadQueue();
    } catch (error) {
      announce("signin-state", error.message, "error");
    }
  });
  $("signout").addEventListener("click", () => { session.signOut(); announce("signin-state", t("已退出", "Signed out")); });
  window.addEventListener("online", () => { renderNet(); loadTrust(); uploadQueue(); });
  window.addEventListener("offline", renderNet);
  window.addEventListener("langchange", () => {
    renderNet(); renderTrust(); renderHistory();
    if (lastResult) renderDecision(lastResult);
  });
  loadTrust().then(() => { document.body.dataset.ready = "1"; });
}

main();
export { COLOURS };
