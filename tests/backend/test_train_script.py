"""The model file with a training script: golden files, ruff, the same optimizer and schedule
as the app, safety against hostile settings, and real runs with python and with torchrun.

Refresh the golden files after an intended change with `pytest --refresh-golden`.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from helpers import chain, engine_for, example_graph, frozen_digits

from dlbuilder.backend import optim
from dlbuilder.backend.codegen import ClassNameError, export_code, quoted
from dlbuilder.backend.plan import ModelPlan, build_plan, loss_and_target
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.train_script import (
    SCRIPT_NAMES,
    ScriptError,
    training_script_code,
)
from dlbuilder.cli import main
from dlbuilder.core.block_commands import RenameBlock
from dlbuilder.core.fileformat import save_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.tuning import SetTrain, Tuning, frozen_layers, set_train
from dlbuilder.resources import example_names

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "train"
EXAMPLES = example_names()
EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+): train loss ([\d.]+)(?: accuracy [\d.]+)? "
                        r"\(first batch ([\d.]+)\); val loss ([\d.]+)", re.MULTILINE)
MARKER = Path("/tmp/dlbuilder_pwned_marker")
# Settings that reach every branch of the generator (on digits_cnn unless a graph is named).
VARIANTS: dict[str, dict[str, Any]] = {
    "sgd_step": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True,
                 "schedule": "step", "step_size": 2, "gamma": 0.5},
    "step_default": {"schedule": "step", "epochs": 9},
    "rmsprop_plateau_accuracy": {"optimizer": "rmsprop", "momentum": 0.5,
                                 "schedule": "plateau", "monitor": "val_accuracy",
                                 "patience": 2},
    "adamw_cosine": {"optimizer": "adamw", "weight_decay": 0.01, "schedule": "cosine"},
    "no_validation": {"val_split": 0.0, "patience": 1, "monitor": "train_accuracy"},
    "augment": {"augment_shift": 1, "augment_flip": True, "normalize": False},
    "data_dir": {"data_dir": "/data/my digits", "device": "cpu", "seed": 3, "compile": True},
}


def plan_of(graph: Graph) -> ModelPlan:
    return build_plan(engine_for(graph))


def script_for(graph: Graph, training: dict[str, Any] | None = None,
               class_name: str = "Net") -> str:
    section = graph.training if training is None else training
    return training_script_code(plan_of(graph), resolve_settings(section), class_name,
                                Tuning.of(graph), frozen_layers(engine_for(graph)))


def example_script(name: str) -> str:
    return script_for(example_graph(name))


def digits_autoencoder() -> Graph:
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                  ("Conv2d", {"out_channels": 1, "kernel_size": 3, "padding": 1}),
                  ("Sigmoid", {}), shape=[1, 8, 8], output=False)
    graph.add_node("out", "Output", {"loss": "MSELoss", "target": "input"})
    graph.add_edge("n4", "out")
    return graph


def digits_one_hot() -> Graph:
    graph = chain(("Flatten", {}), ("Linear", {"out_features": 32}), ("ReLU", {}),
                  ("Linear", {"out_features": 10}), shape=[1, 8, 8], output=False)
    graph.add_node("out", "Output", {"loss": "MSELoss"})
    graph.add_edge("n4", "out")
    return graph


def all_scripts() -> dict[str, str]:
    scripts = {name: example_script(name) for name in EXAMPLES}
    digits = example_graph("digits_cnn")
    scripts |= {name: script_for(digits, {**digits.training, **extra})
                for name, extra in VARIANTS.items()}
    scripts["autoencoder"] = script_for(digits_autoencoder(), {"dataset": "digits"})
    scripts["one_hot"] = script_for(digits_one_hot(), {"dataset": "digits"})
    scripts["finetune"] = script_for(finetuned_resnet_cifar())
    scripts["frozen_only"] = script_for(frozen_digits())
    scripts["start_weights"] = script_for(frozen_digits(), {"init_weights": "../w/w.pt"})
    return scripts


def finetuned_resnet_cifar() -> Graph:
    """The stem and block1 frozen, block2 at a tenth of the rate but its conv1 (in every
    instance of BasicBlockDown) at half of it, the head at ten times."""
    graph = example_graph("resnet_cifar")
    set_train(["stem_conv", "stem_bn", "block1"], {"frozen": True}).apply(graph)
    SetTrain("block2", {"lr_scale": 0.1}).apply(graph)
    SetTrain("conv1", {"lr_scale": 0.5}).apply(graph.block("BasicBlockDown").graph)
    SetTrain("fc", {"lr_scale": 10}).apply(graph)
    return graph


def import_script(code: str, folder: Path, name: str = "model") -> ModuleType:
    path = folder / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def subprocess_env() -> dict[str, str]:
    """dlbuilder from this checkout (not an installed copy), one thread per process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    return env


