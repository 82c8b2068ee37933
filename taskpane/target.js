// A mailbox's first-response target: the policy in a sentence for every member, and for a
// Tandem administrator (the app role Tandem.Admin) its form: the target in business minutes,
// the business days and hours, and the time zone they are counted in.

import { postPolicy } from "./api.js";
import { minutesText } from "./numbers.js";
import { failed, fill, loadingLine, saveProblem, uid } from "./panel.js";
import { h } from "./ui.js";

/**
 * @import { PanelHost } from "./panel.js"
 * @import { PolicyAnswer } from "./types/contract"
 */

/** Days of the week as the policy names them. */
const DAYS = /** @type {const} */ ([
  ["mon", "Mon"],
  ["tue", "Tue"],
  ["wed", "Wed"],
  ["thu", "Thu"],
  ["fri", "Fri"],
  ["sat", "Sat"],
  ["sun", "Sun"],
]);

/**
 * The policy in a sentence: "The first answer is due within 4 h of business time: Mon–Fri,
 * 09:00–17:00 (Europe/London)."
 * @param {PolicyAnswer["policy"]} policy
 */
export function policyText(policy) {
  if (!policy) return "No first-response target is set for this mailbox: nothing is ever late.";
  const hours = policy.businessHours;
  const days = hours.days.map((d) => DAYS.find(([k]) => k === d)?.[1] ?? d);
  const allWeek = days.length === 7;
  const span = allWeek ? "every day" : days.join(", ");
  const clock =
    hours.start === "00:00" && hours.end === "24:00"
      ? "around the clock"
      : `${hours.start}–${hours.end}`;
  return (
    `The first answer is due within ${minutesText(policy.firstResponseMinutes)} of business time: ` +
    `${span}, ${clock} (${hours.timeZone}).`
  );
}

/** The Target tab. */
export class TargetPanel {
  /**
   * @param {PanelHost} host
   * @param {HTMLElement} panel
   * @param {() => void} onSaved  the target changed: due times with it
   */
  constructor(host, panel, onSaved) {
    this.host = host;
    this.panel = panel;
    this.onSaved = onSaved;
  }
  // -- the first-response target ---------------------------------------------------------------
  /**
   * The target panel: the policy in words, and for a Tandem administrator its form.
   * @param {string | null} [said]
   */
  async show(said = null) {
    const d = this.host.doc;
    const panel = this.panel;
    panel.replaceChildren(loadingLine(this.host.doc, "Loading the target…"));
    /** @type {PolicyAnswer} */
    let answer;
    try {
      answer = await postPolicy(this.host.ctx, null, this.host.seams);
    } catch (error) {
      failed(this.host.doc, panel, error, () => this.show());
      return;
    }
    fill(
      panel,
      said
        ? h(
            d,
            "p",
            { class: "notice notice-ok", role: "status", "data-testid": "policy-said" },
            said,
          )
        : null,
      h(d, "p", { "data-testid": "policy-text" }, policyText(answer.policy)),
      answer.canEdit
        ? this.policyForm(answer.policy)
        : h(
            d,
            "p",
            { class: "small-print", "data-testid": "policy-admin-only" },
            "Only a Tandem administrator (the app role Tandem.Admin) can change the target.",
          ),
    );
  }

