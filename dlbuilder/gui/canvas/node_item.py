"""One layer on the canvas: a rounded card that shows what inference knows about the node.

The card reads everything from the document (type, parameters, shape, count, problems) and
keeps only prepared text, rebuilt by `refresh()` when the scene says the node changed, so paint
does no text layout or font measuring. Its only state the file needs is its position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QStaticText
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from dlbuilder.core.diagnostics import Diagnostic, shown_severity
from dlbuilder.core.registry import format_shape
from dlbuilder.core.tuning import TrainOptions, node_options, tuning_lines
from dlbuilder.gui.canvas import style
from dlbuilder.gui.canvas.card_facts import CardFacts, card_facts
from dlbuilder.gui.canvas.card_marks import paint_frozen_body, paint_tuning, rate_text
from dlbuilder.gui.canvas.card_thumbs import CardThumb
from dlbuilder.gui.canvas.expanded_item import ExpandedBlockItem
from dlbuilder.gui.canvas.style import (
    BADGE_R,
    GAP_X,
    HEADER_H,
    NODE_H,
    NODE_W,
    PAD,
    PORT_HIT,
    PORT_R,
    RADIUS,
    fonts,
    paints,
)

if TYPE_CHECKING:
    from dlbuilder.gui.canvas.card_health import HealthBadgeItem
    from dlbuilder.gui.canvas.scene import GraphScene
    from dlbuilder.gui.document import Document

_MARGIN = 12.0  # room outside the card for ports, the badge and the selection outline
_BOUNDS = QRectF(-_MARGIN, -_MARGIN, NODE_W + 2 * _MARGIN, NODE_H + 2 * _MARGIN)
_CARD = QRectF(0, 0, NODE_W, NODE_H)
_BADGE_CENTRE = QPointF(NODE_W - 4, 4)
_SMUDGE_PX = 2.5  # low detail leaves out a type name smaller than this on screen


def _header_path() -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(QRectF(0, 0, NODE_W, HEADER_H + RADIUS), RADIUS, RADIUS)
    square = QPainterPath()
    square.addRect(QRectF(0, HEADER_H, NODE_W, RADIUS))
    return path.subtracted(square)


_HEADER = _header_path()
_STACK = (QPointF(8, 8), QPointF(4, 4))  # a block instance's cards behind, farthest first
_PORT_RADIUS = 20.0  # a block's port inside its definition: a rounder card


def _port_paths() -> tuple[QPainterPath, QPainterPath]:
    """A port card's outline and its header band (clipped to the outline)."""
    outline = QPainterPath()
    outline.addRoundedRect(_CARD, _PORT_RADIUS, _PORT_RADIUS)
    band = QPainterPath()
    band.addRect(QRectF(0, 0, NODE_W, HEADER_H))
    return outline, outline.intersected(band)


_PORT_OUTLINE, _PORT_HEADER = _port_paths()
_CARD_OUTLINE = QPainterPath()
_CARD_OUTLINE.addRoundedRect(_CARD, RADIUS, RADIUS)


def _static(text: str) -> QStaticText:
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    static.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
    return static


