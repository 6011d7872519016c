// The cockpit: five-colour county map (ECharts, geometry served by zhikong, decal patterns for
// colour-blind readers), date replay, index ranking, codes by city, trends, alerts.
import { Session, announce, colourLabel, esc, fmtTime, initLang, lang, optionalJson, t } from "./common.js";

const session = new Session("staff");
const $ = (id) => document.getElementById(id);
const DECALS = ["circle", "rect", "triangle", "diamond", "pin", "arrow", "roundRect"];
let profiles = [];
let dates = [];
let features = null; // the levels FeatureCollection of the chosen day
let chart = null;
let playing = null;

function levelsOf(profileId) {
  const profile = profiles.find((p) => p.id === profileId);
  return profile ? profile.levels : [];
}

/** A distinct pattern per level (index in the profile's level list). */
function decalFor(index) {
  return {
    symbol: DECALS[index % DECALS.length], symbolSize: 0.6 + (index % 3) * 0.15,
    dashArrayX: [[1, 0], [1, 3]][index % 2], dashArrayY: [2, 4 + index], rotation: (index * Math.PI) / 6,
    color: "rgba(0,0,0,0.35)",
  };
}

async function api(path) {
  return session.json(path);
}

async function start() {
  profiles = await api("/api/v1/map/profiles");
  $("profile").innerHTML = profiles.map((p) => `<option value="${esc(p.id)}">${esc(p.title[lang()] || p.id)}</option>`).join("");
  if (profiles.some((p) => p.id === "zhejiang-2020")) $("profile").value = "zhejiang-2020";
  await chooseProfile();
  loadCodes();
  loadRanking();
}

async function chooseProfile() {
  const profile = $("profile").value;
  dates = await api(`/api/v1/map/dates?profile=${encodeURIComponent(profile)}`);
  const slider = $("day");
  slider.max = String(Math.max(0, dates.length - 1));
  slider.value = slider.max;
  renderLegend();
  await showDay();
  loadTrend();
  loadCases();
}

function currentDay() {
  return dates[Number($("day").value)] || null;
}

let shownRequest = 0;
async function showDay() {
  const day = currentDay();
  const request = ++shownRequest;
  $("day-label").textContent = day || t("无评估数据", "no assessments");
  if (!day) { $("map-note").textContent = t("该口径尚无评估", "No assessments under this profile yet"); return; }
  const profile = $("profile").value;
  const loaded = await api(`/api/v1/map/levels?date=${day}&profile=${encodeURIComponent(profile)}&parent=330000&level=county`);
  if (request !== shownRequest) return; // a later day was asked for meanwhile
  features = loaded;
  drawMap();
  $("cockpit").dataset.date = day;
  renderAlerts();
  $("updated").textContent = fmtTime(new Date().toISOString());
}

function renderLegend() {
  const levels = levelsOf($("profile").value);
  $("legend").innerHTML = levels.map((level, i) => `<li data-level="${esc(level.code)}"><span class="swatch" style="background:${esc(level.colour_hex)}" aria-hidden="true"></span>${esc(lang() === "en" ? level.en : level.zh)} <span class="muted small">(${t("图案", "pattern")} ${esc(DECALS[i % DECALS.length])})</span></li>`).join("")
    + `<li><span class="swatch" style="background:#d9dee5" aria-hidden="true"></span>${t("未评估", "not assessed")}</li>`;
}

function drawMap() {
  if (!window.echarts) return;
  const geo = {
    type: "FeatureCollection",
    features: features.features.map((f) => ({ ...f, properties: { ...f.properties, name: f.properties.code } })),
  };
  window.echarts.registerMap("zj-county", geo);
  const levels = levelsOf($("profile").value);
  const index = Object.fromEntries(levels.map((l, i) => [l.code, i]));
  const data = features.features.map((f) => {
    const p = f.properties;
    const i = p.level ? index[p.level] ?? 0 : null;
    return {
      name: p.code, value: i === null ? null : i, props: p,
      itemStyle: { areaColor: p.colour_hex || "#d9dee5", decal: i === null ? undefined : decalFor(i) },
    };
  });
  if (!chart) {
    chart = window.echarts.init($("map"), null, { renderer: "canvas" });
    chart.on("click", (event) => { if (event.data && event.data.props) openDetail(event.data.props); });
    window.zhikongCockpit = { chart };
    window.addEventListener("resize", () => chart.resize());
  }
  const counted = features.features.length;
  $("map").dataset.counties = String(counted);
  $("map").dataset.levels = JSON.stringify(Object.fromEntries(features.features.map((f) => [f.properties.code, f.properties.level])));
  chart.setOption({
    aria: { enabled: true, decal: { show: true }, label: { description: t(`浙江省 ${counted} 个县（市、区）的风险等级地图。`, `Risk levels of Zhejiang's ${counted} counties.`) } },
    tooltip: {
      trigger: "item",
      formatter: (item) => {
        const p = item.data && item.data.props;
        if (!p) return "";
        const name = lang() === "en" ? p.name_en : p.name_zh;
        const level = p.level ? (lang() === "en" ? p.level_en : p.level_zh) : t("未评估", "not assessed");
        return `${esc(name)}<br>${esc(level)}${p.overridden ? t("（人工调整）", " (manual)") : ""}`;
      },
    },
    series: [{
      type: "map", map: "zj-county", roam: true, data, selectedMode: "single",
      label: { show: true, fontSize: 9, color: "#111", formatter: (item) => {
        const p = item.data && item.data.props;
        return p ? (lang() === "en" ? "" : p.name_zh.replace(/(市|区|县)$/, "")) : "";
      } },
      emphasis: { label: { show: true, fontWeight: "bold" }, itemStyle: { borderColor: "#000", borderWidth: 2 } },
      itemStyle: { borderColor: "#ffffff", borderWidth: 0.6 },
    }],
  }, true);
  $("map-note").textContent = t(`${counted} 个县（市、区）· ${currentDay()}`, `${counted} counties · ${currentDay()}`);
}

