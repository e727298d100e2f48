"""Bringing an existing model in: a PyTorch module (traced with torch.fx) or an ONNX file
becomes a graph, with its weights as a state_dict of the exported class's keys.

Importing a PyTorch model runs the Python code it names (the user's own model code); an ONNX
file and a graph file are only read, never executed.
"""
