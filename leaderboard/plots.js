// The plots tab, drawn from leaderboard.json in the page (never stale pictures): model size vs
// Macro, Macro rank intervals and a category heatmap, for the rows and regime shown. Every mark
// carries data-mark, data-model and its value(s), so a test can check each against the JSON.
"use strict";
(function () {
  const G = window.GENEB;
  const { el, svg } = G;
  const LABEL_WIDTH = 210;

  function ticks(lo, hi, count) {
    const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count || 1)));
    const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= count) || step * 10;
    const out = [];
    for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-12; v += nice) out.push(Number(v.toFixed(10)));
    return out;
  }

  function figure(id, caption, chart, note) {
    return el("figure", { id: id, className: "plot" },
      [el("figcaption", { text: caption }), chart].concat(note ? [el("p", { className: "plot-note", text: note })] : []));
  }

  function sizeVsMacro(rows, ctx) {
    const width = 760, height = 420, left = 60, right = 20, top = 14, bottom = 46;
    const key = "macro_" + ctx.metric;
    const drawn = rows.filter((r) => r.params > 0 && typeof r[key] === "number");
    const chart = svg("svg", { id: "plot-size", width: width, height: height, viewBox: "0 0 " + width + " " + height,
                               role: "img", "aria-label": "Parameter count against Macro " + ctx.metric });
    if (!drawn.length) return figure("fig-size", "Model size vs Macro", chart, "No model with a parameter count and a Macro score.");
    const logs = drawn.map((r) => Math.log10(r.params));
    const xLo = Math.floor(Math.min(...logs)), xHi = Math.max(Math.ceil(Math.max(...logs)), xLo + 1);
    const values = drawn.map((r) => r[key]);
    const pad = (Math.max(...values) - Math.min(...values)) * 0.06 || 0.05;
    const yLo = Math.min(...values) - pad, yHi = Math.max(...values) + pad;
    const x = (p) => left + ((Math.log10(p) - xLo) / (xHi - xLo)) * (width - left - right);
    const y = (v) => top + ((yHi - v) / (yHi - yLo)) * (height - top - bottom);
    for (let e = xLo; e <= xHi; e++) {
      const p = Math.pow(10, e);
      chart.append(svg("line", { x1: x(p), x2: x(p), y1: top, y2: height - bottom, class: "grid" }),
                   svg("text", { x: x(p), y: height - bottom + 16, "text-anchor": "middle", class: "tick",
                                 text: G.formatParams(p) }));
    }
    ticks(yLo, yHi, 6).forEach((v) => chart.append(
      svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick", text: v.toFixed(2) })));
    chart.append(svg("text", { x: (left + width - right) / 2, y: height - 8, "text-anchor": "middle", class: "axis",
                               text: "parameters (log scale)" }),
                 svg("text", { x: 14, y: (top + height - bottom) / 2, "text-anchor": "middle", class: "axis",
                               transform: "rotate(-90 14 " + (top + height - bottom) / 2 + ")", text: "Macro " + ctx.metric }));
    drawn.forEach((r) => chart.append(svg("circle", {
      cx: x(r.params), cy: y(r[key]), r: 4.5, class: "dot dot-" + r.extraction,
      "data-mark": "size", "data-model": r.model, "data-params": r.params, "data-value": r[key],
    }, [svg("title", { text: r.disp + ": " + G.formatParams(r.params) + " parameters, Macro " + r[key].toFixed(3) })])));
    const missing = rows.filter((r) => !(r.params > 0)).map((r) => r.disp);
    return figure("fig-size", "Model size vs Macro " + ctx.metric + " (" + G.REGIMES[ctx.regime] + "; " +
      "filled: reference extraction, open: GENEB)", chart,
      missing.length ? "Not drawn (parameter count unknown): " + missing.join(", ") : "");
  }

  function rankIntervals(rows, ctx) {
    const ci = "rank_ci_" + ctx.metric, rank = "rank_" + ctx.metric;
    const drawn = rows.filter((r) => Array.isArray(r[ci]))
      .sort((a, b) => a[rank] - b[rank] || String(a.model).localeCompare(String(b.model)));
    const total = ctx.board.data[ctx.regime].length;
    const rowHeight = 15, top = 26, width = 760, right = 20;
    const height = top + drawn.length * rowHeight + 8;
    const x = (r) => LABEL_WIDTH + ((r - 1) / Math.max(total - 1, 1)) * (width - LABEL_WIDTH - right);
    const chart = svg("svg", { id: "plot-ranks", width: width, height: height, viewBox: "0 0 " + width + " " + height,
                               role: "img", "aria-label": "Macro rank intervals, " + ctx.metric });
    [1].concat(ticks(1, total, 8).filter((t) => t > 1)).forEach((t) => chart.append(
      svg("line", { x1: x(t), x2: x(t), y1: top - 4, y2: height - 6, class: "grid" }),
      svg("text", { x: x(t), y: top - 10, "text-anchor": "middle", class: "tick", text: t })));
    drawn.forEach((r, i) => {
      const y = top + i * rowHeight + rowHeight / 2;
      const [lo, hi] = r[ci];
      chart.append(
        svg("text", { x: LABEL_WIDTH - 8, y: y + 4, "text-anchor": "end", class: "bar-label", text: r.disp }),
        svg("g", { "data-mark": "rank", "data-model": r.model, "data-rank": r[rank], "data-lo": lo, "data-hi": hi }, [
          svg("title", { text: r.disp + ": rank " + r[rank] + ", 95% interval " + lo + "-" + hi }),
          svg("line", { x1: x(lo), x2: x(hi), y1: y, y2: y, class: "interval" }),
          svg("circle", { cx: x(r[rank]), cy: y, r: 3.5, class: "dot dot-" + r.extraction }),
        ]));
    });
    return figure("fig-ranks", "Macro " + ctx.metric + " rank with its 95% bootstrap interval (" +
      G.REGIMES[ctx.regime] + ", rank among all " + total + " models)", chart,
      drawn.length < rows.length ? (rows.length - drawn.length) + " model(s) without a rank interval not drawn" : "");
  }

  function heatmap(rows, ctx) {
    const cats = ctx.board.categories.map((c) => c.name);
    const key = "cat_" + ctx.metric, macro = "macro_" + ctx.metric;
    const ordered = rows.slice().sort((a, b) => {
      const x = a[macro], y = b[macro];
      if (typeof x !== "number" || typeof y !== "number") return (typeof x !== "number") - (typeof y !== "number");
      return y - x || String(a.model).localeCompare(String(b.model));
    });
    const cell = 46, rowHeight = 15, top = 92;
    const width = LABEL_WIDTH + cats.length * cell + 70;  // room for the last slanted label
    const height = top + ordered.length * rowHeight + 6;
    const chart = svg("svg", { id: "plot-heatmap", width: width, height: height, viewBox: "0 0 " + width + " " + height,
                               role: "img", "aria-label": "Category scores, " + ctx.metric });
    const ranges = {};
    cats.forEach((c, j) => {
      ranges[c] = G.range(ordered.map((r) => (r[key] || {})[c]));
      const cx = LABEL_WIDTH + j * cell + cell / 2;
      chart.append(svg("text", { x: cx, y: top - 6, class: "tick", transform: "rotate(-45 " + cx + " " + (top - 6) + ")",
                                 text: c }));
    });
    ordered.forEach((r, i) => {
      const y = top + i * rowHeight;
      chart.append(svg("text", { x: LABEL_WIDTH - 8, y: y + 11, "text-anchor": "end", class: "bar-label", text: r.disp }));
      cats.forEach((c, j) => {
        const value = (r[key] || {})[c];
        const attrs = { x: LABEL_WIDTH + j * cell, y: y, width: cell - 1, height: rowHeight - 1 };
        if (typeof value !== "number") {
          chart.append(svg("rect", Object.assign(attrs, { class: "heat-missing" })));
          return;
        }
        chart.append(svg("rect", Object.assign(attrs, {
          fill: G.shade(value, ranges[c]), "data-mark": "heat", "data-model": r.model, "data-category": c,
          "data-value": value,
        }), [svg("title", { text: r.disp + " · " + c + ": " + value.toFixed(3) })]));
      });
    });
    return figure("fig-heatmap", "Category means, " + ctx.metric + " (" + G.REGIMES[ctx.regime] +
      "; rows by Macro, colour per column from lowest to highest shown)", chart, "");
  }

  function render(container, rows, ctx) {
    container.replaceChildren(sizeVsMacro(rows, ctx), rankIntervals(rows, ctx), heatmap(rows, ctx));
  }

  G.plots = { render };
})();
