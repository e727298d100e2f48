"""The window shell: the main window, its actions and menus, status bar and banner, files,
autosave and recovery, its place on screen, errors, and the Training dock's host."""
