"""What the AppTest page tests share: an app run, its elements, its jobs, the steps most tests take."""
import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, image_bytes, make_zip

TIMEOUT = 120


INSIDE_VIEWS = ("🗺️ Embedding map", "🔍 Filters & activations", "👯 Nearest neighbours")  # the See inside page's


def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    return at.run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def button(at: AppTest, label: str):
    matches = [b for b in at.button if label in b.label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def job_of(at: AppTest, key: str):
    """The session's job `key`, as its pages see it."""
    from pages.ui.state import server

    return server().job(at.session_state.workspace, key)


def wait_for_job(at: AppTest, key: str, timeout: float = 120) -> None:
    job = job_of(at, key)
    assert job is not None
    assert job.join(timeout), "job did not finish"
    at.run()


def upload_zip(at: AppTest, data: bytes, name: str = "pets.zip") -> AppTest:
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    at.file_uploader(key="zip_upload").set_value([(name, data, "application/zip")]).run()
    button(at, "Load the archive").click().run()
    return at


def start_training(at: AppTest, epochs: int = 2, size: int = 8) -> AppTest:
    """Small images keep the tests quick; the recommended sizes are checked by the benchmarks."""
    at.switch_page("pages/train.py").run()
    at.number_input(key="pretext.epochs").set_value(epochs).run()
    at.select_slider(key="pretext.image_size").set_value(size).run()
    button(at, "Start training").click().run()
    return at


def run_comparison(at: AppTest, epochs: int = 2) -> AppTest:
    """SSL against scratch on the Downstream page, quickly, to the end."""
    at.switch_page("pages/downstream.py").run()
    at.number_input(key="downstream.epochs").set_value(epochs).run()
    button(at, "Compare SSL").click().run()
    wait_for_job(at, "downstream_job")
    return at


def reopen(token: str) -> AppTest:
    """A reload (or another visitor) opening the app with `token` in the URL."""
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    other.query_params["session"] = token
    return other.run()


def outcomes(n: int, right: range | list[int]):
    import torch

    correct = torch.zeros(n, dtype=torch.bool)
    correct[list(right)] = True
    return correct


# (name, n_test, chance, commonest class, SSL images right, scratch images right, labels per class)
STORIES = [
    ("significant but guessing", 361, 0.55, "dogs", range(203), range(178), 10),  # issue 20's cats and dogs
    ("20 test images", 20, 0.5, None, range(14), [*range(7), *range(14, 20)], 50),
    ("clear win", 2000, 0.1, None, range(1600), range(1200), 2),
    ("tie", 2000, 0.1, None, range(1600), range(10, 1610), 2),
    ("neither learned", 2000, 0.1135, None, range(200), range(10, 210), 2),
]


def story_page(story) -> AppTest:
    """The Downstream page showing a constructed comparison (`STORIES`)."""
    import torch

    from pages.ui.state import server
    from ssl_core.analysis.comparison import Comparison
    from ssl_core.data.datasets import load_mnist_10k
    from ssl_core.engine.downstream import DownstreamResult
    from ssl_core.engine.evaluate import Evaluation
    from ssl_core.engine.pretrain import PretrainConfig, pretrain

    name, n, chance, commonest, ssl_right, scratch_right, per_class = story
    at = app()
    digits = load_mnist_10k()
    pretrained = pretrain(PretrainConfig(epochs=1, image_size=8), digits.images[:64], digits.images[:32])
    pretrained.dataset = "mnist-10k"

    def run(mode: str, right) -> DownstreamResult:
        correct = outcomes(n, right)
        return DownstreamResult(mode, pretrained.model, Evaluation(float(correct.float().mean()), 2.3,
                                                                   torch.zeros(10, 10, dtype=torch.int64), correct))

    comparison = Comparison({"finetune": [run("finetune", ssl_right)], "scratch": [run("scratch", scratch_right)]},
                            n_labeled=20, n_test=n, chance=chance, labels_per_class=per_class, chance_class=commonest)
    comparison.judge()
    space = at.session_state.workspace
    train = server().start_job(space, "train_job", "pretext", "t", lambda job: pretrained)
    downstream = server().start_job(space, "downstream_job", "downstream", "t", lambda job: comparison)
    assert train.join(5) and downstream.join(5)
    at.switch_page("pages/downstream.py").run()
    no_errors(at)
    return at


def pets_zip() -> bytes:
    png = image_bytes(size=(32, 32))
    return make_zip({**{f"cats/{i}.png": png for i in range(4)}, **{f"dogs/{i}.png": png for i in range(4)}})


def colour_photos(prefix: str, base: tuple[int, int, int], n: int) -> list[tuple[str, bytes, str]]:
    return [(f"{prefix}{i}.png", image_bytes(size=(48, 40), color=tuple(min(255, c + 6 * i) for c in base)),
             "image/png") for i in range(n)]


def add_class(at: AppTest, name: str) -> None:
    next(t for t in at.text_input if t.label == "New class").input(name)
    button(at, "Add class").click().run()


def open_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def load_folder(at: AppTest, folder) -> AppTest:
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    at.text_input(key="folder_path").set_value(str(folder)).run()
    button(at, "Load the folder").click().run()
    return at


def values(array) -> np.ndarray:
    """A figure's data array as plotly sends it: a list, or numpy's bytes in base64."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def image_captions(at: AppTest) -> list[str]:
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def answer_round(at: AppTest, pick: int = 0) -> AppTest:
    for _ in range(8):
        [b for b in at.button if b.key and b.key.startswith("quiz_")][pick].click().run()
    return at