async function openDetail(p) {
  const name = lang() === "en" ? p.name_en : p.name_zh;
  const level = p.level ? (lang() === "en" ? p.level_en : p.level_zh) : t("未评估", "not assessed");
  const reasons = (p.reasons || []).map((r) => `<li>${esc(r[lang()] || r.zh)}</li>`).join("");
  $("detail").dataset.region = p.code;
  $("detail-body").className = "";
  $("detail-body").innerHTML = `<h3 id="detail-name">${esc(name)} <span class="muted small">${esc(p.code)}</span></h3>
    <p><span class="chip" style="background:${esc(p.colour_hex || "#5b6776")}">${esc(level)}</span>
    ${p.overridden ? `<span class="muted">${t("人工调整", "manual override")}</span>` : ""}</p>
    <ul>${reasons || `<li class="muted">${t("无说明", "no reasons given")}</li>`}</ul>
    <p class="muted small">${t("规则", "Rule")} ${esc(p.profile)} ${esc(p.rule_version || "")} · ${esc(p.assessed_on || "")}</p>
    <div id="history" class="muted small">${t("加载历史…", "Loading history…")}</div>`;
  try {
    const history = await api(`/api/v1/map/regions/${p.code}/history?profile=${encodeURIComponent($("profile").value)}`);
    const items = Array.isArray(history) ? history : history.items || history.history || [];
    $("history").innerHTML = items.length
      ? `<table><tr><th>${t("日期", "Date")}</th><th>${t("等级", "Level")}</th></tr>${items.slice(-14).map((h) => `<tr><td>${esc(h.date || h.day || "")}</td><td>${esc((lang() === "en" ? h.level_en : h.level_zh) || h.level || "")}</td></tr>`).join("")}</table>`
      : t("无历史", "no history");
  } catch (error) {
    $("history").textContent = error.message;
  }
}

function renderAlerts() {
  const levels = levelsOf($("profile").value);
  const top = new Set(levels.slice(-2).map((l) => l.code)); // the two highest levels
  const rows = features.features.filter((f) => top.has(f.properties.level));
  $("alerts").innerHTML = rows.length
    ? rows.map((f) => {
      const p = f.properties;
      return `<li><span class="chip" style="background:${esc(p.colour_hex)}">${esc(lang() === "en" ? p.level_en : p.level_zh)}</span> ${esc(lang() === "en" ? p.name_en : p.name_zh)}${p.overridden ? t("（人工调整）", " (manual)") : ""}</li>`;
    }).join("")
    : `<li class="muted">${t("当前无高风险预警", "No high-risk warnings")}</li>`;
}

async function loadTrend() {
  const profile = $("profile").value;
  const days = dates.slice(-30);
  const levels = levelsOf(profile);
  const counts = await Promise.all(days.map((d) => optionalJson(`/api/v1/map/counts?date=${d}&profile=${encodeURIComponent(profile)}&parent=330000`, session)));
  if (!window.echarts) return;
  const chartTrend = window.echarts.init($("trend"));
  chartTrend.setOption({
    aria: { enabled: true, decal: { show: true } },
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 10, top: 40, bottom: 30 },
    xAxis: { type: "category", data: days }, yAxis: { type: "value", name: t("县数", "counties") },
    series: levels.map((l) => ({
      name: lang() === "en" ? l.en : l.zh, type: "bar", stack: "n", itemStyle: { color: l.colour_hex },
      data: counts.map((c) => (c && c.counts ? c.counts[l.code] || 0 : 0)),
    })),
  });
}