def check_loss_fell(output: str, processes: int) -> None:
    epochs = EPOCH_LINE.findall(output)
    assert len(epochs) == 1, output  # one epoch, printed by rank 0 only
    _, _, train_loss, first_batch, val_loss = (float(v) for v in epochs[0])
    assert train_loss < first_batch and val_loss < first_batch, output
    assert val_loss < math.log(10), output  # better than guessing among 10 classes
    assert f"{processes} process(es)" in output


# -- the text ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EXAMPLES)
def test_golden(name: str, refresh_golden: bool) -> None:
    path = GOLDEN / f"{name}.py"
    code = example_script(name)
    if refresh_golden:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
    assert path.exists(), f"no golden file for {name}; run pytest --refresh-golden"
    assert code == path.read_text(encoding="utf-8"), (
        f"the training script for {name} changed; if intended, run pytest --refresh-golden "
        "and review the diff")


@pytest.mark.parametrize("name", ["finetune", "frozen_only", "start_weights"])
def test_golden_fine_tuning(name: str, refresh_golden: bool) -> None:
    """A graph with frozen layers and multipliers; without them the script is as before
    (the examples' golden files)."""
    path = GOLDEN.parent / "train_finetune" / f"{name}.py"
    code = all_scripts()[name]
    if refresh_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
    assert code == path.read_text(encoding="utf-8"), (
        f"the fine-tuning script {name} changed; if intended, run pytest --refresh-golden")


def test_the_script_freezes_and_groups_as_the_trainer_does(tmp_path: Path) -> None:
    from dlbuilder.backend.compiler import CompiledModel
    from dlbuilder.backend.finetune import tune

    graph = finetuned_resnet_cifar()
    module = import_script(all_scripts()["finetune"], tmp_path)
    torch.manual_seed(0)
    net = module.Net()
    norms = module.freeze(net)
    ours = module.make_optimizer(net)
    model = CompiledModel(plan_of(graph))
    tuned = tune(model, Tuning.of(graph), module.LR)
    names = {id(p): n for n, p in model.named_parameters()}
    net_names = {id(p): n for n, p in net.named_parameters()}
    expected = sorted((round(g["lr"], 12), sorted(names[id(p)] for p in g["params"]))
                      for g in tuned.groups)
    got = sorted((round(g["lr"], 12), sorted(net_names[id(p)] for p in g["params"]))
                 for g in ours.param_groups)
    assert got == expected and len(got) == 5
    frozen = sorted(n for n, p in model.named_parameters() if not p.requires_grad)
    assert sorted(n for n, p in net.named_parameters() if not p.requires_grad) == frozen
    assert len(norms) == len(tuned.frozen_norms) == 3  # stem_bn, block1's bn1 and bn2


