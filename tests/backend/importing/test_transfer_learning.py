"""Transfer learning from an imported model, as the issue's user does it: import torchvision's
ResNet-18 with its weights file, open the graph file, give it a 10-class head, freeze the
rest, train one epoch on a folder of pictures. The frozen weights (BatchNorm statistics
included) come out bit-identical to the imported model's, the new head's changed.

torchvision is imported as tests/zoo_torchvision.py does; weights=None: nothing downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import engine_for, image_folder
from zoo_torchvision import import_torchvision, randomize

from dlbuilder.backend.importing.result import write_imported
from dlbuilder.backend.importing.torch_import import import_model
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import Trainer, plan_run
from dlbuilder.backend.weights import read_state_dict
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.tuning import set_train, upstream_with_weights
from dlbuilder.layers import REGISTRY


@pytest.mark.slow
def test_imported_resnet18_fine_tunes_its_new_head_only(tmp_path: Path):
    models, why = import_torchvision()
    if models is None:
        pytest.skip(why)
    original = randomize(models.resnet18(weights=None))
    imported = import_model(original, (3, 32, 32), name="resnet18")
    # torchvision's attribute names are the graph's ids, so its keys are the exported class's
    assert imported.state.keys() == original.state_dict().keys()
    write_imported(imported, tmp_path / "resnet18.json", tmp_path / "resnet18.pt")

    graph = load_graph(tmp_path / "resnet18.json", REGISTRY)
    graph.set_params("fc", {"out_features": 10})
    engine = engine_for(graph)
    body = upstream_with_weights(graph, "fc", lambda n: engine.info(n).params > 0)
    assert "layer4" in body and "conv1" in body and "fc" not in body
    set_train(body, {"frozen": True}).apply(graph)
    settings = resolve_settings({}, {"dataset": str(image_folder(tmp_path / "pictures")),
                                     "epochs": 1, "batch_size": 8, "val_split": 0,
                                     "device": "cpu", "lr": 0.1})
    trainer = Trainer(plan_run(engine_for(graph), settings),
                      init_weights=tmp_path / "resnet18.pt")
    assert trainer.weight_notes == ("fc: 1000 -> 10 outputs changed the shape; it starts "
                                    "from new weights",)
    head = trainer.model.fc.weight.detach().clone()
    finished = list(trainer.run())[-1]
    assert (finished.kind, finished.reason, finished.epochs_run) == ("finished", "completed", 1)
    saved = read_state_dict(tmp_path / "resnet18.pt")
    after = trainer.model.state_dict()
    assert not torch.equal(after["fc.weight"], head)
    for key, value in after.items():
        if not key.startswith("fc."):
            assert torch.equal(value, saved[key]), key
            assert torch.equal(value, original.state_dict()[key]), key
