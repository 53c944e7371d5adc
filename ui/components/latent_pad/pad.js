// Latent pad: a Streamlit Components-v2 widget (ES module, no build step).
//
// The student drags a probe through the 2-D latent space; the browser decodes the probe with the
// decoder's own weights (shipped once per weights version) so the digit follows the pointer at
// display rate, and z goes back to Python throttled while dragging and always on release.
//
// Data from Python (see ui/components/latent_pad.py for the exact shape) only ever arrives through
// `component.data`; nothing the user typed is ever spliced into this source. Text reaches the DOM
// through textContent / canvas fillText, never innerHTML.
//
// State written back (component state, persists across reruns):
//   z            [x, y]          the probe position, rounded to 1e-4
//   z_arg        [x, y]          the `z` argument this position is relative to (see latent_pad.py)
//   weights_ack  string | null   the weights version this browser holds (null = please resend)

const REPORT_INTERVAL_MS = 50; // DESIGN.md §4: z goes back throttled (~50 ms) while dragging
const KEY_STEP = 0.02; // arrow keys move 2 % of the axis range ...
const KEY_STEP_SHIFT = 0.1; // ... and 10 % with Shift
const IMAGE_SIDE = 28;
const PAYLOAD_FORMAT = "aae-mlp-v1";
const MARGIN = { left: 40, right: 12, top: 10, bottom: 26 }; // CSS px around the square plot

// ---------------------------------------------------------------------------------------------
// Decoder weights: base64 -> Float32Array, and the MLP forward pass.
// ---------------------------------------------------------------------------------------------

let halfLut = null;

// float16 bit pattern -> float32 value, for all 65536 patterns (built once, ~0.3 ms).
function halfToFloatTable() {
  if (halfLut) return halfLut;
  halfLut = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v;
    if (exp === 0) v = sign * frac * 2 ** -24; // subnormal
    else if (exp === 31) v = frac ? NaN : sign * Infinity;
    else v = sign * (1 + frac / 1024) * 2 ** (exp - 15);
    halfLut[h] = v;
  }
  return halfLut;
}

function base64ToBytes(b64) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(b64);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// Little-endian float16/float32 base64 -> a fresh Float32Array of length n.
export function decodeFloats(b64, dtype, n) {
  const bytes = base64ToBytes(b64);
  const width = dtype === "float16" ? 2 : dtype === "float32" ? 4 : 0;
  if (!width) throw new Error(`unknown dtype ${dtype}`);
  if (bytes.byteLength !== n * width) {
    throw new Error(`expected ${n} ${dtype} values, got ${bytes.byteLength} bytes`);
  }
  // Copy into an aligned buffer: a typed-array view needs offset % width == 0.
  const aligned = new Uint8Array(n * width);
  aligned.set(bytes);
  if (width === 4) return new Float32Array(aligned.buffer);
  const halves = new Uint16Array(aligned.buffer);
  const lut = halfToFloatTable();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lut[halves[i]];
  return out;
}

const parsedPayloads = new WeakMap();

// Payload (as built by latent_pad.encode_decoder_weights) -> a ready-to-run network.
// Each layer keeps W transposed, shape (in, out) row-major, so the inner loop of the forward pass
// (one input unit times one weight row) walks memory contiguously.
export function parseNetwork(payload) {
  if (!payload || typeof payload !== "object") throw new Error("no weights payload");
  const cached = parsedPayloads.get(payload);
  if (cached) return cached;
  if (payload.format !== PAYLOAD_FORMAT) throw new Error(`unknown weights format ${payload.format}`);
  const layers = [];
  let width = 2;
  let maxWidth = 2;
  for (const layer of payload.layers || []) {
    const [nOut, nIn] = layer.shape;
    if (nIn !== width) throw new Error(`layer expects ${nIn} inputs, previous gives ${width}`);
    layers.push({
      nIn,
      nOut,
      wT: decodeFloats(layer.w, payload.dtype, nIn * nOut),
      b: decodeFloats(layer.b, payload.dtype, nOut),
    });
    width = nOut;
    maxWidth = Math.max(maxWidth, nOut);
  }
  if (!layers.length) throw new Error("weights payload has no layers");
  if (width !== IMAGE_SIDE * IMAGE_SIDE) throw new Error(`decoder outputs ${width} values, not 784`);
  const net = {
    layers,
    // Activations accumulate in float64: cheaper than rounding every partial sum to float32 and
    // closer to PyTorch's own float32 result than a float32 accumulator would be.
    bufA: new Float64Array(maxWidth),
    bufB: new Float64Array(maxWidth),
    out: new Float32Array(width),
  };
  parsedPayloads.set(payload, net);
  return net;
}

