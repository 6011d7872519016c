// Resident pages (phone first): SMS sign-in, apply, my code (signed QR in its colour, live
// clock, automatic refresh), check-in, why this colour, appeal, dependants, paper code.
import { COLOURS, Session, announce, colourLabel, esc, fmtTime, initLang, requestId, t } from "./common.js";

const session = new Session("resident");
const $ = (id) => document.getElementById(id);
const VIEWS = ["signin", "home", "apply", "code", "checkin", "why", "appeal"];
const SYMPTOMS = {
  fever: ["发热", "Fever"], cough: ["咳嗽", "Cough"], sore_throat: ["咽痛", "Sore throat"],
  shortness_of_breath: ["气促", "Short of breath"], fatigue: ["乏力", "Fatigue"],
  nasal_congestion: ["鼻塞", "Blocked nose"], diarrhoea: ["腹泻", "Diarrhoea"],
  loss_of_smell_or_taste: ["嗅觉味觉减退", "Loss of smell or taste"],
};
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";
let codes = [];
let current = null; // resident id shown
let credential = null;
let refreshTimer = null;

/** GB 11643 check of an 18-digit resident ID: region, birth date, ISO 7064 MOD 11-2 digit. */
export function checkIdNumber(value) {
  const id = value.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(id)) return t("身份证号应为 18 位（最后一位可为 X）", "An ID number has 18 characters (the last may be X)");
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(id[i]), 0);
  if (CHECK[sum % 11] !== id[17]) return t("身份证号校验位不正确", "The ID number's check digit is wrong");
  const y = +id.slice(6, 10); const m = +id.slice(10, 12); const d = +id.slice(12, 14);
  const birth = new Date(Date.UTC(y, m - 1, d));
  if (birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d || y < 1900 || birth > new Date()) {
    return t("身份证号中的出生日期无效", "The birth date in the ID number is not valid");
  }
  return null;
}

function message(text, kind = "info") { announce("message", text, kind); }

function fieldError(id, text) {
  const input = $(id); const error = $(`${id}-error`);
  if (input) input.setAttribute("aria-invalid", text ? "true" : "false");
  if (error) { error.textContent = text || ""; error.hidden = !text; }
  if (input && error) input.setAttribute("aria-describedby", `${id}-error`);
  return !text;
}

function showView(name) {
  VIEWS.forEach((v) => { $(`view-${v}`).hidden = v !== name; });
  $("signout").hidden = !session.signedIn;
  if (name !== "code" && refreshTimer) { clearTimeout(refreshTimer); refreshTimer = null; }
}

// -- sign in -------------------------------------------------------------------------------------

let pendingPhone = null;
async function requestOtp(event) {
  event.preventDefault();
  const phone = $("phone").value.trim();
  if (!fieldError("phone", /^1\d{10}$/.test(phone) ? null : t("请输入 11 位手机号", "Enter an 11-digit mobile number"))) return;
  const res = await fetch("/api/v1/auth/otp", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ phone }),
  });
  if (!res.ok) { message((await res.json()).detail || res.statusText, "error"); return; }
  pendingPhone = phone;
  $("otp-verify").hidden = false;
  $("otp").focus();
  message(t("验证码已发送", "Code sent"), "ok");
}

async function verifyOtp(event) {
  event.preventDefault();
  const res = await fetch("/api/v1/auth/otp/verify", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ phone: pendingPhone, code: $("otp").value.trim() }),
  });
  if (!res.ok) { message((await res.json()).detail || res.statusText, "error"); return; }
  session.tokens = await res.json();
  localStorage.setItem("zk.resident.phone", pendingPhone);
  message("");
  location.hash = "#home";
  route();
}

// -- home ----------------------------------------------------------------------------------------

async function loadCodes() {
  codes = await session.json("/api/v1/code/mine");
  return codes;
}

