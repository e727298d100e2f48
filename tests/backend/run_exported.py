"""Run exported model files in a fresh interpreter; compare with the compiled module's output.

usage: python run_exported.py CASE_DIR...
Each CASE_DIR holds model.py (the exported code), weights.pt (the compiled module's
state_dict) and case.pt ({"input": ..., "expected": ...}). Prints one line per mismatch and
exits 1 if there is any. Not a test module: test_compiler.py runs it in a subprocess.
"""

from __future__ import annotations

import importlib.util
import sys

import torch


def check(index: int, folder: str) -> str | None:
    spec = importlib.util.spec_from_file_location(f"exported_{index}", f"{folder}/model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Net()
    model.load_state_dict(torch.load(f"{folder}/weights.pt", weights_only=True))
    model.eval()
    case = torch.load(f"{folder}/case.pt", weights_only=True)
    with torch.no_grad():
        out = model(case["input"])
    if not isinstance(out, torch.Tensor):
        return f"{folder}: forward returned {type(out).__name__}, not a tensor"
    if out.shape != case["expected"].shape or not torch.equal(out, case["expected"]):
        return f"{folder}: outputs differ from the compiled module's"
    return None


def main(folders: list[str]) -> int:
    problems = [p for i, f in enumerate(folders) if (p := check(i, f)) is not None]
    for problem in problems:
        print(problem)
    print(f"checked {len(folders)} exported models, {len(problems)} mismatches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
