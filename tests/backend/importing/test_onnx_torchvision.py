"""The torchvision models of the issue, exported to ONNX by both of torch's exporters, import
back with their outputs.

"Equal within 1e-5" is read relative to the output's size: the largest difference must be
under 1e-5 of the largest output magnitude (and of 1 for outputs smaller than that). Both
exporters fold each BatchNorm into the convolution before it, which rounds differently from
running them one after the other: ResNet-50's random-weight logits reach about 600 and differ
by about 5e-4 (8e-7 of their size, float32's rounding after 50 layers), ResNet-18's reach 11
and differ by 6e-6. An absolute 1e-5 would fail models by their scale, not by a wrong layer.

VGG-11's classifier pools to 7 x 7, which the TorchScript exporter only writes when the
image's 1/32 divides into it, so VGG runs on 3 x 224 x 224; the others on 3 x 64 x 64.

Every case exports ONNX and takes one to 30 seconds, so all are `slow` (CI runs them); the
patterns they need (shape arithmetic, ChannelShuffle, Slices as a Chunk) are covered in the
everyday run by the hand-built graphs of test_onnx_graphs.py.
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from import_checks import export_torch_onnx
from zoo_torchvision import IMPORT_MODELS, import_torchvision, randomize

from dlbuilder.backend.compiler import compile_graph
from dlbuilder.backend.importing.onnx_import import import_onnx

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
pytestmark = pytest.mark.slow

MODELS = IMPORT_MODELS
SIZE = {"vgg11_bn": 224}
TOLERANCE = 1e-5


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("arch", list(MODELS))
def test_a_torchvision_model_from_onnx_gives_its_outputs(tmp_path, arch, dynamo):
    models, why = import_torchvision()
    if models is None:
        pytest.skip(why)
    torch.manual_seed(0)
    model = randomize(getattr(models, arch)(weights=None, **MODELS[arch])).eval()
    size = SIZE.get(arch, 64)
    export_torch_onnx(model, (3, size, size), tmp_path / "m.onnx", dynamo)

    imported = import_onnx(tmp_path / "m.onnx")
    compiled = compile_graph(imported.graph)
    compiled.load_state_dict(imported.state)
    compiled.eval()
    x = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = compiled(x), model(x)
    scale = max(1.0, theirs.abs().max().item())
    assert (ours - theirs).abs().max().item() <= TOLERANCE * scale
    if arch == "shufflenet_v2_x1_0":  # 16 units shuffle, 13 of them split their input first
        types = Counter(map(imported.graph.type_of, imported.graph.nodes()))
        assert (types["ChannelShuffle"], types["Chunk"]) == (16, 13)
