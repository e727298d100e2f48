"""Widgets and models that several panels build on: parameter fields and spin boxes, wrapping
buttons, the activation plot, the code highlighter, table models, layer search."""
