"""`dlbuilder [FILE]` opens the editor; `--screenshot` saves the window instead of staying;
`dlbuilder render` draws a graph to PNG or SVG. Qt is imported only once these run."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from dlbuilder.cli.common import EXIT_GRAPH_ERRORS, EXIT_OK, EXIT_USAGE, Parser, UsageError

THEMES = ("system", "light", "dark")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 1600x1000, got {text!r}") from None
    if not (320 <= width <= 8000 and 240 <= height <= 8000):
        raise UsageError(f"--size {text} is outside 320x240 .. 8000x8000")
    return width, height


def _gui_parser() -> Parser:
    parser = Parser(prog="dlbuilder", description="Open the editor (optionally on FILE).")
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="a graph file (.json), or the name of a shipped example")
    parser.add_argument("--screenshot", metavar="OUT.png", type=Path,
                        help="open FILE, save a picture of the whole window and exit")
    parser.add_argument("--size", default="1600x1000", metavar="WxH",
                        help="window size for --screenshot (default 1600x1000)")
    parser.add_argument("--theme", choices=THEMES, help="light, dark or system (default: as "
                        "last chosen in the app, else the system's)")
    return parser


def cmd_gui(argv: Sequence[str]) -> int:
    try:
        args = _gui_parser().parse_args(argv)
        size = _size(args.size)
    except UsageError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    from dlbuilder.gui import app as gui_app

    if args.screenshot is not None:
        gui_app.use_offscreen_if_headless()
    else:
        problem = gui_app.needs_display_message()
        if problem is not None:
            print(problem, file=sys.stderr)
            return EXIT_USAGE
    options = gui_app.GuiOptions(args.file, args.screenshot, size, args.theme)
    return gui_app.run_gui(options)


def _render_parser() -> Parser:
    parser = Parser(prog="dlbuilder render",
                    description="Draw a graph's canvas to an image, without a window.")
    parser.add_argument("file", metavar="FILE",
                        help="a graph file (.json), or the name of a shipped example")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT",
                        help="the image to write: .png or .svg")
    parser.add_argument("--theme", choices=("light", "dark"), default="light",
                        help="colours (default light, for paper)")
    parser.add_argument("--scale", type=float, default=2.0,
                        help="pixels per canvas unit for PNG (default 2, sharp on slides)")
    return parser


def cmd_render(argv: Sequence[str]) -> int:
    try:
        args = _render_parser().parse_args(argv)
    except UsageError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    if args.output.suffix.lower() not in (".png", ".svg"):
        print(f"dlbuilder render: {args.output} must end in .png or .svg", file=sys.stderr)
        return EXIT_USAGE
    if not 0.1 <= args.scale <= 8:
        print("dlbuilder render: --scale must be between 0.1 and 8", file=sys.stderr)
        return EXIT_USAGE
    from dlbuilder.gui import app as gui_app

    gui_app.use_offscreen_if_headless()
    from dlbuilder.core.fileformat import GraphFileError, load_graph
    from dlbuilder.gui.export.render import render_graph
    from dlbuilder.gui.look.theme import theme_manager
    from dlbuilder.layers import REGISTRY
    from dlbuilder.resources import find_graph_file

    try:
        graph = load_graph(find_graph_file(args.file), REGISTRY)
    except GraphFileError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    gui_app.application()
    theme_manager().apply(args.theme)
    from dlbuilder.gui.document import Document

    doc = Document(graph)
    try:
        render_graph(doc, args.output, args.theme, args.scale)
    except (OSError, ValueError) as err:
        print(f"dlbuilder render: {err}", file=sys.stderr)
        return EXIT_USAGE
    totals = doc.engine.totals()
    print(f"saved {args.output}")
    if totals.errors:
        print(f"note: the graph has {totals.errors} error(s), drawn in red", file=sys.stderr)
        return EXIT_GRAPH_ERRORS
    return EXIT_OK
