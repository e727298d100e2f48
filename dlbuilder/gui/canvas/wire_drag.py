"""Dragging a connection: from an output port to a card, from a free input port back to a
source, or an existing wire picked up by its input end and dropped elsewhere. A drag keeps the
output port it started from (a Chunk's second piece stays the second piece wherever it goes).

While the pointer moves, the loose wire asks the document whether the card under it would take
the connection and turns red with the reason when not; over a single-input layer that is
already fed it says the new wire replaces the old one. Releasing pushes one undo step: a new
wire (in place of the old one there), a wire moved to another input (remove + add as one
Macro), or a wire dropped on empty canvas (disconnected). Nothing here raises: refusals come
back as text.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF

from dlbuilder.core.commands import AddEdge, Macro, RemoveEdge
from dlbuilder.gui.canvas.node_item import NodeItem
from dlbuilder.gui.canvas.scene import GraphScene
from dlbuilder.gui.canvas.style import PORT_HIT
from dlbuilder.gui.canvas.wire_item import DragWireItem, WireItem


@dataclass
class DropResult:
    """What a released drag did: `connected`, `refused` (with `message`), `detached`,
    `cancelled`, or `empty` (released on empty canvas from output `from_port` of `source`: the
    place to add a layer)."""

    outcome: str
    message: str = ""
    source: str | None = None
    from_port: int = 0


class WireDrag:
    """One connection being dragged on `scene`. `from_output` drags go source -> target."""

    def __init__(self, scene: GraphScene, item: NodeItem, port: tuple[str, int]) -> None:
        self.scene = scene
        self.doc = scene.doc
        self.detached: WireItem | None = None
        kind, index = port
        if kind == "in" and index < item.connected:  # pick up the wire plugged in here
            src, from_port = self.doc.scope.graph.input_sources(item.node)[index]
            self.detached = scene.wires.get((src, item.node))
            if self.detached is not None:
                self.detached.setVisible(False)
            kind, item, index = "out", scene.nodes[src], from_port
        self.from_output = kind == "out"
        self.fixed = item.node
        self.fixed_port = None if self.from_output else index
        self.from_port = index if self.from_output else 0  # the source's output, when fixed
        anchor = item.output_port_pos(index) if self.from_output else item.input_port_pos(index)
        self.loose = DragWireItem(anchor, self.from_output)
        scene.addItem(self.loose)
        self.reason: str | None = None
        self.note: str | None = None  # what a release here does besides connecting
        self._asked: dict[str, str | None] = {}

    # -- while moving ----------------------------------------------------------------------
    def target_at(self, pos: QPointF) -> tuple[NodeItem | None, int | None]:
        """The card under the pointer and the port it points at: an input port (None: the next
        free) when dragging from an output, an output port (0 unless on another) when not."""
        target = self.scene.node_at(pos, PORT_HIT)
        if target is None or target.node == self.fixed:
            return None, None
        hit = target.port_at(pos)
        if not self.from_output:
            return target, hit[1] if hit is not None and hit[0] == "out" else 0
        port = hit[1] if hit is not None and hit[0] == "in" else None
        if port is not None and port >= target.connected:
            port = None
        return target, port

    def problem(self, target: NodeItem, port: int | None = None) -> str | None:
        """Why the connection to `target` would be refused (asked once per card and output
        port per drag; `port` is the target's output when dragging back from an input)."""
        key = (target.node, 0 if self.from_output else port or 0)
        if key not in self._asked:
            if self.detached is not None and target.node == self.detached.dst.node:
                self._asked[key] = None  # back where it came from
            elif self.from_output:
                self._asked[key] = self.doc.connect_problem(
                    self.fixed, target.node, replace=True, from_port=self.from_port)
            else:
                self._asked[key] = self.doc.connect_problem(target.node, self.fixed,
                                                            from_port=key[1])
        return self._asked[key]

    def displaced(self, target: NodeItem) -> str | None:
        """The layer whose wire into `target` this one would replace, if any."""
        if not self.from_output or (self.detached is not None
                                    and target.node == self.detached.dst.node):
            return None
        return self.doc.displaced_source(self.fixed, target.node)

    def move(self, pos: QPointF) -> str | None:
        """Follow the pointer; returns the refusal reason where the pointer is, if any."""
        target, port = self.target_at(pos)
        reason = self.problem(target, port) if target is not None else None
        tip = pos
        if target is not None and reason is None:
            if self.from_output:
                free = target.free_input_port()
                tip = target.input_port_pos(port if port is not None else (free or 0))
            else:
                tip = target.output_port_pos(port or 0)
        old = self.displaced(target) if target is not None and reason is None else None
        self.note = f"replaces the wire from {old}" if old is not None else None
        self.loose.move_to(tip, reason)
        self.reason = reason
        return reason

    # -- release ---------------------------------------------------------------------------
    def finish(self, pos: QPointF) -> DropResult:
        target, port = self.target_at(pos)
        self._remove_loose()
        if target is None:
            return self._dropped_on_empty()
        reason = self.problem(target, port)
        if reason is not None:
            self._restore()
            return DropResult("refused", reason)
        if self.detached is not None:
            return self._reattach(target, port)
        old = self.displaced(target)
        if self.from_output:
            ok = self.doc.connect(self.fixed, target.node, port, replace=True,
                                  from_port=self.from_port)
        else:
            ok = self.doc.connect(target.node, self.fixed, None, from_port=port or 0)
        said = f"Connected {self.fixed} to {target.node} in place of {old}" \
            if ok and old is not None else ""
        return DropResult("connected" if ok else "refused", said)

    def cancel(self) -> None:
        self._remove_loose()
        self._restore()

    def _dropped_on_empty(self) -> DropResult:
        if self.detached is not None:
            src, dst = self.detached.key
            ok = self.doc.push(RemoveEdge(src, dst))
            if not ok:
                self._restore()
            return DropResult("detached" if ok else "refused")
        if self.from_output:
            return DropResult("empty", source=self.fixed, from_port=self.from_port)
        return DropResult("cancelled", "release on a layer to connect it here")

    def _reattach(self, target: NodeItem, port: int | None) -> DropResult:
        src, old_dst = self.detached.key
        old_port = self.detached.port
        if target.node == old_dst and port in (None, old_port):
            self._restore()
            return DropResult("cancelled")
        commands = [RemoveEdge(src, old_dst)]
        if target.node == old_dst:
            text = f"Move {src}'s wire to input {port} of {old_dst}"
        else:
            text = f"Reconnect {src} from {old_dst} to {target.node}"
            displaced = self.displaced(target)
            if displaced is not None:
                commands.append(RemoveEdge(displaced, target.node))
                text += f" in place of {displaced}"
        commands.append(AddEdge(src, target.node, port, self.from_port))
        ok = self.doc.push(Macro(text, commands))
        if not ok:
            self._restore()
        return DropResult("connected" if ok else "refused")

    def _restore(self) -> None:
        wire = self.detached
        if wire is not None and wire.scene() is not None:
            wire.setVisible(True)

    def _remove_loose(self) -> None:
        if self.loose.scene() is not None:
            self.scene.removeItem(self.loose)
