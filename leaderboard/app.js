// The leaderboard page: loads leaderboard.json, draws the table, its filters and tabs, and routes
// #model=<id> to the model detail view (detail.js). leaderboard_tasks.json is fetched only when
// the task tab or a detail view first needs it. Plots are drawn from the same JSON (plots.js).
"use strict";
(function () {
  const G = window.GENEB;
  const { el } = G;
  const SIZE_BINS = {
    all: () => true,
    small: (p) => p > 0 && p < 1e8,
    medium: (p) => p >= 1e8 && p <= 1e9,
    large: (p) => p > 1e9,
  };
  const state = { view: "categories", regime: "full", metric: "MCC", size: "all", provenance: "all",
                  zeroShot: "all", extraction: "all", query: "", sortKey: "macro", sortDir: -1,
                  taskCategory: "" };
  const VIRTUAL_ROWS = 200;  // a longer table draws only the rows in view (and a few around them)
  const BUFFER_ROWS = 12;
  const ROW_HEIGHT = 33;  // px, every body row (style.css: tbody td height)
  const FIRST_SCREEN_ROWS = 16;  // the first load draws these (a 900 px screen shows 15), paints, then the rest
  let board = null;
  let tasksBoard = null;
  let tasksLoading = null;
  let table = null;  // what the table shows: sorted rows, columns, positions, shading ranges
  const boardIndex = {};  // regime -> Map(model id -> leaderboard.json row)

  const $ = (id) => document.getElementById(id);

  function boardRow(model, regime) {
    return boardIndex[regime || state.regime].get(model);
  }

  // Column definitions drive the header, the cells and sorting alike.
  function columns() {
    const metric = state.metric;
    const fixed = [
      { key: "rank", label: "#", kind: "rank", sortable: false },
      { key: "disp", label: "Model", kind: "text", value: (r) => r.disp,
        hint: "Click a name for the model's detail view" },
      { key: "links", label: "Links", kind: "links", sortable: false },
      { key: "params", label: "Params", kind: "params", value: (r) => r.params },
      { key: "submitted", label: "Source", kind: "provenance", value: (r) => r.submitted },
      { key: "extraction", label: "Extraction", kind: "extraction", value: (r) => r.extraction,
        hint: "reference: the authors' extractor (published run); GENEB: GENEB's uniform extractor" },
      { key: "macro", label: "Macro", sub: board.categories.length + " categories", kind: "score",
        hint: "Mean of the category scores (default ranking)", value: (r) => r["macro_" + metric],
        noise: (r) => (r["noise_" + metric] || {}).macro },
      { key: "micro", label: "Micro", sub: "all tasks", kind: "score",
        hint: "Mean over all tasks", value: (r) => r["micro_" + metric],
        noise: (r) => (r["noise_" + metric] || {}).micro },
    ];
    const categoryColumn = (c, label) => ({
      key: "cat:" + c.name, label: label, sub: c.n_tasks + (c.n_tasks === 1 ? " task" : " tasks"),
      kind: "score", hint: c.name + ": mean of " + c.n_tasks + " task(s)",
      value: (r) => (boardRow(r.model)["cat_" + metric] || {})[c.name],
    });
    if (state.view !== "tasks") return fixed.concat(board.categories.map((c) => categoryColumn(c, c.name)));
    const shown = tasksBoard.tasks.filter((t) => !state.taskCategory || t.cat === state.taskCategory);
    const category = board.categories.find((c) => c.name === state.taskCategory);
    return fixed.concat(category ? [categoryColumn(category, category.name + " mean")] : [],
      shown.map((t) => ({
        key: "task:" + t.id, label: t.label, sub: t.cat, kind: "score", hint: t.id,
        value: (r) => (r["task_" + metric] || {})[t.id],
        noise: (r) => (r["noise_task_" + metric] || {})[t.id],
      })));
  }

  const RENDER = {
    rank: (td, row, col, ctx) => {
      const ci = ctx.intervals ? row["rank_ci_" + state.metric] : null;
      if (!ci) { td.textContent = String(ctx.rank); return; }
      // the interval is text (copyable), not a CSS pseudo-element
      td.append(String(row["rank_" + state.metric]), el("span", { className: "ci", text: " (" + ci[0] + "-" + ci[1] + ")" }));
      td.title = "Macro rank among all models; 95% bootstrap rank interval " + ci[0] + "-" + ci[1];
    },
    text: (td, row) => {
      td.append(el("a", { className: "model-link", href: "#model=" + encodeURIComponent(row.model),
                          text: row.disp, title: "Details of " + row.model }));
    },
    links: (td, row) => {
      const about = boardRow(row.model);
      const links = [G.link(about.url, "model", "Model page: " + about.url),
                     G.link(about.paper, "paper", "Paper: " + about.paper),
                     about.card ? G.link(board.card_base_url + about.card, "card", "Model card in the repository") : null];
      links.filter(Boolean).forEach((a, i) => td.append(...(i ? [" ", a] : [a])));
    },
    params: (td, row, col) => { td.textContent = G.formatParams(col.value(row)); },
    provenance: (td, row, col) => { td.append(G.badge("provenance", col.value(row))); },
    extraction: (td, row, col) => {
      const badge = G.badge("extraction", col.value(row));
      const note = boardRow(row.model).reference_extraction;
      if (note) badge.title += ". Published run: " + note;
      td.append(badge);
    },
    score: (td, row, col, ctx) => {
      const value = col.value(row);
      if (typeof value !== "number") { td.textContent = "—"; td.className += " missing"; return; }
      td.textContent = value.toFixed(3);
      td.title = String(value);
      td.style.backgroundColor = G.shade(value, ctx.ranges[col.key]);
      const noise = col.noise ? col.noise(row) : undefined;
      if (typeof noise === "number") {
        td.append(el("span", { className: "noise", text: G.formatNoise(noise) }));
        td.title = value + " ± " + noise + ": machine noise floor, how far this number moves " +
          "on another CPU; a smaller difference between two rows is not evidence";
      }
    },
  };

  // Rows of the current regime that pass every filter (rows of leaderboard.json, or of
  // leaderboard_tasks.json in the task tab).
  function currentRows(source) {
    const query = state.query.trim().toLowerCase();
    return (source || (state.view === "tasks" ? tasksBoard : board)).data[state.regime].filter((r) =>
      SIZE_BINS[state.size](r.params) &&
      (state.provenance === "all" || r.submitted === state.provenance) &&
      (state.zeroShot === "all" || Boolean(r.zero_shot) === (state.zeroShot === "yes")) &&
      (state.extraction === "all" || r.extraction === state.extraction) &&
      (!query || String(r.disp).toLowerCase().includes(query) || String(r.model).toLowerCase().includes(query)));
  }

  function compare(col) {
    return (a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      const xMissing = x === null || x === undefined;
      const yMissing = y === null || y === undefined;
      if (xMissing || yMissing) return xMissing - yMissing;  // missing values always last
      const order = typeof x === "string" ? x.localeCompare(y) : x - y;
      return order * state.sortDir || String(a.model).localeCompare(String(b.model));
    };
  }

  function headerRow(cols, sortCol) {
    return el("tr", {}, cols.map((c) => {
      const sortable = c.sortable !== false;
      const th = el("th", { className: "kind-" + c.kind + (sortable ? " sortable" : ""),
                            dataset: { key: c.key }, title: c.hint || "" }, [c.label]);
      if (c.sub) th.append(el("span", { className: "sub", text: c.sub }));
      if (c.key === sortCol.key) {
        th.append(el("span", { className: "arrow", text: state.sortDir < 0 ? "▼" : "▲" }));
        th.setAttribute("aria-sort", state.sortDir < 0 ? "descending" : "ascending");
      }
      if (sortable) th.addEventListener("click", () => sortBy(c));
      return th;
    }));
  }

  function drawRow(i) {
    const row = table.rows[i];
    const ctx = { rank: table.positions[i], ranges: table.ranges, intervals: table.intervals };
    const tr = el("tr");
    tr.dataset.model = row.model;
    for (const c of table.cols) {
      const td = el("td", { className: "kind-" + c.kind });
      td.dataset.key = c.key;
      RENDER[c.kind](td, row, c, ctx);
      tr.append(td);
    }
    return tr;
  }

  function spacer(rows) {
    const td = el("td", { colSpan: table.cols.length });
    td.style.height = rows * ROW_HEIGHT + "px";
    return el("tr", { className: "spacer", ariaHidden: "true" }, [td]);
  }

  // A long table: the rows in the frame's view, between two spacers that keep its full height.
  // On the first load the frame is at the top (nothing is measured, so nothing waits for layout).
  function drawWindow(force, firstScreen) {
    const wrap = $("table-wrap");
    const tbody = $("board").tBodies[0];
    let first = 0;
    let last = Math.min(table.rows.length, FIRST_SCREEN_ROWS + BUFFER_ROWS);
    if (!firstScreen) {
      const top = wrap.scrollTop - $("board").tHead.getBoundingClientRect().height;
      first = Math.max(0, Math.floor(top / ROW_HEIGHT) - BUFFER_ROWS);
      last = Math.min(table.rows.length, first + Math.ceil(wrap.clientHeight / ROW_HEIGHT) + 2 * BUFFER_ROWS);
    }
    if (!force && first === table.first && last === table.last) return;
    table.first = first;
    table.last = last;
    const drawn = [];
    for (let i = first; i < last; i++) drawn.push(drawRow(i));
    tbody.replaceChildren(spacer(first), ...drawn, spacer(table.rows.length - last));
  }

  function renderTable(firstScreen) {
    const cols = columns();
    const sortCol = cols.find((c) => c.key === state.sortKey) || cols.find((c) => c.key === "macro");
    const rows = currentRows().sort(compare(sortCol));
    const ranges = {};
    cols.filter((c) => c.kind === "score").forEach((c) => { ranges[c.key] = G.range(rows.map(c.value)); });
    const positions = [];  // tied values share a position
    rows.forEach((row, i) => {
      const tied = i > 0 && sortCol.kind === "score" && sortCol.value(row) === sortCol.value(rows[i - 1]);
      positions.push(tied ? positions[i - 1] : i + 1);
    });
    table = { rows: rows, cols: cols, positions: positions, ranges: ranges,
              intervals: sortCol.key === "macro" && state.sortDir < 0, first: -1, last: -1 };
    $("board").tHead.replaceChildren(headerRow(cols, sortCol));
    $("board").dataset.rows = String(rows.length);
    if (rows.length > VIRTUAL_ROWS) {
      drawWindow(true, firstScreen);
      return { shown: rows.length, sortCol: sortCol };
    }
    const drawn = firstScreen ? Math.min(rows.length, FIRST_SCREEN_ROWS) : rows.length;
    const body = document.createDocumentFragment();
    for (let i = 0; i < drawn; i++) body.append(drawRow(i));
    $("board").tBodies[0].replaceChildren(body);
    const current = table;
    const rest = () => {  // false: the table was drawn again meanwhile, completely
      if (table !== current) return false;
      const more = document.createDocumentFragment();
      for (let i = drawn; i < rows.length; i++) more.append(drawRow(i));
      $("board").tBodies[0].append(more);
      return true;
    };
    return { shown: rows.length, sortCol: sortCol, rest: drawn < rows.length ? rest : null };
  }

  function onScroll() {
    if (!table || table.rows.length <= VIRTUAL_ROWS || table.scheduled) return;
    table.scheduled = true;
    requestAnimationFrame(() => { table.scheduled = false; drawWindow(false); });
  }

  // firstScreen: draw only the rows of the first screen now and return a function that draws
  // the others (the first load paints sooner); every later render draws every row at once.
  function render(firstScreen) {
    const plots = state.view === "plots";
    $("table-wrap").hidden = plots;
    $("plots").hidden = !plots;
    let summary;
    if (plots) {
      const rows = currentRows(board);
      G.plots.render($("plots-body"), rows, { board: board, regime: state.regime, metric: state.metric });
      summary = { shown: rows.length, sortCol: { label: "Macro" } };
    } else {
      summary = renderTable(firstScreen);
    }
    const total = board.data[state.regime].length;
    const by = state.view === "tasks" && state.taskCategory && summary.sortCol.key === "cat:" + state.taskCategory
      ? state.taskCategory + " mean (ranked within the category)" : summary.sortCol.label;
    $("status").className = "";
    $("status").textContent = "Showing " + summary.shown + " of " + total + " models · " +
      G.REGIMES[state.regime] + " · " + state.metric + (plots ? " · plots" : " · sorted by " + by +
      (state.sortDir < 0 ? " (high to low)" : " (low to high)"));
    document.body.dataset.view = state.view;
    if (summary.rest) return summary.rest;
    document.body.dataset.ready = "true";
    return null;
  }

  function sortBy(col) {
    if (state.sortKey === col.key) state.sortDir = -state.sortDir;
    else { state.sortKey = col.key; state.sortDir = col.kind === "text" ? 1 : -1; }
    render();
  }

  function fail(message) {
    $("status").className = "error";
    $("status").textContent = message;
    document.body.dataset.ready = "error";
  }

  function loadTasks() {
    if (tasksBoard) return Promise.resolve(tasksBoard);
    tasksLoading = tasksLoading || G.loadJson("./leaderboard_tasks.json").then((data) => {
      tasksBoard = data;
      return data;
    }, (error) => { tasksLoading = null; throw error; });
    return tasksLoading;
  }

  function bindSegment(id, key) {
    $(id).querySelectorAll("button").forEach((button) => button.addEventListener("click", () => {
      $(id).querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      state[key] = button.dataset.value;
      render();
    }));
  }

  function bindSelect(id, key) {
    $(id).addEventListener("change", () => { state[key] = $(id).value; render(); });
  }

  // In the task tab narrowed to one category, rows rank by that category's mean.
  function defaultSort() {
    state.sortKey = state.view === "tasks" && state.taskCategory ? "cat:" + state.taskCategory : "macro";
    state.sortDir = -1;
  }

  async function showView(view) {
    document.querySelectorAll(".tabs [role=tab]").forEach((tab) =>
      tab.setAttribute("aria-selected", String(tab.dataset.view === view)));
    $("task-category").hidden = view !== "tasks";
    if (view === "tasks" && !tasksBoard) {
      document.body.dataset.ready = "false";
      $("status").textContent = "Loading per-task scores…";
      try {
        await loadTasks();
      } catch (error) {
        fail("Could not load per-task scores: " + error.message);
        return;
      }
    }
    state.view = view;
    if (state.sortKey.startsWith("cat:") || state.sortKey.startsWith("task:")) defaultSort();
    render();
  }

  // #model=<id> opens the detail view; closing it clears the address again.
  function route() {
    const match = /^#model=(.+)$/.exec(location.hash);
    if (!match) { G.detail.close(); return; }
    const model = decodeURIComponent(match[1]);
    if (!boardRow(model)) { G.detail.close(); return; }
    G.detail.open(model, { board: board, regime: state.regime, metric: state.metric,
                           row: boardRow(model), loadTasks: loadTasks });
  }

  function setUp() {
    if (board.subsample || board.suite !== "full") {
      $("suite-banner").hidden = false;
      $("suite-banner").textContent = "Suite '" + board.suite + "': a subsample, NOT GENEB scores. " +
        (board.notice || "");
    }
    board.regimes.forEach((regime) => {
      boardIndex[regime] = new Map(board.data[regime].map((row) => [row.model, row]));
    });
    const nTasks = board.categories.reduce((sum, c) => sum + c.n_tasks, 0);
    $("tab-categories").textContent = board.categories.length + " categories";
    $("tab-tasks").textContent = nTasks + " tasks";
    const select = $("task-category");
    select.append(el("option", { value: "", text: "All categories" }),
                  ...board.categories.map((c) => el("option", { value: c.name, text: c.name })));
    select.addEventListener("change", () => { state.taskCategory = select.value; defaultSort(); render(); });
    bindSegment("regime", "regime");
    bindSegment("metric", "metric");
    bindSegment("size", "size");
    bindSelect("provenance", "provenance");
    bindSelect("zero-shot", "zeroShot");
    bindSelect("extraction", "extraction");
    $("filter").addEventListener("input", (event) => { state.query = event.target.value; render(); });
    document.querySelectorAll(".tabs [role=tab]").forEach((tab) =>
      tab.addEventListener("click", () => showView(tab.dataset.view)));
    G.detail.onClose(() => {
      if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    });
    window.addEventListener("hashchange", route);
    $("table-wrap").addEventListener("scroll", onScroll, { passive: true });
  }

  async function start() {
    if (location.protocol === "file:") {
      fail("This page was opened from disk, where browsers do not let it read leaderboard.json. " +
        "Serve the folder instead: run `python -m http.server -d leaderboard` in the repository, " +
        "then open http://localhost:8000/");
      return;
    }
    try {
      board = await G.boardRequest;
    } catch (error) {
      fail("Could not load the leaderboard: " + error.message);
      return;
    }
    setUp();
    const rest = render(true);
    // usable: the first screen drawn and painted (the timeout runs after the frame that shows it)
    requestAnimationFrame(() => setTimeout(() => {
      performance.mark("geneb-table-ready");
      if (rest && rest()) document.body.dataset.ready = "true";
      route();
    }, 0));
  }

  start();
})();
