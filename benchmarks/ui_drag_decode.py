"""How long the latent pad's in-browser decode takes per frame, for each decoder preset.

Runs the pad's own JavaScript (ui/components/latent_pad/pad.js) in headless Chromium on random
decoders with the presets' shapes and times N decodes along a simulated drag. The pad decodes once
per animation frame while the probe moves, so the target is a median well under 16 ms (60 Hz) for
the ``paper`` preset. Needs Playwright and Debian's Chromium (``apt-get install chromium``).

    .venv/bin/python benchmarks/ui_drag_decode.py --frames 500
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.components.latent_pad import encode_decoder_weights  # noqa: E402

PAD_JS = ROOT / "ui" / "components" / "latent_pad" / "pad.js"
PRESETS = {"small": (2, 256, 512, 784), "paper": (2, 1000, 1000, 784)}  # DESIGN.md §3 decoders
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FRAME_BUDGET_MS = 1000 / 60

# In-page timing: parse the payload once (what happens when weights arrive), then decode one
# point per "frame" along a circle, the way a drag feeds the pad. Warm-up frames let V8 optimise.
TIMING_JS = """([payload, frames, warmup]) => {
  const t0 = performance.now();
  window.__aaeDecode(payload, [0, 0]);
  const parseMs = performance.now() - t0;
  const times = [];
  for (let i = -warmup; i < frames; i++) {
    const a = (2 * Math.PI * i) / 240;
    const z = [3 * Math.cos(a), 3 * Math.sin(a)];
    const s = performance.now();
    window.__aaeDecode(payload, z);
    if (i >= 0) times.push(performance.now() - s);
  }
  const s = performance.now();
  for (let i = 0; i < frames; i++) window.__aaeDecode(payload, [i / frames, -i / frames]);
  return { parseMs, times, meanMs: (performance.now() - s) / frames };
}"""


def random_decoder(sizes: tuple[int, ...], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """PyTorch's default Linear init, U(+-1/sqrt(in)): about half the ReLUs fire, as when trained."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        layers.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                       rng.uniform(-bound, bound, n_out).astype(np.float32)))
    return layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="timed decodes per preset")
    parser.add_argument("--warmup", type=int, default=30, help="untimed decodes first")
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16",
                        help="wire format of the weights (the decode itself is float32 either way)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print(f"chromium {browser.version}, {args.frames} frames per preset, weights as {args.dtype}")
        print(f"{'preset':8} {'params':>10} {'payload MB':>10} {'parse ms':>9} "
              f"{'median ms':>9} {'p90 ms':>7} {'mean ms':>8}  budget {FRAME_BUDGET_MS:.1f} ms")
        for name, sizes in PRESETS.items():
            weights = random_decoder(sizes)
            payload = encode_decoder_weights(weights, dtype=args.dtype)
            n_params = sum(w.size + b.size for w, b in weights)
            payload_mb = sum(len(layer["w"]) + len(layer["b"]) for layer in payload["layers"]) / 1e6
            page = browser.new_page()
            page.set_content("<!doctype html><html><body></body></html>")
            page.add_script_tag(path=str(PAD_JS), type="module")
            page.wait_for_function("typeof window.__aaeDecode === 'function'")
            result = page.evaluate(TIMING_JS, [payload, args.frames, args.warmup])
            page.close()
            times = np.asarray(result["times"])
            print(f"{name:8} {n_params:>10,} {payload_mb:>10.2f} {result['parseMs']:>9.1f} "
                  f"{np.median(times):>9.3f} {np.percentile(times, 90):>7.3f} {result['meanMs']:>8.3f}")
        browser.close()


if __name__ == "__main__":
    main()
