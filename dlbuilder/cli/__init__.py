"""The command line. The first argument selects a subcommand; anything else opens the editor.

Exit status for every subcommand: 0 ok (or only warnings), 1 errors in the graph, 2 an
unreadable file or bad arguments; `train` also 130 when Ctrl+C ended the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from dlbuilder import __version__
from dlbuilder.cli.common import (
    EXIT_GRAPH_ERRORS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Parser,
    args_and_engine,
)
from dlbuilder.cli.export import cmd_export
from dlbuilder.cli.gui import cmd_gui, cmd_render
from dlbuilder.cli.importing import cmd_import
from dlbuilder.cli.inspecting import cmd_inspect
from dlbuilder.cli.predict import cmd_predict
from dlbuilder.cli.solve import cmd_solve
from dlbuilder.cli.train import cmd_train


def _summary_parser() -> Parser:
    parser = Parser(prog="dlbuilder summary",
                    description="Print each layer's output shape, parameters and mult-adds.")
    parser.add_argument("file", metavar="FILE",
                        help="a graph file (.json), or the name of a shipped example")
    parser.add_argument("--depth", type=_depth, default=DEFAULT_DEPTH, metavar="N",
                        help="how deep to show the rows inside blocks, as torchinfo's depth: "
                             "1 shows only the graph's own layers (a block as one row with "
                             f"its totals), 2 adds its repeats or layers... (default "
                             f"{DEFAULT_DEPTH}); the totals are the same at any depth")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object on stdout instead of a table")
    return parser


DEFAULT_DEPTH = 3  # torchinfo's: a ResNet's stages, their blocks and the blocks' layers


def _depth(text: str) -> int:
    """--depth's value: a whole number from 1 (argparse words the error around it)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of 1 or more (1: the graph's own layers only), got {text!r}")
    return value


def cmd_summary(argv: Sequence[str]) -> int:
    loaded = args_and_engine(_summary_parser(), argv)
    if isinstance(loaded, int):
        return loaded
    args, engine = loaded
    from dlbuilder.core.summary import format_summary, summary_dict

    if args.json:
        print(json.dumps(summary_dict(engine, args.depth)))
    else:
        print(format_summary(engine, args.depth))
    return EXIT_GRAPH_ERRORS if engine.has_errors() else EXIT_OK


SUBCOMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "summary": (cmd_summary, "print a graph's shapes, parameter counts and problems"),
    "export": (cmd_export, "write a graph as PyTorch code (or ONNX with --format onnx)"),
    "import": (cmd_import, "a PyTorch model (file.py:NAME) or ONNX file as a graph + weights"),
    "train": (cmd_train, "train a graph on a dataset, one line of metrics per epoch"),
    "predict": (cmd_predict, "classify images or an NPZ of samples with trained weights"),
    "inspect": (cmd_inspect, "feature maps, filters and saliency of one sample (PNG or JSON)"),
    "render": (cmd_render, "draw a graph's canvas to a PNG or SVG image, without a window"),
    "solve": (cmd_solve, "the settings that give a layer the output size you want"),
}

USAGE = """usage: dlbuilder [FILE] [--screenshot OUT.png [--size WxH]] [--theme light|dark]
       dlbuilder SUBCOMMAND [ARGS...]

Design neural networks visually, with every layer's shape and parameter count live.

subcommands:
{commands}

Run `dlbuilder SUBCOMMAND --help` for a subcommand's options.
Shipped examples (usable by name): {examples}"""


def _usage() -> str:
    from dlbuilder.resources import example_names

    commands = "\n".join(f"  {name:<10} {text}" for name, (_, text) in SUBCOMMANDS.items())
    return USAGE.format(commands=commands, examples=", ".join(example_names()))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help", "help"):
        print(_usage())
        return EXIT_OK
    if args and args[0] == "--version":
        print(f"dlbuilder {__version__}")
        return EXIT_OK
    if args and args[0] in SUBCOMMANDS:
        command, _ = SUBCOMMANDS[args[0]]
        try:
            code = command(args[1:])
            sys.stdout.flush()  # here, where a closed pipe can still be caught
            return code
        except KeyboardInterrupt:  # a second Ctrl+C during training, or one while loading
            print("\ninterrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # `dlbuilder summary ... | head`: the reader has had enough
            _quiet_stdout()
            return EXIT_OK
    return cmd_gui(args)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not fail on the closed pipe
    again (the documented way to leave quietly after a BrokenPipeError)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
