// Officer console: report events, decide appeals, manual colours, rule documents, audit.
// Everything is scoped by the API to the officer's jurisdiction.
import { Session, announce, colourLabel, esc, fmtTime, initLang, requestId, t } from "./common.js";

const session = new Session("staff");
const $ = (id) => document.getElementById(id);
let me = null;

function message(text, kind = "info") { announce("message", text, kind); }

function showTab(name) {
  document.querySelectorAll("[role=tabpanel]").forEach((el) => { el.hidden = el.id !== `tab-${name}`; });
  document.querySelectorAll("[role=tab]").forEach((el) => el.setAttribute("aria-selected", String(el.dataset.tab === name)));
  ({ appeals: loadAppeals, rules: loadRules, quarantine: loadQuarantine, tracing: loadClusters }[name] || (() => {}))();
}

async function boot() {
  if (!session.signedIn) { $("signin").hidden = false; $("console").hidden = true; return; }
  try {
    me = await session.json("/api/v1/auth/me");
  } catch { session.signOut(); $("signin").hidden = false; return; }
  $("signin").hidden = true;
  $("console").hidden = false;
  $("signout").hidden = false;
  $("who").textContent = `${me.username || ""} · ${me.role || ""} · ${me.region_code || t("全域", "all")}`;
  $("q-region").value = $("q-region").value || me.region_code || "330000";
  $("cl-region").value = $("cl-region").value || me.region_code || "330000";
  showTab("events");
  document.body.dataset.ready = "1";
}

