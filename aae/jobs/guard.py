"""Divergence and collapse, caught while a run trains (the job pauses itself; the CLI stops).

Three signs, each judged against the run's own recent history rather than a fixed scale, since a
reconstruction loss of 150 nats is healthy and a discriminator loss of 150 is not:

* a loss explodes: it stays above ``explode_ratio`` × its recent median (and ``explode_margin``
  above it) for ``explode_batches`` batches in a row, or passes ``loss_limit`` at all (a finite blow-up: with every learning rate at 1
  the losses reach 1e9 without ever becoming NaN);
* the codes run away: more than ``outside_share`` of the held-out codes lie outside the prior's
  window for ``collapse_steps`` steps (only for kinds that impose p(z) on their codes);
* the discriminator wins completely: its accuracy, averaged over recent batches, stays above
  ``d_win_acc`` (or the generator's loss above ``gen_limit``) for ``collapse_steps`` steps, so the
  encoder gets no useful gradient and the game has stopped.

``healthy`` is False while any sign is building up: the job only keeps "last good weights" then.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ..messages import Message, loss_name


@dataclass(frozen=True)
class GuardSettings:
    explode_ratio: float = 50.0    # a loss this many times its recent median has exploded ...
    explode_margin: float = 20.0   # ... and this far above it (a KL growing from 0.05 to 8 has not exploded)
    explode_batches: int = 10      # ... when it stays there this many batches in a row
    window: int = 200              # batches of history behind the median
    min_history: int = 20          # batches before the relative rule applies
    loss_limit: float = 1e7        # beyond this a loss has blown up, however slowly it got there
    outside_share: float = 0.5     # share of held-out codes outside the prior's window ...
    collapse_steps: int = 500      # ... or D winning, for this many steps, is a collapse
    d_win_acc: float = 0.98        # D's accuracy (recent average) above this: D wins completely
    gen_limit: float = 10.0        # L_G = −log D(E(x)) above this: D(E(x)) < 5e-5 on average
    d_acc_smoothing: float = 0.05  # weight of the newest batch in D's running accuracy


def _is_loss(name: str) -> bool:
    return "acc" not in name  # accuracies live in [0, 1]: a ratio to their median means nothing


class Guard:
    """Watches one model's per-batch metrics and held-out codes; ``observe_*`` return a message in
    plain words (an ``aae.messages.Message``) when training has diverged or collapsed, else None."""

    def __init__(self, settings: GuardSettings = GuardSettings(), *, watch_codes: bool = True,
                 label: str = "") -> None:
        self.settings = settings
        self.watch_codes = watch_codes
        self.label = label                    # "AE " etc. when a job trains several models
        self.reset()

    def reset(self) -> None:
        """Forget the history (a live prior switch starts a new game)."""
        self._recent: dict[str, deque[float]] = {}
        self._high: dict[str, int] = {}
        self._outside_since: int | None = None
        self._d_acc: float | None = None
        self._d_wins_since: int | None = None

    @property
    def healthy(self) -> bool:
        return not any(self._high.values()) and self._outside_since is None and self._d_wins_since is None

    def observe_losses(self, step: int, metrics: dict[str, float]) -> Message | None:
        s = self.settings
        for name, value in metrics.items():
            if not _is_loss(name) or not math.isfinite(value):
                continue
            if abs(value) > s.loss_limit:
                return Message("guard.loss_limit", who=self.label, loss=loss_name(name), value=value, step=step,
                               limit=s.loss_limit)
            recent = self._recent.setdefault(name, deque(maxlen=s.window))
            if len(recent) >= s.min_history:
                median = sorted(recent)[len(recent) // 2]
                if abs(value) > s.explode_ratio * abs(median) and abs(value) - abs(median) > s.explode_margin:
                    self._high[name] = self._high.get(name, 0) + 1
                    if self._high[name] >= s.explode_batches:
                        return Message("guard.loss_jump", who=self.label, loss=loss_name(name), value=value,
                                       step=step, ratio=abs(value) / max(abs(median), 1e-3), median=median)
                    continue  # an exploding value does not become the new normal
            self._high[name] = 0
            recent.append(value)
        d_acc, gen = metrics.get("d_acc"), metrics.get("gen")
        if d_acc is not None and math.isfinite(d_acc):
            a = s.d_acc_smoothing
            self._d_acc = d_acc if self._d_acc is None else (1 - a) * self._d_acc + a * d_acc
        if (self._d_acc is not None and self._d_acc > s.d_win_acc) or (gen is not None and gen > s.gen_limit):
            if self._d_wins_since is None:
                self._d_wins_since = step
            elif step - self._d_wins_since >= s.collapse_steps:
                return Message("guard.d_wins", who=self.label, steps=step - self._d_wins_since,
                               acc=100 * (self._d_acc or 1.0))
        elif d_acc is not None or gen is not None:
            self._d_wins_since = None
        return None

    def observe_codes(self, step: int, outside: float) -> Message | None:
        """``outside``: share of held-out codes outside the prior's window (``Prior.outside_share``)."""
        if not self.watch_codes:
            return None
        if outside <= self.settings.outside_share:
            self._outside_since = None
            return None
        if self._outside_since is None:
            self._outside_since = step
        elif step - self._outside_since >= self.settings.collapse_steps:
            return Message("guard.codes_outside", who=self.label, share=100 * outside,
                           steps=step - self._outside_since)
        return None
