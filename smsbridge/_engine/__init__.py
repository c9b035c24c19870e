"""The send engine behind ``Client``: settings, planning, dispatch, campaigns."""