// x = sigmoid(W3 relu(W2 relu(W1 z + b1) + b2) + b3), written into net.out (length 784).
export function forward(net, z0, z1) {
  const { layers } = net;
  let x = net.bufA;
  let y = net.bufB;
  x[0] = z0;
  x[1] = z1;
  const last = layers.length - 1;
  for (let l = 0; l <= last; l++) {
    const { nIn, nOut, wT, b } = layers[l];
    for (let o = 0; o < nOut; o++) y[o] = b[o];
    for (let i = 0; i < nIn; i++) {
      const xi = x[i];
      if (xi === 0) continue; // ReLU zeroes about half the hidden units: skip their rows
      const row = i * nOut;
      for (let o = 0; o < nOut; o++) y[o] += xi * wT[row + o];
    }
    if (l < last) {
      for (let o = 0; o < nOut; o++) if (y[o] < 0) y[o] = 0;
    }
    const t = x;
    x = y;
    y = t;
  }
  const out = net.out;
  for (let o = 0; o < out.length; o++) out[o] = 1 / (1 + Math.exp(-x[o]));
  return out;
}

// Decode one latent point: payload as sent by Python, z = [x, y]; returns a new Float32Array(784),
// row-major 28x28, 1 = ink.
export function decode(payload, z) {
  return forward(parseNetwork(payload), z[0], z[1]).slice();
}

// Test and benchmark hook (tests/test_components_browser.py, benchmarks/ui_drag_decode.py): the very
// decode the pad runs, callable from page.evaluate with plain JSON arguments.
globalThis.__aaeDecode = (payload, z) => Array.from(decode(payload, z));

// ---------------------------------------------------------------------------------------------
// Drawing helpers
// ---------------------------------------------------------------------------------------------

function niceStep(range, target) {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

function cssVar(el, name, fallback) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v && v !== "unset" ? v : fallback;
}

function fmt(v) {
  const r = v.toFixed(2);
  return r === "-0.00" ? "0.00" : r;
}

function sameXY(a, b) {
  return Array.isArray(a) && Array.isArray(b) && a[0] === b[0] && a[1] === b[1];
}

const round4 = (v) => Math.round(v * 1e4) / 1e4;

// Weights survive a remount of the same pad (same Streamlit key) within one page load, so the
// browser never needs a resend just because React re-created the element.
const weightMemory = new Map(); // key -> { version, net }

// ---------------------------------------------------------------------------------------------
// One mounted pad
// ---------------------------------------------------------------------------------------------

