// @ts-check
// Entry point: page.html imports this module and calls main(config).

import { run } from "./flow.js";

/** @param {import("./flow.js").PageConfig} config */
export function main(config) {
  run(config).catch((err) => console.error("mug: the page stopped", err));
}
