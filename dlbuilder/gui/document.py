"""The open graph as the editor sees it: the core model, its inference engine, the undo stack,
the file it came from and the selection, with the core's plain events re-sent as Qt signals.

Every edit goes through `push`, which applies a core command once and keeps it on a QUndoStack
(one generic QUndoCommand wraps any core command). Views never change the model themselves:
they call `push` and redraw when `changed` says what changed. `changed` fires exactly once per
push, undo or redo (a macro or a jump across several undo steps included), after inference,
with a `core.changes.Change` that carries the diagnostics for all of them; and once when a
different graph is shown (`replace`, `open`), with `replaced` set. A change made to the graph
outside the undo stack (a script, a test) is announced as soon as it is made.

The canvas shows one graph: the top level or a block definition opened from an instance
(`scope`, see gui/scope.py). `open_block` and `leave` move between them and emit
`scope_changed`; edits, the selection and `changed`'s nodes then belong to the definition, and
`push` applies a command inside it (InBlock). Undo and redo first go back to where the step
was made, so what they change is always in view.
"""

from __future__ import annotations

import copy
import re
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from dlbuilder.backend.settings import moved_training
from dlbuilder.core.block_commands import InBlock
from dlbuilder.core.blocks import BLOCK
from dlbuilder.core.changes import ChangeRecorder, by_node
from dlbuilder.core.commands import AddEdge, AddNode, Macro, RemoveEdge, SetUi, insert_between
from dlbuilder.core.diagnostics import Diagnostic, Fix
from dlbuilder.core.fileformat import load_graph, save_graph
from dlbuilder.core.fixes import fix_commands, with_batchnorm
from dlbuilder.core.graph import Event, Graph, GraphError
from dlbuilder.core.hints import dismiss
from dlbuilder.core.inference import InferenceEngine, ShapesChanged
from dlbuilder.core.placement import (
    card_positions,
    missing_positions,
    place_after,
    place_between,
    place_near,
    placed,
)
from dlbuilder.core.registry import Registry
from dlbuilder.core.wiring import connect_problem, displaced_source, feed_problem
from dlbuilder.gui.scope import Scope, opened_block, walk
from dlbuilder.layers import REGISTRY

DEFAULT_NAME = Graph().name  # what New starts as; a graph saved under it takes its file's name


def _changed_infos(old: Any, new: Any) -> list[str]:
    """The nodes whose inferred numbers differ between two runs of the same definition."""
    changed = []
    for node in new.graph.nodes():
        try:
            before = old.info(node)
        except KeyError:
            before = None
        if before != new.info(node):
            changed.append(node)
    return changed


def is_default_name(name: str) -> bool:
    """"untitled", or "untitled_2"... as New names graphs (runs_store.unused_graph_name)."""
    return re.fullmatch(rf"{re.escape(DEFAULT_NAME)}(_\d+)?", name) is not None