async function loadCases() {
  const data = await optionalJson("/api/v1/map/series?parent=330000&days=60", session);
  if (!data || !data.dates.length) {
    $("cases-note").textContent = t("暂无病例数据", "No case data yet");
    return;
  }
  $("cases-note").textContent = t("来源：平台病例报告（演示数据为合成）", "Source: platform case reports (synthetic in the demo)");
  if (!window.echarts) return;
  window.echarts.init($("cases")).setOption({
    aria: { enabled: true, decal: { show: true } },
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 40, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.dates },
    yAxis: [{ type: "value", name: t("病例", "cases") }, { type: "value", name: t("聚集", "clusters") }],
    series: [
      { name: t("本地新增", "new local"), type: "bar", stack: "cases", itemStyle: { color: "#c0262d" }, data: data.series.new_local_cases },
      { name: t("输入新增", "new imported"), type: "bar", stack: "cases", itemStyle: { color: "#c75000" }, data: data.series.new_imported_cases },
      { name: t("活跃聚集（14 日）", "active clusters (14 days)"), type: "line", yAxisIndex: 1, itemStyle: { color: "#1d4e89" }, data: data.series.clusters_14d },
    ],
  });
}

async function loadCodes() {
  const stats = await optionalJson("/api/v1/code/statistics?region=330000", session);
  if (!stats) { $("codes-note").textContent = t("健康码统计暂不可用", "Code statistics not available"); return; }
  const regions = await (await fetch("/api/v1/regions?level=city&limit=100")).json();
  const names = Object.fromEntries(regions.items.map((r) => [r.code, lang() === "en" ? r.name_en : r.name_zh]));
  const cities = stats.filter((s) => s.region_code !== "330000");
  const colours = ["green", "yellow", "orange", "red"];
  const total = stats.find((s) => s.region_code === "330000");
  $("codes-note").textContent = total ? t(`全省 ${total.total} 个健康码（合成数据）`, `${total.total} codes in the province (synthetic data)`) : "";
  if (!window.echarts) return;
  window.echarts.init($("codes")).setOption({
    aria: { enabled: true, decal: { show: true } },
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 70, right: 10, top: 30, bottom: 20 },
    yAxis: { type: "category", data: cities.map((c) => names[c.region_code] || c.region_code) },
    xAxis: { type: "value" },
    series: colours.map((c) => ({
      name: colourLabel(c), type: "bar", stack: "codes",
      itemStyle: { color: { green: "#00873c", yellow: "#b07d00", orange: "#c75000", red: "#c0262d" }[c] },
      data: cities.map((s) => s.counts[c] || 0),
    })),
  });
}

async function loadRanking() {
  const day = currentDay();
  const rows = await optionalJson(`/api/v1/index/ranking?date=${day || ""}&config=zhikong-2020&parent=330000`, session);
  if (!rows || !Array.isArray(rows) || !rows.length) {
    $("ranking").innerHTML = `<p class="muted">${t("指数排名接口尚未提供或当日无数据。", "Index ranking not yet available from the API, or no data for this day.")}</p>`;
    return;
  }
  const max = Math.max(...rows.map((r) => r.total || 0), 1);
  $("ranking").innerHTML = `<table><tr><th>#</th><th>${t("地区", "Region")}</th><th>${t("总指数", "Index")}</th><th>${t("管控", "Control")}</th><th>${t("畅通", "Flow")}</th></tr>
    ${rows.map((r) => `<tr title="${esc(Object.entries(r.contributions || {}).map(([k, v]) => `${k}: ${Number(v).toFixed(2)}`).join("; "))}"><td>${esc(r.rank)}</td><td>${esc(lang() === "en" ? r.name_en : r.name_zh)}</td>
      <td>${esc(Number(r.total).toFixed(1))}<div class="bar-cell"><span style="width:${(100 * r.total) / max}%"></span></div></td>
      <td>${esc(Number(r.containment).toFixed(1))}</td><td>${esc(Number(r.flow).toFixed(1))}</td></tr>`).join("")}</table>`;
}

function togglePlay() {
  if (playing) { clearInterval(playing); playing = null; $("play").setAttribute("aria-pressed", "false"); return; }
  $("play").setAttribute("aria-pressed", "true");
  $("day").value = "0";
  showDay();
  playing = setInterval(() => {
    const slider = $("day");
    if (Number(slider.value) >= Number(slider.max)) { togglePlay(); return; }
    slider.value = String(Number(slider.value) + 1);
    showDay();
  }, 700);
}

function main() {
  initLang();
  $("bigscreen").addEventListener("click", () => {
    const big = document.body.classList.toggle("big");
    $("bigscreen").setAttribute("aria-pressed", String(big));
    setTimeout(() => chart && chart.resize(), 50);
  });
  if (new URLSearchParams(location.search).get("screen") === "big") document.body.classList.add("big");
  $("profile").addEventListener("change", chooseProfile);
  $("day").addEventListener("input", showDay);
  $("play").addEventListener("click", togglePlay);
  window.addEventListener("langchange", () => { if (features) { renderLegend(); drawMap(); renderAlerts(); } });
  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await session.signInPassword($("username").value, $("password").value);
      $("signin").hidden = true;
      await start();
    } catch (error) { announce("signin-state", error.message, "error"); }
  });
  const boot = async () => {
    if (!session.signedIn) { $("signin").hidden = false; return; }
    try { await start(); } catch (error) {
      if (error.status === 401 || error.status === 403) { session.signOut(); $("signin").hidden = false; announce("signin-state", error.message, "error"); }
      else throw error;
    }
    document.body.dataset.ready = "1";
  };
  boot();
}

main();
