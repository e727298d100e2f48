"""The editor from the command line: screenshots and renders without a display, the message
when there is no display, and nothing heavy loaded before the first paint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage


def dlbuilder(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
              ) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "QT_QPA_PLATFORM": "offscreen"} if env is None else env
    return subprocess.run([sys.executable, "-m", "dlbuilder", *args], check=False,
                          capture_output=True, text=True, timeout=180, env=base, cwd=cwd)


@pytest.mark.slow
def test_screenshot_paints_before_torch_and_pyqtgraph_load(tmp_path: Path) -> None:
    shot, stamp = tmp_path / "shot.png", tmp_path / "paint.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DLBUILDER_FIRST_PAINT_FILE": str(stamp),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    result = dlbuilder("digits_cnn", "--screenshot", str(shot), "--size", "1280x720",
                       "--theme", "dark", env=env)
    assert result.returncode == 0, result.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 720)
    assert json.loads(stamp.read_text())["loaded"] == {"torch": False, "pyqtgraph": False}
    assert not (tmp_path / "config").exists()  # a screenshot leaves the user's settings alone


@pytest.mark.slow
def test_screenshot_of_a_broken_file_says_why_without_a_dialog(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "dlbuilder.graph", "version": 1, "nodes": [}')
    result = dlbuilder(str(broken), "--screenshot", str(tmp_path / "x.png"))
    assert result.returncode == 2
    assert "broken.json" in result.stderr and "line 1" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_bad_size_is_a_usage_error(tmp_path: Path) -> None:
    result = dlbuilder("lenet5", "--screenshot", str(tmp_path / "x.png"), "--size", "big")
    assert result.returncode == 2 and "1600x1000" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the display check is for X11/Wayland")
def test_no_display_gives_advice_instead_of_a_qt_abort() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = dlbuilder(env=env)
    assert result.returncode == 2
    assert "xvfb-run -a dlbuilder" in result.stderr and "--screenshot" in result.stderr
    assert "Aborted" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_render_writes_an_image_without_a_display(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"resnet{suffix}"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    result = dlbuilder("render", "resnet_cifar", "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 5_000
    if suffix == ".svg":
        text = out.read_text()
        assert "<svg" in text and "Conv2d" in text
    else:
        image = QImage(str(out))
        assert image.width() > 400 and image.height() > 200


@pytest.mark.slow
def test_render_refuses_other_formats_and_broken_files(tmp_path: Path) -> None:
    result = dlbuilder("render", "lenet5", "-o", str(tmp_path / "x.gif"))
    assert result.returncode == 2 and ".png or .svg" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = dlbuilder("render", str(broken), "-o", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "broken.json" in result.stderr
