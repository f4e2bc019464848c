"""Waiting for the window to show what it should (shared by the app's tests)."""


def settled(window) -> bool:
    """The result on screen is the one the current settings and hints call for."""
    doc = window.doc
    return doc is not None and doc.result_key == window._result_key() and not window.engine.is_busy()


def open_photo(qtbot, window, path):
    window.open_path(path)
    qtbot.waitUntil(lambda: window.doc is not None and window.doc.path == path and settled(window), timeout=20_000)