async function renderHome() {
  await loadCodes();
  $("codes").innerHTML = codes.length ? codes.map((held) => {
    const c = held.code;
    const who = held.relation === "self" ? t("本人", "Me") : t("家人（代办）", "Dependant");
    return `<li><a href="#code/${c.resident_id}" data-resident="${c.resident_id}"><span>${esc(c.masked_name || "")} · ${esc(who)}</span>
      <span class="chip ${esc(c.colour)}">${esc(colourLabel(c.colour))}</span></a></li>`;
  }).join("") : `<li class="muted">${t("还没有健康码，请先申领。", "No code yet: apply first.")}</li>`;
}

// -- apply ----------------------------------------------------------------------------------------

let regionsLoaded = false;
async function prepareApply(relation) {
  $("apply-title").textContent = relation === "self" ? t("申领健康码", "Apply for my code") : t("为家人代办", "Apply for a dependant");
  $("declare").dataset.relation = relation;
  $("consent-field").hidden = relation === "self";
  $("decl-phone").value = relation === "self" ? (localStorage.getItem("zk.resident.phone") || "") : "";
  if (!regionsLoaded) {
    const page = await (await fetch("/api/v1/regions?level=county&limit=1000")).json();
    $("address_region").innerHTML = page.items.map((r) => `<option value="${esc(r.code)}">${esc(r.name_zh)} ${esc(r.name_en || "")}</option>`).join("");
    regionsLoaded = true;
  }
}

function validateDeclaration() {
  let ok = true;
  ok = fieldError("name", $("name").value.trim() ? null : t("请填写姓名", "Enter the name")) && ok;
  const idError = checkIdNumber($("id_number").value);
  ok = fieldError("id_number", idError) && ok;
  const id = $("id_number").value.trim();
  if (!idError && !$("birth_date").value) {
    $("birth_date").value = `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
  }
  const birthMatches = idError || $("birth_date").value.replaceAll("-", "") === id.slice(6, 14);
  ok = fieldError("birth_date", $("birth_date").value && birthMatches ? null : t("出生日期须与身份证号一致", "The date of birth must match the ID number")) && ok;
  ok = fieldError("decl-phone", /^\+?\d{6,15}$/.test($("decl-phone").value.trim()) ? null : t("手机号格式不正确", "Not a valid phone number")) && ok;
  const temp = Number($("temperature").value);
  ok = fieldError("temperature", temp >= 30 && temp <= 45 ? null : t("体温应在 30–45 °C 之间", "Temperature must be 30–45 °C")) && ok;
  ok = fieldError("pledge", $("pledge").checked ? null : t("请勾选承诺", "Please confirm the pledge")) && ok;
  return ok;
}

function symptomsOf(containerId) {
  return Array.from($(containerId).querySelectorAll("input:checked"), (el) => el.value);
}

async function submitDeclaration(event) {
  event.preventDefault();
  if (!validateDeclaration()) { $("declare").querySelector("[aria-invalid=true]")?.focus(); return; }
  const relation = $("declare").dataset.relation;
  const body = {
    client_request_id: requestId("decl"), relation, name: $("name").value.trim(),
    sex: $("sex").value, nationality: "CHN", id_type: "cn-resident",
    id_number: $("id_number").value.trim().toUpperCase(), birth_date: $("birth_date").value,
    address_region: $("address_region").value, phone: $("decl-phone").value.trim(),
    temperature: Number($("temperature").value), symptoms: symptomsOf("symptoms"),
    contact_history: { confirmed_or_suspected: $("contact").checked }, pledge: true,
  };
  if (relation === "dependant") body.consent = $("consent").value.trim() || null;
  try {
    const result = await session.json("/api/v1/code/declarations", { method: "POST", json: body });
    $("declare").reset();
    message(t("申报成功", "Declared"), "ok");
    location.hash = `#code/${result.resident_id}`;
  } catch (error) {
    message(error.message, "error");
  }
}

// -- my code --------------------------------------------------------------------------------------

