"""Writing the graph out from the window: code and ONNX export, pictures, where dialogs start."""
