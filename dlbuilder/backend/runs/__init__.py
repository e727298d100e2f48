"""Every training run kept for a graph, headless (no Qt, no torch): the run's history as the
trainer reported it (history.py) and the store that keeps runs beside the graph file
(store.py). The app's Runs tab and `dlbuilder train` keep their runs in the same store."""