@pytest.mark.usefixtures("one_thread")
def test_the_frozen_script_trains_only_the_head(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    module = import_script(all_scripts()["frozen_only"], tmp_path)
    module.main(["--epochs", "1", "--device", "cpu", "--save-weights",
                 str(tmp_path / "w.pt")])
    assert len(EPOCH_LINE.findall(capsys.readouterr().out)) == 1
    torch.manual_seed(module.SEED)
    start = module.Net().state_dict()
    trained = torch.load(tmp_path / "w.pt", weights_only=True)
    changed = sorted(k for k in start if not torch.equal(start[k], trained[k]))
    head = [n for n in frozen_digits().nodes() if frozen_digits().type_of(n) == "Linear"][-1]
    assert changed == [f"{head}.bias", f"{head}.weight"]


def test_every_golden_file_has_an_example() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.py")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_model_part_is_the_plain_export(name: str) -> None:
    code, plain = example_script(name), export_code(engine_for(example_graph(name)))
    start = plain.index("class Net(nn.Module):")
    assert code[code.index("class Net(nn.Module):"):].startswith(plain[start:])


def test_py_compile_ruff_and_line_length(tmp_path: Path) -> None:
    files = []
    for name, code in all_scripts().items():
        path = tmp_path / f"{name}.py"
        path.write_text(code, encoding="utf-8")
        files.append(str(path))
        script = code[code.index("# Training settings"):]
        assert [line for line in script.splitlines() if len(line) > 88] == [], name
    compiled = subprocess.run([sys.executable, "-m", "py_compile", *files], check=False,
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    ruff = _ruff()
    checked = subprocess.run([*ruff, "check", "--isolated", "--no-cache", "--extend-select",
                              "I", *files], check=False, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = subprocess.run([*ruff, "format", "--isolated", "--no-cache", "--check", *files],
                               check=False, capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def _ruff() -> list[str]:
    import shutil

    if shutil.which("ruff"):
        return ["ruff"]
    pytest.importorskip("ruff", reason="ruff is in the test extra: pip install '.[test]'")
    return [sys.executable, "-m", "ruff"]


def test_dlbuilder_is_imported_only_inside_functions() -> None:
    tree = ast.parse(example_script("digits_cnn"))
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in top if isinstance(n, ast.ImportFrom)}
    assert {m.split(".")[0] for m in modules} == {"argparse", "os", "torch"}
    inner = {n.module for f in tree.body if isinstance(f, ast.FunctionDef)
             for n in ast.walk(f) if isinstance(n, ast.ImportFrom)}
    assert inner == {"dlbuilder.backend.datasets", "dlbuilder.backend.prepare"}


@pytest.mark.parametrize("name", ["digits_cnn", "resnet_cifar", "autoencoder", "augment",
                                  "finetune", "start_weights"])
def test_script_names_cover_what_main_and_the_module_use(name: str) -> None:
    """A class named like any of them would break the script, so such names are refused."""
    tree = ast.parse(all_scripts()[name])
    used = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            used.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            used |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign):
            used |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)
                     and n.name in ("run", "main")):
        used |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    blocks = {n.name for n in tree.body if isinstance(n, ast.ClassDef)} - {"Net"}
    assert blocks.isdisjoint(SCRIPT_NAMES)
    assert used - SCRIPT_NAMES - set(dir(builtins)) <= {"Net", "torch", "nn", "argv", *blocks}


@pytest.mark.parametrize("name", ["main", "run", "fit", "model", "net", "dist", "DATASET",
                                  "os", "group"])
def test_class_names_the_script_uses_are_refused(name: str) -> None:
    with pytest.raises(ClassNameError, match="the training script uses"):
        script_for(example_graph("digits_cnn"), class_name=name)


def test_a_block_named_like_a_script_name_is_refused() -> None:
    graph = example_graph("resnet_cifar")
    RenameBlock("BasicBlock", "fit").apply(graph)
    with pytest.raises(ClassNameError, match="block 'fit' becomes class 'fit'.*rename the block"):
        script_for(graph)