function tickClock() {
  const el = $("clock");
  if (!el || $("view-code").hidden) return;
  const now = new Date();
  const parts = now.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }).split(":");
  const sec = parts.pop();
  el.innerHTML = `${esc(parts.join(":"))}:<span class="sec">${esc(sec)}</span>`;
  if (credential && Date.parse(credential.expires_at) < now.getTime()) {
    $("qr").classList.add("stale");
    $("card-valid").textContent = t("二维码已过期，正在刷新…", "QR expired, refreshing…");
  }
}

async function renderCode(residentId) {
  current = residentId;
  if (!codes.length) await loadCodes();
  const held = codes.find((h) => String(h.code.resident_id) === String(residentId));
  if (!held) { message(t("没有这个健康码", "No such code"), "error"); return; }
  const code = held.code;
  $("card").className = `card ${code.colour}`;
  $("card").dataset.colour = code.colour;
  $("card-name").textContent = code.masked_name || "";
  $("card-relation").textContent = held.relation === "self" ? "" : t("（代办）", "(dependant)");
  $("card-colour").textContent = colourLabel(code.colour);
  const progress = code.progress;
  $("progress").textContent = progress && progress.days_needed
    ? t(`转绿进度：${progress.days_done ?? 0}/${progress.days_needed} 天`, `Towards green: ${progress.days_done ?? 0}/${progress.days_needed} days`)
    : "";
  ["checkin", "why", "appeal"].forEach((v) => { $(`go-${v}`).href = `#${v}/${residentId}`; });
  await refreshCredential();
}

async function refreshCredential() {
  if (refreshTimer) clearTimeout(refreshTimer);
  const residentId = current;
  try {
    // The code itself may have changed colour (an officer's event): fetch it again.
    const fresh = await session.json(`/api/v1/code/residents/${residentId}`);
    const held = codes.find((h) => String(h.code.resident_id) === String(residentId));
    if (held) held.code = fresh;
    $("card").className = `card ${fresh.colour}`;
    $("card").dataset.colour = fresh.colour;
    $("card-colour").textContent = colourLabel(fresh.colour);
    credential = await session.json(`/api/v1/code/residents/${residentId}/credential`, { method: "POST" });
    $("qr").innerHTML = credential.svg;
    $("qr").classList.remove("stale");
    $("qr").setAttribute("aria-label", t(`${colourLabel(credential.colour)}二维码`, `${colourLabel(credential.colour)} QR code`));
    $("qr").dataset.text = credential.text;
    $("card-valid").textContent = t(`二维码更新于 ${fmtTime(credential.issued_at)}，${fmtTime(credential.expires_at)} 前有效`,
      `QR issued ${fmtTime(credential.issued_at)}, valid until ${fmtTime(credential.expires_at)}`);
  } catch (error) {
    $("qr").innerHTML = `<p class="muted">${esc(t("暂时无法生成二维码：", "Cannot make the QR code now: "))}${esc(error.message)}</p>`;
    credential = null;
  }
  // Refresh well before expiry (and at least every minute), so a screenshot is visibly stale.
  const left = credential ? Date.parse(credential.expires_at) - Date.now() : 60_000;
  refreshTimer = setTimeout(() => { if (!$("view-code").hidden) refreshCredential(); }, Math.max(5_000, Math.min(60_000, left / 2)));
}

async function printPaper() {
  const res = await session.fetch(`/api/v1/code/residents/${current}/paper.png`);
  if (!res.ok) { message(t("无法生成纸质码", "Cannot make the paper code"), "error"); return; }
  const url = URL.createObjectURL(await res.blob());
  const win = window.open("", "_blank");
  if (win) {
    win.document.write(`<title>paper code</title><img src="${url}" style="max-width:100%" onload="print()">`);
  } else {
    location.href = url;
  }
}

// -- check-in, why, appeal -------------------------------------------------------------------------

async function submitCheckin(event) {
  event.preventDefault();
  try {
    await session.json(`/api/v1/code/residents/${current}/checkins`, {
      method: "POST",
      json: { client_request_id: requestId("checkin"), temperature: Number($("ci-temperature").value), symptoms: symptomsOf("ci-symptoms") },
    });
    message(t("打卡成功", "Checked in"), "ok");
    location.hash = `#code/${current}`;
  } catch (error) { message(error.message, "error"); }
}

