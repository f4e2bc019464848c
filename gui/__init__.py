"""vidcolor desktop app (PySide6). The engine in vidcolor/ never imports this package or Qt."""