class _Step(QUndoCommand):
    """One core command on the undo stack. It was applied before it was pushed.

    It holds its document weakly: the stack is the document's child, and a cycle through the
    steps would leave the document to the cyclic collector, which may free the steps' Python
    objects before the stack's destructor deletes them (a crash)."""

    def __init__(self, doc: Document, command: Any, merge_key: Any = None,
                 path: tuple[str, ...] = ()) -> None:
        super().__init__(command.text)
        self._doc = weakref.ref(doc)
        self.command = command
        self.merge_key = merge_key
        self.path = path  # where the canvas was: undo and redo show it again
        self._applied = True

    @property
    def doc(self) -> Document:
        doc = self._doc()
        if doc is None:  # the stack is the document's: it cannot outlive it
            raise RuntimeError("an undo step outlived its document")
        return doc

    def redo(self) -> None:
        if self._applied:  # QUndoStack.push calls redo(); the command already ran
            self._applied = False
            return
        self.doc.replay(self.command.apply, self.path)

    def undo(self) -> None:
        self.doc.replay(self.command.revert, self.path)

    def id(self) -> int:
        return 1 if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Consecutive changes of the same fields of the same node are one undo step."""
        if not isinstance(other, _Step) or other.merge_key != self.merge_key \
                or other.path != self.path:
            return False
        if not isinstance(self.command, Macro):
            self.command = Macro(self.command.text, [self.command])
        self.command.commands.append(other.command)
        return True


class Document(QObject):
    """The graph being edited. Signals fire after the model changed."""

    changed = Signal(object)           # a Change: after each push, undo, redo or replace
    selection_changed = Signal(object)  # tuple of selected node ids
    focus_requested = Signal(str)      # show this node (problems list, summary table)
    refused = Signal(str)              # an edit the model refused, and why
    path_changed = Signal(object)      # Path | None
    scope_changed = Signal(object)     # the Scope the canvas shows now

    def __init__(self, graph: Graph | None = None, path: Path | None = None,
                 registry: Registry = REGISTRY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.undo_stack = QUndoStack(self)
        self.undo_stack.indexChanged.connect(self._on_undo_stack_index_changed)
        self.graph: Graph = Graph()
        self.engine: InferenceEngine | None = None
        self.path: Path | None = None
        self._selection: tuple[str, ...] = ()
        self.read_only_reason: str | None = None  # set while the graph trains: edits refused
        self._recorder = ChangeRecorder(self.graph)
        self._path: tuple[str, ...] = ()  # the instances opened, from the top level down
        self._scope: Scope | None = None
        # The size (width, height in scene units) a layout should fill: the canvas's at 1:1,
        # which the canvas keeps here once shown. Until then positions a file lacks wait.
        self.view_size: tuple[float, float] | None = None
        self._editing = False  # an edit is under way: its events are announced when it ends
        self._training: dict[str, Any] = {}
        self.replace(graph or Graph(), path)

    # -- the model -----------------------------------------------------------------------------
    def replace(self, graph: Graph, path: Path | None = None) -> None:
        """Edit `graph` from now on (new, open, recover): the undo history starts afresh and
        views hear one `changed` with `replaced` set, then the (empty) selection."""
        self.undo_stack.clear()
        self.undo_stack.setClean()
        if self.engine is not None:
            self.engine.close()
            self.engine.unsubscribe(self._on_engine_shapes)
            self.graph.unsubscribe(self._on_graph_event)
        self.graph = graph
        self._fill_positions(graph)  # before anyone listens: part of what opens
        self.engine = InferenceEngine(graph, self.registry)
        self.engine.subscribe(self._on_engine_shapes)  # first: the engine infers, then we hear
        graph.subscribe(self._on_graph_event)
        self._recorder = ChangeRecorder(graph)
        self._training = copy.deepcopy(graph.training)
        self._selection = ()
        was_inside, self._path = bool(self._path), ()
        self._scope = walk(self.engine, ())
        self.set_path(path)
        if was_inside:
            self.scope_changed.emit(self._scope)
        self.changed.emit(self._recorder.take(tuple(self.engine.diagnostics()), replaced=True))
        self.selection_changed.emit(())

    def _announce(self) -> None:
        """Tell the views what the edit that just ended changed (one `changed`), then drop
        removed nodes from the selection."""
        self._editing = False
        training = self.graph.training != self._training
        if training:
            self._training = copy.deepcopy(self.graph.training)
        shown = self._follow_scope()
        change = self._recorder.take(tuple(self.engine.diagnostics()), training, shown=shown)
        self.changed.emit(change)
        if change.nodes_removed:
            self.select([n for n in self._selection if n in self.scope.graph])

    def replay(self, step: Callable[[Graph], None], path: tuple[str, ...] = ()) -> None:
        """Run an undo or redo step on the graph (the undo stack calls this), first showing
        where it was made (`path`). Its changes are announced together when the stack's index
        has moved: once for a jump over many."""
        if path != self._path:
            self._show(path)
        self._editing = True
        step(self.graph)

    def _on_undo_stack_index_changed(self, _index: int) -> None:
        if self._editing:  # an undo or redo ran (not a push, which announces itself)
            self._announce()

    def _on_graph_event(self, event: Event) -> None:
        self._recorder.record(event)
        if not self._editing:
            self._announce()

    def _on_engine_shapes(self, message: ShapesChanged) -> None:
        if self._recorder.block is None:  # inside a block, `_follow_scope` compares runs
            self._recorder.record_shapes(message.nodes, message.fields_only)

    # -- scope ---------------------------------------------------------------------------------
    @property
    def scope(self) -> Scope:
        """What the canvas shows: the graph, the engine to read its numbers from, the open
        block's name (None at the top level) and the trail of instances that led there."""
        return self._scope

    def open_block(self, node: str) -> bool:
        """Show the definition of instance `node` (of the graph shown now), with the numbers
        of that instance's first repeat. A node that places no known block is refused."""
        if opened_block(self.scope.graph, node) is None:
            self.refused.emit(f"{node} is not a block: only a block's card opens"
                              if node in self.scope.graph else f"there is no node {node!r}")
            return False
        self._show((*self._path, node))
        return True

    def leave(self, depth: int = -1) -> None:
        """Go back up: to `depth` instances from the top (0: the top level; -1: one level
        up). The instance left is selected there."""
        depth = len(self._path) - 1 if depth < 0 else depth
        if 0 <= depth < len(self._path):
            came_from = self._path[depth]
            self._show(self._path[:depth])
            self.select([came_from])

    def open_path(self, nodes: tuple[str, ...]) -> None:
        """Show the graph holding the last of `nodes` (instance ids from the top level down
        to an inner node, as a problem's `inside` names them) and select that node."""
        if not nodes:
            return
        self._show(tuple(nodes[:-1]))
        self.focus(nodes[-1])

    def _show(self, path: tuple[str, ...]) -> None:
        """Make the scope at `path` the one shown; selection empty, `scope_changed` sent."""
        scope = walk(self.engine, path)
        self._path, self._scope = scope.path, scope
        editing, self._editing = self._editing, True  # filled-in positions are no edit
        self._fill_positions(scope.graph)
        self._editing = editing
        problems = by_node(scope.engine.diagnostics()) if scope.block else \
            by_node(self.engine.diagnostics())
        self._recorder.show(scope.graph, scope.block, problems)
        self._selection = ()
        self.scope_changed.emit(scope)
        self.selection_changed.emit(())

    def _follow_scope(self) -> tuple[Diagnostic, ...] | None:
        """After an edit: read the open block's numbers from its new run (runs are evaluated
        anew when a definition changes), note the cards whose numbers changed, and return its
        problems (None at the top level). A trail the edit broke ends where it still leads."""
        old = self._scope
        scope = walk(self.engine, self._path)
        if scope.path != self._path:
            self._show(scope.path)
            scope = self._scope
            self._recorder.record_shapes(frozenset(scope.graph.nodes()))  # all afresh
        self._scope = scope
        if scope.block is None:
            return None
        if old is not None and old.engine is not scope.engine:
            self._recorder.record_shapes(frozenset(_changed_infos(old.engine, scope.engine)))
        return tuple(scope.engine.diagnostics())

    # -- edits ---------------------------------------------------------------------------------
    def push(self, command: Any, merge_key: Any = None, scoped: bool = True) -> bool:
        """Apply a core command as one undo step: to the graph shown (inside the open block,
        wrapped in InBlock), or with `scoped` False to the top-level graph (a command that
        edits block definitions itself). A refused edit changes nothing, emits `refused` with
        the reason and returns False."""
        if self.read_only_reason:
            self.refused.emit(self.read_only_reason)
            return False
        if scoped and self.scope.block is not None:
            command = InBlock(self.scope.block, command)
        self._editing = True
        try:
            command.apply(self.graph)
        except GraphError as err:
            if self._recorder.pending:  # a macro undid its first steps: views catch up
                self._announce()
            self.refused.emit(str(err))
            return False
        finally:
            self._editing = False  # the stack's indexChanged must not announce it again
        self.undo_stack.push(_Step(self, command, merge_key, self._path))
        self._announce()
        return True

    def add_layer(self, type_name: str, x: float | None = None, y: float | None = None,
                  after: str | None = None, params: dict[str, Any] | None = None,
                  from_port: int = 0) -> str | None:
        """Add a new layer as one undo step, select it and return its id (see `add_node`)."""
        start = self.registry.get(type_name).start_params() if params is None else params
        node = self.scope.graph.unique_id(type_name)
        return self.add_node(node, type_name, start, x, y, after, from_port)

    def add_node(self, node: str, type_name: str, params: dict[str, Any],
                 x: float | None = None, y: float | None = None, after: str | None = None,
                 from_port: int = 0, prelude: tuple[Any, ...] = (), text: str | None = None
                 ) -> str | None:
        """Add node `node` (a layer, or a block instance) as one undo step, select it and
        return its id; `prelude` runs first in the same step (a library block's definitions
        copied in), `text` names the step.

        At (x, y) when given (or the nearest free spot), wired after `after` (its output
        `from_port`) when it can take that output. Without a position, after `after`: into
        its chain when it feeds exactly one layer (that wire moves to the new layer), else as
        a branch beside it. Cards in the way move aside in the same step.
        """
        graph, engine = self.scope.graph, self.scope.engine
        text = text or f"Add {type_name} {node}"
        known = after is not None and after in graph
        wired = after if known and feed_problem(engine, after, type_name, params,
                                                from_port) is None else None
        positions = card_positions(graph)
        consumers = graph.outputs(wired) if wired is not None else []
        if x is None and wired is not None and len(consumers) == 1:
            command = insert_between(graph, wired, consumers[0], node, type_name, params,
                                     f"{text} after {wired}")
            placement = place_between(positions, wired, consumers[0])
        else:
            commands: list[Any] = [AddNode(node, type_name, params)]
            if wired is not None:
                commands.append(AddEdge(wired, node, from_port=from_port))
            command = Macro(text, commands)
            placement = place_near(positions, (x or 0, y or 0)) \
                if x is not None or not known else place_after(positions, after)
        command.commands[:0] = prelude
        if not self.push(placed(command, [node], placement, graph)):
            return None
        self.select([node])
        return node

    def insert_layer(self, type_name: str, src: str, dst: str, x: float, y: float
                     ) -> str | None:
        """Put a new layer on the wire src -> dst at (x, y), or where there is room, as one
        undo step ("Insert ..."). A layer that could not take src's output is refused with
        the reason."""
        start = self.registry.get(type_name).start_params()
        node = self.scope.graph.unique_id(type_name)
        return self.insert_node(node, type_name, start, (src, dst), (x, y))

    def insert_node(self, node: str, type_name: str, params: dict[str, Any],
                    wire: tuple[str, str], at: tuple[float, float], prelude: tuple[Any, ...] = ()
                    ) -> str | None:
        """Put node `node` (a layer, or a block instance after its `prelude`: the library
        definitions it needs) on `wire` near `at` as one undo step; refused with the reason
        when it could not take the wire's source."""
        graph, engine = self.scope.graph, self.scope.engine
        src, dst = wire
        what = params.get("block", type_name) if type_name == BLOCK else type_name
        reason = None if graph.nx.has_edge(src, dst) else f"{src} no longer feeds {dst}"
        reason = reason or feed_problem(engine, src, type_name, params)
        if reason is not None:
            self.refused.emit(f"cannot insert {what} between {src} and {dst}: {reason}")
            return None
        command = insert_between(graph, src, dst, node, type_name, params,
                                 f"Insert {what} {node} between {src} and {dst}")
        command.commands[:0] = prelude
        placement = place_between(card_positions(graph), src, dst, at=at)
        if not self.push(placed(command, [node], placement, graph)):
            return None
        self.select([node])
        return node

    def connect_problem(self, src: str, dst: str, replace: bool = False,
                        from_port: int = 0) -> str | None:
        """Why a wire from src's output `from_port` to dst would be refused, or None if it may
        be drawn (with `replace`, in place of the wire now feeding a single-input dst)."""
        graph = self.scope.graph
        for node in (src, dst):
            if node not in graph:
                return f"there is no node {node!r}"
        return connect_problem(self.scope.engine, src, dst, replace, from_port)

    def displaced_source(self, src: str, dst: str) -> str | None:
        """Whose wire into dst a wire from src would replace (see core.wiring)."""
        if src not in self.scope.graph or dst not in self.scope.graph:
            return None
        return displaced_source(self.scope.engine, src, dst)

    def connect(self, src: str, dst: str, port: int | None = None,
                replace: bool = False, from_port: int = 0) -> bool:
        """Wire src's output `from_port` into dst as one undo step; with `replace`, the wire
        now feeding a single-input dst goes in the same step."""
        reason = self.connect_problem(src, dst, replace, from_port)
        if reason is not None:
            self.refused.emit(reason)
            return False
        old = self.displaced_source(src, dst) if replace else None
        wire = AddEdge(src, dst, port, from_port)
        if old is None:
            return self.push(wire)
        return self.push(Macro(f"{wire.text} in place of {old}", [RemoveEdge(old, dst), wire]))

    def move_nodes(self, positions: dict[str, tuple[float, float]], text: str | None = None
                   ) -> bool:
        """Set the canvas positions of nodes as one undo step ("Move conv1", "Auto-layout")."""
        commands = []
        for node, (x, y) in positions.items():
            ui = self.scope.graph.ui(node)
            if ui.get("x") == round(x) and ui.get("y") == round(y):
                continue
            commands.append(SetUi(node, {**ui, "x": round(x), "y": round(y)}))
        if not commands:
            return False
        if len(commands) == 1 and text is None:
            return self.push(commands[0])
        return self.push(Macro(text or f"Move {len(commands)} nodes", commands))

    def place_missing(self) -> None:
        """Give the nodes the graph holds no position for one (see `_fill_positions`); views
        hear it as one move. For a graph that opened before the canvas knew its size."""
        self._editing = True
        if self._fill_positions(self.scope.graph):
            self._announce()
        self._editing = False

    def _fill_positions(self, graph: Graph) -> bool:
        """Write positions for the nodes the graph lacks them for (a file written without
        them): laid out for `view_size` as the layout action lays out, or beside their
        neighbours where others have positions. Not an edit: it fills in what the file lacks
        and moves nothing the user placed, so there is no undo step and an opened file stays
        unmodified (closing it asks nothing); the next save keeps them. Whether any lacked."""
        if self.view_size is None:
            return False
        spots = missing_positions(graph, self.view_size)
        for node, (x, y) in spots.items():
            graph.set_ui(node, {**graph.ui(node), "x": x, "y": y})
        return bool(spots)

    def fixes_for(self, diagnostic: Diagnostic) -> list[Fix]:
        """The one-click fixes a problem offers: its own, and for a projection the same with a
        BatchNorm after it."""
        if diagnostic.fix is None:
            return []
        variant = with_batchnorm(diagnostic.fix)
        return [diagnostic.fix] + ([variant] if variant is not None else [])

    def apply_fix(self, fix: Fix) -> bool:
        """Apply a fix as one undo step, named by its label."""
        try:  # a fix inside a block edits its definition (fix_commands wraps it in InBlock)
            commands = fix_commands(fix, self.graph if fix.block else self.scope.graph)
        except (GraphError, IndexError, KeyError) as err:  # the graph moved on since
            self.refused.emit(f"this fix no longer applies: {err}")
            return False
        return self.push(Macro(fix.label, commands), scoped=not fix.block)

    def dismiss_hint(self, hint: Diagnostic, top: bool = False) -> bool:
        """Dismiss a hint on its layer as one undo step (kept in the file). `top`: the hint
        is one of the whole model's (the problems list), else of the graph shown."""
        try:
            command = dismiss(self.graph if top else self.scope.graph, hint)
        except (GraphError, KeyError) as err:  # the graph moved on since
            self.refused.emit(f"this hint can no longer be dismissed: {err}")
            return False
        return self.push(command, scoped=not top)

    # -- selection -----------------------------------------------------------------------------
    def selection(self) -> tuple[str, ...]:
        return self._selection

    def select(self, nodes: list[str] | tuple[str, ...]) -> None:
        chosen = tuple(n for n in dict.fromkeys(nodes) if n in self.scope.graph)
        if chosen != self._selection:
            self._selection = chosen
            self.selection_changed.emit(chosen)

    def focus(self, node: str) -> None:
        """Select `node` and ask the canvas to show it."""
        if node in self.scope.graph:
            self.select([node])
            self.focus_requested.emit(node)

    # -- files ---------------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def set_path(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.path_changed.emit(self.path)

    def display_name(self) -> str:
        return self.path.name if self.path is not None else f"{self.graph.name} (unsaved)"

    def open(self, path: Path) -> None:
        """Load `path`, replacing the graph; a file that fails to load raises GraphFileError
        and leaves the current graph untouched."""
        graph = load_graph(path, self.registry)
        self.replace(graph, Path(path))

    def save(self, path: Path | None = None) -> Path:
        """Write the graph (atomically) to `path` or its own file; marks the document clean.

        A graph still under the default name, saved to a new file, takes the file's name
        (`my_net.json` -> "my_net"): the name the exported code and the runs then show. It is
        part of the save, not an undoable edit, like the path: undo goes back through the edits
        and leaves the name to the file. So is re-pointing a relative `training.init_weights`
        at the same weights from the new folder. A failed save leaves both as they were.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("this graph has no file yet; choose one with Save As")
        old_name, old_training = self.graph.name, self.graph.training
        if target != self.path and is_default_name(old_name) and target.stem:
            self.graph.name = target.stem
        if target != self.path:  # starting weights named beside the old file stay found
            self.graph.training = moved_training(old_training, self.path, target)
        try:
            save_graph(self.graph, target)
        except BaseException:
            self.graph.name, self.graph.training = old_name, old_training
            raise
        self.undo_stack.setClean()
        if target != self.path:
            self.set_path(target)
        return target
