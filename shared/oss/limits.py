"""OSS's size limits that configuration is checked against at cold start.

They live apart from the code that uses them in full (the form builder, the upload routes), so that a
function checks its settings without loading that code until a request needs it.
"""

from __future__ import annotations

MAX_POST_SIZE = 5 << 30  # bytes: the largest object PostObject uploads (5 GB)