async function renderWhy(residentId) {
  current = residentId;
  const why = await session.json(`/api/v1/code/residents/${residentId}/why`);
  const lang = document.documentElement.dataset.lang === "en" ? "en" : "zh";
  $("why").innerHTML = `<p><span class="chip ${esc(why.colour)}">${esc(colourLabel(why.colour))}</span> ${esc(why.summary[lang] || "")}</p>
    <ul>${why.reasons.map((r) => `<li>${esc(fmtTime(r.at))}：${esc(r.text[lang] || r.text.zh)}</li>`).join("") || `<li>${t("没有不利记录", "Nothing against you")}</li>`}</ul>
    ${why.next_step ? `<p><strong>${t("下一步", "Next")}：</strong>${esc(why.next_step[lang])}</p>` : ""}
    <p class="muted small">${t("规则", "Rule")} ${esc(why.rule_id)} ${esc(why.rule_version)}</p>`;
}

async function renderAppeals(residentId) {
  current = residentId;
  const items = await session.json(`/api/v1/code/residents/${residentId}/appeals`);
  $("appeals").innerHTML = items.map((a) => `<li>${esc(fmtTime(a.submitted_at))} · ${esc(a.status)} · ${t("处理时限", "deadline")} ${esc(fmtTime(a.deadline_at))}${a.decision ? ` · ${esc(a.decision)}` : ""}</li>`).join("")
    || `<li class="muted">${t("暂无", "None")}</li>`;
}

async function submitAppeal(event) {
  event.preventDefault();
  try {
    await session.json(`/api/v1/code/residents/${current}/appeals`, {
      method: "POST", json: { client_request_id: requestId("appeal"), kind: $("appeal-kind").value, text: $("appeal-text").value.trim() },
    });
    $("appeal-text").value = "";
    message(t("申诉已提交，3 日内答复", "Appeal submitted: answered within 3 days"), "ok");
    await renderAppeals(current);
  } catch (error) { message(error.message, "error"); }
}

// -- routing -------------------------------------------------------------------------------------

async function route() {
  if (!session.signedIn) { showView("signin"); return; }
  const [name, arg] = (location.hash.slice(1) || "home").split("/");
  try {
    if (name === "apply") { showView("apply"); await prepareApply(arg || "self"); }
    else if (name === "code") { showView("code"); await renderCode(arg); }
    else if (name === "checkin") { current = arg; showView("checkin"); }
    else if (name === "why") { showView("why"); await renderWhy(arg); }
    else if (name === "appeal") { showView("appeal"); await renderAppeals(arg); }
    else { showView("home"); await renderHome(); }
  } catch (error) {
    if (error.status === 401) { session.signOut(); showView("signin"); return; }
    message(error.message, "error");
  }
  document.body.dataset.view = name || "home";
}

function symptomBoxes(containerId) {
  $(containerId).innerHTML = Object.entries(SYMPTOMS).map(([key, [zh, en]]) =>
    `<label class="inline"><input type="checkbox" value="${key}"> <span lang="zh">${zh}</span><span lang="en">${en}</span></label>`).join("");
}

function main() {
  initLang();
  symptomBoxes("symptoms");
  symptomBoxes("ci-symptoms");
  $("otp-request").addEventListener("submit", requestOtp);
  $("otp-verify").addEventListener("submit", verifyOtp);
  $("declare").addEventListener("submit", submitDeclaration);
  $("id_number").addEventListener("blur", () => fieldError("id_number", $("id_number").value ? checkIdNumber($("id_number").value) : null));
  $("checkin").addEventListener("submit", submitCheckin);
  $("appeal").addEventListener("submit", submitAppeal);
  $("paper").addEventListener("click", printPaper);
  $("signout").addEventListener("click", () => { session.signOut(); codes = []; location.hash = ""; route(); });
  window.addEventListener("hashchange", route);
  window.addEventListener("langchange", () => route());
  setInterval(tickClock, 1000);
  route();
}

main();
export { COLOURS };
