// The model detail view (a dialog, address #model=<id>): what the model is, how its row was
// made, per-category and per-task bars, its run settings and its noise floor. The card facts
// come from leaderboard.json; per-task scores and run settings from leaderboard_tasks.json,
// fetched the first time a detail view or the task tab needs them.
"use strict";
(function () {
  const G = window.GENEB;
  const { el, svg } = G;
  const closeHandlers = [];
  let openId = null;

  const dialog = () => document.getElementById("model-dialog");
  const body = () => document.getElementById("detail-body");

  function fact(term, value, node) {
    const dd = el("dd");
    if (node) dd.append(node);
    else if (value === null || value === undefined || value === "") {
      dd.append(el("span", { className: "undocumented", text: G.NOT_DOCUMENTED }));
    } else dd.textContent = String(value);
    return [el("dt", { text: term }), dd];
  }

  // Horizontal bars, one per item ({key, label, value, noise}) or a heading ({heading}). The scale
  // runs from 0 (or the lowest value, if negative) to 1, the same for every model.
  function bars(items, kind, ctx) {
    const width = 660, labelWidth = 215, valueWidth = 92, rowHeight = 17;
    const area = width - labelWidth - valueWidth;
    const values = items.map((i) => i.value).filter((v) => typeof v === "number");
    const lo = Math.min(0, ...values);
    const hi = 1;
    const x = (v) => labelWidth + ((v - lo) / (hi - lo)) * area;
    const chart = svg("svg", { class: "bars", width: width, height: items.length * rowHeight + 6,
                               viewBox: "0 0 " + width + " " + (items.length * rowHeight + 6),
                               role: "img", "aria-label": kind + " scores, " + ctx.metric });
    chart.append(svg("line", { x1: x(0), x2: x(0), y1: 0, y2: items.length * rowHeight + 6, class: "zero" }));
    items.forEach((item, i) => {
      const y = i * rowHeight + 3;
      if (item.heading) {
        chart.append(svg("text", { x: 4, y: y + 12, class: "bar-heading", text: item.heading }));
        return;
      }
      chart.append(svg("text", { x: labelWidth - 6, y: y + 12, class: "bar-label", "text-anchor": "end",
                                 text: item.label }));
      if (typeof item.value !== "number") {
        chart.append(svg("text", { x: labelWidth + 4, y: y + 12, class: "bar-missing", text: "no score" }));
        return;
      }
      const left = Math.min(x(0), x(item.value));
      const mark = svg("rect", { x: left, y: y + 2, width: Math.max(Math.abs(x(item.value) - x(0)), 0.5),
                                 height: rowHeight - 5, class: "bar bar-" + kind,
                                 "data-kind": kind, "data-key": item.key, "data-value": item.value },
                       [svg("title", { text: item.label + ": " + item.value })]);
      chart.append(mark);
      let text = item.value.toFixed(3);
      if (typeof item.noise === "number") {
        text += " " + G.formatNoise(item.noise);
        mark.setAttribute("data-noise", item.noise);
      }
      chart.append(svg("text", { x: width - valueWidth + 6, y: y + 12, class: "bar-value", text: text }));
    });
    return chart;
  }

  function runSettings(run) {
    if (!run) {
      return el("p", { id: "detail-run", className: "no-run",
                       text: "published result: no run settings recorded (only its per-task means " +
                             "were released)" });
    }
    const settings = Object.entries(run.settings || {}).map(([k, v]) =>
      k + "=" + (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ");
    return el("dl", { id: "detail-run", className: "facts" }, [
      ...fact("Extractor family", run.extractor),
      ...fact("Declared settings", settings || null),
      ...fact("Weights", run.weights),
      ...fact("Harness", run.harness),
      ...fact("Code revision", run.code_revision),
      ...fact("Data revision", run.data),
      ...fact("torch / transformers", [run.torch, run.transformers].map((v) => v || "?").join(" / ")),
      ...fact("BLAS (probe)", (run.blas || []).join("; ") || null),
      ...fact("CPU (probe)", run.cpu),
    ]);
  }

  function noiseFloor(taskRow, metric) {
    const floor = taskRow["noise_" + metric];
    if (!floor) {
      return el("p", { id: "detail-noise", className: "no-run",
                       text: "no machine noise floor recorded (published results predate it)" });
    }
    return el("p", { id: "detail-noise", text: "Machine noise floor (" + metric + "): Macro " +
      G.formatNoise(floor.macro) + ", Micro " + G.formatNoise(floor.micro) + "; per task as ± beside " +
      "each bar. A difference smaller than the floors says nothing about the models." });
  }

  function fillTasks(section, taskRow, tasks, ctx) {
    const metric = ctx.metric;
    const scores = taskRow["task_" + metric] || {};
    const floors = taskRow["noise_task_" + metric] || {};
    const items = [];
    tasks.forEach((t, i) => {
      if (i === 0 || tasks[i - 1].cat !== t.cat) items.push({ heading: t.cat });
      items.push({ key: t.id, label: t.label, value: scores[t.id], noise: floors[t.id] });
    });
    section.replaceChildren(
      el("h3", { text: "Run settings" }), runSettings(taskRow.run),
      el("h3", { text: "Noise floor" }), noiseFloor(taskRow, metric),
      el("h3", { text: "Per task (" + tasks.length + ")" }), bars(items, "task", ctx));
  }

  function open(model, ctx) {
    const row = ctx.row;
    const metric = ctx.metric;
    openId = model;
    const links = el("p", { className: "detail-links" });
    [G.link(row.url, "Model page"), G.link(row.paper, "Paper"),
     row.card ? G.link(ctx.board.card_base_url + row.card, "Model card") : null]
      .filter(Boolean).forEach((a, i) => links.append(...(i ? [" · ", a] : [a])));
    if (!links.childNodes.length) links.textContent = "Links: " + G.NOT_DOCUMENTED;
    const extraction = el("span", {}, [G.badge("extraction", row.extraction),
      " " + (row.extraction === "geneb" ? "GENEB's uniform extractor (settings under Run settings)"
        : row.reference_extraction ? "published run: " + row.reference_extraction
          : "published run by the authors' extractor; its differences are " + G.NOT_DOCUMENTED)]);
    const ci = row["rank_ci_" + metric];
    const categories = ctx.board.categories.map((c) => ({ key: c.name, label: c.name,
                                                          value: (row["cat_" + metric] || {})[c.name] }));
    const noise = row["noise_" + metric] || {};
    const tasksSection = el("section", { id: "detail-tasks" }, [el("p", { text: "Loading per-task scores…" })]);
    body().replaceChildren(
      el("h2", { id: "detail-title", text: row.disp }),
      el("p", { className: "model-id", text: "model id: " + row.model }),
      links,
      el("dl", { className: "facts", id: "detail-facts" }, [
        ...fact("Parameters", row.params ? G.formatParams(row.params) + " (" + row.params.toLocaleString("en") + ")" : null),
        ...fact("Architecture", row.architecture),
        ...fact("Tokenisation", row.tokenization),
        ...fact("Pretraining data", row.training_data),
        ...fact("Zero-shot", row.zero_shot ? "yes" : "no"),
        ...fact("Source", null, G.badge("provenance", row.submitted)),
        ...fact("Extraction", null, extraction),
      ]),
      el("h3", { text: "Scores: " + G.REGIMES[ctx.regime] + ", " + metric }),
      el("p", { id: "detail-summary", text: "Macro " + G.formatScore(row["macro_" + metric]) +
        (typeof noise.macro === "number" ? " " + G.formatNoise(noise.macro) : "") +
        " · Micro " + G.formatScore(row["micro_" + metric]) +
        (typeof noise.micro === "number" ? " " + G.formatNoise(noise.micro) : "") +
        " · rank " + (row["rank_" + metric] ?? "—") + (ci ? " (95% interval " + ci[0] + "-" + ci[1] + ")" : "") }),
      el("h3", { text: "Per category" }), bars(categories, "category", ctx),
      tasksSection);
    if (!dialog().open) dialog().showModal();
    document.body.dataset.detail = "loading";
    ctx.loadTasks().then((tasksBoard) => {
      if (openId !== model) return;
      const taskRow = tasksBoard.data[ctx.regime].find((r) => r.model === model);
      fillTasks(tasksSection, taskRow, tasksBoard.tasks, ctx);
      document.body.dataset.detail = "ready";
    }, (error) => {
      tasksSection.replaceChildren(el("p", { className: "error", text: "Could not load per-task scores: " + error.message }));
      document.body.dataset.detail = "error";
    });
  }

  function close() {
    openId = null;
    if (dialog().open) dialog().close();
  }

  function onClose(handler) {
    closeHandlers.push(handler);
  }

  // deferred scripts run once the document is parsed: the dialog exists
  document.getElementById("detail-close").addEventListener("click", close);
  dialog().addEventListener("close", () => {
    openId = null;
    delete document.body.dataset.detail;
    closeHandlers.forEach((handler) => handler());
  });

  G.detail = { open, close, onClose };
})();
