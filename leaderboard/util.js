// Shared helpers of the leaderboard page: DOM and SVG builders that set every string as text
// (nothing from the JSON is ever parsed as HTML), number formats and the page's vocabulary.
// The first script of the page, and the only one not deferred: it starts the download of
// leaderboard.json at once, so the download overlaps loading the rest of the page.
"use strict";
window.GENEB = (function () {
  const SVG_NS = "http://www.w3.org/2000/svg";

  // An HTML element; "text" sets textContent, "dataset" data attributes, anything else a property.
  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const key in props) {
        const value = props[key];
        if (key === "text") node.textContent = value;
        else if (key === "dataset") Object.assign(node.dataset, value);
        else node[key] = value;
      }
    }
    if (children) node.append(...children);
    return node;
  }

  // An SVG element; every attribute is set with setAttribute (strings, never markup).
  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const key in attrs || {}) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, String(attrs[key]));
    }
    if (children) node.append(...children);
    return node;
  }

  // A link only for http(s) addresses: a card's URL is data, and "javascript:" must never be one.
  function safeUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function link(href, text, title) {
    const url = safeUrl(href);
    if (!url) return null;
    return el("a", { href: url, text: text, title: title || url, target: "_blank", rel: "noopener noreferrer" });
  }

  function formatParams(n) {
    if (!n) return "?";
    const [value, unit] = n >= 1e9 ? [n / 1e9, "B"] : n >= 1e6 ? [n / 1e6, "M"] : [n / 1e3, "K"];
    return (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2))
      .replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "") + unit;
  }

  function formatScore(value) {
    return typeof value === "number" ? value.toFixed(3) : "—";
  }

  function formatNoise(noise) {
    return "±" + (noise === 0 ? "0" : noise < 0.001 ? "<0.001" : noise.toFixed(3));
  }

  // Heat colour of a value within a column's range: red (lowest) to green (highest).
  function shade(value, range) {
    if (range.max === range.min) return "hsl(60, 70%, 86%)";
    const t = (value - range.min) / (range.max - range.min);
    return "hsl(" + Math.round(t * 120) + ", 68%, 84%)";
  }

  function range(values) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (typeof v !== "number") continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { min: min, max: max };
  }

  const REGIMES = { full: "full training set", "10shot": "10 examples per class", "1shot": "1 example per class" };
  const PROVENANCE = ["official", "verified", "reproduced", "self-reported"];
  const EXTRACTION = {
    reference: { label: "reference", title: "Embedded by the model authors' own extractor in the published " +
      "GENEB run; its pooling, padding and special tokens differ from GENEB's uniform extractors" },
    geneb: { label: "GENEB", title: "Embedded by GENEB's uniform extractor; its declared settings are " +
      "recorded in the submission (model detail: run settings)" },
  };
  const NOT_DOCUMENTED = "not documented";

  function badge(kind, value) {
    if (kind === "provenance") {
      const known = PROVENANCE.includes(value);
      return el("span", { className: "badge badge-" + (known ? value : "unknown"), text: String(value) });
    }
    const known = Object.prototype.hasOwnProperty.call(EXTRACTION, value) ? EXTRACTION[value] : null;
    return el("span", { className: "badge extraction-" + (known ? value : "unknown"),
                        text: known ? known.label : String(value), title: known ? known.title : "" });
  }

  async function loadJson(url) {
    let response;
    try {
      response = await fetch(url, { cache: "no-cache" });
    } catch (error) {
      throw new Error(url + " could not be reached (" + error.message + ")");
    }
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }

  // Opened from disk (file://) the page cannot fetch; app.js says how to serve it instead.
  const boardRequest = location.protocol === "file:" ? null : loadJson("./leaderboard.json");
  if (boardRequest) boardRequest.catch(() => {});  // reported by app.js, not as an unhandled rejection

  return { el, svg, link, safeUrl, formatParams, formatScore, formatNoise, shade, range, badge, loadJson,
           boardRequest, REGIMES, PROVENANCE, EXTRACTION, NOT_DOCUMENTED };
})();
