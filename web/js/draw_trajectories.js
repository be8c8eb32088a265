// Kinesonic "Draw Trajectories" editor: draws tracks on the first frame inside the node.
//
// The editor only edits the JSON state held in the node's hidden `editor` STRING widget (saved in
// the workflow). Every number the model sees is computed in Python (kinematics/keyframes.py); the
// per-frame positions drawn here (dots, scrubber) come from the pack's preview route, which runs
// that same Python code. Until an answer arrives the path is drawn as straight lines between keys.
//
// Mouse: click on the image = add a point to the selected track (at the end of its path);
// drag a point = move it; right-click a point = delete it. The selected point's time (frame) is set
// in the "key frame" box (empty = auto: passed on the way between timed keys at the easing's speed).
// Physics assist: mode "throw" = drag from the track's first point to set its initial velocity,
// mode "floor" = click to set the floor line; "simulate" asks the pack's simulator (Python) for the
// ballistic path with bounces and puts it into the track as timed keys, which stay editable.

const { app } = window.comfyAPI.app;
const { api } = window.comfyAPI.api;

const NODE_TYPE = "KinesonicDrawTrajectories";
const PREVIEW_ROUTE = "/kinesonic/draw_trajectories/preview";
const PHYSICS_ROUTE = "/kinesonic/draw_trajectories/physics";
const BALL_MATERIALS = ["rubber", "wood", "metal", "glass", "plastic"];
const FLOOR_MATERIALS = ["stone", "wood", "metal"];
const ARROW_SECONDS = 0.25; // the velocity arrow shows where the ball would be after this long without gravity
const ZOOMS = [1, 2, 3, 4, 6, 8, 12, 16];
const VIEW_HEIGHT = 400; // CSS pixels of the scrollable image area
const PANEL_HEIGHT = VIEW_HEIGHT + 180; // toolbar + image + key row + scrubber + status
const HIT_RADIUS = 8; // CSS pixels

function trackColour(i) {
  const hue = (i * 0.618033988749895) % 1;
  return hslToHex(hue, 0.9, 0.6);
}

