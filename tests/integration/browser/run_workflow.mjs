// Drives ComfyUI's web UI like a person: open the page, drop a workflow file on the canvas,
// click Run, wait for the prompt to finish, take a screenshot.
//
//   node run_workflow.mjs <config.json>
//
// config: {"url", "workflow" (path of a UI-format workflow file), "screenshot" (PNG path),
//          "result" (JSON path written at the end), "chromium" (binary), "timeout_ms"}
// The result JSON holds what the Python test asserts on: prompt_id, the node types on the canvas,
// the /history status seen by the page, and the console errors of the page.
// playwright-core is resolved from NODE_PATH (.work/comfyui/browser/node_modules, set by the test).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const timeout = config.timeout_ms ?? 240000;
const result = { steps: [], console_errors: [], page_errors: [] };
const step = (name) => {
  result.steps.push({ name, t: Date.now() });
  console.log(`[browser] ${name}`);
};

const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let failure = null;
let page = null;
try {
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.setDefaultTimeout(timeout);
  page.on("console", (msg) => {
    if (msg.type() === "error") result.console_errors.push(msg.text());
  });
  page.on("pageerror", (err) => result.page_errors.push(String(err)));

  step("open UI");
  await page.goto(config.url, { waitUntil: "load" });
  await page.waitForFunction(() => window.app?.graph && document.querySelector("#graph-canvas"));
  await page.locator('[data-testid="queue-button"]').first().waitFor({ state: "visible" });

  // Close the "Introducing Nodes 2.0" banner, as a person would, so the picture shows the canvas.
  try {
    const banner = page.getByText("Introducing Nodes 2.0").locator("xpath=../..");
    await banner.locator("button").last().click({ timeout: 3000 });
  } catch {
    // no banner in this frontend version
  }

  // Drop the file on the canvas the way the OS does after a drag from the file manager:
  // a DataTransfer holding one File, delivered as a 'drop' event (ComfyUI handles it on document).
  step("drop workflow file");
  const text = readFileSync(config.workflow, "utf8");
  const expected = JSON.parse(text);
  const transfer = await page.evaluateHandle(
    ({ name, text }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], name, { type: "application/json" }));
      return dt;
    },
    { name: basename(config.workflow), text },
  );
  await page.locator("#graph-canvas").dispatchEvent("dragover", { dataTransfer: transfer });
  await page.locator("#graph-canvas").dispatchEvent("drop", { dataTransfer: transfer });
  const wantTypes = expected.nodes.map((n) => n.type).sort();
  await page.waitForFunction(
    (want) => {
      const have = window.app.graph.nodes.map((n) => n.type).sort();
      return JSON.stringify(have) === JSON.stringify(want);
    },
    wantTypes,
  );
  result.node_types = await page.evaluate(() => window.app.graph.nodes.map((n) => n.type));
  result.node_errors_on_canvas = await page.evaluate(() =>
    window.app.graph.nodes.filter((n) => n.has_errors).map((n) => n.type),
  );

  step("click Run");
  const queued = page.waitForResponse(
    (r) => r.url().endsWith("/api/prompt") && r.request().method() === "POST",
  );
  await page.locator('[data-testid="queue-button"]').first().click();
  const response = await queued;
  result.prompt_status = response.status();
  const body = await response.json();
  result.prompt_response = body;
  if (response.status() !== 200) throw new Error(`/prompt refused the workflow: ${JSON.stringify(body)}`);
  result.prompt_id = body.prompt_id;

  step("wait for history");
  const deadline = Date.now() + timeout;
  for (;;) {
    const entry = await page.evaluate(async (id) => {
      const r = await fetch(`/api/history/${id}`);
      return (await r.json())[id] ?? null;
    }, result.prompt_id);
    if (entry?.status?.completed !== undefined && ["success", "error"].includes(entry.status.status_str)) {
      result.history_status = entry.status;
      break;
    }
    if (Date.now() > deadline) throw new Error("the prompt did not finish in time");
    await page.waitForTimeout(300);
  }

  // Let the UI draw the executed state (output previews), then frame every node for the picture.
  step("screenshot");
  await page.waitForTimeout(1500);
  await page.evaluate(async () => {
    try {
      await window.app.extensionManager.command.execute("Comfy.Canvas.FitView");
    } catch {
      window.app.canvas.ds.reset?.();
    }
    window.app.graph.setDirtyCanvas(true, true);
  });
  await page.waitForTimeout(800);
  await page.screenshot({ path: config.screenshot });
  step("done");
} catch (err) {
  failure = err;
  result.error = String(err?.stack ?? err);
  // A picture of the state the page got stuck in, next to the normal screenshot.
  await page?.screenshot({ path: config.screenshot.replace(/\.png$/, ".failed.png") }).catch(() => {});
} finally {
  writeFileSync(config.result, JSON.stringify(result, null, 1));
  await browser.close();
}
process.exit(failure ? 1 : 0);