class Pad {
  constructor(root) {
    const q = (sel) => root.querySelector(sel);
    this.el = q(".aae-pad");
    this.canvas = q(".aae-pad-canvas");
    this.coords = q(".aae-pad-coords");
    this.digit = q(".aae-pad-decoded");
    this.status = q(".aae-pad-status");
    this.legend = q(".aae-pad-legend");
    this.help = q(".aae-pad-help");
    this.caption = q(".aae-pad-caption");
    this.ctx = this.canvas.getContext("2d");
    this.digitCtx = this.digit.getContext("2d");
    this.digitImage = this.digitCtx.createImageData(IMAGE_SIDE, IMAGE_SIDE);
    this.bg = document.createElement("canvas");

    this.setStateValue = () => {};
    this.key = "";
    this.lo = -1;
    this.hi = 1;
    this.maxSide = 360;
    this.pos = null; // [x, y], set from data on the first update
    this.zArg = null;
    this.zArgReported = false;
    this.net = null;
    this.version = null;
    this.requestedVersion = undefined;
    this.lastData = null;
    this.codes = null; // { n, xy: Float32Array(2n), labels: Uint8Array(n) }
    this.codesSource = null;
    this.markers = [];
    this.path = [];
    this.palette = [];
    this.showDecoded = true;
    this.dragging = false;
    this.lastReport = -Infinity;
    this.reportTimer = 0;
    this.raf = 0;
    this.bgDirty = true;
    this.digitDirty = true;
    this.geom = null;

    this.onPointerDown = this.onPointerDown.bind(this);
    this.onPointerMove = this.onPointerMove.bind(this);
    this.onPointerUp = this.onPointerUp.bind(this);
    this.onKeyDown = this.onKeyDown.bind(this);
    this.frame = this.frame.bind(this);
    this.canvas.addEventListener("pointerdown", this.onPointerDown);
    this.canvas.addEventListener("pointermove", this.onPointerMove);
    this.canvas.addEventListener("pointerup", this.onPointerUp);
    this.canvas.addEventListener("pointercancel", this.onPointerUp);
    this.canvas.addEventListener("keydown", this.onKeyDown);
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.el);
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.canvas.removeEventListener("pointerdown", this.onPointerDown);
    this.canvas.removeEventListener("pointermove", this.onPointerMove);
    this.canvas.removeEventListener("pointerup", this.onPointerUp);
    this.canvas.removeEventListener("pointercancel", this.onPointerUp);
    this.canvas.removeEventListener("keydown", this.onKeyDown);
    if (this.raf) cancelAnimationFrame(this.raf);
    clearTimeout(this.reportTimer);
  }

  // -- data from Python ------------------------------------------------------------------------

  update(data) {
    const fresh = data !== this.lastData;
    this.lastData = data;
    this.key = String(data.key ?? "");
    const [lo, hi] = data.bounds || [-1, 1];
    if (lo !== this.lo || hi !== this.hi) {
      this.lo = lo;
      this.hi = hi;
      if (this.pos) this.pos = this.clamp(this.pos);
      this.bgDirty = true;
    }
    this.maxSide = data.height || 360;
    this.readTheme();
    this.help.textContent = data.help || "";
    this.caption.textContent = data.caption || "decoder(z)";
    this.showDecoded = data.show_decoded !== false;
    this.el.classList.toggle("no-decoded", !this.showDecoded);
    this.palette = data.palette || [];

    if (data.codes !== this.codesSource) {
      this.codesSource = data.codes;
      this.codes = null;
      if (data.codes && data.codes.n > 0) {
        const n = data.codes.n;
        this.codes = {
          n,
          xy: decodeFloats(data.codes.xy, data.codes.dtype, 2 * n),
          labels: data.codes.labels ? base64ToBytes(data.codes.labels) : null,
        };
      }
      this.bgDirty = true;
    }
    this.updateLegend(this.codes && this.codes.labels ? this.palette : [], data.label_names || null);
    this.markers = data.markers || [];
    this.path = data.path || [];
    this.bgDirty = true;

    this.updateWeights(data, fresh);
    this.updateProbe(data.z || [0, 0]);
    this.layout();
  }

  updateWeights(data, fresh) {
    const version = data.weights_version ?? null;
    let status = "";
    if (data.weights) {
      try {
        this.net = parseNetwork(data.weights);
        this.version = version;
        weightMemory.set(this.key, { version, net: this.net });
        // Python only sends weights when the acknowledged version differs; acknowledge every fresh
        // delivery (a re-invocation with the same data object, e.g. on a theme change, is not one).
        if (fresh && version !== null) this.setStateValue("weights_ack", version);
      } catch (err) {
        this.net = null;
        status = `Could not load the decoder: ${err.message}`;
      }
    } else if (version === null) {
      this.net = null;
      this.version = null;
      // A pad without its own digit (show_decoded=False) is a pure probe: nothing to wait for.
      status = this.showDecoded ? "No decoder yet: train or load a model." : "";
    } else if (version !== this.version) {
      const remembered = weightMemory.get(this.key);
      if (remembered && remembered.version === version) {
        this.net = remembered.net;
        this.version = version;
      } else {
        // Python believes we hold this version but we do not (e.g. a remount lost it): ask again.
        status = "Loading the decoder…";
        if (this.requestedVersion !== version) {
          this.requestedVersion = version;
          this.setStateValue("weights_ack", null);
        }
      }
    }
    this.status.textContent = status;
    this.digitDirty = true;
  }

  updateProbe(zArg) {
    const arg = [Number(zArg[0]) || 0, Number(zArg[1]) || 0];
    if (this.pos === null) {
      this.pos = this.clamp(arg);
      this.zArg = arg;
      return;
    }
    if (!sameXY(arg, this.zArg)) {
      // Python moved the probe on purpose (a new `z` argument): follow it unless the student is
      // holding the probe right now, and tell Python where we are relative to which argument.
      this.zArg = arg;
      if (!this.dragging) {
        this.pos = this.clamp(arg);
        this.digitDirty = true;
        this.sendReport();
      }
    }
  }

  readTheme() {
    this.colors = {
      text: cssVar(this.el, "--st-text-color", "#31333f"),
      primary: cssVar(this.el, "--st-primary-color", "#ff4b4b"),
      bg: cssVar(this.el, "--st-background-color", "#ffffff"),
      font: cssVar(this.el, "--st-font", "sans-serif"),
    };
  }

  // One swatch per label colour, shown only when the scatter is coloured by label.
  updateLegend(palette, names) {
    const sig = JSON.stringify([palette, names]);
    if (sig === this.legendSig) return;
    this.legendSig = sig;
    this.legend.replaceChildren();
    palette.forEach((color, i) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = color;
      li.append(sw, document.createTextNode(names && names[i] != null ? String(names[i]) : String(i)));
      this.legend.append(li);
    });
  }

  // -- geometry --------------------------------------------------------------------------------

  layout() {
    const avail = this.el.clientWidth || this.maxSide;
    const side = Math.max(120, Math.min(this.maxSide, avail));
    const plot = Math.max(60, side - Math.max(MARGIN.left + MARGIN.right, MARGIN.top + MARGIN.bottom));
    const w = MARGIN.left + plot + MARGIN.right;
    const h = MARGIN.top + plot + MARGIN.bottom;
    const dpr = window.devicePixelRatio || 1;
    const g = this.geom;
    if (!g || g.w !== w || g.h !== h || g.dpr !== dpr) {
      this.geom = { w, h, plot, dpr, left: MARGIN.left, top: MARGIN.top };
      for (const c of [this.canvas, this.bg]) {
        c.width = Math.round(w * dpr);
        c.height = Math.round(h * dpr);
      }
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
      // Geometry for tests and for anyone mapping pixels to z: plot box in CSS px.
      Object.assign(this.canvas.dataset, {
        plotLeft: String(MARGIN.left),
        plotTop: String(MARGIN.top),
        plotSize: String(plot),
        lo: String(this.lo),
        hi: String(this.hi),
      });
      this.bgDirty = true;
    }
    this.canvas.dataset.lo = String(this.lo);
    this.canvas.dataset.hi = String(this.hi);
    this.requestFrame();
  }

  toPx(x, y) {
    const { left, top, plot } = this.geom;
    const s = plot / (this.hi - this.lo);
    return [left + (x - this.lo) * s, top + (this.hi - y) * s];
  }

  fromEvent(e) {
    const rect = this.canvas.getBoundingClientRect();
    const { left, top, plot, w } = this.geom;
    const css = w / (rect.width || w); // 1 unless CSS squeezed the canvas (max-width: 100%)
    const s = (this.hi - this.lo) / plot;
    const x = this.lo + ((e.clientX - rect.left) * css - left) * s;
    const y = this.hi - ((e.clientY - rect.top) * css - top) * s;
    return this.clamp([x, y]);
  }

  clamp([x, y]) {
    const c = (v) => Math.min(this.hi, Math.max(this.lo, v));
    return [c(x), c(y)];
  }

  // -- interaction -----------------------------------------------------------------------------

  moveTo(p) {
    this.pos = p;
    this.digitDirty = true;
    this.requestFrame();
  }

  onPointerDown(e) {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    if (!this.geom) return;
    e.preventDefault();
    // Focus for the arrow keys, but keep the focus ring for keyboard users (see pad.css).
    this.canvas.dataset.pointerFocus = "";
    this.canvas.focus({ preventScroll: true });
    this.canvas.setPointerCapture(e.pointerId);
    this.dragging = true;
    this.canvas.classList.add("dragging");
    this.moveTo(this.fromEvent(e));
    this.scheduleReport();
  }

  onPointerMove(e) {
    if (!this.dragging) return;
    this.moveTo(this.fromEvent(e));
    this.scheduleReport();
  }

  onPointerUp(e) {
    if (!this.dragging) return;
    if (e.type === "pointerup") this.moveTo(this.fromEvent(e));
    this.dragging = false;
    this.canvas.classList.remove("dragging");
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    this.sendReport(); // always report the release position
  }

  onKeyDown(e) {
    const dirs = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    const d = dirs[e.key];
    if (!d) return;
    e.preventDefault();
    delete this.canvas.dataset.pointerFocus;
    const step = (e.shiftKey ? KEY_STEP_SHIFT : KEY_STEP) * (this.hi - this.lo);
    this.moveTo(this.clamp([this.pos[0] + d[0] * step, this.pos[1] + d[1] * step]));
    this.scheduleReport();
  }

  // Throttle with a trailing report, so the last position of a burst always reaches Python.
  scheduleReport() {
    const wait = this.lastReport + REPORT_INTERVAL_MS - performance.now();
    if (wait <= 0) this.sendReport();
    else if (!this.reportTimer) this.reportTimer = setTimeout(() => this.sendReport(), wait);
  }

  sendReport() {
    clearTimeout(this.reportTimer);
    this.reportTimer = 0;
    this.lastReport = performance.now();
    if (!this.zArgReported || !sameXY(this.reportedArg, this.zArg)) {
      this.zArgReported = true;
      this.reportedArg = this.zArg;
      this.setStateValue("z_arg", this.zArg);
    }
    this.setStateValue("z", [round4(this.pos[0]), round4(this.pos[1])]);
  }

  // -- rendering -------------------------------------------------------------------------------

  requestFrame() {
    if (!this.raf) this.raf = requestAnimationFrame(this.frame);
  }

  frame() {
    this.raf = 0;
    if (!this.geom || !this.pos) return;
    if (this.bgDirty) this.drawBackground();
    const { ctx } = this;
    const { dpr } = this.geom;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.bg, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawProbe(ctx);
    this.coords.textContent = `z = (${fmt(this.pos[0])}, ${fmt(this.pos[1])})`;
    this.canvas.setAttribute("aria-valuetext", this.coords.textContent);
    if (this.digitDirty) this.drawDigit();
  }

  drawBackground() {
    this.bgDirty = false;
    const ctx = this.bg.getContext("2d");
    const { dpr, w, h, left, top, plot } = this.geom;
    const { text, bg, font } = this.colors;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, w, h);

    // Grid, zero axes and tick labels over the same square range on both axes.
    const step = niceStep(this.hi - this.lo, plot < 220 ? 4 : 6);
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    ctx.lineWidth = 1;
    ctx.font = `13px ${font}`;
    ctx.fillStyle = text;
    for (let v = Math.ceil(this.lo / step - 1e-9) * step; v <= this.hi + 1e-9; v += step) {
      const [px, py] = this.toPx(v, v);
      const zero = Math.abs(v) < step * 1e-6;
      ctx.strokeStyle = text;
      ctx.globalAlpha = zero ? 0.3 : 0.09;
      ctx.beginPath();
      ctx.moveTo(Math.round(px) + 0.5, top);
      ctx.lineTo(Math.round(px) + 0.5, top + plot);
      ctx.moveTo(left, Math.round(py) + 0.5);
      ctx.lineTo(left + plot, Math.round(py) + 0.5);
      ctx.stroke();
      ctx.globalAlpha = 0.75;
      const label = (zero ? 0 : v).toFixed(decimals).replace("-", "\u2212"); // typographic minus
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillText(label, px, top + plot + 6);
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ctx.fillText(label, left - 6, py);
    }
    ctx.globalAlpha = 0.3;
    ctx.strokeStyle = text;
    ctx.strokeRect(left + 0.5, top + 0.5, plot - 1, plot - 1);

    // Held-out codes: a faint scatter, one path per label so each colour is one fill call.
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, plot, plot);
    ctx.clip();
    if (this.codes) {
      const { n, xy, labels } = this.codes;
      const r = n > 5000 ? 1.4 : 2.2;
      const byLabel = labels !== null && this.palette.length > 0;
      const groups = byLabel ? this.palette.length : 1;
      ctx.globalAlpha = 0.45;
      for (let g = 0; g < groups; g++) {
        ctx.fillStyle = byLabel ? this.palette[g] : text;
        ctx.beginPath();
        for (let i = 0; i < n; i++) {
          if (byLabel && labels[i] % groups !== g) continue;
          const [px, py] = this.toPx(xy[2 * i], xy[2 * i + 1]);
          ctx.moveTo(px + r, py);
          ctx.arc(px, py, r, 0, 2 * Math.PI);
        }
        ctx.fill();
      }
    }
    // Optional polyline (e.g. an interpolation path) and labelled markers.
    ctx.globalAlpha = 0.8;
    if (this.path.length > 1) {
      ctx.strokeStyle = text;
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      this.path.forEach(([x, y], i) => {
        const [px, py] = this.toPx(x, y);
        if (i) ctx.lineTo(px, py);
        else ctx.moveTo(px, py);
      });
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.restore();
    ctx.globalAlpha = 1;
    for (const m of this.markers) {
      const [px, py] = this.toPx(m.x, m.y);
      if (px < left - 1 || px > left + plot + 1 || py < top - 1 || py > top + plot + 1) continue;
      const s = 7;
      ctx.beginPath();
      ctx.moveTo(px, py - s);
      ctx.lineTo(px + s, py);
      ctx.lineTo(px, py + s);
      ctx.lineTo(px - s, py);
      ctx.closePath();
      ctx.fillStyle = m.color || text;
      ctx.strokeStyle = bg;
      ctx.lineWidth = 2;
      ctx.fill();
      ctx.stroke();
      if (m.text) {
        ctx.font = `bold 13px ${font}`;
        ctx.textAlign = px > left + plot * 0.7 ? "right" : "left";
        ctx.textBaseline = "middle";
        const tx = px + (ctx.textAlign === "left" ? s + 4 : -s - 4);
        ctx.lineWidth = 3;
        ctx.strokeStyle = bg;
        ctx.strokeText(String(m.text), tx, py);
        ctx.fillStyle = m.color || text;
        ctx.fillText(String(m.text), tx, py);
      }
    }
  }

  drawProbe(ctx) {
    const { left, top, plot } = this.geom;
    const [px, py] = this.toPx(this.pos[0], this.pos[1]);
    const { primary, text, bg } = this.colors;
    // Guide lines to the axes help read the coordinates off the ticks.
    ctx.globalAlpha = 0.35;
    ctx.strokeStyle = text;
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(px, top + plot);
    ctx.lineTo(px, py);
    ctx.moveTo(left, py);
    ctx.lineTo(px, py);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    ctx.beginPath();
    ctx.arc(px, py, 9, 0, 2 * Math.PI);
    ctx.fillStyle = bg;
    ctx.fill();
    ctx.lineWidth = 3;
    ctx.strokeStyle = primary;
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(px, py, 3, 0, 2 * Math.PI);
    ctx.fillStyle = primary;
    ctx.fill();
  }

  drawDigit() {
    this.digitDirty = false;
    const px = this.digitImage.data;
    if (!this.net || !this.showDecoded) {
      px.fill(0); // transparent: the figure's white background shows through
    } else {
      const x = forward(this.net, this.pos[0], this.pos[1]);
      for (let i = 0; i < x.length; i++) {
        const c = Math.round(255 * (1 - x[i])); // ink dark on white, like the pad's light theme
        const k = 4 * i;
        px[k] = c;
        px[k + 1] = c;
        px[k + 2] = c;
        px[k + 3] = 255;
      }
    }
    this.digitCtx.putImageData(this.digitImage, 0, 0);
  }
}

const pads = new WeakMap(); // parentElement (shadow root) -> Pad

// Streamlit calls this on mount and again whenever the data changes (same parentElement); the
// returned cleanup runs once, on unmount.
export default function latentPad(component) {
  const { parentElement, data, setStateValue } = component;
  let pad = pads.get(parentElement);
  if (!pad) {
    pad = new Pad(parentElement);
    pads.set(parentElement, pad);
  }
  pad.setStateValue = setStateValue;
  pad.update(data || {});
  return () => {
    pad.destroy();
    pads.delete(parentElement);
  };
}