function hslToHex(h, s, l) {
  const f = (n) => {
    const k = (n + h * 12) % 12;
    const a = s * Math.min(l, 1 - l);
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") e.style.cssText = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

const round2 = (v) => Math.round(v * 100) / 100;

class TrajectoryEditor {
  constructor(node) {
    this.node = node;
    this.widget = node.widgets.find((w) => w.name === "editor");
    this.selectedTrack = 0;
    this.selectedKey = -1;
    this.frame = 0;
    this.zoom = 0; // 0 = not chosen yet (set from the frame size)
    this.preview = null;
    this.previewKey = "";
    this.image = null; // HTMLImageElement or null
    this.imageSrc = "";
    this.drag = null;
    this.playing = null;
    this.stateText = null;
    this.state = null;
    this.build();
    this.readState();
  }

  // ------------------------------------------------------------------ state

  widgetValue(name) {
    return this.node.widgets.find((w) => w.name === name)?.value;
  }

  get numFrames() {
    return Math.max(1, Math.round(Number(this.widgetValue("num_frames")) || 1));
  }

  get fps() {
    return Number(this.widgetValue("fps")) || 16;
  }

  readState() {
    const text = this.widget.value;
    if (text === this.stateText && this.state) return this.state;
    let state;
    try {
      state = JSON.parse(text);
    } catch {
      state = null;
    }
    if (!state || typeof state !== "object" || !Array.isArray(state.tracks)) {
      state = { version: 1, width: 64, height: 64, tracks: [] };
    }
    state.version = 1;
    state.width = Math.max(1, Math.round(Number(state.width) || this.widgetValue("width") || 64));
    state.height = Math.max(1, Math.round(Number(state.height) || this.widgetValue("height") || 64));
    if (!state.tracks.length) state.tracks.push(this.newTrack(0));
    this.state = state;
    this.stateText = text;
    this.selectedTrack = Math.min(this.selectedTrack, state.tracks.length - 1);
    this.syncControls();
    return state;
  }

  commit() {
    // Write the state into the hidden widget (what the workflow saves and the prompt sends).
    const text = JSON.stringify(this.state);
    this.stateText = text;
    this.widget.value = text;
    this.widget.callback?.(text);
    this.node.setDirtyCanvas?.(true, true);
    this.syncControls();
    this.requestPreview();
    this.render();
  }

  newTrack(i) {
    return { name: `object ${i + 1}`, color: trackColour(i), easing: "linear", keys: [] };
  }

  get track() {
    return this.state.tracks[this.selectedTrack];
  }

  // ------------------------------------------------------------------ DOM

  build() {
    const btn = (label, action, title) =>
      el("button", { "data-action": action, title, style: "padding:1px 6px;font-size:12px" }, label);
    this.trackSelect = el("select", { class: "kdt-track", title: "Selected track", style: "max-width:120px" });
    this.colour = el("input", { type: "color", class: "kdt-colour", title: "Colour of the selected track" });
    this.easing = el(
      "select",
      { class: "kdt-easing", title: "How the object moves between two timed keys" },
      el("option", { value: "linear" }, "linear"),
      el("option", { value: "ease_in_out" }, "ease in-out"),
    );
    this.mode = el(
      "select",
      { class: "kdt-mode", title: "What a click on the image does" },
      el("option", { value: "points" }, "click: points"),
      el("option", { value: "throw" }, "drag: throw velocity"),
      el("option", { value: "floor" }, "click: floor line"),
    );
    this.material = el("select", { class: "kdt-material", title: "Material of the selected track's ball" });
    for (const m of BALL_MATERIALS) this.material.append(el("option", { value: m }, m));
    this.floorMaterial = el("select", { class: "kdt-floor-material", title: "Material of the floor" });
    for (const m of FLOOR_MATERIALS) this.floorMaterial.append(el("option", { value: m }, `${m} floor`));
    this.zoomSelect = el("select", { class: "kdt-zoom", title: "Zoom (1x = the frame's real pixels)" });
    for (const z of ZOOMS) this.zoomSelect.append(el("option", { value: String(z) }, `${z}x`));
    this.canvas = el("canvas", { class: "kdt-canvas", style: "display:block;cursor:crosshair" });
    this.view = el(
      "div",
      { class: "kdt-view", style: `overflow:auto;height:${VIEW_HEIGHT}px;background:#111;border:1px solid #444` },
      this.canvas,
    );
    this.keyFrame = el("input", {
      type: "number",
      class: "kdt-keyframe",
      min: "0",
      step: "1",
      placeholder: "auto",
      title: "Frame at which the object is at the selected point (empty = auto)",
      style: "width:64px",
    });
    this.keyLabel = el("span", { class: "kdt-keylabel", style: "min-width:150px" }, "no point selected");
    this.scrub = el("input", { type: "range", class: "kdt-scrub", min: "0", value: "0", style: "flex:1" });
    this.frameLabel = el("span", { class: "kdt-framelabel", style: "min-width:120px;text-align:right" });
    this.playButton = btn("▶", "play", "Play the motion");
    this.status = el("div", { class: "kdt-status", style: "min-height:16px;color:#f88;white-space:pre-wrap" });
    const row = (...c) =>
      el("div", { style: "display:flex;gap:4px;align-items:center;flex-wrap:wrap;margin:2px 0" }, ...c);
    this.root = el(
      "div",
      { class: "kinesonic-draw-trajectories", style: "font:12px sans-serif;color:#ddd;width:100%" },
      row(
        this.trackSelect,
        btn("+ track", "add-track", "Add a track (a new object)"),
        btn("delete track", "delete-track", "Delete the selected track"),
        this.colour,
        this.easing,
        el("span", {}, "zoom"),
        this.zoomSelect,
      ),
      this.view,
      row(
        this.keyLabel,
        el("span", {}, "key frame"),
        this.keyFrame,
        btn("auto", "auto-time", "Let the point's time follow from the path (constant speed)"),
        btn("delete point", "delete-key", "Delete the selected point"),
      ),
      row(
        el("span", {}, "physics"),
        this.mode,
        this.material,
        this.floorMaterial,
        btn("simulate", "simulate", "Fill the selected track with the ballistic path and bounces from its first point"),
      ),
      row(this.playButton, this.scrub, this.frameLabel),
      this.status,
    );
    this.root.addEventListener("click", (e) => {
      const action = e.target?.dataset?.action;
      if (action) this.onAction(action);
    });
    this.trackSelect.addEventListener("change", () => {
      this.selectedTrack = Number(this.trackSelect.value);
      this.selectedKey = -1;
      this.syncControls();
      this.render();
    });
    this.colour.addEventListener("input", () => {
      this.track.color = this.colour.value;
      this.commit();
    });
    this.easing.addEventListener("change", () => {
      this.track.easing = this.easing.value;
      this.commit();
    });
    this.material.addEventListener("change", () => {
      this.track.physics = { ...(this.track.physics ?? {}), material: this.material.value };
      this.commit();
    });
    this.floorMaterial.addEventListener("change", () => {
      this.state.floor_material = this.floorMaterial.value;
      this.commit();
    });
    this.zoomSelect.addEventListener("change", () => {
      this.zoom = Number(this.zoomSelect.value);
      this.render();
    });
    this.keyFrame.addEventListener("change", () => this.setKeyFrame(this.keyFrame.value));
    this.scrub.addEventListener("input", () => {
      this.frame = Number(this.scrub.value);
      this.render();
    });
    const stop = (e) => e.stopPropagation();
    for (const type of ["pointerdown", "pointermove", "pointerup", "contextmenu", "keydown", "wheel"]) {
      this.keyFrame.addEventListener(type, stop);
    }
    this.canvas.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    this.canvas.addEventListener("pointermove", (e) => this.onPointerMove(e));
    this.canvas.addEventListener("pointerup", (e) => this.onPointerUp(e));
    this.canvas.addEventListener("contextmenu", (e) => {
      e.preventDefault();
      e.stopPropagation();
    });
  }

  syncControls() {
    if (!this.state) return;
    const s = this.state;
    this.trackSelect.replaceChildren(
      ...s.tracks.map((t, i) => {
        const o = el("option", { value: String(i) }, `● ${t.name} (${t.keys.length})`);
        o.style.color = t.color || trackColour(i);
        return o;
      }),
    );
    this.trackSelect.value = String(this.selectedTrack);
    const t = this.track;
    this.colour.value = /^#[0-9a-f]{6}$/i.test(t?.color ?? "") ? t.color : trackColour(this.selectedTrack);
    this.easing.value = t?.easing ?? "linear";
    this.material.value = t?.physics?.material ?? "rubber";
    this.floorMaterial.value = s.floor_material ?? "stone";
    const last = this.numFrames - 1;
    this.scrub.max = String(last);
    this.frame = Math.min(this.frame, last);
    this.scrub.value = String(this.frame);
    this.keyFrame.max = String(last);
    const key = t?.keys[this.selectedKey];
    if (key) {
      this.keyLabel.textContent = `point ${this.selectedKey + 1}: (${round2(key.x)}, ${round2(key.y)}) px`;
      this.keyFrame.value = key.frame ?? "";
      this.keyFrame.disabled = false;
    } else {
      this.keyLabel.textContent = "no point selected";
      this.keyFrame.value = "";
      this.keyFrame.disabled = true;
    }
  }

  onAction(action) {
    const s = this.state;
    if (action === "add-track") {
      s.tracks.push(this.newTrack(s.tracks.length));
      this.selectedTrack = s.tracks.length - 1;
      this.selectedKey = -1;
    } else if (action === "delete-track") {
      s.tracks.splice(this.selectedTrack, 1);
      if (!s.tracks.length) s.tracks.push(this.newTrack(0));
      this.selectedTrack = Math.max(0, this.selectedTrack - 1);
      this.selectedKey = -1;
    } else if (action === "delete-key") {
      if (this.selectedKey < 0) return;
      this.track.keys.splice(this.selectedKey, 1);
      this.selectedKey = -1;
    } else if (action === "auto-time") {
      const key = this.track?.keys[this.selectedKey];
      if (!key) return;
      delete key.frame;
    } else if (action === "simulate") {
      this.simulate();
      return;
    } else if (action === "play") {
      this.togglePlay();
      return;
    } else {
      return;
    }
    this.commit();
  }

  setKeyFrame(text) {
    const key = this.track?.keys[this.selectedKey];
    if (!key) return;
    if (String(text).trim() === "") delete key.frame;
    else key.frame = Math.max(0, Math.min(this.numFrames - 1, Math.round(Number(text))));
    this.frame = key.frame ?? this.frame;
    this.commit();
  }

  async simulate() {
    const body = JSON.stringify({
      state: this.state,
      track: this.selectedTrack,
      num_frames: this.numFrames,
      fps: this.fps,
    });
    try {
      const r = await api.fetchApi(PHYSICS_ROUTE, { method: "POST", body });
      const answer = await r.json();
      if (!r.ok) {
        this.status.textContent = answer.error ?? `simulation failed (${r.status})`;
        return;
      }
      this.track.keys = answer.keys;
      this.selectedKey = -1;
      this.status.textContent = "";
      this.commit();
    } catch (err) {
      this.status.textContent = `simulation failed: ${err}`;
    }
  }

  setVelocity(p) {
    const start = this.track.keys[0];
    if (!start) return;
    this.track.physics = {
      material: "rubber",
      ...(this.track.physics ?? {}),
      vx: round2((p.x - start.x) / ARROW_SECONDS),
      vy: round2((p.y - start.y) / ARROW_SECONDS),
    };
  }

  togglePlay() {
    if (this.playing) {
      clearInterval(this.playing);
      this.playing = null;
      this.playButton.textContent = "▶";
      return;
    }
    this.playButton.textContent = "■";
    this.playing = setInterval(() => {
      this.frame = (this.frame + 1) % this.numFrames;
      this.scrub.value = String(this.frame);
      this.render();
    }, 1000 / this.fps);
  }

  // ------------------------------------------------------------------ mouse

  toFrame(e) {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) / r.width) * this.state.width,
      y: ((e.clientY - r.top) / r.height) * this.state.height,
      scale: r.width / this.state.width, // CSS pixels per frame pixel
    };
  }

  hit(p) {
    // The key under the pointer: the selected track first, then the others.
    const order = [this.selectedTrack, ...this.state.tracks.keys()].filter((v, i, a) => a.indexOf(v) === i);
    for (const ti of order) {
      const keys = this.state.tracks[ti]?.keys ?? [];
      for (let k = keys.length - 1; k >= 0; k--) {
        if (Math.hypot(keys[k].x - p.x, keys[k].y - p.y) * p.scale <= HIT_RADIUS) return [ti, k];
      }
    }
    return null;
  }

  onPointerDown(e) {
    e.preventDefault();
    e.stopPropagation();
    const p = this.toFrame(e);
    const found = this.hit(p);
    if (e.button === 2) {
      if (found) {
        this.selectedTrack = found[0];
        this.state.tracks[found[0]].keys.splice(found[1], 1);
        this.selectedKey = -1;
        this.commit();
      }
      return;
    }
    if (e.button !== 0) return;
    const mode = this.mode.value;
    if (mode === "floor") {
      this.state.floor_y = round2(Math.max(0, Math.min(this.state.height, p.y)));
      this.commit();
      return;
    }
    if (mode === "throw" && this.track.keys.length) {
      this.setVelocity(p);
      this.drag = { moved: true, throw: true };
      this.canvas.setPointerCapture?.(e.pointerId);
      this.commit();
      return;
    }
    if (found) {
      [this.selectedTrack, this.selectedKey] = found;
      this.drag = { moved: false };
      this.canvas.setPointerCapture?.(e.pointerId);
      this.syncControls();
      this.render();
      return;
    }
    const x = round2(Math.max(0, Math.min(this.state.width, p.x)));
    const y = round2(Math.max(0, Math.min(this.state.height, p.y)));
    this.track.keys.push({ x, y });
    this.selectedKey = this.track.keys.length - 1;
    this.commit();
  }

  onPointerMove(e) {
    if (!this.drag) return;
    e.stopPropagation();
    const p = this.toFrame(e);
    if (this.drag.throw) {
      this.setVelocity(p);
      this.render();
      return;
    }
    const key = this.track.keys[this.selectedKey];
    if (!key) return;
    key.x = round2(Math.max(0, Math.min(this.state.width, p.x)));
    key.y = round2(Math.max(0, Math.min(this.state.height, p.y)));
    this.drag.moved = true;
    this.syncControls();
    this.requestPreview();
    this.render();
  }

  onPointerUp(e) {
    if (!this.drag) return;
    e.stopPropagation();
    const moved = this.drag.moved;
    this.drag = null;
    this.canvas.releasePointerCapture?.(e.pointerId);
    if (moved) this.commit();
  }

  // ------------------------------------------------------------------ preview (Python)

  requestPreview() {
    const body = JSON.stringify({ state: this.state, num_frames: this.numFrames });
    if (body === this.previewKey) return;
    this.previewKey = body;
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(async () => {
      try {
        const r = await api.fetchApi(PREVIEW_ROUTE, { method: "POST", body });
        const answer = await r.json();
        if (body !== this.previewKey) return; // a newer request is on its way
        this.preview = r.ok ? answer : null;
        this.status.textContent = r.ok
          ? answer.tracks.map((t, i) => (t.error ? `${this.state.tracks[i]?.name}: ${t.error}` : "")).filter(Boolean).join("\n")
          : answer.error ?? `preview failed (${r.status})`;
      } catch (err) {
        this.status.textContent = `preview failed: ${err}`;
      }
      this.render();
    }, 30);
  }

  // ------------------------------------------------------------------ drawing

  findImage() {
    // The first frame: the connected image's own preview (e.g. Load Image), else the frame this
    // node reported when it last ran. Whichever changed last wins.
    const input = this.node.inputs?.find((i) => i.name === "image");
    const link = input?.link != null ? this.node.graph?.links?.[input.link] ?? this.node.graph?.links?.get?.(input.link) : null;
    const origin = link ? this.node.graph.getNodeById(link.origin_id) : null;
    const src = origin?.imgs?.[0]?.src || "";
    if (src && src !== this.originSrc) {
      this.originSrc = src;
      this.setImage(src);
    }
  }

  setImage(src) {
    if (!src || src === this.imageSrc) return;
    this.imageSrc = src;
    const img = new Image();
    img.onload = () => {
      if (this.imageSrc !== src) return;
      this.image = img;
      this.render();
    };
    img.src = src;
  }

  render() {
    if (this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      this.draw();
    });
  }

  draw() {
    const s = this.readState();
    this.findImage();
    // Keep an untouched drawing on the node's frame size.
    const w = Number(this.widgetValue("width")) || s.width;
    const h = Number(this.widgetValue("height")) || s.height;
    if (!s.tracks.some((t) => t.keys.length) && (s.width !== w || s.height !== h)) {
      s.width = w;
      s.height = h;
      this.commit();
      return;
    }
    if (this.numFrames - 1 !== Number(this.scrub.max)) this.syncControls();
    this.requestPreview();
    if (!this.zoom) {
      this.zoom = ZOOMS.filter((z) => z * Math.max(s.width, s.height) <= 384).pop() ?? 1;
      this.zoomSelect.value = String(this.zoom);
    }
    const z = this.zoom;
    const dpr = window.devicePixelRatio || 1;
    const cw = s.width * z;
    const ch = s.height * z;
    if (this.canvas.width !== Math.round(cw * dpr) || this.canvas.height !== Math.round(ch * dpr)) {
      this.canvas.width = Math.round(cw * dpr);
      this.canvas.height = Math.round(ch * dpr);
      this.canvas.style.width = `${cw}px`;
      this.canvas.style.height = `${ch}px`;
    }
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#202020";
    ctx.fillRect(0, 0, cw, ch);
    if (this.image) {
      ctx.imageSmoothingEnabled = false; // show the frame's real pixels when zoomed
      // A connected image of another size is shown the way `resize` fits it (the node's
      // first_frame output, which is what the run shows afterwards, is already fitted).
      const iw = this.image.naturalWidth || this.image.width;
      const ih = this.image.naturalHeight || this.image.height;
      const mode = this.widgetValue("resize") ?? "crop";
      if (mode === "crop") {
        const k = Math.min(iw / s.width, ih / s.height);
        const sw = s.width * k;
        const sh = s.height * k;
        ctx.drawImage(this.image, (iw - sw) / 2, (ih - sh) / 2, sw, sh, 0, 0, cw, ch);
      } else if (mode === "pad") {
        const k = Math.min(cw / iw, ch / ih);
        ctx.fillStyle = "#000";
        ctx.fillRect(0, 0, cw, ch);
        ctx.drawImage(this.image, (cw - iw * k) / 2, (ch - ih * k) / 2, iw * k, ih * k);
      } else {
        ctx.drawImage(this.image, 0, 0, cw, ch);
      }
    } else {
      ctx.fillStyle = "#888";
      ctx.fillText("connect an image (or run once) to see the first frame", 6, 14);
    }
    const P = (x, y) => [x * z, y * z];
    if (s.floor_y != null) {
      ctx.strokeStyle = "#ddd";
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(0, s.floor_y * z);
      ctx.lineTo(cw, s.floor_y * z);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    const previewTracks = this.preview?.num_frames === this.numFrames ? this.preview.tracks : [];
    s.tracks.forEach((t, ti) => {
      const colour = t.color || trackColour(ti);
      const selected = ti === this.selectedTrack;
      const pv = previewTracks[ti];
      const samples = pv?.points?.length ? pv.points : null;
      // the path: per-frame positions from Python (spacing = speed), else straight lines
      ctx.strokeStyle = colour;
      ctx.globalAlpha = selected ? 0.9 : 0.6;
      ctx.lineWidth = selected ? 2 : 1;
      ctx.beginPath();
      const line = samples ?? t.keys.map((k) => [k.x, k.y]);
      line.forEach(([x, y], i) => (i ? ctx.lineTo(...P(x, y)) : ctx.moveTo(...P(x, y))));
      ctx.stroke();
      if (samples) {
        ctx.fillStyle = colour;
        for (const [x, y] of samples) {
          ctx.beginPath();
          ctx.arc(...P(x, y), 1.8, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
      ctx.globalAlpha = 1;
      // key points with their frames (auto-timed ones in brackets)
      t.keys.forEach((k, ki) => {
        const [x, y] = P(k.x, k.y);
        ctx.fillStyle = colour;
        ctx.strokeStyle = selected && ki === this.selectedKey ? "#fff" : "#000";
        ctx.lineWidth = selected && ki === this.selectedKey ? 3 : 1;
        ctx.beginPath();
        ctx.rect(x - 4, y - 4, 8, 8);
        ctx.fill();
        ctx.stroke();
        if (!selected && t.keys.length > 8) return; // keep crowded (simulated) tracks readable
        const f = pv?.key_frames?.[ki];
        const label = k.frame != null ? `f${k.frame}` : f != null ? `(f${round2(f)})` : "(auto)";
        ctx.font = "11px sans-serif";
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#000";
        ctx.strokeText(label, x + 6, y - 6);
        ctx.fillStyle = "#fff";
        ctx.fillText(label, x + 6, y - 6);
      });
      // the throw velocity (physics assist): where the ball would be after ARROW_SECONDS without gravity
      const ph = t.physics;
      if (ph && (ph.vx || ph.vy) && t.keys[0]) {
        const [x0, y0] = P(t.keys[0].x, t.keys[0].y);
        const [x1, y1] = P(t.keys[0].x + ph.vx * ARROW_SECONDS, t.keys[0].y + ph.vy * ARROW_SECONDS);
        ctx.strokeStyle = colour;
        ctx.lineWidth = 2;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
        ctx.setLineDash([]);
        const a = Math.atan2(y1 - y0, x1 - x0);
        ctx.beginPath();
        ctx.moveTo(x1, y1);
        ctx.lineTo(x1 - 8 * Math.cos(a - 0.4), y1 - 8 * Math.sin(a - 0.4));
        ctx.lineTo(x1 - 8 * Math.cos(a + 0.4), y1 - 8 * Math.sin(a + 0.4));
        ctx.closePath();
        ctx.fillStyle = colour;
        ctx.fill();
      }
      // where the object is at the scrubber's frame
      const at = samples?.[this.frame];
      if (at) {
        const [x, y] = P(at[0], at[1]);
        ctx.fillStyle = colour;
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.arc(x, y, 6, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    });
    const seconds = this.frame / this.fps;
    this.frameLabel.textContent = `frame ${this.frame} / ${this.numFrames - 1} (${seconds.toFixed(2)} s)`;
  }
}

app.registerExtension({
  name: "Kinesonic.DrawTrajectories",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== NODE_TYPE) return;
    const created = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const r = created?.apply(this, arguments);
      const stateWidget = this.widgets.find((w) => w.name === "editor");
      if (stateWidget) stateWidget.hidden = true; // the JSON is edited by the editor below
      const editor = new TrajectoryEditor(this);
      this.kinesonicEditor = editor;
      this.addDOMWidget("trajectory_editor", "kinesonic_trajectory_editor", editor.root, {
        serialize: false,
        hideOnZoom: false,
        getMinHeight: () => PANEL_HEIGHT,
      });
      const [w, h] = this.size;
      this.setSize([Math.max(w, 460), Math.max(h, PANEL_HEIGHT + 160)]);
      editor.render();
      return r;
    };
    const configure = nodeType.prototype.onConfigure;
    nodeType.prototype.onConfigure = function () {
      const r = configure?.apply(this, arguments);
      this.kinesonicEditor?.readState();
      this.kinesonicEditor?.render();
      return r;
    };
    const executed = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const r = executed?.apply(this, arguments);
      const frame = message?.kinesonic_frame?.[0];
      if (frame) this.kinesonicEditor?.setImage(frame);
      return r;
    };
    const widgetChanged = nodeType.prototype.onWidgetChanged;
    nodeType.prototype.onWidgetChanged = function () {
      const r = widgetChanged?.apply(this, arguments);
      this.kinesonicEditor?.render();
      return r;
    };
    const removed = nodeType.prototype.onRemoved;
    nodeType.prototype.onRemoved = function () {
      if (this.kinesonicEditor?.playing) clearInterval(this.kinesonicEditor.playing);
      return removed?.apply(this, arguments);
    };
  },
});