def test_same_defaults_as_the_app() -> None:
    for graph in [example_graph(n) for n in EXAMPLES] + [digits_autoencoder(), digits_one_hot()]:
        loss, target = loss_and_target(plan_of(graph))
        code = script_for(graph, {"dataset": "digits"})
        assert f"LOSS_FN = nn.{loss}()" in code
        assert ("normalize=NORMALIZE" in code
                and f"NORMALIZE = {target == 'label'}" in code)


@pytest.mark.parametrize("variant", [*VARIANTS, "digits_cnn", "resnet_cifar"])
def test_optimizer_and_schedule_as_the_app_makes_them(variant: str, tmp_path: Path) -> None:
    graph = example_graph("resnet_cifar" if variant == "resnet_cifar" else "digits_cnn")
    section = {**graph.training, **VARIANTS.get(variant, {})}
    settings = resolve_settings(section)
    module = import_script(script_for(graph, section), tmp_path)
    model = torch.nn.Linear(2, 2)
    ours, theirs = module.make_optimizer(model), optim.make_optimizer(model.parameters(),
                                                                      settings)
    assert type(ours) is type(theirs)
    assert ours.defaults == theirs.defaults
    expected = optim.make_scheduler(theirs, settings)
    if expected is None:
        assert not hasattr(module, "make_scheduler")
        return
    got = module.make_scheduler(ours, settings.epochs)
    assert type(got) is type(expected)
    names = ("step_size", "gamma", "T_max", "eta_min", "mode", "factor", "patience", "eps",
             "threshold", "min_lrs")
    assert ({k: getattr(got, k) for k in names if hasattr(got, k)}
            == {k: getattr(expected, k) for k in names if hasattr(expected, k)})


def test_one_hot_needs_a_vector_output() -> None:
    graph = chain(("Conv2d", {"out_channels": 1, "kernel_size": 1}), shape=[1, 4, 4],
                  output=False)
    graph.add_node("out", "Output", {"loss": "MSELoss"})
    graph.add_edge("n1", "out")
    with pytest.raises(ScriptError, match="one value per class, not 1x4x4"):
        script_for(graph, {})


# -- hostile text ----------------------------------------------------------------------------
HOSTILE = ['x"\n__import__("os").system("touch /tmp/dlbuilder_pwned_marker")\n"',
           "'''\nimport os\n'''", '"""', "\\", "a\\'b\"c", "\u2028", "a\x00b", "🙂 Größe",
           "${x} $y", "}{", "#", "x" * 200]


@pytest.mark.parametrize("text", HOSTILE)
def test_quoted_gives_the_same_text_back(text: str) -> None:
    literal = quoted(text)
    assert literal.isascii() and "\n" not in literal and "\r" not in literal
    assert ast.literal_eval(literal) == text