  /**
   * The policy's form (Tandem.Admin): the target in hours and minutes, the days, the hours and
   * the time zone.
   * @param {PolicyAnswer["policy"]} policy
   */
  policyForm(policy) {
    const d = this.host.doc;
    const hoursNow = policy?.businessHours ?? {
      days: ["mon", "tue", "wed", "thu", "fri"],
      start: "09:00",
      end: "17:00",
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    };
    const minutesId = uid("policy-minutes");
    const minutes = /** @type {HTMLInputElement} */ (
      h(d, "input", {
        id: minutesId,
        type: "number",
        min: "1",
        max: "10080",
        step: "1",
        inputmode: "numeric",
        value: String(policy?.firstResponseMinutes ?? 240),
        "data-testid": "policy-minutes",
      })
    );
    const days = h(
      d,
      "fieldset",
      { class: "field policy-days" },
      h(d, "legend", {}, "Business days"),
    );
    /** @type {HTMLInputElement[]} */
    const boxes = [];
    for (const [key, label] of DAYS) {
      const id = uid(`policy-${key}`);
      const box = /** @type {HTMLInputElement} */ (
        h(d, "input", { id, type: "checkbox", value: key, checked: hoursNow.days.includes(key) })
      );
      boxes.push(box);
      days.append(h(d, "span", { class: "check" }, box, h(d, "label", { for: id }, label)));
    }
    const startId = uid("policy-start");
    const endId = uid("policy-end");
    const zoneId = uid("policy-zone");
    const start = /** @type {HTMLInputElement} */ (
      h(d, "input", {
        id: startId,
        type: "text",
        class: "policy-clock",
        inputmode: "numeric",
        pattern: "[0-2][0-9]:[0-5][0-9]",
        "aria-describedby": `${startId}-hint`,
        value: hoursNow.start,
        "data-testid": "policy-start",
      })
    );
    const end = /** @type {HTMLInputElement} */ (
      h(d, "input", {
        id: endId,
        type: "text",
        class: "policy-clock",
        inputmode: "numeric",
        "aria-describedby": `${startId}-hint`,
        pattern: "[0-2][0-9]:[0-5][0-9]",
        value: hoursNow.end,
        "data-testid": "policy-end",
      })
    );
    const zone = /** @type {HTMLInputElement} */ (
      h(d, "input", {
        id: zoneId,
        type: "text",
        list: `${zoneId}-list`,
        value: hoursNow.timeZone,
        "data-testid": "policy-zone",
      })
    );
    const zones = h(d, "datalist", { id: `${zoneId}-list` });
    const supported = /** @type {{supportedValuesOf?: (key: string) => string[]}} */ (Intl)
      .supportedValuesOf;
    for (const name of supported ? supported("timeZone") : [])
      zones.append(h(d, "option", { value: name }));
    const error = h(d, "p", {
      class: "form-error",
      role: "alert",
      hidden: true,
      "data-testid": "policy-error",
    });
    const save = h(
      d,
      "button",
      { type: "button", class: "button", "data-testid": "policy-save" },
      "Save the target",
    );
    save.addEventListener("click", async () => {
      const change = {
        firstResponseMinutes: Number(minutes.value),
        businessHours: {
          days: boxes.filter((b) => b.checked).map((b) => b.value),
          start: start.value,
          end: end.value,
          timeZone: zone.value.trim(),
        },
      };
      try {
        await postPolicy(this.host.ctx, change, this.host.seams);
        this.onSaved(); // due times change with the target
        await this.show("Saved: due times follow the new target from now on.");
      } catch (failure) {
        error.textContent = saveProblem(failure);
        error.hidden = false;
      }
    });
    return h(
      d,
      "div",
      { class: "action-form", "data-testid": "policy-form" },
      h(
        d,
        "div",
        { class: "field" },
        h(d, "label", { for: minutesId }, "First answer within (business minutes)"),
        minutes,
      ),
      days,
      h(
        d,
        "div",
        { class: "field field-inline policy-hours" },
        h(d, "label", { for: startId }, "From"),
        start,
        h(d, "label", { for: endId }, "to"),
        end,
        h(
          d,
          "p",
          { class: "hint", id: `${startId}-hint` },
          "24-hour clock in the time zone below; 24:00 is the end of the day.",
        ),
      ),
      h(d, "div", { class: "field" }, h(d, "label", { for: zoneId }, "Time zone"), zone, zones),
      error,
      h(d, "div", { class: "form-buttons" }, save),
    );
  }
}
