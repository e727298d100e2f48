"""Backend: torch-facing code (compiler, datasets, trainer) and Qt-free code generation."""
