"""The core: graph model, layer registry, inference, diagnostics, commands, file format.

Pure Python with networkx and numpy; never imports Qt or torch.
"""
