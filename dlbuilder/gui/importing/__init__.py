"""Bringing a model in from PyTorch code or an ONNX file: the dialog and its worker."""
