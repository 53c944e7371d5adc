"""One training run in a worker process of its own: ``JobProxy``.

A ``JobProxy`` has a ``TrainingJob``'s interface (the same commands returning ``Future``s, the same
``snapshot()`` / ``peek()`` / ``wait_for``, and the registry's slot protocol), while the real
``TrainingJob`` and its ``Trainer`` run in a child process: a fresh interpreter, as multiprocessing's
"spawn" start method makes one (never a fork of a threaded server), but started directly, because
"spawn" re-runs the parent's ``__main__`` in the child and under Streamlit that is the page script.
The two ends speak through ``multiprocessing.connection``. The page's process then never competes
with training for the interpreter (issue 10 §8: with training in a thread of the web server, every
watcher's fragment reruns took the GIL from the training loop). The child has a session of its own:
where the kernel shares CPU time between sessions (Linux's autogroup), the run gets as much as the
whole web server, however many pages that one is drawing.

    parent (web server)                           child (one per run)
    JobProxy.play() / step_batch() ... ──pipe──>  _Child: the same call on its TrainingJob
    JobProxy.peek()  <── newest Snapshot ──────   a sender thread: each new snapshot version, once
    the registry's slots  <── acquire / release   _RemoteSlots: the job's Slots, answered by the parent

Messages are pickled tuples in both directions (both ends are this module). The parent reads the
child's messages defensively: one it cannot read or does not expect is counted and dropped, so a
broken or hostile message never takes the server down. The child exits when its job ends (its
memory goes with it); a child that dies (killed, out of memory) ends the proxy as "failed" with a
plain message, and every command still waiting gets that message as its exception.

The child uses one torch thread (``$AAE_TORCH_THREADS`` overrides) and picks its own device
(``aae.train.resolve_device``: CUDA, MPS or the CPU). It stops its job, which autosaves, when the
parent goes away.

Spare workers: starting a child costs an interpreter and the torch import (seconds on a small CPU).
``prestart()`` starts one child ahead that waits for its run; ``JobProxy.start`` takes it, and the
next spare starts once that run's first codes have arrived (not before: on two cores it would slow
the run everybody is waiting for), so pressing Start never waits for the import.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import ConfigError, PriorConfig, RunConfig
from ..kinds import get_kind
from .snapshot import FAILED, LOADING, QUEUED, JobOptions, ModelView, Snapshot, freeze

SEND_EVERY = 0.02          # seconds: how often the child looks for a new snapshot to send
CHILD_EXIT_TIMEOUT = 10.0  # seconds the parent waits for a child that said its job ended to exit
CALLS = ("step_batch", "step_phase", "set_speed", "set_prior", "save", "restore_good_weights", "unload")


# ====================================================================================== spare workers

class _Spares:
    """Children started ahead, waiting for a run (thread-safe; one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: list[tuple[Any, Any]] = []     # (process, parent end of its pipe), guarded by _lock
        self._filling = False                        # a fill() is starting spares, guarded by _lock
        self.wanted = 0                              # spares to keep ready (prestart sets it)

    def take(self) -> tuple[Any, Any]:
        """A started child and the parent's end of its pipe: a spare if one is ready, else a new one."""
        with self._lock:
            while self._ready:
                process, conn = self._ready.pop(0)
                if process.is_alive():
                    break
                conn.close()
            else:
                process = None
        return (process, conn) if process is not None else _spawn()

    def refill(self) -> None:
        """Start the next spare in the background. A run calls it once its first codes have arrived
        (or it ended): a spare started while the run's own worker still imports and loads takes
        half of a 2-core CPU from it, just when the teacher waits for the first scatter."""
        if self.wanted:
            threading.Thread(target=self.fill, name="aae-spare-worker", daemon=True).start()

    def fill(self) -> None:
        """Start spares until ``wanted`` are ready (one filler at a time)."""
        with self._lock:
            if self._filling:
                return
            self._filling = True
        try:
            while True:
                with self._lock:
                    if len(self._ready) >= self.wanted:
                        return
                child = _spawn(spare=True)
                with self._lock:
                    self._ready.append(child)
        finally:
            with self._lock:
                self._filling = False

    def close(self) -> None:
        """End every waiting spare (they exit when their pipe closes)."""
        with self._lock:
            ready, self._ready, self.wanted = self._ready, [], 0
        for process, conn in ready:
            conn.close()
            process.join(CHILD_EXIT_TIMEOUT)


_SPARES = _Spares()


def prestart(n: int = 1) -> None:
    """Keep ``n`` children started and waiting for their runs (the dashboard keeps one); 0: none."""
    _SPARES.wanted = max(0, int(n))
    if _SPARES.wanted:
        threading.Thread(target=_SPARES.fill, name="aae-spare-worker", daemon=True).start()
    else:
        _SPARES.close()


class _Worker:
    """A child interpreter: what the proxy needs of its process."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self._popen = popen

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def exitcode(self) -> int | None:
        """None while it runs; negative: the signal that ended it."""
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def kill(self) -> None:
        try:
            self._popen.kill()
        except OSError:
            pass


def _spawn(*, spare: bool = False) -> tuple[_Worker, Connection]:
    """Start a child interpreter running ``_child_main``; returns it and the parent's end of the pipe."""
    parent_sock, child_sock = socket.socketpair()
    paths = [p for p in sys.path if p]
    code = (f"import sys; sys.path[:0] = {paths!r}; from aae.jobs.proxy import _child_main; "
            f"_child_main({child_sock.fileno()}, spare={spare!r})")
    try:
        popen = subprocess.Popen([sys.executable, "-c", code], pass_fds=(child_sock.fileno(),),
                                 stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        child_sock.close()  # the child holds the only other end: its death reads as end-of-file here
    return _Worker(popen), Connection(parent_sock.detach())


# ====================================================================================== the parent side

class JobProxy:
    """A ``TrainingJob`` running in a child process. Same constructor and methods as
    ``TrainingJob`` (``fault``, a test hook, must be picklable: a module-level function); ``trainer``
    is always None (the model lives in the child)."""

    def __init__(self, config: RunConfig, *, options: JobOptions = JobOptions(), job_id: str | None = None,
                 kinds: tuple[str, ...] | None = None, model=None, models: dict | None = None,
                 start_step: int = 0, dataset=None, autosave_dir: str | os.PathLike | None = None,
                 slots=None, fault: Callable[[int], None] | None = None) -> None:
        import secrets

        # -- set here, read-only afterwards (any thread)
        self.id = job_id or secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
        self.kinds = tuple(kinds or (config.model.kind,))
        if config.model.kind not in self.kinds:
            raise ConfigError(f"the primary model kind {config.model.kind!r} must be one of kinds {self.kinds}")
        self.options = options
        self.autosave_dir = Path(autosave_dir) if autosave_dir else None
        self.created = time.time()
        self._slots = slots
        initial = dict(models or {})
        if model is not None:
            initial[config.model.kind] = model
        self._spec = {"config": config, "options": options, "job_id": self.id, "kinds": self.kinds,
                      "models": initial, "start_step": start_step, "dataset": dataset,
                      "autosave_dir": str(self.autosave_dir) if self.autosave_dir else None,
                      "slots": slots is not None, "fault": fault}
        self.thread = threading.Thread(target=self._receive, name=f"aae-job-{self.id}", daemon=True)

        # -- shared between threads
        self._lock = threading.Lock()          # guards _snapshot, _ended, _futures
        self._send_lock = threading.Lock()     # one message at a time into the pipe
        status = QUEUED if slots is not None else LOADING
        self._snapshot = Snapshot(            # written by the receiver thread, read by any thread
            job_id=self.id, version=0, status=status, step=start_step, epoch=0.0, phase_index=0,
            phases=get_kind(config.model.kind).phase_names, last_phase=None, elapsed=0.0, steps_per_sec=0.0,
            speed=None, config=config, device="", primary=config.model.kind)
        self._ended = False                    # written by the receiver thread, read by command callers
        self._futures: dict[int, Future] = {}  # command id -> its caller's future
        self._ids = itertools.count(1)
        self._run_wanted = not options.start_paused   # the parent's mirror of play / pause (the slot queue reads it)
        self._stop_requested = False
        self._cancel_acquire = threading.Event()      # set when the child gave up waiting for a slot
        self._acquiring = False                # a thread waits in the slot queue for the child (receiver sets it)
        self.last_polled = time.monotonic()    # written by snapshot() callers, read by the registry's reaper
        self.bad_messages = 0                  # messages from the child that were unreadable or unexpected
        self._process = None
        self._conn = None

    # ------------------------------------------------------------------ reading (any thread)
    def start(self) -> "JobProxy":
        self._process, self._conn = _SPARES.take()
        try:
            self._send(("run", self._spec))
        except Exception as e:  # noqa: BLE001 — e.g. a fault hook that cannot be pickled
            self._conn.close()
            self._process.join(CHILD_EXIT_TIMEOUT)
            with self._lock:
                self._ended = True
                self._snapshot = dataclasses.replace(self._snapshot, version=1, status=FAILED,
                                                     error=f"could not hand the run to its worker process: {e}")
            if self._slots is not None:
                self._slots.ended(self.id)
            raise RuntimeError(f"could not hand the run to its worker process: {e}") from e
        self._spec = None  # the models and data now live in the child
        self.thread.start()
        return self

    def snapshot(self) -> Snapshot:
        """The latest snapshot received (marks the job as watched)."""
        self.last_polled = time.monotonic()
        return self.peek()

    def peek(self) -> Snapshot:
        """The latest snapshot without counting as a viewer (for the reaper and the registry)."""
        with self._lock:
            return self._snapshot

    @property
    def status(self) -> str:
        return self.peek().status

    @property
    def config(self) -> RunConfig:
        return self.peek().config

    @property
    def device_name(self) -> str:
        return self.peek().device

    @property
    def trainer(self) -> None:
        """Always None: the trainer lives in the child process."""
        return None

    @property
    def pid(self) -> int | None:
        """The child process's id (None before ``start``)."""
        return self._process.pid if self._process is not None else None

    @property
    def wants_to_run(self) -> bool:
        return self._run_wanted and not self._stop_requested

    def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float = 30.0) -> Snapshot:
        """Block until a received snapshot satisfies ``predicate`` (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.peek()
            if predicate(snap):
                return snap
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id}: condition not met within {timeout}s (status {snap.status}, "
                                   f"step {snap.step}, error {snap.error})")
            time.sleep(0.01)

    # ------------------------------------------------------------------ controls (any thread)
    def play(self) -> None:
        self._run_wanted = True
        self._send_quietly(("play",))

    def pause(self) -> None:
        self._run_wanted = False
        self._send_quietly(("pause",))

    def stop(self, *, wait: bool = False, timeout: float = 10.0) -> None:
        self._stop_requested = True
        self._send_quietly(("stop",))
        if wait:
            self.join(timeout)

    def step_batch(self, n: int = 1) -> Future:
        return self._call("step_batch", int(n))

    def step_phase(self) -> Future:
        return self._call("step_phase")

    def set_speed(self, steps_per_sec: float | None) -> Future:
        if steps_per_sec is not None and (not math.isfinite(steps_per_sec) or steps_per_sec <= 0):
            steps_per_sec = None
        return self._call("set_speed", steps_per_sec)

    def set_prior(self, prior: PriorConfig) -> Future:
        return self._call("set_prior", prior)

    def save(self, path: str | os.PathLike, *, half: bool = False, kind: str | None = None,
             overwrite: bool = False) -> Future:
        return self._call("save", str(path), half=half, kind=kind, overwrite=overwrite)

    def restore_good_weights(self) -> Future:
        return self._call("restore_good_weights")

    def unload(self, *, for_room: bool = False) -> Future:
        return self._call("unload", for_room=bool(for_room))

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the job has ended and its child process has exited."""
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)
        return not self.thread.is_alive()

    # ------------------------------------------------------------------ sending
    def _send(self, message: tuple) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            if self._conn is None:
                raise OSError("the run has not been started")
            self._conn.send_bytes(data)

    def _send_quietly(self, message: tuple) -> None:
        """A flag command: a child that is gone has nothing left to pause or stop."""
        try:
            self._send(message)
        except (OSError, ValueError):
            pass

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        with self._lock:
            ended = self._ended
            if not ended:
                cid = next(self._ids)
                self._futures[cid] = fut
        if ended:
            fut.set_exception(RuntimeError(f"run {self.id} has ended ({self.peek().status})"))
            return fut
        try:
            self._send(("call", cid, name, args, kwargs))
        except (OSError, ValueError) as e:
            with self._lock:
                self._futures.pop(cid, None)
            fut.set_exception(RuntimeError(f"run {self.id}: its worker process is gone ({e})"))
        return fut

    # ------------------------------------------------------------------ the receiver thread
    def _receive(self) -> None:
        clean = False
        refilled = False
        try:
            while not clean:
                try:
                    raw = self._conn.recv_bytes()
                except (EOFError, OSError):
                    break  # the child is gone
                clean = self.handle_message(raw)
                if not refilled and self.peek().codes is not None:
                    refilled = True
                    _SPARES.refill()   # this run is up: now the next spare may take the CPU
        finally:
            self._finish(clean)
            if not refilled:
                _SPARES.refill()

    def handle_message(self, raw: bytes) -> bool:
        """Act on one message from the child (the receiver thread; tests call it with hostile
        bytes). Anything unreadable or unexpected is counted in ``bad_messages`` and dropped.
        Returns True when the child said its job has ended."""
        try:
            msg = pickle.loads(raw)
            if not (isinstance(msg, tuple) and msg and isinstance(msg[0], str)):
                raise ValueError("not a tagged tuple")
            tag, args = msg[0], msg[1:]
            if tag == "snap" and len(args) == 1:
                self._take_snapshot(args[0])
            elif tag == "result" and len(args) == 3 and isinstance(args[0], int) and isinstance(args[1], bool):
                self._settle(*args)
            elif tag == "acquire" and not args and self._slots is not None and not self._acquiring:
                self._acquiring = True
                self._cancel_acquire.clear()
                threading.Thread(target=self._acquire, name=f"aae-job-{self.id}-slot", daemon=True).start()
            elif tag == "cancel" and not args:
                self._cancel_acquire.set()
            elif tag == "release" and not args and self._slots is not None:
                self._slots.release(self.id)
            elif tag == "ended" and len(args) == 1:
                self._take_snapshot(args[0])
                return True
            else:
                raise ValueError(f"unexpected message {tag!r}")
        except Exception:  # noqa: BLE001 — whatever arrives, the server stays up
            self.bad_messages += 1
        return False

    def _take_snapshot(self, snap: Any) -> None:
        if not isinstance(snap, Snapshot) or snap.job_id != self.id:
            raise ValueError("not a snapshot of this run")
        _freeze_all(snap)
        with self._lock:
            if snap.version > self._snapshot.version:
                self._snapshot = snap

    def _settle(self, cid: int, ok: bool, value: Any) -> None:
        with self._lock:
            fut = self._futures.pop(cid, None)
        if fut is None:
            raise ValueError(f"no command {cid} is waiting")
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value if isinstance(value, BaseException) else RuntimeError(str(value)[:500]))

    def _acquire(self) -> None:
        """Wait for a training slot for the child (a thread per request; the registry's FIFO)."""
        alive = lambda: (self.wants_to_run and not self._cancel_acquire.is_set()  # noqa: E731
                         and self._process.is_alive())
        try:
            ok = self._slots.acquire(self.id, keep_waiting=alive,
                                     on_wait=lambda: self._send_quietly(("position", self._slots.position(self.id))))
        finally:
            self._acquiring = False
        try:
            self._send(("granted", ok))
        except (OSError, ValueError):
            if ok:
                self._slots.release(self.id)

    def _finish(self, clean: bool) -> None:
        """The child said its job ended (``clean``), or it died: wait for it to exit, fail what is
        still waiting, give the slot back."""
        self._process.join(CHILD_EXIT_TIMEOUT if clean else 1.0)
        if self._process.is_alive():  # it said goodbye but hangs, or it closed its pipe: end it
            self._process.kill()
            self._process.join(CHILD_EXIT_TIMEOUT)
        self._conn.close()
        code = self._process.exitcode
        with self._lock:
            self._ended = True
            waiting, self._futures = self._futures, {}
            last = self._snapshot
            if not clean:
                how = (f"was killed by signal {-code} (out of memory, or ended from outside)"
                       if code is not None and code < 0 else f"exited unexpectedly with code {code}")
                error = f"The training process of this run {how}. Its last autosave, if any, is in the runs folder."
                self._snapshot = dataclasses.replace(last, version=last.version + 1, status=FAILED, error=error,
                                                     steps_per_sec=0.0)
            status, error = self._snapshot.status, self._snapshot.error
        for fut in waiting.values():
            if fut.set_running_or_notify_cancel():
                fut.set_exception(RuntimeError(f"run {self.id} has ended ({status})"
                                               + (f": {error}" if error and not clean else "")))
        if self._slots is not None:
            self._slots.ended(self.id)


