"""dlbuilder: design neural networks visually, see every shape live, train, export PyTorch."""

__version__ = "0.1.0"
