// Draws two trajectories in the Draw Trajectories editor with the mouse, like an artist, and runs
// the main template: drop workflows/image_to_sounding_video.json on the canvas, clear the editor,
// click points, drag one, type key times, pick an easing, add a Save Tracks node on the drawn
// tracks (to read back what the generator got), click Run, scrub to a frame, take pictures.
//
//   node draw_trajectories.mjs <config.json>
//
// config: {"url", "workflow", "screenshot" (editor PNG), "page_screenshot" (whole page PNG),
//          "result" (JSON), "chromium", "timeout_ms", "steps" (sampler steps set on Generate),
//          "tracks_prefix" (Save Tracks filename_prefix),
//          "draw": [{"points": [[x, y], ...], "frames": {index: frame}, "easing", "drag": [i, [x, y]]}],
//          "throw": {"start": [x, y], "floor_y": y, "velocity_to": [x, y], "material"} (optional: a
//          third track made with the physics assist), "scrub_frame"}
// Points are in pixels of the editor's frame; the script turns them into mouse positions from
// the canvas's bounding box. The result JSON holds the state the editor wrote, the saved workflow
// (app.graph.serialize()), the prompt id and the console errors.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const timeout = config.timeout_ms ?? 240000;
const result = { steps: [], console_errors: [], page_errors: [], failed_requests: [] };
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
  page.on("response", (r) => {
    if (r.status() >= 400) result.failed_requests.push(`${r.status()} ${r.url()}`);
  });

  step("open UI");
  await page.goto(config.url, { waitUntil: "load" });
  await page.waitForFunction(() => window.app?.graph && document.querySelector("#graph-canvas"));
  await page.locator('[data-testid="queue-button"]').first().waitFor({ state: "visible" });
  try {
    const banner = page.getByText("Introducing Nodes 2.0").locator("xpath=../..");
    await banner.locator("button").last().click({ timeout: 3000 });
  } catch {
    // no banner in this frontend version
  }

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
    (want) => JSON.stringify(window.app.graph.nodes.map((n) => n.type).sort()) === JSON.stringify(want),
    wantTypes,
  );

  step("add Save Tracks on the drawn tracks, set steps, frame the editor");
  await page.evaluate(
    ({ steps, prefix }) => {
      const graph = window.app.graph;
      const draw = graph.nodes.find((n) => n.type === "KinesonicDrawTrajectories");
      const gen = graph.nodes.find((n) => n.type === "KinesonicGenerate");
      gen.widgets.find((w) => w.name === "steps").value = steps;
      const save = window.LiteGraph.createNode("KinesonicSaveTracks");
      save.pos = [draw.pos[0], draw.pos[1] + draw.size[1] + 60];
      graph.add(save);
      draw.connect(0, save, 0);
      save.widgets.find((w) => w.name === "filename_prefix").value = prefix;
      const ds = window.app.canvas.ds;
      ds.scale = 1;
      ds.offset[0] = -draw.pos[0] + 120;
      ds.offset[1] = -draw.pos[1] + 60;
      window.app.canvas.setDirty(true, true);
    },
    { steps: config.steps, prefix: config.tracks_prefix },
  );
  const editor = page.locator(".kinesonic-draw-trajectories");
  await editor.waitFor({ state: "visible" });
  await page.waitForTimeout(500);

  step("clear the editor");
  await editor.locator('[data-action="delete-track"]').click();
  await page.waitForFunction(() => {
    const draw = window.app.graph.nodes.find((n) => n.type === "KinesonicDrawTrajectories");
    const s = JSON.parse(draw.widgets.find((w) => w.name === "editor").value);
    return s.tracks.length === 1 && s.tracks[0].keys.length === 0;
  });

  const canvas = editor.locator("canvas.kdt-canvas");
  const state = async () =>
    page.evaluate(() => {
      const draw = window.app.graph.nodes.find((n) => n.type === "KinesonicDrawTrajectories");
      return JSON.parse(draw.widgets.find((w) => w.name === "editor").value);
    });
  const at = async ([x, y]) => {
    const box = await canvas.boundingBox();
    const s = await state();
    return [box.x + (x / s.width) * box.width, box.y + (y / s.height) * box.height];
  };
  const setKeyFrame = async (frame) => {
    const input = editor.locator("input.kdt-keyframe");
    await input.fill(String(frame));
    await input.press("Enter");
    await input.blur();
  };

  for (const [ti, track] of config.draw.entries()) {
    step(`draw track ${ti + 1}`);
    if (ti > 0) await editor.locator('[data-action="add-track"]').click();
    for (const point of track.points) {
      const [cx, cy] = await at(point);
      await page.mouse.click(cx, cy);
      await page.waitForTimeout(80);
    }
    if (track.drag) {
      const [index, to] = track.drag;
      const [fx, fy] = await at(track.points[index]);
      const [tx, ty] = await at(to);
      await page.mouse.move(fx, fy);
      await page.mouse.down();
      await page.mouse.move((fx + tx) / 2, (fy + ty) / 2, { steps: 4 });
      await page.mouse.move(tx, ty, { steps: 4 });
      await page.mouse.up();
      track.points[index] = to;
    }
    for (const [index, frame] of Object.entries(track.frames ?? {})) {
      const [cx, cy] = await at(track.points[Number(index)]);
      await page.mouse.click(cx, cy); // select the point (no new point: it is under the pointer)
      await setKeyFrame(frame);
    }
    if (track.easing) await editor.locator("select.kdt-easing").selectOption(track.easing);
  }
  if (config.throw) {
    step("physics assist: place, floor, throw, simulate");
    const th = config.throw;
    await editor.locator('[data-action="add-track"]').click();
    await editor.locator("select.kdt-mode").selectOption("points");
    let [cx, cy] = await at(th.start);
    await page.mouse.click(cx, cy);
    await editor.locator("select.kdt-mode").selectOption("floor");
    [cx, cy] = await at([th.start[0], th.floor_y]);
    await page.mouse.click(cx, cy);
    await editor.locator("select.kdt-mode").selectOption("throw");
    const [sx, sy] = await at(th.start);
    const [vx, vy] = await at(th.velocity_to);
    await page.mouse.move(sx, sy);
    await page.mouse.down();
    await page.mouse.move(vx, vy, { steps: 5 });
    await page.mouse.up();
    await editor.locator("select.kdt-material").selectOption(th.material);
    await editor.locator('[data-action="simulate"]').click();
    await page.waitForFunction((n) => {
      const draw = window.app.graph.nodes.find((n) => n.type === "KinesonicDrawTrajectories");
      const s = JSON.parse(draw.widgets.find((w) => w.name === "editor").value);
      return s.tracks.length === n && s.tracks[n - 1].keys.length > 2;
    }, config.draw.length + 1);
    await editor.locator("select.kdt-mode").selectOption("points");
  }
  result.state = await state();
  result.zoom = await editor.locator("select.kdt-zoom").inputValue();

  step("click Run");
  const queued = page.waitForResponse((r) => r.url().endsWith("/api/prompt") && r.request().method() === "POST");
  await page.locator('[data-testid="queue-button"]').first().click();
  const response = await queued;
  result.prompt_status = response.status();
  result.prompt_response = await response.json();
  if (response.status() !== 200) throw new Error(`/prompt refused: ${JSON.stringify(result.prompt_response)}`);
  result.prompt_id = result.prompt_response.prompt_id;
  result.workflow = await page.evaluate(() => window.app.graph.serialize());

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

  step("scrub and take pictures");
  await page.waitForFunction(() => {
    const draw = window.app.graph.nodes.find((n) => n.type === "KinesonicDrawTrajectories");
    return draw.kinesonicEditor?.image != null;
  });
  await editor.locator("input.kdt-scrub").evaluate((input, frame) => {
    input.value = String(frame);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }, config.scrub_frame);
  await page.waitForTimeout(600);
  result.frame_label = await editor.locator(".kdt-framelabel").textContent();
  result.status_text = await editor.locator(".kdt-status").textContent();
  await editor.screenshot({ path: config.screenshot });
  await page.evaluate(async () => {
    try {
      await window.app.extensionManager.command.execute("Comfy.Canvas.FitView");
    } catch {
      window.app.canvas.ds.reset?.();
    }
    window.app.graph.setDirtyCanvas(true, true);
  });
  await page.waitForTimeout(800);
  await page.screenshot({ path: config.page_screenshot });
  step("drop the generated mp4 on an empty canvas");
  // The mp4 carries the prompt and the workflow: dropping it restores the graph (as core SaveVideo's).
  const mp4 = await page.evaluate(async (id) => {
    const entry = (await (await fetch(`/api/history/${id}`)).json())[id];
    for (const out of Object.values(entry.outputs)) {
      for (const f of out.images ?? []) {
        if (f.filename.endsWith(".mp4")) {
          const q = new URLSearchParams({ filename: f.filename, subfolder: f.subfolder, type: f.type });
          const bytes = new Uint8Array(await (await fetch(`/api/view?${q}`)).arrayBuffer());
          return { name: f.filename, bytes: Array.from(bytes) };
        }
      }
    }
    return null;
  }, result.prompt_id);
  if (!mp4) throw new Error("no mp4 in the run's outputs");
  const ranTypes = result.workflow.nodes.map((n) => n.type).sort();
  const ranState = await state();
  const mp4Transfer = await page.evaluateHandle(({ name, bytes }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], name, { type: "video/mp4" }));
    return dt;
  }, mp4);
  await page.evaluate(() => window.app.graph.clear());
  await page.locator("#graph-canvas").dispatchEvent("dragover", { dataTransfer: mp4Transfer });
  await page.locator("#graph-canvas").dispatchEvent("drop", { dataTransfer: mp4Transfer });
  await page.waitForFunction(
    (want) => JSON.stringify(window.app.graph.nodes.map((n) => n.type).sort()) === JSON.stringify(want),
    ranTypes,
    { timeout: 30000 },
  );
  result.restored_types = await page.evaluate(() => window.app.graph.nodes.map((n) => n.type));
  result.restored_state = await state();
  result.state_before_drop = ranState;
  step("done");
} catch (err) {
  failure = err;
  result.error = String(err?.stack ?? err);
  await page?.screenshot({ path: config.screenshot.replace(/\.png$/, ".failed.png") }).catch(() => {});
} finally {
  writeFileSync(config.result, JSON.stringify(result, null, 1));
  await browser.close();
}
process.exit(failure ? 1 : 0);
