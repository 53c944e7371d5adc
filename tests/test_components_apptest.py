"""AppTest of the Components-v2 wrappers on the demo app (ui/components/_demo_app.py).

AppTest runs no JavaScript: a v2 component shows up as an ``UnknownElement`` whose ``proto`` holds
the data sent to the browser, and the browser's side is played by writing the component state,
``at.session_state[key] = {...}``, exactly the dict the JS would have set.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui.components import drawing_state, encode_decoder_weights

DEMO_APP = str(Path(__file__).resolve().parents[1] / "ui" / "components" / "_demo_app.py")


@pytest.fixture
def at():
    app = AppTest.from_file(DEMO_APP, default_timeout=60)
    app.run()
    assert not app.exception
    yield app
    st.cache_resource.clear()


def python_z(app: AppTest) -> tuple[float, float]:
    text = next(t.value for t in app.text if t.value.startswith("python z = "))
    x, y = text.removeprefix("python z = (").removesuffix(")").split(", ")
    return float(x), float(y)


def python_drawing(app: AppTest) -> str:
    return next(t.value for t in app.text if t.value.startswith("python drawing = "))


def pad_data(app: AppTest) -> dict:
    pad = next(e for e in app.get("bidi_component") if e.proto.component_name == "aae_latent_pad")
    return json.loads(pad.proto.json)


def test_pad_starts_at_the_z_argument(at):
    assert python_z(at) == (0.0, 0.0)
    data = pad_data(at)
    assert data["z"] == [0.0, 0.0]
    assert data["bounds"] == [-4.0, 4.0]
    assert data["codes"]["n"] == 600


def test_component_state_sets_the_returned_z(at):
    at.session_state["pad"] = {"z": [1.5, -0.5]}
    at.run()
    assert python_z(at) == (1.5, -0.5)
    at.run()  # state persists across reruns
    assert python_z(at) == (1.5, -0.5)


def test_reported_z_is_clamped_into_bounds(at):
    at.session_state["pad"] = {"z": [9.0, -7.5]}
    at.run()
    assert python_z(at) == (4.0, -4.0)


def test_new_z_argument_wins_until_the_browser_follows(at):
    # The browser reported z relative to the argument (0, 0) ...
    at.session_state["pad"] = {"z": [1.0, 1.0], "z_arg": [0.0, 0.0]}
    at.run()
    assert python_z(at) == (1.0, 1.0)
    # ... then the page passes a new z: Python returns it at once, before the browser moves there.
    at.toggle[0].set_value(True).run()
    assert pad_data(at)["z"] == [2.5, 0.0]
    assert python_z(at) == (2.5, 0.0)
    # The browser follows and reports back; the student drags on from there.
    at.session_state["pad"] = {"z": [2.2, 0.3], "z_arg": [2.5, 0.0]}
    at.run()
    assert python_z(at) == (2.2, 0.3)


def test_weights_are_sent_until_acknowledged(at):
    data = pad_data(at)
    assert data["weights_version"] == "small-float16"
    assert data["weights"]["dtype"] == "float16"
    assert [layer["shape"] for layer in data["weights"]["layers"]] == [[256, 2], [512, 256], [784, 512]]

    at.session_state["pad"] = {"weights_ack": "small-float16"}
    at.run()
    assert "weights" not in pad_data(at)  # the browser holds them: ~1.4 MB not re-sent

    at.radio[0].set_value("paper").run()
    data = pad_data(at)
    assert data["weights_version"] == "paper-float16"
    assert [layer["shape"] for layer in data["weights"]["layers"]] == [[1000, 2], [1000, 1000], [784, 1000]]


def test_drawing_state_is_returned_as_a_28x28_image(at):
    assert python_drawing(at) == "python drawing = none"
    image = np.zeros((28, 28), np.float32)
    image[4:24, 13:15] = 1.0
    at.session_state["draw"] = drawing_state(image)
    at.run()
    assert python_drawing(at) == "python drawing = 28x28 ink=40.00 max=1.00"
    at.session_state["draw"] = {"image": None}  # what Clear sends
    at.run()
    assert python_drawing(at) == "python drawing = none"
    at.session_state["draw"] = {"image": "not base64!"}
    at.run()
    assert python_drawing(at) == "python drawing = none"


def test_markers_are_validated():
    def app():
        import numpy as np
        import streamlit as st

        from ui.components import latent_pad

        mode = st.session_state.get("mode", "ok")
        points = [{"x": 1.0, "y": 2.0, "text": "you", "color": "#d62728"}, {"x": float("nan"), "y": 0.0}]
        if mode == "bad":
            points = [{"x": 1.0, "y": 2.0, "label": "you"}]
        layers = [(np.zeros((8, 2)), np.zeros(8)), (np.zeros((784, 8)), np.zeros(784))]
        latent_pad(key="pad", weights=layers, weights_version="v", extra_points=points, path=[(0, 0), (1, 1)])

    app_test = AppTest.from_function(app)
    app_test.run()
    assert not app_test.exception
    data = json.loads(app_test.get("bidi_component")[0].proto.json)
    assert data["markers"] == [{"x": 1.0, "y": 2.0, "text": "you", "color": "#d62728"}]  # NaN dropped
    assert data["path"] == [[0.0, 0.0], [1.0, 1.0]]
    app_test.session_state["mode"] = "bad"
    app_test.run()
    assert "extra_points entries take" in app_test.exception[0].message


def test_weights_payload_is_transposed_little_endian():
    w = np.arange(6, dtype=np.float32).reshape(3, 2)  # (out, in), as in torch.nn.Linear
    layers = [(w, np.ones(3)), (np.zeros((784, 3)), np.zeros(784))]
    payload = encode_decoder_weights(layers, dtype="float32")
    sent = np.frombuffer(base64.b64decode(payload["layers"][0]["w"]), dtype="<f4").reshape(2, 3)
    assert np.array_equal(sent, w.T)
    assert payload["layers"][0]["shape"] == [3, 2]
    half = encode_decoder_weights(layers, dtype="float16")
    assert len(base64.b64decode(half["layers"][0]["w"])) == 2 * w.size


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([], "empty"),
        ([(np.zeros((8, 3)), np.zeros(8)), (np.zeros((784, 8)), np.zeros(784))], "takes 3 inputs"),
        ([(np.zeros((8, 2)), np.zeros(8)), (np.zeros((10, 8)), np.zeros(10))], "784 logits"),
        ([(np.zeros((8, 2)), np.zeros(7))], r"\(out,\)"),
    ],
)
def test_weights_payload_rejects_wrong_shapes(layers, message):
    with pytest.raises(ValueError, match=message):
        encode_decoder_weights(layers)
