// The team's numbers for 7 or 30 days: replies sent and conversations done per day as a bar
// chart the pane draws (SVG, described for a screen reader), and the table beside it: per
// person and for everyone, replies, done, and the median and 90th-percentile first response in
// business time.

import { postStats } from "./api.js";
import { failed, loadingLine } from "./panel.js";
import { h } from "./ui.js";

/**
 * @import { PanelHost } from "./panel.js"
 * @import { StatsAnswer } from "./types/contract"
 */

/**
 * A duration in minutes, in words: "45 min", "2 h 5 min", "3 d 4 h".
 * @param {number | null | undefined} minutes
 */
export function minutesText(minutes) {
  if (minutes === null || minutes === undefined || !Number.isFinite(minutes)) return "–";
  const m = Math.max(0, Math.round(minutes));
  if (m < 60) return `${m} min`;
  if (m < 24 * 60) {
    const rest = m % 60;
    return rest ? `${Math.floor(m / 60)} h ${rest} min` : `${m / 60} h`;
  }
  const days = Math.floor(m / (24 * 60));
  const hours = Math.floor((m % (24 * 60)) / 60);
  return hours ? `${days} d ${hours} h` : `${days} d`;
}

/**
 * The chart's summary for a screen reader: totals and the busiest day.
 * @param {StatsAnswer} stats
 */
export function chartSummary(stats) {
  const total = stats.daily.reduce((sum, d) => sum + d.replies, 0);
  const done = stats.daily.reduce((sum, d) => sum + d.done, 0);
  const busiest = stats.daily.reduce(
    (best, d) => (d.replies > (best?.replies ?? 0) ? d : best),
    /** @type {StatsAnswer["daily"][number] | null} */ (null),
  );
  const most = busiest ? `, most on ${dayText(busiest.day)} (${busiest.replies})` : "";
  return `Replies sent per day over the last ${stats.days} days: ${total} in all${most}. Conversations done: ${done}.`;
}

/**
 * "Tue 3 Dec" for a day (YYYY-MM-DD, a UTC day).
 * @param {string} day
 * @param {string} [locale]
 */
function dayText(day, locale = "en-GB") {
  const date = new Date(`${day}T12:00:00Z`);
  if (Number.isNaN(date.getTime())) return day;
  return new Intl.DateTimeFormat(locale, {
    weekday: "short",
    day: "numeric",
    month: "short",
    timeZone: "UTC",
  }).format(date);
}

/**
 * The daily series as an SVG bar chart: replies and conversations done side by side per day,
 * with a scale on the left; described by `summary` (role img), the numbers are in the table.
 * @param {Document} d
 * @param {StatsAnswer["daily"]} daily
 * @param {string} summary
 * @returns {SVGSVGElement}
 */
export function barChart(d, daily, summary) {
  const ns = "http://www.w3.org/2000/svg";
  /**
   * @param {string} tag
   * @param {Record<string, string | number>} attrs
   * @param {string} [text]
   */
  const el = (tag, attrs, text) => {
    const node = d.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const width = 280;
  const height = 120;
  const left = 24;
  const bottom = 18;
  const top = 6;
  const plot = height - bottom - top;
  const most = Math.max(1, ...daily.map((x) => Math.max(x.replies, x.done)));
  const step = (width - left) / Math.max(1, daily.length);
  const bar = Math.max(1.5, Math.min(12, step / 2 - 1));
  const svg = /** @type {SVGSVGElement} */ (
    el("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width: "100%",
      role: "img",
      class: "chart",
      "data-testid": "stats-chart",
    })
  );
  svg.append(el("title", {}, summary));
  svg.append(el("line", { x1: left, y1: top + plot, x2: width, y2: top + plot, class: "axis" }));
  for (const mark of [0, most]) {
    const y = top + plot - (mark / most) * plot;
    svg.append(
      el("text", { x: left - 4, y: y + 3, "text-anchor": "end", class: "tick" }, String(mark)),
    );
  }
  const every = Math.max(1, Math.ceil(daily.length / 7));
  daily.forEach((day, i) => {
    const x = left + i * step + step / 2;
    const replies = (day.replies / most) * plot;
    const done = (day.done / most) * plot;
    svg.append(
      el("rect", {
        x: x - bar - 0.5,
        y: top + plot - replies,
        width: bar,
        height: replies,
        class: "bar-replies",
        "data-day": day.day,
        "data-value": day.replies,
      }),
    );
    svg.append(
      el("rect", {
        x: x + 0.5,
        y: top + plot - done,
        width: bar,
        height: done,
        class: "bar-done",
        "data-day": day.day,
        "data-value": day.done,
      }),
    );
    if (i % every === 0 || i === daily.length - 1) {
      const label = dayText(day.day).split(" ").slice(1).join(" ");
      svg.append(el("text", { x, y: height - 4, "text-anchor": "middle", class: "tick" }, label));
    }
  });
  return svg;
}

