"""The window shell: the main window, its actions and menus, status bar and banner, files,
autosave and recovery, its place on screen and the Training dock's host."""
