// Stacked horizontal bars (one per group, A..D stacked) drawn as SVG: no library needed.
"use strict";
const GRADE_COLORS = { A: "#1a7f37", B: "#3d6fb6", C: "#d69e2e", D: "#c53030" };
const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function drawGradeChart(container, counts, labelOf) {
  const groups = new Map();
  for (const c of counts) {
    if (!groups.has(c.group)) groups.set(c.group, { A: 0, B: 0, C: 0, D: 0 });
    groups.get(c.group)[c.grade] = (groups.get(c.group)[c.grade] || 0) + Number(c.count);
  }
  const rows = [...groups.entries()].map(([g, v]) => ({ group: g, v, total: v.A + v.B + v.C + v.D }))
    .sort((a, b) => b.total - a.total).slice(0, 40);
  const max = Math.max(1, ...rows.map((r) => r.total));
  const barH = 16, gap = 4, left = 150, width = 720, right = 60;
  const svg = svgEl("svg", { width: left + width + right, height: rows.length * (barH + gap) + 10,
                             role: "img", class: "grade-chart" });
  rows.forEach((r, i) => {
    const y = i * (barH + gap) + 5;
    svg.appendChild(svgEl("text", { x: left - 6, y: y + barH - 4, "text-anchor": "end",
                                    class: "label" }, labelOf(r.group)));
    let x = left;
    for (const grade of ["A", "B", "C", "D"]) {
      const w = (r.v[grade] / max) * width;
      if (w <= 0) continue;
      const rect = svgEl("rect", { x, y, width: w, height: barH, fill: GRADE_COLORS[grade],
                                   class: "bar", "data-group": r.group, "data-grade": grade,
                                   "data-count": r.v[grade] });
      rect.appendChild(svgEl("title", {}, `${labelOf(r.group)} ${grade}: ${r.v[grade]}`));
      svg.appendChild(rect);
      x += w;
    }
    svg.appendChild(svgEl("text", { x: x + 4, y: y + barH - 4 }, String(r.total)));
  });
  container.replaceChildren(svg);
}
