"""The Training tab: the data and the settings on the left, Start / Pause / Stop, and on the right
the progress header over three tabs: the live curves, the results of the last run, and every
run kept for this graph.

The panel holds the run in progress (a RunHistory fed by the TrainingSession's records) and the
weights the last run left; the main window locks the graph while `training_changed` says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QWidget,
)

from dlbuilder.backend.fit import Fit, start_problems
from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.backend.runs.store import (
    RunStore,
    RunStoreError,
    copy_runs,
    has_runs,
    move_runs,
)
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.core.changes import Change
from dlbuilder.core.commands import SetTraining
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.core.tuning import frozen_params, params_words
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.paths import data_dir
from dlbuilder.gui.training.data_folders import DataFolders
from dlbuilder.gui.training.kept_runs import doc_runs_folder, kept_health
from dlbuilder.gui.training.panel_ui import setup_ui
from dlbuilder.gui.training.session import Job, Outcome, TrainingSession, torch_threads
from dlbuilder.gui.training.weights_box import WeightsBox
from dlbuilder.gui.training.weights_files import WeightsChoice
from dlbuilder.resources import is_example

HEADER_MS = 200  # the progress line's refresh: readable, and cheap beside the training


class TrainingPanel(QWidget):
    """Everything about training one graph, in one dock."""

    training_changed = Signal(bool)  # a run started (True) or ended (False)
    message = Signal(str)  # for the status bar
    open_graph_requested = Signal(object)  # a run's graph snapshot (file dict) to open
    # (the last epoch's health (HealthRecord.as_dict()), the graph dict it measured) or None
    health_changed = Signal(object)

    def __init__(self, doc: Document, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.data_folders = DataFolders(settings) if settings is not None else None
        self.settings = settings if settings is not None else QSettings()  # the dialogs' folders
        self.session = TrainingSession(self)
        self.history = RunHistory()
        self.store: RunStore | None = None
        self._store_graph: object = None  # the graph whose runs `store` holds
        self._store_of_example = False  # `store` holds a shipped example's runs
        self._job: Job | None = None
        self._run_store: RunStore | None = None
        self._shown: tuple[dict[str, Any], tuple[int, ...] | None] | None = None
        self._started_at: str | None = None
        self._build()
        self._connect()
        self._header_timer = QTimer(self)
        self._header_timer.setInterval(HEADER_MS)
        self._header_timer.timeout.connect(self._on_header_timer_timeout)
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(150)
        self._check_timer.timeout.connect(self.refresh_problems)
        self._follow_new_graph()
        self.session.warm_up()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        setup_ui(self)
        self.weights_box = WeightsBox(self)
        self._update_buttons()

    def _connect(self) -> None:
        s, doc = self.session, self.doc
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        s.records_arrived.connect(self._on_session_records_arrived)
        s.evaluated.connect(self._on_session_evaluated)
        s.status_changed.connect(self._on_session_status_changed)
        s.failed.connect(self._on_session_failed)
        s.ended.connect(self._on_session_ended)
        doc.changed.connect(self._on_doc_changed)
        doc.path_changed.connect(self._on_doc_path_changed)
        self.form.changed.connect(self._on_training_changes)
        self.data_panel.changed.connect(self._on_training_changes)
        self.data_panel.loaded_changed.connect(self._on_data_loaded_changed)
        self.runs.selection_changed.connect(self._on_runs_selection_changed)
        self.runs.open_graph_requested.connect(self._on_runs_open_graph_requested)
        self.runs.weights_requested.connect(self._on_runs_weights_requested)
        theme_manager().changed.connect(self._on_theme_changed)

    # -- state ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.session.running

    @property
    def weights(self) -> WeightsChoice:
        """What the next run starts from and which trained weights are on offer."""
        return self.weights_box.choice

    def start_problems(self) -> list[str]:
        """What must be fixed before a run can start (empty when it can)."""
        graph, fit = self._check()
        return graph + list(fit.problems if fit else ())

    def _check(self) -> tuple[list[str], Fit | None]:
        graph, fit = start_problems(self.doc.engine, self.doc.graph.training,
                                    self.data_panel.dataset(), self.data_panel.failure())
        missing = self.weights.missing()
        return graph + ([missing] if missing else []), fit

    def refresh_problems(self) -> list[str]:
        """Show what blocks Start (the data's misfit beside the data, everything in the list),
        and return it."""
        graph, fit = self._check()
        self.data_panel.show_fit(fit)
        self._show_params()
        self.weights_box.show(self.running)  # frozen layers may now lack starting weights
        fit_problems = list(fit.problems) if fit else []
        problems = [] if self.running else graph + fit_problems
        if problems:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
            self.problems_label.setText(f"<b>Fix these to start:</b><ul style='margin:0'>"
                                        f"{items}</ul>")
        else:
            self.problems_label.setText("")
        self.problems_label.setVisible(bool(problems))
        self._restyle()
        return problems

    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running)
        stopping = running and self.session.control.stop_requested
        self.pause_button.setEnabled(running and not stopping)
        self.stop_button.setEnabled(running and not stopping)
        self.pause_button.setText("Resume" if running and self.session.paused else "Pause")
        self.data_panel.set_locked(running)
        self.form.set_locked(running)
        self.weights_box.show(running)

    def refresh_weights(self) -> None:
        """Say again what the next run starts from (the choice changed)."""
        self.weights_box.show(self.running)
        self._check_timer.start()  # weights the graph names may be missing

    def _on_theme_changed(self, _theme: object) -> None:
        self._restyle()
        self.weights_box.show(self.running)

    def _restyle(self) -> None:
        theme = current()
        self.problems_label.setStyleSheet(f"color: {theme.error};")

    # -- running -------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a run if nothing blocks it; False (with the reasons shown) otherwise."""
        if self.running:
            return False
        if self.refresh_problems():
            self.message.emit("Training cannot start yet: see the Training tab")
            return False
        settings = resolve_settings(self.doc.graph.training)
        remembered = self.data_panel.remembered_folder()
        if remembered is not None:  # the graph names no folder: the one the user chose before
            settings = dataclasses.replace(settings, data_dir=remembered)
        folder = self._runs_folder()
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        self._job = Job(graph=graph_to_dict(self.doc.graph), settings=settings,
                        weights_out=folder / f"pending-{stamp}.pt",
                        init_weights=self.weights.start,
                        dataset=self.data_panel.dataset(), threads=torch_threads())
        self._started_at = datetime.datetime.now().isoformat(timespec="seconds")
        self._run_store = self.store  # where this run goes, even if the graph is saved elsewhere
        self.history = RunHistory()
        self.curves.set_history(self.history)
        self.health.set_history(self.history)
        self.health_changed.emit(None)  # the last run's badges go: they were of that run
        self.results.clear()
        self.header.reset()
        # the thread loads PyTorch when the panel is built; the first run waits for it
        self.header.show_message("Starting…" if self.session.is_warm else "Loading PyTorch…")
        self.say("")
        if self.tabs.currentWidget() is not self.health:  # one watching health keeps it
            self.tabs.setCurrentWidget(self.curves)
        self.session.start(self._job)
        self._header_timer.start()
        self._update_buttons()
        self.training_changed.emit(True)
        return True

    def toggle_pause(self) -> None:
        if not self.running:
            return
        pausing = not self.session.paused
        if pausing:
            self.session.pause()
        else:
            self.session.resume()
        self.header.clock.pause(pausing)
        self._update_buttons()
        self.header.update_from(self.history, self._run_note())

    def stop(self) -> None:
        if self.running:
            self.session.stop()
            self.header.clock.pause(False)
            self._update_buttons()
            self.header.update_from(self.history, self._run_note())

    def _run_note(self) -> str:
        if self.session.control.stop_requested:
            return "stopping after this batch…"
        return "paused" if self.session.paused else ""

    def _show_params(self) -> None:
        """How many parameters the next run trains, and how many are frozen."""
        engine = self.doc.engine
        total = engine.totals().params
        frozen = frozen_params(engine)
        self.params_label.setText(params_words(total, frozen) + (" train" if not frozen
                                                                 else ""))

    def shutdown(self) -> bool:
        """Stop any run and end the training thread (the window is closing). The run's last
        reports are still queued for this thread: they are handled here, so the run is kept
        before the event loop ends."""
        self._header_timer.stop()
        ended = self.session.shutdown()
        if ended:
            QCoreApplication.sendPostedEvents(self.session, QEvent.Type.MetaCall)
        return ended

    # -- the session's reports -----------------------------------------------------------------
    def _on_session_records_arrived(self, records: list[Any]) -> None:
        for record in records:
            if record.kind == "started":
                if record.notes:  # what the starting weights could not give
                    self.say("Starting weights: " + "; ".join(record.notes))
                self.header.clock.start()
                self.header.clock.pause(self.session.paused)  # paused while it was preparing
            self.history.add(record)
            if record.kind == "health":  # once an epoch
                self.health_changed.emit((self.history.health[-1], self._job.graph))
                self.health.refresh()

    def _on_session_evaluated(self, evaluation: Any) -> None:
        self.results.show_results(evaluation, self.history.finished)

    def _on_session_status_changed(self, text: str) -> None:
        if text:
            self.header.show_message(text)

    def _on_session_failed(self, text: str) -> None:
        self.say(text, error=True)
        self.message.emit(text.splitlines()[0])

    def say(self, text: str, error: bool = False) -> None:
        """A line under the buttons: what just happened, or (error) what went wrong."""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
        theme = current()
        self.message_label.setStyleSheet(f"color: {theme.error if error else theme.text};")

    def _on_session_ended(self, outcome: Outcome) -> None:
        self._header_timer.stop()
        self.curves.redraw_now()
        self.header.update_from(self.history)
        if self.history.started is None:  # it never began: the message says why
            self.header.show_message("The run did not start: see the message under Start")
        if self.history.finished is not None:
            self._keep_run(outcome)
            if self.history.finished.get("confusion_split") is None:  # no classes to count
                self.results.show_results(None, self.history.finished)
            self.header.show_message(self.header.line.text() + " · "
                                     + self.history.finished.get("message", ""))
            if outcome.reason == "completed" and self.tabs.currentWidget() is self.curves:
                self.tabs.setCurrentWidget(self.results)  # never away from Health or Runs
        self._update_buttons()
        self.refresh_problems()
        self.training_changed.emit(False)

    def _keep_run(self, outcome: Outcome) -> None:
        """Add the run to the store, its weights beside it; they become the current ones."""
        job, store = self._job, self._run_store
        if outcome.weights is not None and outcome.weights.exists():
            self.weights.trained, self.weights.trained_from = outcome.weights, "the last run"
            self.weights.trained_graph = job.graph if job is not None else None
        if job is None or store is None:
            return
        try:
            run_id = store.add(job.graph, dataclasses.asdict(job.settings), self.history,
                                    self._started_at)
        except RunStoreError as err:
            self._on_session_failed(f"The run could not be kept: {err}")
            return
        if outcome.weights is not None and outcome.weights.exists():
            try:
                target = store.take_weights(run_id, outcome.weights)
            except OSError as err:
                self._on_session_failed(f"The run's weights could not be kept: {err}")
                target = outcome.weights
            self.weights.trained = target
            self.weights.trained_from = f"run {run_id}"
        if store is not self.store:  # the graph was saved elsewhere meanwhile
            return
        self.runs.refresh()
        self.runs.select_runs([run_id])

    def _on_header_timer_timeout(self) -> None:
        self.header.update_from(self.history, self._run_note())

    # -- the document --------------------------------------------------------------------------
    def _on_doc_changed(self, change: Change) -> None:
        if change.replaced:
            self._follow_new_graph()
        elif not self.running and (change.inferred or change.training or change.tuned):
            if change.training:  # the weights the graph names may have changed: say so now
                self.weights_box.follow()
                self.weights_box.show(self.running)
            self._show_training(self.doc.graph.training)
            self._check_timer.start()

    def _follow_new_graph(self) -> None:
        self.weights_box.reset()
        self._shown = None  # another graph: show its settings even if they look the same
        if not self.running:  # another graph: the last run's views belong to the old one
            self.history = RunHistory()
            self.curves.clear()
            self.health.set_history(None)
            self.health_changed.emit(None)
            self.results.clear()
            self.header.reset()
        self.say("")  # whatever it said was about the graph that has gone
        self._show_training(self.doc.graph.training)
        self._use_store(self._runs_folder())
        if not self.running:
            self.header.show_message(self._waiting_text())
        self._update_buttons()
        self._check_timer.start()

    def _waiting_text(self) -> str:
        """The header before this graph's first run here: the runs it already has, if any."""
        count = self.runs.model.rowCount()
        if not count:
            return "No run yet: choose the data and press Start"
        return (f"{count:,} run{'s' * (count != 1)} kept for this graph (see Runs): choose "
                "the data and press Start for another")

    def _on_doc_path_changed(self, _path: object) -> None:
        """The graph shown was saved under a new name: its runs go with it. Another graph
        opened, new'd or recovered changes the path too, before `replaced` (which shows that
        graph's own runs): those never carry the last graph's runs along."""
        self.weights_box.follow()  # the weights it names sit beside its file
        self._update_buttons()
        if self.doc.graph is not self._store_graph or self.store is None:
            return
        source, target = self.store.folder, self._runs_folder()
        if target == source:
            return
        if self.doc.path is not None and has_runs(source):
            self._carry_runs(source, target)
        self._use_store(target)
        if self.running:  # the run under way is kept with the graph's other runs
            self._run_store = self.store

    def _carry_runs(self, source: Path, target: Path) -> None:
        """Runs kept for a never-saved graph move to its first file; a file's runs, and an
        example's (which every session can open again), are copied, so that they keep them
        too. Runs already kept at the target are never overwritten: then these stay where
        they are."""
        moving = not self._store_of_example and source.parent == data_dir() / "runs"
        if has_runs(target):
            self.say(f"{target} already holds runs of its own, so the runs of this graph "
                      f"stay in {source}")
            return
        try:
            count = (move_runs if moving else copy_runs)(source, target)
        except RunStoreError as err:
            self.say(str(err), error=True)
            return
        if count:
            verb = "Moved" if moving else "Copied"
            self.say(f"{verb} {count} run{'s' * (count != 1)} with the graph to {target}")

    def _use_store(self, folder: Path) -> None:
        """Show the runs kept in `folder`, the current graph's."""
        self.store = RunStore(folder)
        self._store_graph = self.doc.graph
        self._store_of_example = self.doc.path is not None and is_example(self.doc.path)
        self.runs.set_store(self.store)
        self.compare.set_runs([])
        self.health.set_runs([])
        self.show_kept_health()

    def show_kept_health(self) -> None:
        """Between runs, the cards show the last health the graph's newest runs kept, if any
        (health_changed; the window shows it while the graph is the one measured)."""
        if self.running or self.store is None:
            return
        self.health_changed.emit(kept_health(self.store))

    def _runs_folder(self) -> Path:
        return doc_runs_folder(self.doc, data_dir())

    def _show_training(self, training: dict[str, Any]) -> None:
        """Show the graph's training section and Input shape; skipped when neither changed
        (every canvas edit ends here, and most leave both alone)."""
        shown = (dict(training), self._input_shape())
        if shown == self._shown:
            return
        self._shown = shown
        self.form.set_training(training)
        self.data_panel.set_source(str(training.get("dataset", "digits")),
                                   training.get("data_dir"))
        self.data_panel.set_input_shape(shown[1])

    def _input_shape(self) -> tuple[int, ...] | None:
        graph = self.doc.graph
        for node in graph.nodes():
            if self.doc.registry.role_of(graph.type_of(node)) == "input":
                shape = graph.params(node).get("shape")
                return tuple(shape) if isinstance(shape, list) else None
        return None

    def _on_training_changes(self, changes: dict[str, Any]) -> None:
        """A form or the data chooser changed settings: one undo step on the graph."""
        training = dict(self.doc.graph.training)
        for key, value in changes.items():
            if value is None:
                training.pop(key, None)
            else:
                training[key] = value
        if training != self.doc.graph.training:
            names = ", ".join(sorted(changes))
            self.doc.push(SetTraining(training, f"Set training {names}"))

    def _on_data_loaded_changed(self, _dataset: object) -> None:
        self._check_timer.start()

    # -- runs ----------------------------------------------------------------------------------
    def _on_runs_selection_changed(self, run_ids: list[int]) -> None:
        self._update_buttons()  # a deleted run's weights are no longer on offer
        if self.store is None:
            return
        try:
            labels = {s.id: s.label for s in self.store.summaries()}
            runs = [(labels.get(i, f"run {i}"), self.store.history(i)) for i in run_ids]
        except RunStoreError as err:
            self.say(str(err), error=True)
            return
        self.compare.set_runs(runs)
        self.health.set_runs(runs)

    def _run_label(self, run_id: int) -> str:
        try:
            summaries = self.store.summaries() if self.store else []
        except RunStoreError:
            summaries = []
        return next((s.label for s in summaries if s.id == run_id), f"run {run_id}")

    def _on_runs_open_graph_requested(self, run_id: int) -> None:
        if self.store is not None:
            try:
                self.open_graph_requested.emit(self.store.graph(run_id))
            except RunStoreError as err:
                self.say(str(err), error=True)

    def _on_runs_weights_requested(self, run_id: int) -> None:
        if self.store is None:
            return
        path = self.store.weights_path(run_id)
        if not path.exists():
            self.say(f"Run {run_id} has no weights kept (it may have been "
                                       "stopped before its first epoch ended)")
            return
        try:
            graph = self.store.graph(run_id)
        except RunStoreError as err:
            self.say(str(err), error=True)
            return
        self.use_weights(path, self._run_label(run_id), graph)

    # -- weights -------------------------------------------------------------------------------
    def use_weights(self, path: Path, label: str, graph: dict[str, Any] | None = None) -> None:
        """Start the next run from the weights in `path` (named `label` to the user)."""
        self.weights_box.use(path, label, graph)
