"""Training in the app: the worker thread, the dock, live curves, results and the runs kept."""
