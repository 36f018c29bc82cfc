"""Showing a node URL safely: scheme and host[:port], never credentials, path or query."""

from __future__ import annotations

from urllib.parse import urlsplit


def redact_url(url: str) -> str:
    """``url`` as it may be shown or logged: scheme and host[:port] only.

    Node URLs often carry an API key in the path or query, or credentials before the host
    (``https://user:secret@host/v3/KEY``); messages end up in logs, CI output and the service's
    JSON, so none of that may reach them. Anything that does not parse as ``scheme://host`` is
    shown only if it cannot hide a secret (``embedded``)."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme, parts.hostname, parts.port
    except ValueError:  # a malformed port or IPv6 literal
        scheme, host, port = "", None, None
    if scheme and host:
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}{f':{port}' if port is not None else ''}"
    return url if url.isidentifier() else "<the configured node URL>"
