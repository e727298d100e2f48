"""The desktop editor (PySide6). Importing this package loads neither torch nor pyqtgraph:
both come later, after the window has painted."""