/** The Numbers tab. */
export class NumbersPanel {
  /**
   * @param {PanelHost} host
   * @param {HTMLElement} panel
   */
  constructor(host, panel) {
    this.host = host;
    this.panel = panel;
    /** @type {7 | 30} */
    this.days = 7;
  }
  // -- the numbers -----------------------------------------------------------------------------
  /** The numbers panel: 7 or 30 days, the chart and the per-person table. */
  async show() {
    const d = this.host.doc;
    const panel = this.panel;
    panel.replaceChildren(loadingLine(this.host.doc, "Counting…"));
    /** @type {StatsAnswer} */
    let stats;
    try {
      stats = await postStats(this.host.ctx, this.days, this.host.seams);
    } catch (error) {
      failed(this.host.doc, panel, error, () => this.show());
      return;
    }
    const range = h(d, "div", { class: "queue-views", role: "group", "aria-label": "Period" });
    for (const days of /** @type {const} */ ([7, 30])) {
      const button = h(
        d,
        "button",
        {
          type: "button",
          class: "queue-view",
          "aria-pressed": days === this.days ? "true" : "false",
          "data-testid": `stats-days-${days}`,
        },
        `Last ${days} days`,
      );
      button.addEventListener("click", () => {
        this.days = days;
        this.show();
      });
      range.append(button);
    }
    const summary = chartSummary(stats);
    const legend = h(
      d,
      "p",
      { class: "chart-legend", "aria-hidden": "true" },
      h(d, "span", { class: "swatch swatch-replies" }),
      " Replies sent ",
      h(d, "span", { class: "swatch swatch-done" }),
      " Conversations done",
    );
    const table = h(
      d,
      "table",
      { class: "stats-table", "data-testid": "stats-table" },
      h(d, "caption", {}, `Per person, last ${stats.days} days (first response in business time)`),
      h(
        d,
        "thead",
        {},
        h(
          d,
          "tr",
          {},
          h(d, "th", { scope: "col" }, "Who"),
          h(d, "th", { scope: "col" }, "Replies"),
          h(d, "th", { scope: "col" }, "Done"),
          h(d, "th", { scope: "col" }, "Median"),
          h(d, "th", { scope: "col" }, "90th pct"),
        ),
      ),
      h(
        d,
        "tbody",
        {},
        ...stats.people.map((p) =>
          h(
            d,
            "tr",
            { "data-testid": "stats-person", "data-upn": p.upn },
            h(d, "th", { scope: "row" }, p.name || p.upn),
            h(d, "td", {}, String(p.repliesSent)),
            h(d, "td", {}, String(p.conversationsDone)),
            h(d, "td", {}, minutesText(p.firstResponseMedian)),
            h(d, "td", {}, minutesText(p.firstResponseP90)),
          ),
        ),
      ),
      h(
        d,
        "tfoot",
        {},
        h(
          d,
          "tr",
          { "data-testid": "stats-mailbox" },
          h(d, "th", { scope: "row" }, "Everyone"),
          h(d, "td", {}, String(stats.mailbox.repliesSent)),
          h(d, "td", {}, String(stats.mailbox.conversationsDone)),
          h(d, "td", {}, minutesText(stats.mailbox.firstResponseMedian)),
          h(d, "td", {}, minutesText(stats.mailbox.firstResponseP90)),
        ),
      ),
    );
    const days = h(
      d,
      "details",
      { class: "stats-days" },
      h(d, "summary", {}, "The days as a table"),
      h(
        d,
        "table",
        { class: "stats-table", "data-testid": "stats-daily" },
        h(
          d,
          "thead",
          {},
          h(
            d,
            "tr",
            {},
            h(d, "th", { scope: "col" }, "Day"),
            h(d, "th", { scope: "col" }, "Replies"),
            h(d, "th", { scope: "col" }, "Done"),
          ),
        ),
        h(
          d,
          "tbody",
          {},
          ...stats.daily.map((day) =>
            h(
              d,
              "tr",
              {},
              h(d, "th", { scope: "row" }, dayText(day.day)),
              h(d, "td", {}, String(day.replies)),
              h(d, "td", {}, String(day.done)),
            ),
          ),
        ),
      ),
    );
    panel.replaceChildren(
      range,
      h(d, "figure", { class: "chart-figure" }, barChart(d, stats.daily, summary), legend),
      h(d, "p", { class: "small-print", "data-testid": "stats-summary" }, summary),
      table,
      days,
    );
    this.host.count("stats");
  }
}
