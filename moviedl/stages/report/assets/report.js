// moviedl report: draws the panels of the page from its embedded data, offline.
// Plain JS, no library, no build step; inlined by moviedl/report_page.py (the CSP allows it by
// hash). It reads data.filters, data.sources and data.panels (the report data contract), keeps
// the filter state in the URL hash, and redraws every panel on each change and resize.
//
// Optional panel keys beyond the contract (all may be absent or null):
//   x_title, y_title, value_title   axis / legend titles (default: the field names, readable)
//   value.agg "count"               rows per group (value.field: rows where it is not null)
//   label.prefix                    text before the hbar's second figure (default "avg " for wavg)
//   y_sort "value_desc" | "y_asc"   heatmap row order (default value_desc); limit cuts rows
//   y_format                        heatmap row labels' format (default text)
//   point.x_format, point.y_format  scatter axis formats (default from the field name / format)
//   series (scatter)                one colour per value, with a legend
//   diagonal (scatter, log x and y) a dashed y = x line
//   wide                            the panel spans both columns
//   n {field, agg, noun}            what a mark stands for: shown beside ratios, shares and
//                                   averages; groups below data.meta.min_group are "too few to compare"
//   value.name                      the value's column name in the CSV (default from its fields)
//   empty_if_zero                   a field: when it is 0 in every row the report lacks the data
//   group {by, keep, measures}      (table) rows summed per key under the filters; having {field, min}
//   chart "lines"                   series_values as lines over a continuous year axis
// Each chart and table offers a CSV of what it draws; printing redraws for A4 (report.css).
// Tests read document.body.dataset.ready / .draws and each section's data-rows.
"use strict";
(() => {
  // The page holds an empty <svg> for measuring text; the HTML parser gave it the SVG
  // namespace, so no URL needs to be written here (the page names no http address at all).
  const measurer = document.getElementById("measure");
  const SVGNS = measurer.namespaceURI;
  const PALETTE = ["#2f6db5", "#e07b39", "#3a9d5d", "#b5485d", "#7a5cb3", "#8c6d31", "#3f9fb5", "#8c8c8c"];
  // Sequential blues; the lightest is still clearly blue, so a small value never looks empty.
  const HEAT = [[214, 230, 245], [158, 202, 225], [90, 160, 205], [33, 113, 181], [8, 48, 107]];
  const NO_DATA = "#f6f7f9";
  const DASH = "\u2013";
  const UNKNOWN = "(unknown)";
  const FONT = 12;
  const TICK = 11;

  const data = JSON.parse(document.getElementById("moviedl-data").textContent);
  const panels = Array.isArray(data.panels) ? data.panels : [];
  const sources = data.sources || {};
  const filterData = data.filters || {};
  // A group with fewer titles (credits) than this is "too few to compare": its ratio, share or
  // average is not drawn as a fact (report.min_group_size).
  const meta = data.meta || {};
  const MIN_GROUP = Number.isInteger(meta.min_group) && meta.min_group > 0 ? meta.min_group : 10;
  const FEW = "#c3c9d0";

  // ---------------------------------------------------------------------------------------
  // Number formats: one function for axes, labels, tooltips and tables (report_page.py's
  // format_value follows the same rules, for the cards).

  function abbreviate(v) {
    const sign = v < 0 ? "-" : "";
    let a = Math.abs(v);
    if (a < 1000) {
      if (Number.isInteger(a)) return sign + String(a);
      const t = a.toFixed(1);
      if (t !== "1000.0") return sign + t;
      a = 1000;
    }
    const units = [[1e3, "k"], [1e6, "M"], [1e9, "B"]];
    let i = a >= 1e9 ? 2 : a >= 1e6 ? 1 : 0;
    let t = (a / units[i][0]).toFixed(1);
    if (Number(t) >= 1000 && i < 2) {
      i += 1;
      t = (a / units[i][0]).toFixed(1);
    }
    return sign + t + units[i][1];
  }

  function format(kind, value) {
    if (value === null || value === undefined || (typeof value === "number" && !Number.isFinite(value))) return DASH;
    if (kind === "text" || typeof value !== "number") return String(value);
    const neg = value < 0 ? "-" : "";
    switch (kind) {
      case "count": return abbreviate(value);
      case "money": return neg + "$" + abbreviate(Math.abs(value));
      case "rating": return neg + Math.abs(value).toFixed(1);
      case "percent": return Math.floor(value * 100 + 0.5) + "%";
      case "minutes": return Math.floor(value + 0.5) + " min";
      case "ratio": return neg + Math.abs(value).toFixed(1) + "\u00d7";
      case "decade": return Math.trunc(value) + "s";
      case "year": return String(Math.trunc(value));
      case "bin": return Number.isInteger(value) ? String(value) : value.toFixed(1);
      default: return abbreviate(value);
    }
  }

  // A formatter for one axis of category values: bins get one decimal for all or none.
  function categoryFormatter(kind, values) {
    if (kind === "bin" && values.some((v) => typeof v === "number" && !Number.isInteger(v))) {
      return (v) => (typeof v === "number" ? v.toFixed(1) : format("text", v));
    }
    return (v) => (v === null || v === undefined ? "(none)" : format(kind || "text", v));
  }

  const WORDS = { imdb: "IMDb", tmdb: "TMDB", avg: "average", num: "number", title_type: "kind" };
  function humanize(field) {
    if (!field) return "";
    if (WORDS[field]) return WORDS[field];
    return String(field).split("_").map((w) => WORDS[w] || w).join(" ");
  }

  function guessFormat(field) {
    const f = String(field || "");
    if (/budget|revenue|gross/.test(f)) return "money";
    if (/rating/.test(f)) return "rating";
    if (/runtime|minutes/.test(f)) return "minutes";
    if (/coverage|share/.test(f)) return "percent";
    if (/roi|ratio/.test(f)) return "ratio";
    if (/decade/.test(f)) return "decade";
    if (/year/.test(f)) return "year";
    return "count";
  }

  // ---------------------------------------------------------------------------------------
  // SVG helpers and text measurement.

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, str, attrs) {
    const node = el("text", Object.assign({ x: r1(x), y: r1(y) }, attrs || {}), parent);
    node.textContent = str;
    return node;
  }

  function tip(node, str) {
    el("title", {}, node).textContent = str;
    return node;
  }

  function r1(v) {
    return Math.round(v * 10) / 10;
  }

  const widthCache = new Map();
  function textWidth(str, size, weight) {
    size = size || FONT;
    const key = size + "|" + (weight || "") + "|" + str;
    if (widthCache.has(key)) return widthCache.get(key);
    if (!measurer.firstChild) measurer.appendChild(el("text", { x: 0, y: 20 }));
    const node = measurer.firstChild;
    node.setAttribute("font-size", size);
    if (weight) node.setAttribute("font-weight", weight);
    else node.removeAttribute("font-weight");
    node.textContent = str;
    // a pixel of margin for rounding and hinting
    const w = Math.ceil(node.getComputedTextLength()) + 1;
    widthCache.set(key, w);
    return w;
  }

  function maxWidth(strings, size, weight) {
    let m = 0;
    for (const s of strings) m = Math.max(m, textWidth(s, size, weight));
    return m;
  }

  // Shorten `str` with an ellipsis to fit `width` pixels (the full text goes in a tooltip).
  function fit(str, width, size) {
    if (textWidth(str, size) <= width) return str;
    let lo = 0;
    let hi = str.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (textWidth(str.slice(0, mid) + "\u2026", size) <= width) lo = mid;
      else hi = mid - 1;
    }
    return str.slice(0, lo) + "\u2026";
  }

  function newSvg(label) {
    return el("svg", { class: "chart", role: "img", "aria-label": label, width: "100%",
      preserveAspectRatio: "xMinYMin meet" });
  }

  function finish(svg, width, height) {
    svg.setAttribute("viewBox", `0 0 ${Math.round(width)} ${Math.ceil(height)}`);
    return svg;
  }

  function overlaps(indices, positions, widths, gap) {
    let lastRight = -Infinity;
    for (const i of indices) {
      if (positions[i] - widths[i] / 2 < lastRight + gap) return true;
      lastRight = positions[i] + widths[i] / 2;
    }
    return false;
  }

  // Which labels of an axis to write so that none overlaps its neighbour: for numeric
  // categories (years, decades, bins) those at round values (every 10 years...), otherwise
  // every k-th.
  const ROUND_STEPS = [0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];
  const STEPS = { minutes: [15, 30, 60, 120, 240], decade: [10, 20, 50, 100] };

  function keptLabels(positions, widths, values, steps) {
    const n = positions.length;
    const all = [...Array(n).keys()];
    if (!overlaps(all, positions, widths, 6)) return all;
    if (values && n > 2 && values.every((v) => typeof v === "number" && Number.isFinite(v))) {
      for (const step of steps || ROUND_STEPS) {
        const idx = all.filter((i) => Math.abs(values[i] / step - Math.round(values[i] / step)) < 1e-9);
        if (idx.length >= 2 && !overlaps(idx, positions, widths, 6)) return idx;
      }
    }
    for (let k = 2; k < n; k++) {
      const idx = all.filter((i) => i % k === 0);
      if (!overlaps(idx, positions, widths, 6)) return idx;
    }
    return [0];
  }

  // Centred labels under an axis, kept inside [minX, maxX]: all on one row when they fit, else
  // all on two staggered rows when `stagger` (every decade keeps its label), else thinned.
  // Returns the extra height the second row takes (0 or STAGGER).
  const STAGGER = 13;
  function axisLabels(g, positions, labels, y, minX, maxX, values, steps, stagger) {
    const widths = labels.map((s) => textWidth(s, TICK));
    const xs = positions.map((p, i) => Math.min(Math.max(p, minX + widths[i] / 2), maxX - widths[i] / 2));
    const all = [...labels.keys()];
    if (stagger && labels.length > 2 && overlaps(all, xs, widths, 6)) {
      const even = all.filter((i) => i % 2 === 0);
      const odd = all.filter((i) => i % 2 === 1);
      if (!overlaps(even, xs, widths, 6) && !overlaps(odd, xs, widths, 6)) {
        for (const i of all) {
          text(g, xs[i], y + (i % 2) * STAGGER, labels[i], { "text-anchor": "middle", "font-size": TICK, class: "tick" });
        }
        return STAGGER;
      }
    }
    for (const i of keptLabels(xs, widths, values, steps)) {
      text(g, xs[i], y, labels[i], { "text-anchor": "middle", "font-size": TICK, class: "tick" });
    }
    return 0;
  }

  // Legend items in rows that wrap at `width`; returns the height used.
  function legend(g, items, x0, y0, width) {
    let x = x0;
    let y = y0;
    const row = 18;
    for (const item of items) {
      const w = 14 + textWidth(item.label, TICK) + 14;
      if (x > x0 && x + w > x0 + width) { x = x0; y += row; }
      el("rect", { x, y: y + 2, width: 10, height: 10, rx: 2, fill: item.color }, g);
      text(g, x + 14, y + 11, item.label, { "font-size": TICK });
      x += w;
    }
    return y - y0 + row;
  }

  // ---------------------------------------------------------------------------------------
  // Scales and ticks.

  // A round step giving about `count` steps over `span`; whole numbers only for counts of
  // things (no tick at 2.5 titles).
  function niceStep(span, count, integer) {
    const raw = span / Math.max(count, 1);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const steps = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
    let step = 10 * p;
    for (const m of steps) if (m * p >= raw - 1e-12) { step = m * p; break; }
    return integer ? Math.max(1, step) : step;
  }

  function wholeCounts(kind, values) {
    return (kind === "count" || kind === "money") && values.every((v) => Number.isInteger(v));
  }

  function clean(v) {
    return Number(v.toPrecision(12));
  }

  // Ticks covering [lo, hi] with nice steps; the domain is widened to the outer ticks.
  function niceTicks(lo, hi, count, integer) {
    if (!(hi > lo)) hi = lo + (lo === 0 ? 1 : Math.abs(lo));
    const step = niceStep(hi - lo, count || 5, integer);
    const start = Math.floor(lo / step + 1e-9);
    const stop = Math.ceil(hi / step - 1e-9);
    const ticks = [];
    for (let i = start; i <= stop; i++) ticks.push(clean(i * step));
    return ticks;
  }

  // Ticks inside [lo, hi] (the domain is not widened: bars fill the plot).
  function innerTicks(lo, hi, count, integer) {
    if (!(hi > lo)) return [lo];
    const step = niceStep(hi - lo, count || 5, integer);
    const ticks = [];
    for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + 1e-9 * step; i++) ticks.push(clean(i * step));
    return ticks;
  }

  function logDomain(lo, hi) {
    let a = Math.pow(10, Math.floor(Math.log10(lo)));
    let b = Math.pow(10, Math.ceil(Math.log10(hi)));
    if (b <= a) b = a * 10;
    return [clean(a), clean(b)];
  }

  function logTicks(lo, hi) {
    const e0 = Math.round(Math.log10(lo));
    const e1 = Math.round(Math.log10(hi));
    const ticks = [];
    const every = Math.max(1, Math.ceil((e1 - e0) / 8));
    for (let e = e0; e <= e1; e += every) {
      ticks.push(clean(Math.pow(10, e)));
      if (e1 - e0 <= 2 && e < e1) {
        ticks.push(clean(2 * Math.pow(10, e)), clean(5 * Math.pow(10, e)));
      }
    }
    return ticks.sort((a, b) => a - b);
  }

  function heatColor(t) {
    t = Math.min(Math.max(t, 0), 1) * (HEAT.length - 1);
    const i = Math.min(Math.floor(t), HEAT.length - 2);
    const f = t - i;
    const c = HEAT[i].map((v, k) => Math.round(v + (HEAT[i + 1][k] - v) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  // ---------------------------------------------------------------------------------------
  // Filters: state, URL hash, controls.

  const genreOptions = (filterData.genres || []).filter((g) => g !== UNKNOWN).concat([UNKNOWN]);
  const decadeOptions = filterData.decades || [];
  const kindOptions = filterData.kinds || [];
  const voteOptions = filterData.min_votes && filterData.min_votes.length ? filterData.min_votes : [0];
  const defaultVotes = voteOptions.includes(0) ? 0 : Math.min(...voteOptions);
  const state = { genre: "", decade: null, kind: "", votes: defaultVotes };

  function readHash() {
    const p = new URLSearchParams(location.hash.replace(/^#/, ""));
    const g = p.get("genre");
    state.genre = g !== null && genreOptions.includes(g) ? g : "";
    const d = Number(p.get("decade"));
    state.decade = p.has("decade") && decadeOptions.includes(d) ? d : null;
    const k = p.get("kind");
    state.kind = k !== null && kindOptions.includes(k) ? k : "";
    const v = Number(p.get("votes"));
    state.votes = p.has("votes") && voteOptions.includes(v) ? v : defaultVotes;
  }

  function stateHash() {
    const p = new URLSearchParams();
    if (state.genre) p.set("genre", state.genre);
    if (state.decade !== null) p.set("decade", String(state.decade));
    if (state.kind) p.set("kind", state.kind);
    if (state.votes !== defaultVotes) p.set("votes", String(state.votes));
    const s = p.toString();
    return s ? "#" + s : "";
  }

  function writeHash() {
    const h = stateHash();
    if (h === location.hash) return;
    const url = location.href.split("#")[0] + h;
    try {
      history.replaceState(null, "", url);
    } catch (e) {
      location.hash = h;
    }
  }

  const controls = {};

  function buildFilters() {
    const form = document.getElementById("filters");
    if (!form) return;
    form.replaceChildren();
    form.addEventListener("submit", (e) => e.preventDefault());
    const defs = [
      ["genre", "Genre", [["", "All"]].concat(genreOptions.map((g) => [g, g]))],
      ["decade", "Decade", [["", "All"]].concat(decadeOptions.map((d) => [String(d), format("decade", d)]))],
      ["kind", "Kind", [["", "All"]].concat(kindOptions.map((k) => [k, k]))],
      ["votes", "Min. IMDb votes", voteOptions.map((v) => [String(v), v === 0 ? "any" : "\u2265 " + format("count", v)])],
    ];
    for (const [key, label, options] of defs) {
      const wrap = document.createElement("label");
      wrap.textContent = label;
      const select = document.createElement("select");
      select.name = key;
      select.id = "filter-" + key;
      for (const [value, shown] of options) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = shown;
        select.appendChild(option);
      }
      select.addEventListener("change", () => {
        const v = select.value;
        if (key === "decade") state.decade = v === "" ? null : Number(v);
        else if (key === "votes") state.votes = Number(v);
        else state[key] = v;
        writeHash();
        update();
      });
      wrap.appendChild(select);
      form.appendChild(wrap);
      controls[key] = select;
    }
    const reset = document.createElement("button");
    reset.type = "button";
    reset.id = "filter-reset";
    reset.textContent = "Reset";
    reset.addEventListener("click", () => {
      state.genre = "";
      state.decade = null;
      state.kind = "";
      state.votes = defaultVotes;
      writeHash();
      update();
    });
    form.appendChild(reset);
    controls.reset = reset;
    const summary = document.createElement("span");
    summary.className = "summary";
    form.appendChild(summary);
    controls.summary = summary;
  }

  function syncControls() {
    if (!controls.genre) return;
    controls.genre.value = state.genre;
    controls.decade.value = state.decade === null ? "" : String(state.decade);
    controls.kind.value = state.kind;
    controls.votes.value = String(state.votes);
    const active = activeFilters();
    controls.reset.disabled = active.length === 0;
    controls.summary.textContent = (active.length ? "Charts show " + active.join(" \u00b7 ") : "Charts show all titles") +
      "; the cards and data quality cover the whole report.";
  }

  // ---------------------------------------------------------------------------------------
  // Rows: filtering, exclusion, grouping, aggregation.

  function indexOf(columns) {
    const ix = Object.create(null);
    columns.forEach((c, i) => { ix[c] = i; });
    return ix;
  }

  function genresOf(v) {
    return v === null || v === undefined ? [] : String(v).split(", ");
  }

  // The rows of `src` the panel draws: those passing the page's filters (unless `unfiltered`)
  // and the panel's exclusions. A filter the rows have no column for is named in notFiltered.
  function selectRows(spec, src, unfiltered) {
    const ix = indexOf(src.columns || []);
    const tests = [];
    const notFiltered = [];
    if (unfiltered) {
      // the panel's exclusions only: does the report hold anything for this panel at all?
    } else if (state.genre) {
      const g = state.genre;
      if ("genre" in ix) { const i = ix.genre; tests.push((r) => r[i] === g); }
      else if ("genres" in ix) { const i = ix.genres; tests.push((r) => genresOf(r[i]).includes(g)); }
      else notFiltered.push("genre");
    }
    if (state.decade !== null && !unfiltered) {
      const d = state.decade;
      if ("decade" in ix) { const i = ix.decade; tests.push((r) => r[i] === d); }
      else notFiltered.push("decade");
    }
    if (state.kind && !unfiltered) {
      const k = state.kind;
      if ("title_type" in ix) { const i = ix.title_type; tests.push((r) => r[i] === k); }
      else notFiltered.push("kind");
    }
    if (state.votes > 0 && !unfiltered) {
      const v = state.votes;
      if ("imdb_votes" in ix) { const i = ix.imdb_votes; tests.push((r) => r[i] !== null && r[i] >= v); }
      else if ("votes_band" in ix) { const i = ix.votes_band; tests.push((r) => r[i] !== null && r[i] >= v); }
      else notFiltered.push("minimum votes");
    }
    for (const [field, values] of Object.entries(spec.exclude || {})) {
      const drop = new Set(values || []);
      if (field in ix) { const i = ix[field]; tests.push((r) => !drop.has(r[i])); }
      else if (field === "genre" && "genres" in ix) {
        const i = ix.genres;
        tests.push((r) => !genresOf(r[i]).some((g) => drop.has(g)));
      }
    }
    const rows = (src.rows || []).filter((r) => tests.every((t) => t(r)));
    return { rows, ix, notFiltered };
  }

  function column(ix, field) {
    if (!(field in ix)) throw new Error(`the source has no column "${field}"`);
    return ix[field];
  }

  // An accumulator factory for a value spec {field, agg, weight, num, den}.
  function aggregator(vspec, ix) {
    const agg = vspec.agg || "sum";
    const num = (v) => typeof v === "number" && Number.isFinite(v);
    if (agg === "sum" || agg === "max") {
      const i = column(ix, vspec.field);
      const isMax = agg === "max";
      return () => {
        let acc = null;
        return {
          add(r) { const v = r[i]; if (num(v)) acc = acc === null ? v : isMax ? Math.max(acc, v) : acc + v; },
          get() { return acc; },
        };
      };
    }
    if (agg === "count") {
      const i = vspec.field ? column(ix, vspec.field) : -1;
      return () => {
        let n = 0;
        return { add(r) { if (i < 0 || (r[i] !== null && r[i] !== undefined)) n += 1; }, get() { return n; } };
      };
    }
    if (agg === "wavg") {
      const i = column(ix, vspec.field);
      const w = column(ix, vspec.weight);
      return () => {
        let s = 0;
        let sw = 0;
        return {
          add(r) { if (num(r[i]) && num(r[w])) { s += r[i] * r[w]; sw += r[w]; } },
          get() { return sw ? s / sw : null; },
        };
      };
    }
    if (agg === "ratio") {
      const n = column(ix, vspec.num);
      const d = column(ix, vspec.den);
      return () => {
        let sn = 0;
        let sd = 0;
        return {
          add(r) { if (num(r[n]) && num(r[d])) { sn += r[n]; sd += r[d]; } },
          get() { return sd ? sn / sd : null; },
        };
      };
    }
    throw new Error(`unknown aggregation "${agg}"`);
  }

  // Groups of rows by the key fields, each with one aggregated value per measure.
  function group(rows, ix, keyFields, measures) {
    const keyCols = keyFields.map((f) => column(ix, f));
    const makers = measures.map((m) => aggregator(m, ix));
    const groups = new Map();
    for (const r of rows) {
      const keys = keyCols.map((i) => (r[i] === undefined ? null : r[i]));
      const id = JSON.stringify(keys);
      let g = groups.get(id);
      if (!g) {
        g = { keys, accs: makers.map((m) => m()) };
        groups.set(id, g);
      }
      for (const a of g.accs) a.add(r);
    }
    return [...groups.values()].map((g) => ({ keys: g.keys, values: g.accs.map((a) => a.get()) }));
  }

  function compareKeys(a, b) {
    if (a === null) return b === null ? 0 : 1;
    if (b === null) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b));
  }

  function uniqueSorted(values) {
    return [...new Set(values)].sort(compareKeys);
  }

  // Category order: by x ascending, or by a total descending (ties by x).
  function orderCategories(xs, totals, sort) {
    const out = xs.slice();
    if (sort === "value_desc") {
      out.sort((a, b) => (totals.get(b) || 0) - (totals.get(a) || 0) || compareKeys(a, b));
    } else {
      out.sort(compareKeys);
    }
    return out;
  }

  function limited(list, limit) {
    return typeof limit === "number" && limit > 0 ? list.slice(0, limit) : list;
  }

  function valueFormat(spec) {
    return spec.format || guessFormat(spec.value && spec.value.field);
  }

  function valueTitle(spec) {
    if (spec.value_title) return spec.value_title;
    if (!spec.value && Array.isArray(spec.series_values)) {
      return spec.series_values.map((s) => s.label || humanize(s.field)).join(" and ");
    }
    const v = spec.value || {};
    if (v.agg === "ratio" && spec.format === "percent") return `share of ${humanize(v.den)} ${humanize(v.num)}`;
    if (v.agg === "ratio") return humanize(v.num) + " \u00f7 " + humanize(v.den);
    if (v.agg === "count") return v.field ? `titles with ${humanize(v.field)}` : "titles";
    if (v.agg === "wavg") return "average " + humanize(v.field).replace(/^average /, "");
    return humanize(v.field);
  }

  // A mark's tooltip: "Drama · 1990s: 12 titles", "1990: budget $1.2M".
  function say(key, title, formatted, kind) {
    if (!title) return `${key}: ${formatted}`;
    if (kind !== "count") return `${key}: ${title} ${formatted}`;
    return `${key}: ${formatted} ${formatted === "1" ? title.replace(/s$/, "") : title}`;
  }

  // "1 title", "1.2k credits": the n of a group, in the noun of the panel's n spec.
  function nText(spec, n) {
    const noun = (spec.n && spec.n.noun) || "title";
    return `${format("count", n)} ${noun}${n === 1 ? "" : "s"}`;
  }

  // The value is itself the count of the group (then it already shows its n).
  function valueIsN(spec) {
    return !!(spec.n && spec.value && spec.value.field === spec.n.field && (spec.value.agg || "sum") === "sum");
  }

  // The "too few to compare" line: each group below the minimum with its n.
  function fewNote(spec, few) {
    if (!few.length) return "";
    const noun = ((spec.n && spec.n.noun) || "title") + "s";
    const shown = few.slice(0, 12).map(([name, n]) => `${name} (${format("count", n)})`);
    const more = few.length > 12 ? ` and ${few.length - 12} more` : "";
    return `Too few to compare (fewer than ${MIN_GROUP} ${noun}): ${shown.join(", ")}${more}.`;
  }

  // The column name of a measure in a CSV: its name, else what it is computed from.
  function measureName(m) {
    if (!m) return "value";
    if (m.name) return m.name;
    if (m.agg === "ratio") return `${m.num}_per_${m.den}`;
    if (m.agg === "count") return m.field ? `titles_with_${m.field}` : "titles";
    return m.field;
  }

  // Decades on a time axis: every decade from the first to the last, none skipped; without a
  // decade filter the axis spans the whole report's decades, so panels side by side align.
  function decadeAxis(xs) {
    const known = xs.filter((x) => typeof x === "number" && Number.isFinite(x));
    if (state.decade === null) for (const d of decadeOptions) known.push(d);
    if (!known.length) return xs;
    const lo = Math.min(...known);
    const hi = Math.max(...known);
    const out = [];
    for (let d = lo; d <= hi; d += 10) out.push(d);
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // Charts. Each takes (spec, rows, ix, width) and returns {node, marks, note?} or null when
  // nothing is left to draw (the panel then shows its `empty` note).

  function drawHbar(spec, rows, ix, W) {
    const measures = [spec.value];
    const li = spec.label ? measures.push(spec.label) - 1 : -1;
    const ni = spec.n ? measures.push(spec.n) - 1 : -1;
    const all = group(rows, ix, [spec.x], measures).filter((g) => g.values[0] !== null);
    if (!all.length) return null;
    const nOf = (g) => (ni >= 0 ? g.values[ni] || 0 : Infinity);
    const countBars = valueIsN(spec);
    // a ratio or an average of too few titles is not a fact: listed apart, not drawn
    let groups = countBars ? all : all.filter((g) => nOf(g) >= MIN_GROUP);
    const fxAll = categoryFormatter(spec.x_format, all.map((g) => g.keys[0]));
    const few = countBars ? [] : all.filter((g) => nOf(g) < MIN_GROUP).sort((a, b) => nOf(b) - nOf(a) ||
      compareKeys(a.keys[0], b.keys[0])).map((g) => [fxAll(g.keys[0]), nOf(g)]);
    const labelSpec = spec.label;
    const labelFormat = labelSpec ? labelSpec.format || guessFormat(labelSpec.field) : null;
    const csv = { columns: [spec.x, measureName(spec.value)], rows: [] };
    if (li >= 0) csv.columns.push(measureName(labelSpec));
    if (ni >= 0 && !countBars) csv.columns.push(spec.n.field, "too_few_to_compare");
    for (const g of all) {
      const row = [g.keys[0], g.values[0]];
      if (li >= 0) row.push(g.values[li]);
      if (ni >= 0 && !countBars) row.push(g.values[ni], nOf(g) < MIN_GROUP);
      csv.rows.push(row);
    }
    if (!groups.length) return { node: fewOnly(spec, few), marks: [], csv };
    const totals = new Map(groups.map((g) => [g.keys[0], g.values[0]]));
    const order = limited(orderCategories(groups.map((g) => g.keys[0]), totals, spec.sort || "value_desc"), spec.limit);
    const byKey = new Map(groups.map((g) => [g.keys[0], g]));
    groups = order.map((k) => byKey.get(k));

    const fx = categoryFormatter(spec.x_format, order);
    const vf = valueFormat(spec);
    const title = valueTitle(spec);
    const prefix = labelSpec ? (labelSpec.prefix !== undefined && labelSpec.prefix !== null ? labelSpec.prefix
      : labelSpec.agg === "wavg" ? "avg " : "") : "";
    const names = groups.map((g) => fx(g.keys[0]));
    const small = groups.map((g) => countBars && nOf(g) < MIN_GROUP);
    const ends = groups.map((g) => format(vf, g.values[0]) +
      (labelSpec ? " \u00b7 " + prefix + format(labelFormat, g.values[li]) : "") +
      (ni >= 0 && !countBars ? " \u00b7 " + nText(spec, nOf(g)) : ""));

    const labelW = Math.min(maxWidth(names), Math.floor(W * 0.4));
    const endW = maxWidth(ends) + 6;
    const x0 = labelW + 8;
    const plotW = Math.max(40, W - x0 - endW - 2);
    const values = groups.map((g) => g.values[0]);
    const hi = Math.max(0, ...values);
    const lo = Math.min(0, ...values);
    const span = hi - lo || 1;
    const sx = (v) => x0 + ((v - lo) / span) * plotW;
    const row = 22;
    const top = 4;
    const plotH = groups.length * row;

    const svg = newSvg(`${spec.title || "bar chart"}: ${title} per ${humanize(spec.x)}`);
    const g = el("g", {}, svg);
    const ticks = innerTicks(lo, hi, Math.max(2, Math.floor(plotW / 80)), wholeCounts(vf, values));
    for (const t of ticks) {
      el("line", { x1: r1(sx(t)), x2: r1(sx(t)), y1: top, y2: top + plotH, class: "grid-line" }, g);
    }
    const marks = [];
    groups.forEach((grp, i) => {
      const y = top + i * row;
      const v = grp.values[0];
      const shown = fit(names[i], labelW);
      const label = text(g, x0 - 6, y + row / 2 + 4, shown, { "text-anchor": "end", class: "label" });
      if (shown !== names[i]) tip(label, names[i]);
      const xa = sx(Math.min(0, v));
      const w = Math.max(Math.abs(sx(v) - sx(0)), 1);
      const bar = el("rect", { x: r1(xa), y: y + 3, width: r1(w), height: row - 6, fill: small[i] ? FEW : PALETTE[0],
        class: small[i] ? "mark few" : "mark" }, g);
      tip(bar, say(names[i], title, format(vf, v), vf) + ends[i].slice(format(vf, v).length) +
        (small[i] ? ` (fewer than ${MIN_GROUP}: too few to compare)` : ""));
      marks.push(bar);
      text(g, xa + w + 4, y + row / 2 + 4, ends[i], { class: "value" });
    });
    el("line", { x1: r1(sx(0)), x2: r1(sx(0)), y1: top, y2: top + plotH, class: "axis-line" }, g);
    const tickY = top + plotH + 14;
    axisLabels(g, ticks.map(sx), ticks.map((t) => format(vf, t)), tickY, 0, W);
    text(g, x0 + plotW / 2, tickY + 17, title, { "text-anchor": "middle", class: "axis-title", "font-size": TICK });
    let note = fewNote(spec, few);
    if (small.some(Boolean)) note = `Grey bars: fewer than ${MIN_GROUP} titles, too few to compare their average.`;
    return { node: finish(svg, W, tickY + 22), marks, note, csv };
  }

  // When every group is below the minimum: say so, with each group's n, instead of a chart.
  function fewOnly(spec, few) {
    const p = document.createElement("p");
    p.className = "note few";
    p.textContent = fewNote(spec, few);
    return p;
  }

  // The step of a numeric x axis (1 for years, 10 for decades, the bin width for bins), or 0
  // when the categories are not evenly spaced numbers in order.
  function axisUnit(spec, xs) {
    const kind = spec.x_format;
    if (!["year", "decade", "bin", "minutes"].includes(kind) || (spec.sort || "x_asc") !== "x_asc" || spec.limit) return 0;
    if (xs.length < 2 || !xs.every((x) => typeof x === "number" && Number.isFinite(x))) return 0;
    let unit = kind === "year" ? 1 : kind === "decade" ? 10 : Infinity;
    if (unit === Infinity) for (let i = 1; i < xs.length; i++) unit = Math.min(unit, xs[i] - xs[i - 1]);
    if (!(unit > 0)) return 0;
    const steps = (xs[xs.length - 1] - xs[0]) / unit;
    const even = xs.every((x) => Math.abs((x - xs[0]) / unit - Math.round((x - xs[0]) / unit)) < 1e-6);
    return even && steps <= 500 ? unit : 0;
  }

  // Vertical bars per x; with series (a field or several measures) bars side by side.
  function drawColumns(spec, rows, ix, W, grouped) {
    let seriesNames = [null];
    let valueAt;
    let nAt = null; // the n of a bar, when the value is a ratio (spec.n)
    let xs;
    const totals = new Map();
    if (grouped && Array.isArray(spec.series_values) && spec.series_values.length) {
      const measures = spec.series_values.map((s) => Object.assign({ agg: "sum" }, s));
      const groups = group(rows, ix, [spec.x], measures);
      seriesNames = spec.series_values.map((s) => s.label || humanize(s.field));
      const byKey = new Map(groups.map((g) => [g.keys[0], g.values]));
      xs = groups.map((g) => g.keys[0]);
      valueAt = (x, j) => (byKey.get(x) || [])[j] ?? null;
      for (const g of groups) totals.set(g.keys[0], g.values.reduce((a, v) => a + (v || 0), 0));
    } else if (grouped && spec.series) {
      const groups = group(rows, ix, [spec.x, spec.series], spec.n ? [spec.value, spec.n] : [spec.value]);
      seriesNames = uniqueSorted(groups.map((g) => g.keys[1]));
      const cell = new Map(groups.map((g) => [JSON.stringify(g.keys), g.values[0]]));
      const cellN = new Map(groups.map((g) => [JSON.stringify(g.keys), g.values[1]]));
      xs = [...new Set(groups.map((g) => g.keys[0]))];
      valueAt = (x, j) => cell.get(JSON.stringify([x, seriesNames[j]])) ?? null;
      if (spec.n) nAt = (x, j) => cellN.get(JSON.stringify([x, seriesNames[j]])) ?? 0;
      for (const g of groups) totals.set(g.keys[0], (totals.get(g.keys[0]) || 0) + (g.values[0] || 0));
    } else {
      const groups = group(rows, ix, [spec.x], [spec.value]);
      const byKey = new Map(groups.map((g) => [g.keys[0], g.values[0]]));
      xs = groups.map((g) => g.keys[0]);
      valueAt = (x) => byKey.get(x) ?? null;
      for (const g of groups) totals.set(g.keys[0], g.values[0] || 0);
    }
    xs = xs.filter((x) => x !== null && seriesNames.some((_, j) => valueAt(x, j) !== null));
    if (!xs.length) return null;
    xs = limited(orderCategories(xs, totals, spec.sort || "x_asc"), spec.limit);

    const vf = valueFormat(spec);
    const title = valueTitle(spec);
    const fx = categoryFormatter(spec.x_format, xs);
    const sf = (s) => (s === null ? "(none)" : String(s));
    const all = [];
    for (const x of xs) seriesNames.forEach((_, j) => { const v = valueAt(x, j); if (v !== null) all.push(v); });
    const lo = Math.min(0, ...all);
    const hi = Math.max(0, ...all);
    const ticks = niceTicks(lo, hi, 5, wholeCounts(vf, all));
    const d0 = ticks[0];
    const d1 = ticks[ticks.length - 1];
    const tickLabels = ticks.map((t) => format(vf, t));
    const yTitle = spec.y_title || title;
    const x0 = 18 + maxWidth(tickLabels, TICK) + 6;
    const plotW = Math.max(40, W - x0 - 4);

    const svg = newSvg(`${spec.title || "column chart"}: ${title} per ${humanize(spec.x)}`);
    const g = el("g", {}, svg);
    let top = 6;
    const multi = seriesNames.length > 1 || seriesNames[0] !== null;
    if (multi) {
      top += legend(g, seriesNames.map((s, j) => ({ label: sf(s), color: PALETTE[j % PALETTE.length] })), x0, 2, plotW) + 4;
    }
    // Years, decades and bins in order sit on a continuous axis: a year (bin) without data is
    // a gap, and the labels fall on round values. Anything else is one slot per category.
    let axisXs = xs;
    let slotOf = (i) => i;
    const span = spec.x_format === "decade" ? decadeAxis(xs) : xs;
    const unit = axisUnit(spec, span.length >= 2 ? span : xs);
    if (unit) {
      const first = span[0];
      const count = Math.round((span[span.length - 1] - first) / unit) + 1;
      axisXs = [...Array(count).keys()].map((k) => clean(first + k * unit));
      slotOf = (i, x) => Math.round((x - first) / unit);
    }
    const slot = plotW / axisXs.length;
    const csv = { columns: [spec.x], rows: [] };
    if (multi && !spec.series_values) csv.columns.push(spec.series);
    if (spec.series_values) csv.columns.push(...spec.series_values.map((m) => measureName(m)));
    else csv.columns.push(measureName(spec.value));
    if (nAt) csv.columns.push(spec.n.field, "too_few_to_compare");
    for (const x of xs) {
      if (spec.series_values) csv.rows.push([x, ...seriesNames.map((_, j) => valueAt(x, j))]);
      else seriesNames.forEach((s, j) => {
        const v = valueAt(x, j);
        if (v === null) return;
        const row = multi ? [x, s, v] : [x, v];
        if (nAt) row.push(nAt(x, j), nAt(x, j) < MIN_GROUP);
        csv.rows.push(row);
      });
    }
    const names = xs.map(fx);
    const valueLabels = !multi ? xs.map((x) => format(vf, valueAt(x, 0))) : [];
    const showValues = !multi && maxWidth(valueLabels, TICK - 1) + 4 <= slot;
    if (showValues) top += 12;
    const inner = slot * (slot > 12 ? 0.8 : 0.9);
    const bw = inner / seriesNames.length;
    // the n of each bar written above it when every one fits; always in its tooltip
    const nLabels = nAt ? xs.flatMap((x) => seriesNames.map((_, j) => (valueAt(x, j) === null ? "" : format("count", nAt(x, j))))) : [];
    const showN = !!nAt && maxWidth(nLabels, TICK - 2) + 1 <= bw;
    if (showN) top += 11;
    const plotH = 180;
    const sy = (v) => top + plotH - ((v - d0) / (d1 - d0 || 1)) * plotH;

    ticks.forEach((t, i) => {
      el("line", { x1: x0, x2: x0 + plotW, y1: r1(sy(t)), y2: r1(sy(t)), class: t === 0 ? "axis-line" : "grid-line" }, g);
      text(g, x0 - 6, sy(t) + 4, tickLabels[i], { "text-anchor": "end", "font-size": TICK, class: "tick" });
    });
    const yt = text(g, 0, 0, yTitle, { "text-anchor": "middle", "font-size": TICK, class: "axis-title",
      transform: `translate(12 ${r1(top + plotH / 2)}) rotate(-90)` });
    yt.removeAttribute("x");
    yt.removeAttribute("y");

    const marks = [];
    let anyFew = false;
    xs.forEach((x, i) => {
      const left = x0 + slotOf(i, x) * slot + (slot - inner) / 2;
      seriesNames.forEach((s, j) => {
        const v = valueAt(x, j);
        if (v === null) return;
        const y1 = sy(Math.max(v, 0));
        const y2 = sy(Math.min(v, 0));
        const n = nAt ? nAt(x, j) : null;
        const few = n !== null && n < MIN_GROUP;
        anyFew = anyFew || few;
        const bar = el("rect", { x: r1(left + j * bw), y: r1(y1), width: r1(Math.max(bw - (seriesNames.length > 1 ? 1 : 0), 0.5)),
          height: r1(Math.max(y2 - y1, 0.5)), fill: PALETTE[j % PALETTE.length], class: few ? "mark few" : "mark",
          "fill-opacity": few ? 0.3 : null }, g);
        tip(bar, say(multi ? `${names[i]} \u00b7 ${sf(s)}` : names[i], spec.series_values ? "" : title, format(vf, v), vf) +
          (n !== null ? ` (n = ${nText(spec, n)}${few ? ": too few to compare" : ""})` : ""));
        marks.push(bar);
        if (showN) {
          text(g, left + j * bw + bw / 2, y1 - 3, format("count", n), { "text-anchor": "middle", "font-size": TICK - 2,
            class: "tick n" });
        }
        if (showValues) {
          text(g, left + inner / 2, y1 - 4, valueLabels[i], { "text-anchor": "middle", "font-size": TICK - 1, class: "tick" });
        }
      });
    });
    const labelY = top + plotH + 18;
    const extra = axisLabels(g, axisXs.map((_, i) => x0 + (i + 0.5) * slot), axisXs.map(fx), labelY, x0 - 4, W, axisXs,
      STEPS[spec.x_format], true);
    const xTitle = spec.x_title || humanize(spec.x);
    text(g, x0 + plotW / 2, labelY + extra + 17, xTitle, { "text-anchor": "middle", "font-size": TICK, class: "axis-title" });
    const notes = [];
    if (nAt) notes.push(showN ? `Numbers above the bars: ${(spec.n.noun || "title")}s (n).` : "n in each bar's tooltip.");
    if (anyFew) notes.push(`Pale bars: fewer than ${MIN_GROUP} ${(spec.n.noun || "title")}s, too few to compare.`);
    return { node: finish(svg, W, labelY + extra + 22), marks, csv, note: notes.join(" ") };
  }

  // One line per measure (spec.series_values) over a continuous year axis, through the years
  // that have data; a dot marks each of them and carries its tooltip, n included.
  function drawLines(spec, rows, ix, W) {
    const measures = spec.series_values.map((m) => Object.assign({ agg: "sum" }, m));
    const ni = spec.n ? measures.push(spec.n) - 1 : -1;
    const groups = group(rows, ix, [spec.x], measures).filter((g) => typeof g.keys[0] === "number");
    const names = spec.series_values.map((m) => m.label || humanize(m.field));
    const byX = new Map(groups.map((g) => [g.keys[0], g.values]));
    const xs = uniqueSorted(groups.map((g) => g.keys[0])).filter((x) => names.some((_, j) => byX.get(x)[j] !== null));
    if (!xs.length) return null;
    const vf = valueFormat(spec);
    const all = xs.flatMap((x) => names.map((_, j) => byX.get(x)[j]).filter((v) => v !== null));
    const ticks = niceTicks(Math.min(0, ...all), Math.max(0, ...all), 5, wholeCounts(vf, all));
    const d0 = ticks[0];
    const d1 = ticks[ticks.length - 1];
    const tickLabels = ticks.map((t) => format(vf, t));
    const x0 = 18 + maxWidth(tickLabels, TICK) + 6;
    const lo = xs[0] - 0.5;
    const hi = xs[xs.length - 1] + 0.5;
    const svg = newSvg(`${spec.title || "line chart"}: ${names.join(" and ")} per ${humanize(spec.x)}`);
    const g = el("g", {}, svg);
    const plotW = Math.max(40, W - x0 - 8);
    const top = 6 + legend(g, names.map((n, j) => ({ label: n, color: PALETTE[j % PALETTE.length] })), x0, 2, plotW) + 4;
    const plotH = 200;
    const px = (x) => x0 + ((x - lo) / (hi - lo)) * plotW;
    const py = (v) => top + plotH - ((v - d0) / (d1 - d0 || 1)) * plotH;
    ticks.forEach((t, i) => {
      el("line", { x1: x0, x2: x0 + plotW, y1: r1(py(t)), y2: r1(py(t)), class: t === 0 ? "axis-line" : "grid-line" }, g);
      text(g, x0 - 6, py(t) + 4, tickLabels[i], { "text-anchor": "end", "font-size": TICK, class: "tick" });
    });
    const yt = text(g, 0, 0, spec.y_title || "US dollars", { "text-anchor": "middle", "font-size": TICK,
      class: "axis-title", transform: `translate(12 ${r1(top + plotH / 2)}) rotate(-90)` });
    yt.removeAttribute("x");
    yt.removeAttribute("y");
    const marks = [];
    const fx = categoryFormatter(spec.x_format, xs);
    names.forEach((name, j) => {
      const color = PALETTE[j % PALETTE.length];
      let run = [];
      const flush = () => {
        if (run.length > 1) {
          el("polyline", { points: run.map(([x, v]) => `${r1(px(x))},${r1(py(v))}`).join(" "), fill: "none",
            stroke: color, "stroke-width": 2, "stroke-linejoin": "round", class: "line" }, g);
        }
        run = [];
      };
      for (const x of xs) {
        const v = byX.get(x)[j];
        if (v !== null) run.push([x, v]);
      }
      flush();
      for (const x of xs) {
        const v = byX.get(x)[j];
        if (v === null) continue;
        const n = ni >= 0 ? byX.get(x)[ni] : null;
        const dot = el("circle", { cx: r1(px(x)), cy: r1(py(v)), r: xs.length > 60 ? 2 : 3, fill: color, class: "mark" }, g);
        tip(dot, `${fx(x)}: ${name} ${format(vf, v)}` + (n !== null ? ` (${nText(spec, n)})` : ""));
        marks.push(dot);
      }
    });
    const axisXs = [];
    for (let x = xs[0]; x <= xs[xs.length - 1]; x++) axisXs.push(x);
    const labelY = top + plotH + 18;
    axisLabels(g, axisXs.map(px), axisXs.map(fx), labelY, x0 - 4, W, axisXs, null);
    text(g, x0 + plotW / 2, labelY + 17, spec.x_title || humanize(spec.x), { "text-anchor": "middle", "font-size": TICK, class: "axis-title" });
    const csv = { columns: [spec.x, ...spec.series_values.map((m) => measureName(m))], rows: [] };
    if (ni >= 0) csv.columns.push(spec.n.field);
    for (const x of xs) csv.rows.push([x, ...byX.get(x)]);
    return { node: finish(svg, W, labelY + 22), marks, csv, note: `Totals of the titles with both; n per year in the tooltips.` };
  }

  function drawStacked(spec, rows, ix, W) {
    const groups = group(rows, ix, [spec.x, spec.series], [spec.value]);
    const series = uniqueSorted(groups.map((g) => g.keys[1]));
    const cell = new Map(groups.map((g) => [JSON.stringify(g.keys), g.values[0] || 0]));
    const totals = new Map();
    for (const g of groups) totals.set(g.keys[0], (totals.get(g.keys[0]) || 0) + Math.max(g.values[0] || 0, 0));
    let xs = [...totals.keys()].filter((x) => totals.get(x) > 0);
    if (!xs.length) return null;
    // shares of too few credits are not facts: such rows are listed apart with their n
    const fxAll = categoryFormatter(spec.x_format, xs);
    const csv = { columns: [spec.x, spec.series, measureName(spec.value), "share", "total", "too_few_to_compare"], rows: [] };
    for (const x of orderCategories(xs, totals, spec.sort || "x_asc")) {
      for (const s of series) {
        const v = cell.get(JSON.stringify([x, s]));
        if (v !== undefined) csv.rows.push([x, s, v, v / totals.get(x), totals.get(x), totals.get(x) < MIN_GROUP]);
      }
    }
    const few = xs.filter((x) => totals.get(x) < MIN_GROUP).sort((a, b) => totals.get(b) - totals.get(a) ||
      compareKeys(a, b)).map((x) => [fxAll(x), totals.get(x)]);
    xs = xs.filter((x) => totals.get(x) >= MIN_GROUP);
    if (!xs.length) return { node: fewOnly(spec, few), marks: [], csv };
    xs = limited(orderCategories(xs, totals, spec.sort || "x_asc"), spec.limit);
    const fx = categoryFormatter(spec.x_format, xs);
    const vf = valueFormat(spec);
    const title = valueTitle(spec);
    const sf = (s) => (s === null ? "(none)" : String(s));
    const names = xs.map(fx);
    const labelW = Math.min(maxWidth(names), Math.floor(W * 0.4));
    const x0 = labelW + 8;
    const nLabels = xs.map((x) => format("count", totals.get(x)));
    const endW = maxWidth(nLabels, TICK - 1) + 8;
    const plotW = Math.max(40, W - x0 - endW - 4);
    const row = 22;

    const svg = newSvg(`${spec.title || "share chart"}: share of ${title} per ${humanize(spec.x)} by ${humanize(spec.series)}`);
    const g = el("g", {}, svg);
    const top = 4 + legend(g, series.map((s, j) => ({ label: sf(s), color: PALETTE[j % PALETTE.length] })), x0, 2, plotW) + 4;
    const plotH = xs.length * row;
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      el("line", { x1: r1(x0 + t * plotW), x2: r1(x0 + t * plotW), y1: top, y2: top + plotH, class: "grid-line" }, g);
    }
    const marks = [];
    xs.forEach((x, i) => {
      const y = top + i * row;
      const shown = fit(names[i], labelW);
      const label = text(g, x0 - 6, y + row / 2 + 4, shown, { "text-anchor": "end" });
      if (shown !== names[i]) tip(label, names[i]);
      const total = totals.get(x);
      text(g, x0 + plotW + 6, y + row / 2 + 4, nLabels[i], { "font-size": TICK - 1, class: "tick n" });
      let left = x0;
      series.forEach((s, j) => {
        const v = Math.max(cell.get(JSON.stringify([x, s])) || 0, 0);
        if (v <= 0) return;
        const w = (v / total) * plotW;
        const share = format("percent", v / total);
        const seg = el("rect", { x: r1(left), y: y + 3, width: r1(w), height: row - 6,
          fill: PALETTE[j % PALETTE.length], class: "mark" }, g);
        tip(seg, say(`${names[i]} \u00b7 ${sf(s)}`, title, format(vf, v), vf) + ` (${share} of ${nText(spec, total)})`);
        marks.push(seg);
        if (textWidth(share, TICK - 1) + 6 <= w) {
          text(g, left + w / 2, y + row / 2 + 4, share, { "text-anchor": "middle", "font-size": TICK - 1, class: "on-dark" });
        }
        left += w;
      });
    });
    const tickY = top + plotH + 14;
    const ticks = [0, 0.25, 0.5, 0.75, 1];
    axisLabels(g, ticks.map((t) => x0 + t * plotW), ticks.map((t) => format("percent", t)), tickY, 0, W);
    text(g, x0 + plotW / 2, tickY + 17, spec.value_title || `share of ${title}`,
      { "text-anchor": "middle", "font-size": TICK, class: "axis-title" });
    const note = [`Numbers at the right: ${(spec.n && spec.n.noun) || "title"}s in the row (n).`, fewNote(spec, few)];
    return { node: finish(svg, W, tickY + 22), marks, csv, note: note.filter(Boolean).join(" ") };
  }

  function drawHeatmap(spec, rows, ix, W, panelId) {
    const groups = group(rows, ix, [spec.x, spec.y], [spec.value]).filter((g) => g.keys[0] !== null && g.keys[1] !== null);
    if (!groups.length || !groups.some((g) => g.values[0] !== null)) return null;
    let xs = uniqueSorted(groups.map((g) => g.keys[0]));
    if (spec.x_format === "decade") xs = decadeAxis(xs); // every decade, empty ones too
    const totals = new Map();
    for (const g of groups) totals.set(g.keys[1], (totals.get(g.keys[1]) || 0) + (g.values[0] || 0));
    const ys = limited(orderCategories([...totals.keys()], totals, spec.y_sort || "value_desc"), spec.limit);
    const cell = new Map(groups.map((g) => [JSON.stringify(g.keys), g.values[0]]));
    const vf = valueFormat(spec);
    const title = valueTitle(spec);
    const fx = categoryFormatter(spec.x_format, xs);
    const fy = categoryFormatter(spec.y_format || "text", ys);
    const xNames = xs.map(fx);
    const yNames = ys.map(fy);
    const values = [];
    for (const y of ys) for (const x of xs) { const v = cell.get(JSON.stringify([x, y])); if (v !== null && v !== undefined) values.push(v); }
    const vmax = Math.max(...values);
    const vmin = Math.min(...values);
    const agg = (spec.value && spec.value.agg) || "sum";
    const c0 = (agg === "sum" || agg === "count" || agg === "max") && vmin >= 0 ? 0 : vmin;
    const c1 = vmax > c0 ? vmax : c0 + 1;

    const labelW = Math.min(maxWidth(yNames), Math.floor(W * 0.35));
    const x0 = labelW + 8;
    const plotW = Math.max(40, W - x0 - 2);
    const cw = plotW / xs.length;
    const ch = 22;
    const top = 2;
    const svg = newSvg(`${spec.title || "heatmap"}: ${title} per ${humanize(spec.y)} and ${humanize(spec.x)}`);
    const g = el("g", {}, svg);
    const marks = [];
    ys.forEach((y, i) => {
      const cy = top + i * ch;
      const shown = fit(yNames[i], labelW);
      const label = text(g, x0 - 6, cy + ch / 2 + 4, shown, { "text-anchor": "end" });
      if (shown !== yNames[i]) tip(label, yNames[i]);
      xs.forEach((x, j) => {
        const v = cell.get(JSON.stringify([x, y]));
        const has = v !== null && v !== undefined;
        const t = has ? (v - c0) / (c1 - c0) : 0;
        const rect = el("rect", { x: r1(x0 + j * cw), y: cy, width: r1(cw), height: ch,
          fill: has ? heatColor(t) : NO_DATA, stroke: "#fff", "stroke-width": 1, class: has ? "mark" : "empty-cell" }, g);
        tip(rect, has ? say(`${yNames[i]} \u00b7 ${xNames[j]}`, title, format(vf, v), vf) : `${yNames[i]} \u00b7 ${xNames[j]}: none`);
        if (has) {
          marks.push(rect);
          const s = format(vf, v);
          if (textWidth(s, TICK - 1) + 4 <= cw) {
            text(g, x0 + (j + 0.5) * cw, cy + ch / 2 + 4, s, { "text-anchor": "middle", "font-size": TICK - 1,
              class: t > 0.55 ? "on-dark" : "cell-value" });
          }
        }
      });
    });
    const plotH = ys.length * ch;
    const labelY = top + plotH + 15;
    const extra = axisLabels(g, xs.map((_, j) => x0 + (j + 0.5) * cw), xNames, labelY, x0 - 4, W, xs, STEPS[spec.x_format], true);
    text(g, x0 + plotW / 2, labelY + extra + 17, spec.x_title || humanize(spec.x), { "text-anchor": "middle", "font-size": TICK, class: "axis-title" });

    // colour scale legend: a gradient bar with the low, middle and high values
    const ly = labelY + extra + 30;
    const legendTitle = title + ":";
    const tw = textWidth(legendTitle, TICK);
    const gw = Math.max(60, Math.min(240, plotW - tw - 10));
    const gx = x0 + tw + 8;
    const gradId = `heat-${panelId}`;
    const defs = el("defs", {}, svg);
    const grad = el("linearGradient", { id: gradId, x1: 0, x2: 1, y1: 0, y2: 0 }, defs);
    HEAT.forEach((c, k) => el("stop", { offset: k / (HEAT.length - 1), "stop-color": `rgb(${c.join(",")})` }, grad));
    text(g, x0, ly + 9, legendTitle, { "font-size": TICK, class: "axis-title" });
    const scale = el("rect", { x: gx, y: ly, width: gw, height: 10, fill: `url(#${gradId})`, class: "scale" }, g);
    tip(scale, `${title}: ${format(vf, c0)} to ${format(vf, c1)}`);
    // counts of things get whole numbers on the legend (no "116.5 titles")
    const whole = wholeCounts(vf, values);
    const mid = whole ? Math.round((c0 + c1) / 2) : (c0 + c1) / 2;
    const legendTicks = [...new Set([c0, mid, c1])];
    axisLabels(g, legendTicks.map((v) => gx + ((v - c0) / (c1 - c0)) * gw), legendTicks.map((v) => format(vf, v)), ly + 24, gx - 20, W);
    const csv = { columns: [spec.y, spec.x, measureName(spec.value)], rows: [] };
    for (const y of ys) for (const x of xs) {
      const v = cell.get(JSON.stringify([x, y]));
      if (v !== null && v !== undefined) csv.rows.push([y, x, v]);
    }
    return { node: finish(svg, W, ly + 30), marks, csv };
  }

  function drawScatter(spec, rows, ix, W) {
    const p = spec.point || {};
    const xi = column(ix, p.x);
    const yi = column(ix, p.y);
    const li = p.label && p.label in ix ? ix[p.label] : -1;
    const si = spec.series && spec.series in ix ? ix[spec.series] : -1;
    const ok = (v, log) => typeof v === "number" && Number.isFinite(v) && (!log || v > 0);
    let points = rows.filter((r) => ok(r[xi], spec.log_x) && ok(r[yi], spec.log_y));
    if (!points.length) return null;
    if (Array.isArray(spec.order) && spec.order.length) points = sortRows(points, ix, spec.order);
    const cap = typeof spec.limit === "number" && spec.limit > 0 ? spec.limit : 3000;
    const shown = points.slice(0, cap);
    const xf = p.x_format || (spec.format && guessFormat(p.x) === "count" ? spec.format : guessFormat(p.x));
    const yf = p.y_format || (spec.format && guessFormat(p.y) === "count" ? spec.format : guessFormat(p.y));
    const xTitle = spec.x_title || humanize(p.x);
    const yTitle = spec.y_title || humanize(p.y);
    const xsAll = shown.map((r) => r[xi]);
    const ysAll = shown.map((r) => r[yi]);
    const extent = (vals, log) => {
      const lo = Math.min(...vals);
      const hi = Math.max(...vals);
      if (log) { const d = logDomain(lo, hi); return { d, ticks: logTicks(d[0], d[1]) }; }
      const ticks = niceTicks(lo === hi ? lo - 1 : lo, lo === hi ? hi + 1 : hi, 5);
      return { d: [ticks[0], ticks[ticks.length - 1]], ticks };
    };
    const ex = extent(xsAll, spec.log_x);
    const ey = extent(ysAll, spec.log_y);
    if (spec.diagonal && spec.log_x && spec.log_y) {
      const d = [Math.min(ex.d[0], ey.d[0]), Math.max(ex.d[1], ey.d[1])];
      ex.d = d; ey.d = d.slice();
      ex.ticks = logTicks(d[0], d[1]); ey.ticks = ex.ticks.slice();
    }
    const yLabels = ey.ticks.map((t) => format(yf, t));
    const xLabels = ex.ticks.map((t) => format(xf, t));
    const x0 = 18 + maxWidth(yLabels, TICK) + 6;
    const right = Math.ceil(textWidth(xLabels[xLabels.length - 1], TICK) / 2) + 2;
    const plotW = Math.max(40, W - x0 - right);
    const top = 8;
    const plotH = 240;
    const scale = (log, d, v) => (log ? (Math.log10(v) - Math.log10(d[0])) / (Math.log10(d[1]) - Math.log10(d[0]))
      : (v - d[0]) / (d[1] - d[0] || 1));
    const px = (v) => x0 + scale(spec.log_x, ex.d, v) * plotW;
    const py = (v) => top + plotH - scale(spec.log_y, ey.d, v) * plotH;

    const svg = newSvg(`${spec.title || "scatter plot"}: ${yTitle} against ${xTitle}, one point per title`);
    const g = el("g", {}, svg);
    ey.ticks.forEach((t, i) => {
      el("line", { x1: x0, x2: x0 + plotW, y1: r1(py(t)), y2: r1(py(t)), class: "grid-line" }, g);
      text(g, x0 - 6, py(t) + 4, yLabels[i], { "text-anchor": "end", "font-size": TICK, class: "tick" });
    });
    for (const t of ex.ticks) el("line", { x1: r1(px(t)), x2: r1(px(t)), y1: top, y2: top + plotH, class: "grid-line" }, g);
    el("rect", { x: x0, y: top, width: r1(plotW), height: plotH, fill: "none", class: "axis-line" }, g);
    const yt = text(g, 0, 0, yTitle + (spec.log_y ? " (log)" : ""), { "text-anchor": "middle", "font-size": TICK,
      class: "axis-title", transform: `translate(12 ${r1(top + plotH / 2)}) rotate(-90)` });
    yt.removeAttribute("x");
    yt.removeAttribute("y");
    if (spec.diagonal && spec.log_x && spec.log_y) {
      tip(el("line", { x1: r1(px(ex.d[0])), y1: r1(py(ey.d[0])), x2: r1(px(ex.d[1])), y2: r1(py(ey.d[1])),
        stroke: "#9aa3ad", "stroke-dasharray": "4 3" }, g), `${yTitle} = ${xTitle}`);
    }
    const seriesValues = si >= 0 ? uniqueSorted(shown.map((r) => r[si])) : [];
    const marks = [];
    for (const r of shown) {
      const color = si >= 0 ? PALETTE[seriesValues.indexOf(r[si]) % PALETTE.length] : PALETTE[0];
      const dot = el("circle", { cx: r1(px(r[xi])), cy: r1(py(r[yi])), r: 3.5, fill: color, "fill-opacity": 0.55, class: "mark" }, g);
      const name = li >= 0 && r[li] !== null ? String(r[li]) : "";
      tip(dot, `${name ? name + ": " : ""}${xTitle} ${format(xf, r[xi])}, ${yTitle} ${format(yf, r[yi])}`);
      marks.push(dot);
    }
    const labelY = top + plotH + 18;
    axisLabels(g, ex.ticks.map(px), xLabels, labelY, 0, W);
    text(g, x0 + plotW / 2, labelY + 17, xTitle + (spec.log_x ? " (log)" : ""), { "text-anchor": "middle", "font-size": TICK, class: "axis-title" });
    let height = labelY + 22;
    if (si >= 0) height += legend(g, seriesValues.map((s, j) => ({ label: s === null ? "(none)" : String(s), color: PALETTE[j % PALETTE.length] })), x0, height, plotW);
    let note = "";
    if (shown.length < rows.length) {
      note = `${format("count", shown.length)} of ${format("count", rows.length)} titles shown`;
      const missing = rows.length - points.length;
      const reasons = [];
      if (missing) {
        reasons.push(`${format("count", missing)} without both ${humanize(p.x)} and ${humanize(p.y)}` +
          (spec.log_x || spec.log_y ? " above 0 (log scale)" : ""));
      }
      if (points.length > shown.length) reasons.push(`capped at ${format("count", cap)}`);
      note += " (" + reasons.join("; ") + ")";
    }
    const fields = [p.label, spec.series, p.x, p.y].filter((f, k, a) => f && f in ix && a.indexOf(f) === k);
    const csv = { columns: fields, rows: shown.map((r) => fields.map((f) => r[ix[f]])) };
    return { node: finish(svg, W, height), marks, note, csv };
  }

  // ---------------------------------------------------------------------------------------
  // Tables.

  function sortRows(rows, ix, order) {
    const keys = order.filter((o) => o && o.field in ix).map((o) => ({ i: ix[o.field], desc: !!o.desc }));
    return rows.slice().sort((a, b) => {
      for (const k of keys) {
        const va = a[k.i];
        const vb = b[k.i];
        const na = va === null || va === undefined;
        const nb = vb === null || vb === undefined;
        if (na || nb) { if (na !== nb) return na ? 1 : -1; continue; }
        const c = typeof va === "number" && typeof vb === "number" ? va - vb
          : String(va).localeCompare(String(vb), undefined, { sensitivity: "base", numeric: true });
        if (c) return k.desc ? -c : c;
      }
      return 0;
    });
  }

  const tableSort = new Map(); // panel id -> {field, desc} chosen by a header click

  // Rows summed per spec.group.by (e.g. an artist's rows of v_artist_summary under the filters):
  // the kept fields as they are, each measure aggregated; then spec.having's minimum applies.
  function groupTable(spec, rows, ix) {
    const grp = spec.group;
    const keys = grp.by.concat(grp.keep || []);
    const measures = grp.measures || [];
    const out = group(rows, ix, keys, measures).map((g) => g.keys.concat(g.values));
    const cix = indexOf(keys.concat(measures.map((m) => m.field)));
    const h = spec.having;
    const kept = h && h.field in cix ? out.filter((r) => typeof r[cix[h.field]] === "number" && r[cix[h.field]] >= h.min) : out;
    return { rows: kept, ix: cix };
  }

  function drawTable(spec, rows, ix, W, panelId, redraw) {
    if (spec.group) ({ rows, ix } = groupTable(spec, rows, ix));
    if (!rows.length) return null;
    const cols = (spec.columns || []).filter((c) => c.field in ix);
    if (!cols.length) throw new Error("the table has no column in its source");
    const top = limited(Array.isArray(spec.order) ? sortRows(rows, ix, spec.order) : rows, spec.limit);
    const chosen = tableSort.get(panelId);
    const shown = chosen ? sortRows(top, ix, [chosen]) : top;
    const sortedField = chosen ? chosen.field : spec.order && spec.order[0] ? spec.order[0].field : null;
    const sortedDesc = chosen ? chosen.desc : spec.order && spec.order[0] ? !!spec.order[0].desc : false;

    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    const table = document.createElement("table");
    table.className = "data";
    const thead = table.createTHead();
    const hr = thead.insertRow();
    for (const c of cols) {
      const th = document.createElement("th");
      th.scope = "col";
      th.dataset.field = c.field;
      const numeric = (c.format || "text") !== "text";
      if (numeric) th.className = "num";
      const button = document.createElement("button");
      button.type = "button";
      button.title = `sort by ${c.label || c.field}`;
      button.appendChild(document.createTextNode(c.label || humanize(c.field)));
      const arrow = document.createElement("span");
      arrow.className = "arrow";
      arrow.setAttribute("aria-hidden", "true");
      if (c.field === sortedField) {
        th.classList.add("sorted");
        th.setAttribute("aria-sort", sortedDesc ? "descending" : "ascending");
        arrow.textContent = sortedDesc ? "\u25bc" : "\u25b2";
      }
      button.appendChild(arrow);
      th.appendChild(button);
      th.addEventListener("click", () => {
        const desc = c.field === sortedField ? !sortedDesc : numeric;
        tableSort.set(panelId, { field: c.field, desc });
        redraw();
      });
      hr.appendChild(th);
    }
    const tbody = table.createTBody();
    for (const r of shown) {
      const tr = tbody.insertRow();
      for (const c of cols) {
        const td = tr.insertCell();
        const kind = c.format || "text";
        td.textContent = format(kind, r[ix[c.field]]);
        td.dataset.field = c.field;
        if (kind !== "text") td.className = "num";
      }
    }
    wrap.appendChild(table);
    const what = spec.group ? "artists" : "rows";
    const note = top.length < rows.length ? `top ${format("count", top.length)} of ${format("count", rows.length)} ${what}` : "";
    const csv = { columns: cols.map((c) => c.field), rows: shown.map((r) => cols.map((c) => r[ix[c.field]])) };
    return { node: wrap, marks: [...tbody.rows], note, csv };
  }

  // ---------------------------------------------------------------------------------------
  // Panels.

  const DRAW = {
    hbar: drawHbar,
    columns: (s, r, i, w) => drawColumns(s, r, i, w, false),
    grouped: (s, r, i, w) => drawColumns(s, r, i, w, true),
    lines: drawLines,
    stacked_share: drawStacked,
    heatmap: drawHeatmap,
    scatter: drawScatter,
    table: drawTable,
  };

  const lastWidth = new Map();

  function note(body, str) {
    const p = document.createElement("p");
    p.className = "note empty";
    p.textContent = str;
    body.replaceChildren(p);
  }

  function drawPanel(spec) {
    if (spec.chart === "quality") return;
    const section = document.getElementById("panel-" + spec.id);
    if (!section) return;
    const body = section.querySelector(".body");
    const badges = section.querySelector(".badges");
    const foot = section.querySelector(".foot");
    badges.replaceChildren();
    foot.textContent = "";
    const src = sources[spec.source];
    if (!src) {
      section.dataset.rows = "0";
      note(body, `No data source "${spec.source}" in this report.`);
      return;
    }
    const { rows, ix, notFiltered } = selectRows(spec, src);
    section.dataset.rows = String(rows.length);
    lastCsv.delete(spec.id);
    const button = section.querySelector("button.csv");
    if (button) button.hidden = true;
    for (const name of notFiltered) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "not filtered by " + name;
      badge.title = `this panel's data has no ${name}: it shows every ${name}`;
      badges.appendChild(badge);
    }
    const draw = DRAW[spec.chart];
    if (!draw) {
      note(body, `Unknown chart type "${spec.chart}".`);
      return;
    }
    // Empty: the report lacks the data (the panel's own note, e.g. "run moviedl ingest-tmdb"),
    // or the filters left nothing (say so, and which filters).
    const whole = selectRows(spec, src, true).rows;
    const zero = spec.empty_if_zero && spec.empty_if_zero in ix &&
      !whole.some((r) => typeof r[ix[spec.empty_if_zero]] === "number" && r[ix[spec.empty_if_zero]] !== 0);
    if (!whole.length || zero) {
      note(body, spec.empty || "No title matches the filters.");
      return;
    }
    if (!rows.length) {
      note(body, filteredOut());
      return;
    }
    let width = Math.max(body.clientWidth || 0, 240);
    if (printing) width = Math.min(width, PRINT_WIDTH);
    lastWidth.set(spec.id, body.clientWidth);
    let out;
    try {
      out = draw(spec, rows, ix, width, spec.id, () => drawPanel(spec));
      if (!out && draw(spec, whole, ix, width, spec.id, () => {})) {
        note(body, filteredOut());
        return;
      }
    } catch (err) {
      console.error(`moviedl report: panel ${spec.id}:`, err);
      note(body, `This chart could not be drawn: ${err.message}`);
      return;
    }
    if (!out) {
      note(body, spec.empty || "No title matches the filters.");
      return;
    }
    body.replaceChildren(out.node);
    foot.textContent = out.note || "";
    if (out.csv) {
      lastCsv.set(spec.id, out.csv);
      csvButton(section, spec);
    }
  }

  function activeFilters() {
    const active = [];
    if (state.genre) active.push(state.genre);
    if (state.decade !== null) active.push(format("decade", state.decade));
    if (state.kind) active.push(state.kind);
    if (state.votes > 0) active.push("\u2265 " + format("count", state.votes) + " votes");
    return active;
  }

  function filteredOut() {
    return `Nothing here under the filters (${activeFilters().join(" \u00b7 ")}): the report has data for this ` +
      "panel, but none that passes them. Widen or reset the filters.";
  }

  // ---------------------------------------------------------------------------------------
  // CSV: each chart and table offers exactly what it draws (the aggregated rows, n included),
  // made in the page (a Blob), so it works offline and under the Content-Security-Policy.

  const lastCsv = new Map(); // panel id -> {columns, rows} of the current drawing

  function csvCell(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
    let t = String(v);
    if (/^[=+\-@\t\r]/.test(t)) t = "'" + t; // a spreadsheet would run it as a formula
    return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  }

  function toCsv(table) {
    return [table.columns, ...table.rows].map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  function csvName(spec) {
    const parts = [spec.id];
    if (state.genre) parts.push(state.genre);
    if (state.decade !== null) parts.push(String(state.decade) + "s");
    if (state.kind) parts.push(state.kind);
    if (state.votes > 0) parts.push(state.votes + "-votes");
    return parts.join("_").replace(/[^A-Za-z0-9_.-]+/g, "-") + ".csv";
  }

  function csvButton(section, spec) {
    const header = section.querySelector("header");
    const shown = header && header.querySelector("button.csv");
    if (shown) shown.hidden = false;
    if (!header || shown) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "csv";
    button.textContent = "CSV";
    button.title = "download the numbers this panel shows, as CSV";
    button.addEventListener("click", () => {
      const table = lastCsv.get(spec.id);
      if (!table) return;
      const url = URL.createObjectURL(new Blob([toCsv(table)], { type: "text/csv;charset=utf-8" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = csvName(spec);
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
    header.appendChild(button);
  }

  let draws = 0;
  function drawAll() {
    for (const spec of panels) drawPanel(spec);
    draws += 1;
    document.body.dataset.draws = String(draws);
    document.body.dataset.ready = "1";
  }

  function update() {
    syncControls();
    drawAll();
  }

  function onHash() {
    if (location.hash === stateHash()) return;
    readHash();
    update();
  }

  let pending = false;
  function onResize() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const changed = panels.some((p) => {
        const s = document.getElementById("panel-" + p.id);
        const b = s && s.querySelector(".body");
        return b && lastWidth.has(p.id) && Math.abs(b.clientWidth - lastWidth.get(p.id)) > 1;
      });
      if (changed) drawAll();
    });
  }

  // Printing: one column on A4 (report.css), the charts redrawn at the printed width so their
  // text keeps its size; back to the window's width afterwards.
  const PRINT_WIDTH = 680;
  let printing = false;
  function setPrinting(on) {
    if (printing === on) return;
    printing = on;
    drawAll();
  }
  window.addEventListener("beforeprint", () => setPrinting(true));
  window.addEventListener("afterprint", () => setPrinting(false));
  const printQuery = window.matchMedia("print");
  printQuery.addEventListener("change", (e) => setPrinting(e.matches));

  window.moviedlReport = { format, state, redraw: drawAll, csv: (id) => (lastCsv.has(id) ? toCsv(lastCsv.get(id)) : null) };
  for (const n of document.querySelectorAll(".nojs")) n.remove();
  buildFilters();
  readHash();
  update();
  window.addEventListener("hashchange", onHash);
  window.addEventListener("popstate", onHash);
  window.addEventListener("resize", onResize);
})();
