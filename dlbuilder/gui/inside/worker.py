"""Looking inside off the GUI thread: a Probe lives in a QObject moved to its own QThread.

Only plain values cross: a Source (the graph as a file dict, a weights path, the dataset's
numpy arrays that nobody changes) goes in once, Requests go in as the user picks, draws and
selects; a ProbeInfo and Answers (numpy arrays and frozen dataclasses) come back as queued
signals. Requests are coalesced: while one is being answered, each new one replaces the one
waiting, so a fast pen never queues up work that is already out of date (the newest wins).

torch is imported in the worker thread, so the window never waits for it.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from dlbuilder.backend.inside.drawing import InkStyle, drawing_to_sample, ink_style
from dlbuilder.backend.module_names import NodePath
from dlbuilder.gui.canvas.card_thumbs import ThumbData, thumb_data
from dlbuilder.gui.errors import write_log
from dlbuilder.gui.widgets.threads import ThreadedSession

THUMB_NODES_MAX = 400  # more cards than this get no thumbnails (a picture nobody could read)


@dataclass(frozen=True, eq=False)
class Source:
    """Which network to look into: `graph` (a file dict), `weights` (a .pt file, its
    preprocessing beside it as .pt.json; None: random weights), `label` (what the dock calls
    them: "run 12, 98.3% val"), and the training data (a backend Dataset, or None), which
    prepares samples for random weights and tells how drawn samples should look."""

    graph: dict[str, Any]
    weights: Path | None
    label: str
    dataset: Any = None
    note: str = ""  # said beside the label: "the graph changed since; this is the one trained"


@dataclass(frozen=True, eq=False)
class ProbeInfo:
    """What the GUI needs to know of a loaded network, as plain values."""

    source: Source
    serial: int  # which load: answers to requests made for another are dropped
    classes: tuple[str, ...]
    shapes: dict[NodePath, tuple[int, ...]]
    texts: dict[NodePath, str]  # "layer1.0/conv1"
    types: dict[NodePath, str]  # "Conv2d", or a block's name
    input_path: NodePath
    image_layers: tuple[NodePath, ...]
    convolutions: tuple[NodePath, ...]
    default_cam: NodePath | None
    classifier: bool
    target: str  # "label" or "input"
    sample_shape: tuple[int, ...]
    image: bool  # samples are pictures (1 or 3 channels)
    style: InkStyle | None  # how drawn samples are made to look; None: not images
    style_note: str  # where the style came from, when not from the training data
    result: NodePath | None = None  # the node the network's answer is (an Output's input)


@dataclass(frozen=True, eq=False)
class Request:
    """Look at one sample (`raw`, or a pad's `drawing` (h, w) 0..1 made into one) and, where
    asked, the selected layer's maps, card thumbnails, saliency and a convolution's filters."""

    probe: int  # the ProbeInfo.serial it was made for
    raw: np.ndarray | None = None
    drawing: np.ndarray | None = None
    layer: NodePath | None = None
    order: str = "index"
    thumbs: tuple[NodePath, ...] = ()
    saliency: tuple[int | None, NodePath | None] | None = None  # (class, layer): None each
    filters: NodePath | None = None  # is the predicted class, the default Grad-CAM layer


@dataclass(frozen=True, eq=False)
class Answer:
    request: Request
    look: Any  # backend.inside.probe.Look
    tiles: Any = None  # backend.inside.tiles.Tiles of the request's layer
    thumbs: dict[NodePath, ThumbData] = field(default_factory=dict)
    saliency: Any = None  # Saliency
    filters: Any = None  # FilterTiles
    problem: str = ""  # what could not be shown (saliency or filters), for the user
    seconds: float = 0.0  # the time it took in the worker


class InsideWorker(QObject):
    """Lives in the Look Inside thread; holds one Probe at a time."""

    loaded = Signal(object)  # ProbeInfo
    answered = Signal(object)  # Answer
    failed = Signal(str)  # a message for the user
    load_failed = Signal(str)  # the network could not be loaded: why, for the user
    sample_read = Signal(object, object, object)  # path, raw sample, notes (list of str)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._waiting: Request | None = None
        self._probe: Any = None
        self._info: ProbeInfo | None = None

    def offer(self, request: Request) -> bool:
        """Called from the GUI thread: make `request` the one to answer next, replacing any
        still waiting. True when none was waiting (then the worker must be woken)."""
        with self._lock:
            idle = self._waiting is None
            self._waiting = request
        return idle

    @Slot(object)
    def load(self, job: tuple[Source, int]) -> None:
        source, serial = job
        with self._lock:
            self._waiting = None  # made for the network before
        try:
            self._probe, self._info = load_probe(source, serial)
        except Exception as err:  # noqa: BLE001 - every failure becomes a message
            self._probe = self._info = None
            self.load_failed.emit(_message(err, "cannot look into these weights"))
            return
        self.loaded.emit(self._info)

    @Slot(object)
    def read(self, job: tuple[Path, bool]) -> None:
        """An image file as a raw sample for the loaded network: prepared like its training
        data (where that is ink on a plain background, and `prepare`), else only resized."""
        path, prepare = job
        if self._probe is None or self._info is None:
            self.failed.emit("Look Inside cannot read the image yet: the network is not loaded")
            return
        try:
            from dlbuilder.backend.inside.samples import read_image_sample

            measured = self._info.style if not self._info.style_note else None
            raw, notes = read_image_sample(path, self._probe.preprocessing, measured, prepare)
        except Exception as err:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(_message(err, f"cannot read {Path(path).name}"))
            return
        self.sample_read.emit(Path(path), raw, list(notes))

    @Slot()
    def take(self) -> None:
        with self._lock:
            request, self._waiting = self._waiting, None
        if request is None or self._info is None or request.probe != self._info.serial:
            return
        try:
            self.answered.emit(answer(self._probe, self._info, request))
        except Exception as err:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(_message(err, "cannot look at this sample"))


def load_probe(source: Source, serial: int) -> tuple[Any, ProbeInfo]:
    """The Probe for `source`, and what the GUI needs to know of it."""
    import torch

    from dlbuilder.backend.inside.probe import Probe

    torch.set_num_threads(1)  # one sample at a time: more threads only wait for each other
    probe = Probe(source.graph, source.weights, _preprocessing(source))
    shapes = probe.shapes()
    prep = probe.preprocessing
    image = len(prep.sample_shape) == 3 and prep.sample_shape[0] in (1, 3)
    style, note = _style(source.dataset, prep) if image else (None, "")
    info = ProbeInfo(
        source=source, serial=serial, classes=probe.classes, shapes=dict(shapes),
        texts={p: probe.text(p) for p in shapes}, types={p: probe.node_type(p) for p in shapes},
        input_path=probe.input_path, image_layers=tuple(probe.image_layers()),
        convolutions=tuple(probe.convolutions()), default_cam=probe.default_cam_layer(),
        classifier=probe.classifier, target=probe.target, sample_shape=prep.sample_shape,
        image=image, style=style, style_note=note, result=probe.result_path())
    return probe, info


def _preprocessing(source: Source) -> Any:
    """For weights, the preprocessing saved with them (the Probe reads it); for random
    weights, the training data's as a run would fit it, so samples are prepared alike."""
    if source.weights is not None or source.dataset is None:
        return None
    from dlbuilder.backend.prepare import fit_preprocessing
    from dlbuilder.backend.settings import resolve_settings

    settings = resolve_settings(source.graph.get("training", {}))
    shape = _params_of(source.graph, "Input").get("shape")
    target = str(_params_of(source.graph, "Output").get("target", "label"))
    data = source.dataset
    if not isinstance(shape, list) or int(np.prod(shape)) != int(np.prod(data.sample_shape)):
        return None
    return fit_preprocessing(data, data.train.x, tuple(int(n) for n in shape),
                             settings.resolved_normalize(target))


def _params_of(graph: dict[str, Any], type_name: str) -> dict[str, Any]:
    """The parameters of the graph's first node of `type_name` (empty when it has none)."""
    node = next((n for n in graph.get("nodes", []) if n.get("type") == type_name), {})
    params = node.get("params", {})
    return params if isinstance(params, dict) else {}


_STYLES: dict[int, tuple[Any, InkStyle]] = {}  # by the dataset's id (it is kept, so unique)


def _style(dataset: Any, prep: Any) -> tuple[InkStyle, str]:
    """How the training data draws its samples, measured (once per dataset); MNIST's manner
    where there is no data to measure (or it is not this network's)."""
    if dataset is not None and tuple(dataset.sample_shape) == tuple(prep.sample_shape):
        kept = _STYLES.get(id(dataset))
        if kept is not None and kept[0] is dataset:
            return kept[1], ""
        try:
            style = ink_style(dataset.train.x, dataset.scale)
        except ValueError:
            pass
        else:
            _STYLES.clear()  # one dataset at a time: the arrays are large
            _STYLES[id(dataset)] = (dataset, style)
            return style, ""
    h, w = prep.sample_shape[-2:]
    style = InkStyle(sample_shape=tuple(prep.sample_shape), scale=prep.scale or 1.0, box=0.7,
                     centre=(0.5, 0.5), stroke=max(h, w) / 14, ink=1.0, background=0.0)
    return style, "Drawn in MNIST's manner: no training data is loaded to measure"


def answer(probe: Any, info: ProbeInfo, request: Request) -> Answer:
    """Everything `request` asks for, from `probe` (in the calling thread)."""
    from dlbuilder.backend.inside.probe import ProbeError
    from dlbuilder.backend.inside.tiles import filter_tiles, map_tiles

    start = time.perf_counter()
    raw = request.raw
    if request.drawing is not None and info.style is not None:
        raw = drawing_to_sample(request.drawing, info.style)
    if raw is None:
        raise ValueError("a request needs a sample or a drawing")
    look = probe.look(raw)
    tiles = None
    if request.layer is not None and request.layer in look.outputs:
        tiles = map_tiles(look.outputs[request.layer], request.order)
    thumbs = {path: thumb_data(look, path) for path in request.thumbs[:THUMB_NODES_MAX]
              if path in look.outputs or path == look.result}
    saliency = filters = None
    problems = []
    try:
        if request.saliency is not None and info.classifier:
            wanted, layer = request.saliency
            index = int(np.argmax(look.probabilities)) if wanted is None else wanted
            saliency = probe.saliency(raw, index, layer)
        if request.filters is not None:
            filters = filter_tiles(probe.filters(request.filters))
    except ProbeError as err:
        problems.append(str(err))
    return Answer(request, look, tiles, thumbs, saliency, filters, " ".join(problems),
                  time.perf_counter() - start)


def _message(err: Exception, what: str) -> str:
    """Known problems as they are (they name what is wrong); anything else with the log."""
    if isinstance(err, ValueError | OSError):
        return f"Look Inside {what}: {err}"
    where = write_log("".join(traceback.format_exception(err)))
    logged = f" The details are in {where}." if where else ""
    return f"Look Inside {what}: {type(err).__name__}: {err}.{logged}"


class InsideSession(ThreadedSession):
    """The GUI's handle on the Look Inside thread: load a Source, ask Requests, shut down.
    Signals are re-sent from the worker and arrive in the GUI thread."""

    loaded = Signal(object)  # ProbeInfo
    answered = Signal(object)  # Answer
    failed = Signal(str)
    load_failed = Signal(str)
    sample_read = Signal(object, object, object)  # path, raw sample, notes
    _load_posted = Signal(object)
    _read_posted = Signal(object)
    _wake_posted = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(InsideWorker(), "dlbuilder-look-inside", parent)
        self._load_posted.connect(self._worker.load)
        self._wake_posted.connect(self._worker.take)
        self._read_posted.connect(self._worker.read)
        self._worker.sample_read.connect(self._on_worker_sample_read)
        # the session's own slots: a cross-thread signal connected to a callable that is not
        # a slot (another signal's emit, a lambda) can crash PySide
        self._worker.loaded.connect(self._on_worker_loaded)
        self._worker.answered.connect(self._on_worker_answered)
        self._worker.failed.connect(self._on_worker_failed)
        self._worker.load_failed.connect(self._on_worker_load_failed)
        self._serial = 0
        self.info: ProbeInfo | None = None

    def load(self, source: Source) -> int:
        """Look into `source` from now on; answers for the network before are dropped."""
        self._serial += 1
        self.info = None
        self._load_posted.emit((source, self._serial))
        return self._serial

    def read(self, path: Path, prepare: bool = True) -> None:
        """Read an image file as a sample (`sample_read`, or `failed` saying why not),
        prepared like the training data where `prepare` (see InsideWorker.read)."""
        self._read_posted.emit((Path(path), bool(prepare)))

    def ask(self, request: Request) -> None:
        """Answer `request` as soon as the worker is free (replacing one still waiting)."""
        if self._worker.offer(request):
            self._wake_posted.emit()

    @property
    def serial(self) -> int:
        return self._serial

    @Slot(object)
    def _on_worker_loaded(self, info: ProbeInfo) -> None:
        if info.serial == self._serial:
            self.info = info
            self.loaded.emit(info)

    @Slot(object)
    def _on_worker_answered(self, answer: Answer) -> None:
        if answer.request.probe == self._serial:
            self.answered.emit(answer)

    @Slot(str)
    def _on_worker_failed(self, text: str) -> None:
        self.failed.emit(text)

    @Slot(str)
    def _on_worker_load_failed(self, text: str) -> None:
        self.load_failed.emit(text)

    @Slot(object, object, object)
    def _on_worker_sample_read(self, path: Path, raw: np.ndarray, notes: list[str]) -> None:
        self.sample_read.emit(path, raw, notes)