def _freeze_all(obj: Any, depth: int = 0) -> None:
    """Mark every array inside a received snapshot read-only (pickling makes them writable again)."""
    if depth > 6:
        return
    if isinstance(obj, np.ndarray):
        freeze(obj)
    elif isinstance(obj, (Snapshot, ModelView)):
        for f in dataclasses.fields(obj):
            _freeze_all(getattr(obj, f.name), depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            _freeze_all(v, depth + 1)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            _freeze_all(v, depth + 1)


# ====================================================================================== the child side

class _RemoteSlots:
    """The child's job's ``Slots``: each request goes to the parent, whose registry answers."""

    def __init__(self, child: "_Child") -> None:
        self._child = child
        self._answer: "Any" = None
        self._answered = threading.Event()
        self._position = 0

    def acquire(self, job_id: str, *, keep_waiting: Callable[[], bool], on_wait: Callable[[], None]) -> bool:
        self._answered.clear()
        self._child.send(("acquire",))
        while not self._answered.wait(0.25):
            if not keep_waiting() or self._child.parent_gone:
                self._child.send_quietly(("cancel",))
                self._answered.wait()        # the parent answers at once (it may just have granted)
                break
            on_wait()
        self._position = 0
        return bool(self._answer)

    def answer(self, granted: bool) -> None:
        self._answer = granted
        self._answered.set()

    def release(self, job_id: str) -> None:
        self._child.send_quietly(("release",))

    def position(self, job_id: str) -> int:
        return self._position

    def set_position(self, n: int) -> None:
        self._position = n

    def ended(self, job_id: str) -> None:
        """Nothing to say: the parent learns of the end from the last message."""


class _Child:
    """A worker process: waits for its run, runs the ``TrainingJob``, relays commands and snapshots."""

    def __init__(self, conn, spare: bool) -> None:
        self.conn = conn
        self.spare = spare
        self.lock = threading.Lock()
        self.parent_gone = False
        self.job = None
        self.slots: _RemoteSlots | None = None

    def send(self, message: tuple) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            self.conn.send_bytes(data)

    def send_quietly(self, message: tuple) -> None:
        try:
            self.send(message)
        except (OSError, ValueError):
            self.parent_gone = True

    def main(self) -> None:
        from .job import TrainingJob   # the heavy imports first: a spare is ready the moment its run arrives

        if self.spare:
            # Beside the wait, not before it: a run that arrives mid-way starts at once, and shares
            # whatever the warm-up is importing or loading (the import and dataset locks).
            threading.Thread(target=_warm_up, name="aae-warm-up", daemon=True).start()
        try:
            tag, spec = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            return  # a spare that was never used
        if tag != "run":
            return

        self.slots = _RemoteSlots(self) if spec.pop("slots") else None
        self.job = TrainingJob(spec.pop("config"), slots=self.slots, **spec)
        threading.Thread(target=self.commands, name="aae-worker-commands", daemon=True).start()
        self.job.start()
        sent = -1
        while self.job.thread.is_alive():
            snap = self.job.peek()
            if snap.version != sent:
                self.send_quietly(("snap", snap))
                sent = snap.version
            self.job.thread.join(SEND_EVERY)
        self.send_quietly(("ended", self.job.peek()))

    def commands(self) -> None:
        job = self.job
        while True:
            try:
                raw = self.conn.recv_bytes()
            except (EOFError, OSError):
                self.parent_gone = True
                job.stop()  # the server went away: the job autosaves and ends, and so does this process
                if self.slots is not None:
                    self.slots.answer(False)
                return
            try:
                self.obey(pickle.loads(raw))
            except Exception:  # noqa: BLE001 — a malformed command is dropped; the run goes on
                pass

    def obey(self, msg: tuple) -> None:
        job, tag = self.job, msg[0]
        if tag == "play":
            job.play()
        elif tag == "pause":
            job.pause()
        elif tag == "stop":
            job.stop()
        elif tag == "granted":
            self.slots.answer(bool(msg[1]))
        elif tag == "position":
            self.slots.set_position(int(msg[1]))
        elif tag == "call" and msg[2] in CALLS:
            _, cid, name, args, kwargs = msg
            getattr(job, name)(*args, **kwargs).add_done_callback(lambda f, cid=cid: self.reply(cid, f))

    def reply(self, cid: int, fut: Future) -> None:
        exc = fut.exception()
        if exc is None:
            self.send_quietly(("result", cid, True, fut.result()))
            return
        try:
            pickle.loads(pickle.dumps(exc))  # the parent must be able to rebuild it
        except Exception:  # noqa: BLE001 — an exception that cannot travel goes as its text
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        self.send_quietly(("result", cid, False, exc))


def _warm_up() -> None:
    """What a run's first codes would otherwise wait for, in the order the run needs it: the default
    dataset (cached per process), the optimiser's first construction (torch's first ``Adam`` imports
    ``torch._dynamo``: 1.5 s of a cold start on a 2-core CPU), then scikit-learn (the k-NN and the
    referee of the snapshot after the first codes)."""
    try:
        import torch

        from ..config import DataConfig
        from ..data import load_dataset
        load_dataset(DataConfig().name, seed=DataConfig().seed)
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        import sklearn.neighbors  # noqa: F401
    except Exception:  # noqa: BLE001 — only a head start: the run reports any real problem itself
        pass


def _child_main(fd: int, spare: bool = False) -> None:
    """The worker process's entry point (``_spawn``): ``fd`` is its end of the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal: the server stops its jobs
    conn = Connection(fd)
    import torch

    threads = os.environ.get("AAE_TORCH_THREADS", "").strip()
    torch.set_num_threads(int(threads) if threads.isdigit() and int(threads) > 0 else 1)
    _Child(conn, spare).main()