def test_hostile_settings_and_name_execute_nothing(tmp_path: Path) -> None:
    MARKER.unlink(missing_ok=True)
    graph = example_graph("digits_cnn")
    graph.name = HOSTILE[0]
    files = []
    for i, text in enumerate(HOSTILE):
        code = script_for(graph, {"dataset": text, "data_dir": text})
        tree = ast.parse(code)
        values = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign)
                  for t in n.targets if isinstance(t, ast.Name)}
        assert ast.literal_eval(values["DATASET"]) == text
        assert ast.literal_eval(values["DATA_DIR"]) == text
        import_script(code, tmp_path, f"hostile_{i}")  # runs the module, not main()
        files.append(str(tmp_path / f"hostile_{i}.py"))
    assert not MARKER.exists()
    formatted = subprocess.run([*_ruff(), "format", "--isolated", "--no-cache", "--check",
                                *files], check=False, capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


# -- running it ------------------------------------------------------------------------------
@pytest.mark.slow
def test_python_model_py_trains_one_epoch(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(example_script("digits_cnn"), encoding="utf-8")
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "model.py", "--epochs", "1", "--save-weights",
                          "w.pt", "--device", "cpu"], cwd=tmp_path, env=subprocess_env(),
                         check=False, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - started
    assert run.returncode == 0, run.stdout + run.stderr
    check_loss_fell(run.stdout, 1)
    assert seconds < 60, f"one epoch of digits took {seconds:.1f} s"
    module = import_script((tmp_path / "model.py").read_text(encoding="utf-8"), tmp_path)
    net = module.Net()
    net.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    assert (tmp_path / "w.pt.json").exists()  # the preprocessing, for dlbuilder predict


@pytest.mark.slow
def test_torchrun_two_processes_train_one_epoch_with_ddp(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(example_script("digits_cnn"), encoding="utf-8")
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc_per_node=2", "model.py", "--epochs", "1"], cwd=tmp_path,
                         env=subprocess_env(), check=False, capture_output=True, text=True,
                         timeout=120)
    seconds = time.perf_counter() - started
    assert run.returncode == 0, run.stdout + run.stderr
    check_loss_fell(run.stdout, 2)
    assert seconds < 90, f"torchrun with two processes took {seconds:.1f} s"


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Small models train faster on one thread, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("variant", ["autoencoder", "one_hot", "augment",
                                     "rmsprop_plateau_accuracy"])
def test_variants_train_in_process(variant: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    module = import_script(all_scripts()[variant], tmp_path)
    module.main(["--epochs", "2", "--device", "cpu"])
    out = capsys.readouterr().out
    assert len(EPOCH_LINE.findall(out)) == 2, out
    assert "kept the weights of epoch" in out


# -- the command line ----------------------------------------------------------------------
def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_the_model_with_its_training_script(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "m.py"
    code, out, err = cli(capsys, "export", "digits_cnn", "-o", str(target),
                         "--with-training-script")
    assert code == 0 and out == ""
    assert f"wrote {target}: class Net and a training script, 38,314 parameters" in err
    assert target.read_text(encoding="utf-8") == (GOLDEN / "digits_cnn.py").read_text(
        encoding="utf-8")
    code, out, _ = cli(capsys, "export", "digits_cnn", "--with-training-script")
    assert code == 0 and out == (GOLDEN / "digits_cnn.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "onnx", "-o", "m.onnx"], "--with-training-script applies to Python"),
    (["-o", "m.onnx"], "--with-training-script applies to Python"),
    (["--class-name", "main"], "--class-name: class name 'main' is a name the training"),
])
def test_cli_usage_problems_exit_2(args: list[str], message: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "export", "digits_cnn", "--with-training-script", *args)
    assert code == 2 and message in err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize(("training", "message"), [
    ({"lr": -1}, "training.lr: must be more than 0, not -1"),
    ({"learning_rate": 0.1}, "training.learning_rate: unknown training setting (did you mean"),
    ({"optimizer": "adam", "nesterov": True}, "nesterov: needs optimizer sgd"),
])
def test_cli_bad_training_settings_exit_2(training: dict[str, Any], message: str,
                                          tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    graph = example_graph("digits_cnn")
    graph.training = training
    path = tmp_path / "bad.json"
    save_graph(graph, path)
    target = tmp_path / "m.py"
    code, _, err = cli(capsys, "export", str(path), "-o", str(target), "--with-training-script")
    assert code == 2 and message in err and "training settings" in err
    assert not target.exists()
    code, _, _ = cli(capsys, "export", str(path), "-o", str(target))  # the model alone is fine
    assert code == 0


@pytest.mark.slow
def test_cli_export_with_the_script_does_not_load_torch(tmp_path: Path) -> None:
    args = ["export", "digits_cnn", "--with-training-script", "-o", str(tmp_path / "m.py")]
    code = (f"import sys; from dlbuilder.cli import main; main({args!r}); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                            text=True, timeout=120, env=subprocess_env())
    assert result.stdout.strip() == "False", result.stdout + result.stderr
