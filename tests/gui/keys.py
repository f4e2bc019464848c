"""Key presses the way a person makes them: to the focused widget of the active window. Shortcuts
only fire there, and a popup that just closed (or a platform that cannot grab the keyboard, like
the offscreen one) may leave neither in place for a moment: wait for both instead of assuming."""

from PySide6.QtCore import Qt


def press(qtbot, widget, key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """``key`` to ``widget``, once its window is active and (unless it is the window) it has the focus."""
    window = widget.window()

    def ready() -> bool:
        return window.isActiveWindow() and (widget.isWindow() or widget.hasFocus())

    if not ready():
        window.activateWindow()
        window.raise_()
        if not widget.isWindow():
            widget.setFocus(Qt.FocusReason.OtherFocusReason)
        qtbot.waitUntil(ready, timeout=5_000)
    qtbot.keyClick(widget, key, modifiers)
