// Drawing canvas: a Streamlit Components-v2 widget (ES module, no build step).
//
// The student draws one digit with mouse, pen or finger (pointer events). When a stroke ends the
// drawing is turned into an MNIST-like 28x28 image and sent to Python as component state:
//   image   base64 of 784 uint8, row-major, 0 = background, 255 = ink   (null after Clear)
//
// MNIST preprocessing (LeCun et al.): the digit's bounding box is scaled to fit a 20x20 box
// (keeping its aspect ratio, anti-aliased), then placed in the 28x28 field so that its centre of
// mass sits at the centre.

const SIDE = 28;
const BOX = 20;
const INK_THRESHOLD = 0.05; // alpha below this is anti-aliasing fringe, not part of the bounding box

function bytesToBase64(bytes) {
  if (typeof bytes.toBase64 === "function") return bytes.toBase64();
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

// Ink coverage (alpha in [0, 1]) of a w x h bitmap -> Float32Array(784), or null if blank.
export function toMnist(alpha, w, h) {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (alpha[y * w + x] > INK_THRESHOLD) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const s = BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * s));
  const th = Math.max(1, Math.round(bh * s));
  // Box-filter downsampling: each target pixel is the mean ink of the source pixels it covers.
  const sum = new Float64Array(tw * th);
  const count = new Float64Array(tw * th);
  for (let y = y0; y <= y1; y++) {
    const ty = Math.min(th - 1, Math.floor((y - y0) * s));
    for (let x = x0; x <= x1; x++) {
      const tx = Math.min(tw - 1, Math.floor((x - x0) * s));
      sum[ty * tw + tx] += alpha[y * w + x];
      count[ty * tw + tx] += 1;
    }
  }
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let ty = 0; ty < th; ty++) {
    for (let tx = 0; tx < tw; tx++) {
      const k = ty * tw + tx;
      const v = count[k] ? sum[k] / count[k] : 0;
      sum[k] = v;
      mass += v;
      mx += v * (tx + 0.5);
      my += v * (ty + 0.5);
    }
  }
  const ox = Math.round(SIDE / 2 - mx / mass);
  const oy = Math.round(SIDE / 2 - my / mass);
  const out = new Float32Array(SIDE * SIDE);
  for (let ty = 0; ty < th; ty++) {
    const y = ty + oy;
    if (y < 0 || y >= SIDE) continue;
    for (let tx = 0; tx < tw; tx++) {
      const x = tx + ox;
      if (x >= 0 && x < SIDE) out[y * SIDE + x] = Math.min(1, sum[ty * tw + tx]);
    }
  }
  return out;
}

class DrawCanvas {
  constructor(root) {
    const q = (sel) => root.querySelector(sel);
    this.el = q(".aae-draw");
    this.canvas = q(".aae-draw-canvas");
    this.preview = q(".aae-draw-preview");
    this.clearButton = q(".aae-draw-clear");
    this.help = q(".aae-draw-help");
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    this.previewCtx = this.preview.getContext("2d");
    this.setStateValue = () => {};
    this.size = 0;
    this.strokeWidth = 16;
    this.drawing = false;
    this.last = null;

    this.onPointerDown = this.onPointerDown.bind(this);
    this.onPointerMove = this.onPointerMove.bind(this);
    this.onPointerUp = this.onPointerUp.bind(this);
    this.onClear = this.onClear.bind(this);
    this.canvas.addEventListener("pointerdown", this.onPointerDown);
    this.canvas.addEventListener("pointermove", this.onPointerMove);
    this.canvas.addEventListener("pointerup", this.onPointerUp);
    this.canvas.addEventListener("pointercancel", this.onPointerUp);
    this.clearButton.addEventListener("click", this.onClear);
  }

  destroy() {
    this.canvas.removeEventListener("pointerdown", this.onPointerDown);
    this.canvas.removeEventListener("pointermove", this.onPointerMove);
    this.canvas.removeEventListener("pointerup", this.onPointerUp);
    this.canvas.removeEventListener("pointercancel", this.onPointerUp);
    this.clearButton.removeEventListener("click", this.onClear);
  }

  update(data) {
    const size = Math.max(64, Math.round(data.size || 196));
    this.strokeWidth = data.stroke_width || size / 12;
    this.help.textContent = data.help || "";
    this.ink = getComputedStyle(this.el).getPropertyValue("--st-text-color").trim() || "#31333f";
    if (size !== this.size) {
      // The bitmap keeps its size when the column narrows (CSS scales it), so a drawing survives
      // a resize; it only resets when Python asks for a different size.
      this.size = size;
      this.scale = window.devicePixelRatio || 1;
      this.canvas.width = Math.round(size * this.scale);
      this.canvas.height = Math.round(size * this.scale);
      this.canvas.style.width = `${size}px`;
      this.canvas.style.maxWidth = "calc(100% - 4px)";
      this.canvas.style.height = "auto";
      this.canvas.style.aspectRatio = "1";
      this.clearDrawing();
    }
  }

  point(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [
      ((e.clientX - rect.left) / rect.width) * this.canvas.width,
      ((e.clientY - rect.top) / rect.height) * this.canvas.height,
    ];
  }

  strokeTo(p) {
    const { ctx } = this;
    ctx.strokeStyle = this.ink;
    ctx.fillStyle = this.ink;
    ctx.lineWidth = this.strokeWidth * this.scale;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    if (this.last) {
      ctx.moveTo(this.last[0], this.last[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
    } else {
      ctx.arc(p[0], p[1], ctx.lineWidth / 2, 0, 2 * Math.PI); // a tap leaves a dot
      ctx.fill();
    }
    this.last = p;
  }

  onPointerDown(e) {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.drawing = true;
    this.last = null;
    this.strokeTo(this.point(e));
  }

  onPointerMove(e) {
    if (!this.drawing) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) this.strokeTo(this.point(ev));
  }

  onPointerUp(e) {
    if (!this.drawing) return;
    this.drawing = false;
    this.last = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    this.report();
  }

  onClear() {
    this.clearDrawing();
    this.setStateValue("image", null);
  }

  clearDrawing() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.previewCtx.clearRect(0, 0, SIDE, SIDE);
  }

  report() {
    const { width: w, height: h } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, w, h).data;
    const alpha = new Float32Array(w * h);
    for (let i = 0; i < alpha.length; i++) alpha[i] = rgba[4 * i + 3] / 255;
    const img = toMnist(alpha, w, h);
    if (!img) {
      this.setStateValue("image", null);
      return;
    }
    const bytes = new Uint8Array(SIDE * SIDE);
    const preview = this.previewCtx.createImageData(SIDE, SIDE);
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = Math.round(255 * img[i]);
      const c = 255 - bytes[i]; // preview: dark ink on white, as on the pad
      preview.data.set([c, c, c, 255], 4 * i);
    }
    this.previewCtx.putImageData(preview, 0, 0);
    this.setStateValue("image", bytesToBase64(bytes));
  }
}

const canvases = new WeakMap(); // parentElement (shadow root) -> DrawCanvas

// Streamlit calls this on mount and again whenever the data changes; cleanup runs on unmount.
export default function drawCanvas(component) {
  const { parentElement, data, setStateValue } = component;
  let dc = canvases.get(parentElement);
  if (!dc) {
    dc = new DrawCanvas(parentElement);
    canvases.set(parentElement, dc);
  }
  dc.setStateValue = setStateValue;
  dc.update(data || {});
  return () => {
    dc.destroy();
    canvases.delete(parentElement);
  };
}