class NodeItem(QGraphicsItem):
    """The card of node `node`."""

    def __init__(self, doc: Document, node: str,
                 diagnostics: tuple[Diagnostic, ...] = ()) -> None:
        super().__init__()
        self.doc = doc
        self.node = node
        self.category = "io"
        self.type_name = ""
        self.kind = "layer"       # "instance" (a block's card) or "port" (inside a block)
        self.facts: CardFacts | None = None
        self.expanded: ExpandedBlockItem | None = None  # a block's inside, shown under it
        # "error", "pending" (waits for a wire), "warning", "hint" (only advice)
        self.severity: str | None = None
        self.diagnostics: tuple[Diagnostic, ...] = ()
        self.input_count = 1      # ports drawn on the left
        self.connected = 0        # of which wired
        self.has_output = True
        self.output_count = 1     # ports drawn on the right (a Chunk has one per piece)
        self.port_shapes: tuple[str, ...] = ()  # each output's shape text, when several
        self._outputs_given = 1   # output ports the layer really has (the rest: lost wires)
        self._port_numbers: list[tuple[QStaticText, QPointF]] = []
        self.placed = True        # False: the graph holds no position for it yet
        self._texts: list[tuple[QStaticText, QPointF, str]] = []
        self._shape_text: tuple[QStaticText, QPointF] | None = None
        self._shape_known = True
        self.tuning = TrainOptions()  # the node's own: frozen draws a lock, a rate its factor
        self._rate_text: tuple[QStaticText, QPointF] | None = None
        self.health: HealthBadgeItem | None = None  # training health (card_health.py)
        self.thumbnail: CardThumb | None = None  # (a child) its output for Look Inside's sample
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setZValue(1)
        # Repaints (an edit elsewhere, a pan) blit the card instead of running paint() again.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.refresh(diagnostics)

    # -- content -------------------------------------------------------------------------------
    def refresh(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        """Re-read the node from the document and prepare its text."""
        graph, engine = self.doc.scope.graph, self.doc.scope.engine
        info = engine.info(self.node)
        self.connected = len(graph.inputs(self.node))
        facts = card_facts(graph, engine, self.doc.registry, self.node, info, self.connected)
        if facts.kind != self.kind:
            self.prepareGeometryChange()  # an instance's stack edge reaches further
        self.facts, self.kind = facts, facts.kind
        self.category = facts.category
        self.type_name = graph.type_of(self.node)
        self.diagnostics = diagnostics
        self.severity = shown_severity((d.severity, d.code) for d in diagnostics)
        self.input_count = facts.inputs
        self.has_output = facts.outputs > 0
        self._read_outputs(facts, info)
        self._prepare_text(facts.title, facts.key, self._shape_summary(info), info.params)
        self._prepare_tuning(node_options(graph, self.node))
        self.setToolTip(self._tooltip(facts.title, facts.summary))
        if self.expanded is not None:
            self.expanded.refresh()
        self.update()

    def set_expanded(self, on: bool) -> None:
        """Show (or hide) a block instance's inside under its card, read-only."""
        if on == (self.expanded is not None) or (on and self.kind != "instance"):
            return
        if on:
            self.expanded = ExpandedBlockItem(self)
            self.setZValue(2)  # over the cards its frame reaches
        else:
            scene = self.expanded.scene()
            if scene is not None:
                scene.removeItem(self.expanded)
            self.expanded = None
            self.setZValue(1)

    def _read_outputs(self, facts: CardFacts, info: Any) -> None:
        """How many output ports to draw: one per output the node gives, and at least one for
        each wire that leaves (a wire from a port the layer lost stays visible, and red)."""
        graph = self.doc.scope.graph
        wired = [port for _, port in graph.output_ports(self.node)]
        several = facts.several
        count = max([facts.outputs or 1, *[port + 1 for port in wired]])
        if (count > 1) != (self.output_count > 1):
            self.setAcceptHoverEvents(count > 1)  # a port's shape shows on hover
        if count != self.output_count:
            self.prepareGeometryChange()
        self.output_count = count
        known = len(info.output_shapes)
        self._outputs_given = facts.outputs if facts.kind == "instance" else \
            known if several and known else count
        self.port_shapes = tuple(format_shape(info.port_shape(i)) for i in range(count)) \
            if several else ()

    def _shape_summary(self, info: Any) -> str:
        """The card's big shape text: one shape, or each output's (`2 x 8x6x6` when equal)."""
        shapes = self.port_shapes[:self._outputs_given]  # not the ports of lost wires
        if not shapes:
            return format_shape(info.output_shape)
        if "?" not in shapes and len(set(shapes)) == 1:
            return f"{len(shapes)} \u00d7 {shapes[0]}"
        return " | ".join(shapes)

    def _prepare_text(self, type_name: str, key: str, shape: str, params: int) -> None:
        f = fonts()
        width = NODE_W - 2 * PAD - (2 * BADGE_R if self.severity else 0)
        type_full = f.header_metrics.horizontalAdvance(type_name)
        id_full = f.small_metrics.horizontalAdvance(self.node)
        # Both when they fit; else the id keeps at least 55% (it names this very node).
        id_room = id_full if type_full + 10 + id_full <= width else \
            max(width - type_full - 10, min(id_full, width * 0.55))
        ident = f.small_metrics.elidedText(self.node, Qt.TextElideMode.ElideMiddle, id_room)
        shown_type = f.header_metrics.elidedText(type_name, Qt.TextElideMode.ElideRight,
                                                 width - 10 - id_room)
        id_x = PAD + width - f.small_metrics.horizontalAdvance(ident)
        count = f"{params:,} params" if params else "no parameters"
        body = NODE_W - 2 * PAD
        numbers = self._prepare_port_numbers()
        self._texts = [
            (_static(shown_type), QPointF(PAD, 5), "header"),
            (_static(ident), QPointF(id_x, 6), "id"),
            (_static(f.small_metrics.elidedText(key, Qt.TextElideMode.ElideRight, body)),
             QPointF(PAD, HEADER_H + 5), "key"),
            (_static(count), QPointF(PAD, NODE_H - 19), "count"),
        ]
        for static, _pos, role in self._texts:
            static.prepare(font=f.header if role == "header" else f.small)
        shape_text = f.shape_metrics.elidedText(shape, Qt.TextElideMode.ElideRight,
                                                body - numbers)
        big = _static(shape_text)
        big.prepare(font=f.shape)
        self._shape_text = (big, QPointF(PAD, HEADER_H + 22))
        self._shape_known = shape != "?"

    def _prepare_tuning(self, options: TrainOptions) -> None:
        self.tuning = options
        self._rate_text = rate_text(options)

    def _prepare_port_numbers(self) -> float:
        """Small output numbers beside the ports of a card with several; returns their width."""
        self._port_numbers = []
        if self.output_count < 2:
            return 0.0
        f = fonts()
        width = 0.0
        for port in range(self.output_count):
            static = _static(str(port))
            static.prepare(font=f.small)
            size = static.size()
            width = max(width, size.width())
            spot = self.output_port_local(port)
            self._port_numbers.append(
                (static, QPointF(NODE_W - PORT_R - 3 - size.width(),
                                 spot.y() - size.height() / 2)))
        return width + PORT_R + 6

    def port_tooltip(self, port: int) -> str:
        """What hovering output `port` says: its number and the shape it carries."""
        if port >= self._outputs_given:
            return (f"output {port} of {self.node}: the layer gives only "
                    f"{self._outputs_given} outputs now; move or delete this wire")
        shape = self.port_shapes[port] if port < len(self.port_shapes) else "?"
        return f"output {port} of {self.node}: {shape}"

    def texts(self) -> dict[str, str]:
        """What the card shows, by role: header, id, key, count and shape (for tests, tools)."""
        shown = {role: static.text() for static, _pos, role in self._texts}
        shown["shape"] = self._shape_text[0].text() if self._shape_text else ""
        shown["rate"] = self._rate_text[0].text() if self._rate_text else ""
        return shown

    def _tooltip(self, type_name: str, summary: str) -> str:
        lines = [f"{type_name} {self.node}"] + ([summary] if summary else [])
        lines += [f"output {i}: {shape}" for i, shape in enumerate(self.port_shapes)]
        lines += tuning_lines(self.tuning, self.kind == "instance")
        for d in self.diagnostics:
            lines.append(f"\n{d.severity}: {d.message}")
            for fix in self.doc.fixes_for(d):
                lines.append(f"fix: {fix.label} (right-click or click the badge)")
        return "\n".join(lines)

    # -- geometry ------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return _BOUNDS

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(_CARD, RADIUS, RADIUS)
        if self.output_count > 1:  # the ports stick out: hovering one tells its shape
            for port in range(self.output_count):
                path.addEllipse(self.output_port_local(port), PORT_R + 2, PORT_R + 2)
        return path

    def card_rect(self) -> QRectF:
        """The card in scene coordinates."""
        return _CARD.translated(self.pos())

    def spot_after(self) -> QPointF:
        """Top-left of a card placed next along the flow: right of this one, one gap apart."""
        card = self.card_rect()
        return QPointF(card.right() + GAP_X, card.top())

    def input_port_local(self, port: int) -> QPointF:
        count = max(self.input_count, 1)
        if count == 1:
            return QPointF(0, NODE_H / 2)
        body = NODE_H - HEADER_H
        return QPointF(0, HEADER_H + body * (port + 1) / (count + 1))

    def input_port_pos(self, port: int) -> QPointF:
        return self.pos() + self.input_port_local(port)

    def output_port_local(self, port: int = 0) -> QPointF:
        """Output ports share the right side the way input ports share the left."""
        count = max(self.output_count, 1)
        if count == 1:
            return QPointF(NODE_W, NODE_H / 2)
        body = NODE_H - HEADER_H
        return QPointF(NODE_W, HEADER_H + body * (port + 1) / (count + 1))

    def output_port_pos(self, port: int = 0) -> QPointF:
        return self.pos() + self.output_port_local(port)

    def port_at(self, scene_pos: QPointF, reach: float = PORT_HIT) -> tuple[str, int] | None:
        """("out", port) or ("in", port) when `scene_pos` is on one of the card's ports."""
        local = scene_pos - self.pos()
        if self.has_output:
            reach_out = min(reach, self._output_pitch() / 2)
            for port in range(self.output_count):
                if _near(local, self.output_port_local(port), reach_out):
                    return ("out", port)
        for port in range(self.input_count):
            if _near(local, self.input_port_local(port), reach):
                return ("in", port)
        return None

    def _output_pitch(self) -> float:
        """The distance between two output ports (the whole side for one)."""
        return (NODE_H - HEADER_H) / (self.output_count + 1) if self.output_count > 1 \
            else NODE_H

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Over an output port of a card with several: say which one and its shape."""
        hit = self.port_at(event.scenePos())
        if hit is not None and hit[0] == "out":
            self.setToolTip(self.port_tooltip(hit[1]))
        else:
            self.setToolTip(self._tooltip(self.facts.title, self.facts.summary))
        super().hoverMoveEvent(event)

    def free_input_port(self) -> int | None:
        """Where a new wire would go: the next port after the wired ones, if there is room."""
        return self.connected if self.connected < self.input_count else None

    def badge_contains(self, scene_pos: QPointF) -> bool:
        return self.severity is not None and _near(scene_pos - self.pos(), _BADGE_CENTRE,
                                                   BADGE_R + 3)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        scene = self.scene()
        if scene is not None:
            kind = QGraphicsItem.GraphicsItemChange
            if change == kind.ItemPositionChange:
                return scene.snapped_position(self, value)
            if change == kind.ItemPositionHasChanged:
                scene.node_moved(self)
            elif change == kind.ItemSelectedHasChanged:
                scene.node_selection_toggled(self)
        return super().itemChange(change, value)

    # -- painting ------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        scene: GraphScene = self.scene()
        p = paints(scene.theme())
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < style.LOD_TEXT:
            self._paint_far(painter, p, lod)
            return
        if self.kind == "instance":
            self._paint_stack(painter, p)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(p.card)
        port = self.kind == "port"
        painter.drawPath(self._outline())
        if self.tuning.frozen:
            paint_frozen_body(painter, p, self._outline())
        painter.setBrush(p.header(self.category))
        painter.drawPath(_PORT_HEADER if port else _HEADER)
        self._paint_border(painter, p)
        self._paint_text(painter, p, lod)
        paint_tuning(painter, p, self.tuning, self._rate_text)
        self._paint_ports(painter, p)
        if self.severity is not None:
            self._paint_badge(painter, p, lod)

    def _paint_far(self, painter: QPainter, p: style.Paints, lod: float) -> None:
        """Zoomed out (a whole network in view): the card in its category's colour with its
        type name as large as it fits, and the output shape under it while that can be read,
        so layer types tell apart at a glance. Flat shapes: round corners and ports are under
        a pixel there; outlines widen to stay visible."""
        if self.kind == "instance":  # the stack edge, seen from afar
            for offset in _STACK:
                painter.fillRect(_CARD.translated(offset), p.header(self.category))
                painter.fillRect(_CARD.translated(offset).adjusted(-2, -2, -2, -2), p.card)
        painter.fillRect(_CARD, p.header(self.category))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self._border_pen(p, max(3.0, 1.5 / lod)))
        painter.drawRect(_CARD)
        if self.isSelected():
            pen = QPen(p.selection_pen)
            pen.setWidthF(max(pen.widthF(), 2.0 / lod))
            painter.setPen(pen)
            out = pen.widthF() / 2 + 2
            painter.drawRect(_CARD.adjusted(-out, -out, out, out))
        shape = self._shape_text if lod >= style.LOD_SHAPE else None
        band = style.FAR_SHAPE_TOP if shape is not None else NODE_H
        name = style.far_name(self.type_name if self.kind == "layer" else self.facts.title, band)
        if lod * name.font.pixelSize() >= _SMUDGE_PX:
            painter.setFont(name.font)
            painter.setPen(p.header_text)
            top = (band - name.height) / 2
            for i, line in enumerate(name.lines):
                painter.drawStaticText(QPointF(PAD, top + i * name.line_height), line)
        if shape is not None:
            painter.setFont(fonts().shape)
            painter.setPen(p.header_text if self._shape_known else p.header_id)
            painter.drawStaticText(QPointF(PAD, style.FAR_SHAPE_TOP), shape[0])

    def _outline(self) -> QPainterPath:
        return _PORT_OUTLINE if self.kind == "port" else _CARD_OUTLINE

    def _paint_stack(self, painter: QPainter, p: style.Paints) -> None:
        """Two cards' edges behind a block instance's: there is more inside."""
        painter.setPen(QPen(p.header(self.category).color(), 1.5))
        painter.setBrush(p.card)
        for offset in _STACK:
            painter.drawRoundedRect(_CARD.translated(offset), RADIUS, RADIUS)

    def _problem_colour(self, p: style.Paints) -> QColor:
        return {"error": p.error, "warning": p.warning, "hint": p.hint}.get(self.severity,
                                                                            p.muted)

    def _shape_colour(self, p: style.Paints) -> QColor:
        """An unknown shape is red only where this card has a real error; else it waits."""
        return p.text if self._shape_known else (p.error if self.severity == "error"
                                                 else p.muted)

    def _border_pen(self, p: style.Paints, width: float) -> QPen:
        if self.severity in (None, "hint"):  # advice marks only the badge: the card stays calm
            return p.border
        pen = QPen(self._problem_colour(p), width)
        if self.severity == "pending":
            pen.setStyle(Qt.PenStyle.DashLine)
        return pen

    def _paint_border(self, painter: QPainter, p: style.Paints) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        pen = self._border_pen(p, 2.0 if self.severity != "pending" else 1.5)
        if self.kind == "instance" and self.severity in (None, "hint"):  # the block's colour
            pen = QPen(p.header(self.category).color(), 1.5)
        painter.setPen(pen)
        painter.drawPath(self._outline())
        if self.isSelected():
            radius = (_PORT_RADIUS if self.kind == "port" else RADIUS) + 3
            painter.setPen(p.selection_pen)
            painter.drawRoundedRect(_CARD.adjusted(-4, -4, 4, 4), radius, radius)

    def _paint_text(self, painter: QPainter, p: style.Paints, lod: float) -> None:
        f = fonts()
        if lod >= style.LOD_TEXT:
            for static, pos, role in self._texts:
                if role == "header":
                    painter.setFont(f.header)
                    painter.setPen(p.header_text)
                elif role == "id":
                    painter.setFont(f.small)
                    painter.setPen(p.header_id)
                else:
                    painter.setFont(f.small)
                    painter.setPen(p.muted)
                painter.drawStaticText(pos, static)
        if self._shape_text is not None:
            painter.setFont(f.shape)
            painter.setPen(self._shape_colour(p))
            painter.drawStaticText(self._shape_text[1], self._shape_text[0])

    def _paint_ports(self, painter: QPainter, p: style.Paints) -> None:
        painter.setPen(p.port_pen)
        wired = QBrush(p.wire)
        for port in range(self.input_count):
            painter.setBrush(wired if port < self.connected else p.card)
            painter.drawEllipse(self.input_port_local(port), PORT_R, PORT_R)
        if not self.has_output:
            return
        missing = QPen(p.error, 2.0)
        for port in range(self.output_count):
            lost = port >= self._outputs_given  # wired, but the layer gives no such output
            painter.setBrush(p.card if lost else wired)
            painter.setPen(missing if lost else p.port_pen)
            painter.drawEllipse(self.output_port_local(port), PORT_R, PORT_R)
        if self._port_numbers:
            painter.setFont(fonts().small)
            painter.setPen(p.muted)
            for static, pos in self._port_numbers:
                painter.drawStaticText(pos, static)

    def _paint_badge(self, painter: QPainter, p: style.Paints, lod: float) -> None:
        painter.setPen(QPen(p.card.color(), 1.5))
        painter.setBrush(self._problem_colour(p))
        painter.drawEllipse(_BADGE_CENTRE, BADGE_R, BADGE_R)
        if lod >= style.LOD_TEXT:
            painter.setPen(p.header_text)
            painter.setFont(fonts().badge)
            box = QRectF(_BADGE_CENTRE.x() - BADGE_R, _BADGE_CENTRE.y() - BADGE_R,
                         2 * BADGE_R, 2 * BADGE_R)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter,
                             "i" if self.severity == "hint" else "!")


def _near(a: QPointF, b: QPointF, reach: float) -> bool:
    d = a - b
    return d.x() * d.x() + d.y() * d.y() <= reach * reach
