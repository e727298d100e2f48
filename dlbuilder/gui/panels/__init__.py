"""The panels around the canvas: the palette, the inspector, the summary, code and problems
tabs, and the quick-add popup."""
