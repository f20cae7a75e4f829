// Small inline-SVG charts for the dashboard: a line/point chart and a bar chart. No library.
(() => {
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function fmtTick(v) {
  if (!Number.isFinite(v)) return "";
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 10000)) return v.toExponential(1);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function frame(width, height, cls) {
  const svg = svgEl("svg", {class: `chart ${cls || ""}`, width, height, viewBox: `0 0 ${width} ${height}`,
                            role: "img"});
  return svg;
}

function emptyChart(width, height, cls, message) {
  const svg = frame(width, height, cls);
  svg.appendChild(svgEl("text", {x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty"}, message));
  svg.dataset.n = "0";
  return svg;
}

// points: [[x, y], ...] (numbers). opts: width, height, cls, yDomain [min, max], xFormat(x), yLabel,
// dots (draw a circle per point), line (default true), title.
function lineChart(points, opts) {
  const o = Object.assign({width: 360, height: 150, line: true, dots: false, xFormat: fmtTick}, opts);
  const pts = points.filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (pts.length === 0) return emptyChart(o.width, o.height, o.cls, o.empty || "no data yet");
  const m = {l: 42, r: 10, t: 10, b: 22};
  const w = o.width - m.l - m.r, h = o.height - m.t - m.b;
  const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = o.yDomain || [Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
  if (!o.yDomain) { const pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad; }
  const sx = x => m.l + (x - x0) / (x1 - x0) * w;
  const sy = y => m.t + h - (y - y0) / (y1 - y0) * h;
  const svg = frame(o.width, o.height, o.cls);
  if (o.title) svg.appendChild(svgEl("title", {}, o.title));
  svg.appendChild(svgEl("line", {class: "axis", x1: m.l, y1: m.t, x2: m.l, y2: m.t + h}));
  svg.appendChild(svgEl("line", {class: "axis", x1: m.l, y1: m.t + h, x2: m.l + w, y2: m.t + h}));
  for (const y of [y0, (y0 + y1) / 2, y1]) {
    svg.appendChild(svgEl("text", {x: m.l - 4, y: sy(y) + 3, "text-anchor": "end"}, fmtTick(y)));
    svg.appendChild(svgEl("line", {class: "axis", x1: m.l - 2, y1: sy(y), x2: m.l, y2: sy(y)}));
  }
  svg.appendChild(svgEl("text", {x: m.l, y: o.height - 6, "text-anchor": "start"}, o.xFormat(x0)));
  svg.appendChild(svgEl("text", {x: m.l + w, y: o.height - 6, "text-anchor": "end"}, o.xFormat(x1)));
  if (o.yLabel) svg.appendChild(svgEl("text", {x: m.l + 4, y: m.t + 8}, o.yLabel));
  const coords = pts.map(p => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`);
  if (o.line) svg.appendChild(svgEl("polyline", {points: coords.join(" "), "data-n": pts.length}));
  if (o.dots || pts.length === 1) {
    for (const p of pts) {
      const c = svgEl("circle", {cx: sx(p[0]).toFixed(1), cy: sy(p[1]).toFixed(1), r: 2.5});
      c.appendChild(svgEl("title", {}, `${o.xFormat(p[0])}: ${fmtTick(p[1])}`));
      svg.appendChild(c);
    }
  }
  svg.dataset.n = String(pts.length);
  return svg;
}

// bars: [{label, value (0..yMax), text}], opts: width, height, cls, yMax
function barChart(bars, opts) {
  const o = Object.assign({width: 360, height: 150, yMax: 1}, opts);
  if (bars.length === 0) return emptyChart(o.width, o.height, o.cls, o.empty || "no data yet");
  const m = {l: 34, r: 8, t: 14, b: 22};
  const w = o.width - m.l - m.r, h = o.height - m.t - m.b;
  const svg = frame(o.width, o.height, o.cls);
  svg.appendChild(svgEl("line", {class: "axis", x1: m.l, y1: m.t + h, x2: m.l + w, y2: m.t + h}));
  for (const y of [0, o.yMax / 2, o.yMax]) {
    const yy = m.t + h - y / o.yMax * h;
    svg.appendChild(svgEl("text", {x: m.l - 4, y: yy + 3, "text-anchor": "end"}, o.yFormat ? o.yFormat(y) : fmtTick(y)));
  }
  const slot = w / bars.length, bw = Math.max(4, Math.min(40, slot * 0.7));
  bars.forEach((b, i) => {
    const v = Math.max(0, Math.min(o.yMax, b.value));
    const x = m.l + i * slot + (slot - bw) / 2, bh = v / o.yMax * h;
    const rect = svgEl("rect", {class: "bar", x: x.toFixed(1), y: (m.t + h - bh).toFixed(1), width: bw.toFixed(1),
                                height: bh.toFixed(1)});
    rect.appendChild(svgEl("title", {}, `${b.label}: ${b.text}`));
    svg.appendChild(rect);
    svg.appendChild(svgEl("text", {x: x + bw / 2, y: m.t + h - bh - 3, "text-anchor": "middle"}, b.text));
    svg.appendChild(svgEl("text", {x: x + bw / 2, y: o.height - 6, "text-anchor": "middle"}, b.label));
  });
  svg.dataset.n = String(bars.length);
  return svg;
}

window.BatosCharts = {lineChart, barChart, fmtTick};
})();