async function reportEvent(event) {
  event.preventDefault();
  const kind = $("ev-kind").value;
  const body = { client_request_id: requestId("event"), kind };
  if (kind === "case_report") body.case_status = $("ev-case").value;
  if (kind === "test_result") body.result = $("ev-result").value;
  if (kind === "case_closed") body.outcome = "recovered";
  if ($("ev-note").value.trim()) body.note = $("ev-note").value.trim();
  try {
    const result = await session.json(`/api/v1/code/residents/${$("ev-resident").value.trim()}/events`, { method: "POST", json: body });
    $("ev-result-box").innerHTML = `<p class="notice" data-kind="ok" data-colour="${esc(result.code.colour)}">${t("已上报", "Reported")} #${esc(result.event_id)} · ${t("当前", "now")} <span class="chip ${esc(result.code.colour)}">${esc(colourLabel(result.code.colour))}</span></p>`;
  } catch (error) { $("ev-result-box").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

async function loadAppeals() {
  try {
    const rows = await session.json("/api/v1/code/appeals?status=open");
    $("appeals").innerHTML = rows.length ? `<table><tr><th>#</th><th>${t("居民", "Resident")}</th><th>${t("内容", "Text")}</th><th>${t("时限", "Deadline")}</th><th></th></tr>
      ${rows.map((a) => `<tr><td>${a.id}</td><td>${a.resident_id}</td><td>${esc(a.text)}</td><td class="${a.overdue ? "overdue" : ""}">${esc(fmtTime(a.deadline_at))}${a.overdue ? t("（已超时）", " (overdue)") : ""}</td>
      <td><input data-decision="${a.id}" aria-label="decision" data-zh-placeholder="处理意见" placeholder="${t("处理意见", "decision")}">
      <button type="button" data-uphold="${a.id}">${t("支持", "Uphold")}</button> <button type="button" class="secondary" data-reject="${a.id}">${t("驳回", "Reject")}</button></td></tr>`).join("")}</table>`
      : `<p class="muted">${t("没有待处理的申诉", "No open appeals")}</p>`;
  } catch (error) { $("appeals").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

async function decide(id, upheld) {
  const text = document.querySelector(`[data-decision="${id}"]`).value.trim() || (upheld ? "经核查，申诉成立" : "经核查，维持原判");
  try {
    await session.json(`/api/v1/code/appeals/${id}/decision`, { method: "POST", json: { upheld, decision: text } });
    message(t("已处理", "Decided"), "ok");
    loadAppeals();
  } catch (error) { message(error.message, "error"); }
}

async function setOverride(event) {
  event.preventDefault();
  try {
    const until = new Date($("ov-until").value).toISOString();
    const result = await session.json(`/api/v1/code/residents/${$("ov-resident").value.trim()}/overrides`, {
      method: "POST",
      json: { client_request_id: requestId("override"), colour: $("ov-colour").value, until, legal_basis: $("ov-basis").value.trim() },
    });
    $("ov-result").innerHTML = `<p class="notice" data-kind="ok">${t("已赋码", "Set")} <span class="chip ${esc(result.code.colour)}">${esc(colourLabel(result.code.colour))}</span> ${t("至", "until")} ${esc(fmtTime(result.code.override_until))}</p>`;
  } catch (error) { $("ov-result").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

async function loadQuarantine() {
  const region = $("q-region").value.trim();
  if (!region) return;
  try {
    const rows = await session.json(`/api/v1/code/quarantine?region=${encodeURIComponent(region)}`);
    $("quarantine-list").innerHTML = rows.length ? `<p>${t(`共 ${rows.length} 人在隔离`, `${rows.length} in quarantine`)}</p>
      <table><tr><th>${t("居民编号", "Resident")}</th><th>${t("姓名", "Name")}</th><th>${t("区县", "County")}</th><th>${t("开始", "Since")}</th><th>${t("天数", "Days")}</th><th>${t("当前码", "Code")}</th></tr>
      ${rows.map((q) => `<tr data-resident="${esc(q.resident_id)}"><td>${esc(q.resident_id)}</td><td>${esc(q.masked_name || "—")}</td><td>${esc(q.county_code)}</td>
      <td>${esc(fmtTime(q.since))}</td><td>${esc(q.days)}</td><td>${q.colour ? `<span class="chip ${esc(q.colour)}">${esc(colourLabel(q.colour))}</span>` : "—"}</td></tr>`).join("")}</table>`
      : `<p class="muted">${t("当前没有在隔离的居民", "Nobody is in quarantine now")}</p>`;
  } catch (error) { $("quarantine-list").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

const CONTACT_LEVELS = { close_contact: ["密接", "close contact"], secondary_contact: ["次密接", "secondary contact"], co_presence: ["时空伴随", "co-presence"] };

function contactLevel(level) {
  const label = CONTACT_LEVELS[level];
  return label ? t(label[0], label[1]) : level;
}

function evidenceText(items) {
  return (items || []).map((e) => e.venue_id
    ? t(`场所 #${e.venue_id} · ${fmtTime(e.at)} · 重叠 ${e.overlap_minutes} 分钟`, `venue #${e.venue_id} · ${fmtTime(e.at)} · ${e.overlap_minutes} min overlap`)
    : t(`${fmtTime(e.at)} · 同格 ${e.overlap_minutes} 分钟`, `${fmtTime(e.at)} · ${e.overlap_minutes} min in the same grid cell`)).join("<br>");
}

async function traceCase(event) {
  event.preventDefault();
  const body = { secondary: $("tr-secondary").checked, co_presence: $("tr-copresence").checked };
  if ($("tr-onset").value) body.onset_at = new Date($("tr-onset").value).toISOString();
  if ($("tr-sampled").value) body.sampled_at = new Date($("tr-sampled").value).toISOString();
  try {
    const run = await session.json(`/api/v1/trace/cases/${encodeURIComponent($("tr-resident").value.trim())}`, { method: "POST", json: body });
    $("trace-result").innerHTML = `<p class="notice" data-kind="ok" data-run="${esc(run.id)}">${t("流调", "Tracing run")} #${esc(run.id)} · ${esc(fmtTime(run.period_start))} – ${esc(fmtTime(run.period_end))} ·
      ${t("密接", "close")} ${esc(run.close_contacts)} · ${t("次密接", "secondary")} ${esc(run.secondary_contacts)} · ${t("时空伴随", "co-presence")} ${esc(run.co_presence)} · ${t("转码", "recoloured")} ${esc(run.recoloured)}
      ${run.truncated ? t("（结果已截断）", " (truncated)") : ""} · ${esc(run.rule)}</p>
      ${run.contacts.length ? `<table><tr><th>${t("居民编号", "Resident")}</th><th>${t("类别", "Level")}</th><th>${t("关联对象", "Met")}</th><th>${t("首次接触", "First at")}</th><th>${t("重叠（分钟）", "Overlap (min)")}</th><th>${t("证据", "Evidence")}</th></tr>
      ${run.contacts.map((c) => `<tr data-contact="${esc(c.resident_id)}"><td>${esc(c.resident_id)}</td><td>${esc(contactLevel(c.level))}</td><td>${esc(c.source_resident_id)}</td>
      <td>${esc(fmtTime(c.first_at))}</td><td>${esc(c.overlap_minutes)}</td><td>${evidenceText(c.evidence)}</td></tr>`).join("")}</table>`
      : `<p class="muted">${t("未发现密接", "No contacts found")}</p>`}`;
  } catch (error) { $("trace-result").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

async function loadClusters() {
  const region = $("cl-region").value.trim();
  if (!region) return;
  try {
    const rows = await session.json(`/api/v1/trace/clusters?region=${encodeURIComponent(region)}`);
    $("clusters").innerHTML = rows.length ? `<table><tr><th>${t("区划", "Region")}</th><th>${t("病例数", "Cases")}</th><th>${t("病例", "Case ids")}</th><th>${t("时间", "Period")}</th><th>${t("场所", "Venues")}</th></tr>
      ${rows.map((c) => `<tr><td>${esc(c.region_code)}</td><td>${esc(c.size)}</td><td>${esc(c.cases.join(", "))}</td>
      <td>${esc(fmtTime(c.first_at))} – ${esc(fmtTime(c.last_at))}</td><td>${esc(c.venues.join(", "))}</td></tr>`).join("")}</table>`
      : `<p class="muted">${t("暂无聚集性疫情", "No clusters")}</p>`;
  } catch (error) { $("clusters").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

async function loadRules() {
  try {
    const rows = await session.json("/api/v1/rules");
    $("rules").innerHTML = `<table><tr><th>ID</th><th>${t("版本", "Version")}</th><th>${t("状态", "Status")}</th><th>${t("标题", "Title")}</th><th>${t("区域", "Regions")}</th><th></th></tr>
      ${rows.map((r) => `<tr><td>${esc(r.rule_id)}</td><td>${esc(r.version)}</td><td>${r.status === "published" ? t("已发布", "published") : t("草稿", "draft")}</td>
      <td>${esc(t(r.title_zh, r.title_en))}</td><td>${esc(r.regions.join(", "))}</td>
      <td><button type="button" class="secondary small" data-view="${esc(r.rule_id)}|${esc(r.version)}">${t("查看", "View")}</button>
      ${r.status === "draft" ? `<button type="button" class="small" data-publish="${esc(r.rule_id)}|${esc(r.version)}">${t("发布", "Publish")}</button>` : ""}</td></tr>`).join("")}</table>`;
  } catch (error) { $("rules").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

function format(text) { return /^\s*[{[]/.test(text) ? "json" : "yaml"; }

function renderReport(report) {
  $("rule-report").innerHTML = `<p class="notice" data-kind="${report.passed ? "ok" : "error"}">${esc(report.rule_id)} ${esc(report.rule_version)}: ${report.cases.filter((c) => c.passed).length}/${report.cases.length} ${t("个测试通过", "tests pass")}</p>
    <ul>${report.cases.filter((c) => !c.passed).map((c) => `<li>${esc(c.name)}: ${esc(c.error || JSON.stringify(c.actual))}</li>`).join("")}</ul>`;
}

async function ruleAction(target) {
  try {
    if (target.dataset.view) {
      const [id, version] = target.dataset.view.split("|");
      const rule = await session.json(`/api/v1/rules/${encodeURIComponent(id)}/versions/${encodeURIComponent(version)}`);
      $("rule-text").value = rule.source;
    } else if (target.dataset.publish) {
      const [id, version] = target.dataset.publish.split("|");
      const result = await session.json(`/api/v1/rules/${encodeURIComponent(id)}/versions/${encodeURIComponent(version)}/publish`, { method: "POST" });
      renderReport(result.report);
      loadRules();
    }
  } catch (error) { message(error.message, "error"); }
}

async function testRule() {
  const text = $("rule-text").value;
  try { renderReport(await session.json("/api/v1/rules/test", { method: "POST", json: { text, format: format(text) } })); }
  catch (error) { $("rule-report").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

async function saveDraft() {
  const text = $("rule-text").value;
  try {
    const saved = await session.json("/api/v1/rules/drafts", { method: "POST", json: { text, format: format(text) } });
    message(t(`已保存草稿 ${saved.rule_id} ${saved.version}`, `Draft ${saved.rule_id} ${saved.version} saved`), "ok");
    loadRules();
  } catch (error) { message(error.message, "error"); }
}

async function verifyAudit() {
  try {
    const result = await session.json("/api/v1/audit/verify");
    $("audit-state").textContent = JSON.stringify(result);
    $("audit-state").dataset.ok = String(Boolean(result.ok ?? result.valid ?? result.intact));
  } catch (error) { $("audit-state").textContent = error.message; }
}

async function loadAudit() {
  const subject = $("audit-subject").value.trim();
  try {
    const data = await session.json(`/api/v1/audit/entries${subject ? `?subject=${encodeURIComponent(subject)}` : ""}`);
    const rows = Array.isArray(data) ? data : data.items || [];
    $("audit").innerHTML = `<table><tr><th>#</th><th>${t("时间", "At")}</th><th>${t("操作者", "Actor")}</th><th>${t("动作", "Action")}</th><th>${t("对象", "Subject")}</th></tr>
      ${rows.map((e) => `<tr><td>${esc(e.seq ?? e.id)}</td><td>${esc(fmtTime(e.at || e.created_at))}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}</td><td>${esc(e.subject)}</td></tr>`).join("")}</table>`;
  } catch (error) { $("audit").innerHTML = `<p class="notice" data-kind="error">${esc(error.message)}</p>`; }
}

function main() {
  initLang();
  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await session.signInPassword($("username").value, $("password").value); await boot(); }
    catch (error) { message(error.message, "error"); }
  });
  $("signout").addEventListener("click", () => { session.signOut(); location.reload(); });
  document.querySelectorAll("[role=tab]").forEach((el) => el.addEventListener("click", () => showTab(el.dataset.tab)));
  $("event").addEventListener("submit", reportEvent);
  $("override").addEventListener("submit", setOverride);
  $("quarantine").addEventListener("submit", (event) => { event.preventDefault(); loadQuarantine(); });
  $("trace").addEventListener("submit", traceCase);
  $("clusters-form").addEventListener("submit", (event) => { event.preventDefault(); loadClusters(); });
  $("appeals").addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.dataset.uphold) decide(target.dataset.uphold, true);
    if (target.dataset.reject) decide(target.dataset.reject, false);
  });
  $("rules").addEventListener("click", (event) => { const b = event.target.closest("button"); if (b) ruleAction(b); });
  $("rule-test").addEventListener("click", testRule);
  $("rule-draft").addEventListener("click", saveDraft);
  $("audit-verify").addEventListener("click", verifyAudit);
  $("audit-load").addEventListener("click", loadAudit);
  const until = new Date(Date.now() + 7 * 86400e3);
  $("ov-until").value = until.toISOString().slice(0, 16);
  boot();
}

main();
