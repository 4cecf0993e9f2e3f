// @ts-check
// Entry point: page.html imports this module and calls main(config). The Python runtime starts loading in its
// worker before the rest of the page's modules are even fetched: it is the long pole of the first frame.

import { Runtime } from "./runtime.js";
import { Status } from "./status.js";

/** @param {import("./flow.js").PageConfig} config */
export async function main(config) {
  const status = new Status();
  const runtime = new Runtime(config.bundle, config.static, status);
  const { run } = await import("./flow.js");
  run(config, runtime, status).catch((err) => console.error("mug: the page stopped", err));
}
