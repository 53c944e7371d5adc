"""Kill -9 at random moments while ``python -m aae train`` autosaves; count what survives.

Each trial resumes the previous trial's checkpoint (``train --resume``), trains, and is killed with
SIGKILL at a random moment after its first save. Then:

* every checkpoint in the folder must load (``load_checkpoint``) and list as readable with the same
  step, and the step in the weights' own header must be the JSON's (an independent check that the
  pair was not mixed);
* the work lost is the time from the last committed save (the mtime of the JSON that commits the
  weights on disk) to the kill — or from the process start, if it had not saved yet: an upper
  bound, since it counts start-up (imports, data) as lost training.

Half the trials autosave after every step (``--storm-every``, default 0.001 s) so that kills land inside
saves; the others use ``--autosave-every`` (default 5 s, a scaled-down stand-in for the CLI's 30 s
default) and measure the work lost. A last run resumes to the end and checks that no temporary file
is left.

    python benchmarks/kill_loop.py                 # 40 trials, about 10 minutes on 2 busy cores
    python benchmarks/kill_loop.py --trials 6      # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aae.checkpoints import CheckpointError, list_checkpoints, load_checkpoint, read_metadata  # noqa: E402


def wait_for(predicate, timeout: float, proc: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def weights_header_step(path: Path) -> str | None:
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n)).get("__metadata__", {}).get("step")


def commit_time(folder: Path, name: str) -> tuple[float, bool]:
    """(mtime, pending) of the JSON that commits the weights on disk: ``NAME.json``, or, after a save
    killed between its two renames, its pending temporary JSON (``pending`` True)."""
    sha = read_metadata(folder / name)["weights_sha256"]
    candidates = [folder / f"{name}.json"] + [p for p in folder.iterdir() if p.name.startswith(f".{name}.json.")]
    for i, p in enumerate(candidates):
        try:
            if json.loads(p.read_text()).get("weights_sha256") == sha:
                return p.stat().st_mtime, i > 0
        except (OSError, ValueError):
            continue
    raise RuntimeError("no JSON commits the weights on disk")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--autosave-every", type=float, default=5.0)
    ap.add_argument("--storm-every", type=float, default=0.001)
    ap.add_argument("--max-delay", type=float, default=None,
                    help="kill at most this long after the first save (default: 3x --autosave-every)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="small", choices=["small", "paper"])
    a = ap.parse_args()
    rng = random.Random(a.seed)
    max_delay = a.max_delay if a.max_delay is not None else 3 * a.autosave_every
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    work = Path(tempfile.mkdtemp(prefix="aae-kill-loop-"))
    env["AAE_SAVE_DIR"] = str(work)
    out = work / "run"
    common = [sys.executable, "-m", "aae", "train", "--dataset", "mnist-5k", "--preset", a.preset, "--device", "cpu",
              "--no-progress", "--out", str(out)]
    base = common + ["--steps", "10000000"]
    lost: list[float] = []
    in_save = recovered = failures = 0
    print(f"{a.trials} trials in {work} ({a.preset} preset, 1 torch thread)")
    for trial in range(a.trials):
        storm = trial % 2 == 0
        every = a.storm_every if storm else a.autosave_every
        cmd = base + ["--autosave-every", str(every)]
        if (work / "run.json").exists() or any(p.name.startswith(".run.json.") for p in work.iterdir()):
            cmd += ["--resume", str(out)]
        before = {p.name: p.stat().st_mtime_ns for p in work.iterdir() if p.name.startswith("run.")}
        t_spawn = time.time()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def saved_now() -> bool:
            now = {p.name: p.stat().st_mtime_ns for p in work.iterdir() if p.name.startswith("run.")}
            return bool(now) and now != before
        if not wait_for(saved_now, 600, proc):
            print(f"  trial {trial}: the process ended or never saved: {proc.stderr.read()[-300:]}")
            failures += 1
            proc.kill()
            proc.wait()
            continue
        delay = rng.uniform(0.0, max_delay if not storm else 2.0)
        time.sleep(delay)       # a random moment: the point of the benchmark
        t_kill = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        tmp_left = [p for p in work.iterdir() if p.name.endswith(".tmp")]
        in_save += bool(tmp_left)
        try:
            ck = load_checkpoint(out)
            (info,) = list_checkpoints(work)
            assert info.readable and info.step == ck.step, info
            assert weights_header_step(work / "run.safetensors") == str(ck.step)
            t_commit, pending = commit_time(work, "run")
            recovered += pending
            lost_s = t_kill - max(t_commit, t_spawn)
            if not storm:
                lost.append(lost_s)
            print(f"  trial {trial:2d} ({'storm' if storm else f'every {every:g} s'}): killed {delay:5.2f} s after "
                  f"a save{', inside a save' if tmp_left else ''}; step {ck.step:,} loads; lost {lost_s:5.2f} s")
        except (CheckpointError, AssertionError, RuntimeError, ValueError) as e:
            failures += 1
            print(f"  trial {trial:2d}: INCONSISTENT: {e}")
    # the end: resume to completion, nothing temporary left
    last = load_checkpoint(out).step
    done = subprocess.run(common + ["--steps", str(last + 5), "--resume", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    leftovers = sorted(p.name for p in work.iterdir() if p.name.endswith(".tmp"))
    final_ok = done.returncode == 0 and load_checkpoint(out).step == last + 5 and not leftovers
    print(f"\nkills: {a.trials}; landed inside a save: {in_save}; pairs completed from a pending JSON: {recovered}")
    print(f"inconsistent or unloadable checkpoints: {failures}")
    if lost:
        print(f"work lost (autosave every {a.autosave_every:g} s, {len(lost)} trials): median {statistics.median(lost):.2f} s, "
              f"max {max(lost):.2f} s (bound: the interval + one save; the CLI default is 30 s)")
    print(f"final resume to the end: {'ok' if final_ok else 'FAILED'}; temporary files left: {len(leftovers)}")
    return 0 if failures == 0 and final_ok else 1


if __name__ == "__main__":
    sys.exit(main())
