"""RemoteMonitor: post each epoch's logs to a server as JSON, with the standard library only."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from lamina.callbacks.callback import Callback


def _plain(value):
    """A log value as JSON can hold it: NumPy scalars and arrays become numbers and lists."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if hasattr(value, "detach"):
        return value.detach().cpu().tolist()
    return value


class RemoteMonitor(Callback):
    """Send `{"epoch": epoch, **logs}` to `root + path` with an HTTP POST at each epoch's end.

    By default the JSON text goes in a form field (`field=<json>`, form-encoded), as Keras sends
    it; with `send_as_json=True` the body is the JSON itself (`Content-Type: application/json`).
    A server that cannot be reached gives a warning, never an error, so training goes on.

    Args:
        root: the server's address, e.g. `"http://localhost:9000"`.
        path: the path appended to `root`.
        field: the form field holding the JSON text (when not sending JSON directly).
        headers: optional extra HTTP headers.
        send_as_json: send the logs as the JSON body instead of a form field.
        timeout: seconds to wait for the server (lamina's addition; Keras waits indefinitely).

    Examples:
        >>> monitor = RemoteMonitor(root="http://127.0.0.1:9000", send_as_json=True)
        >>> monitor.root + monitor.path
        'http://127.0.0.1:9000/publish/epoch/end/'
    """

    def __init__(
        self,
        root="http://localhost:9000",
        path="/publish/epoch/end/",
        field="data",
        headers=None,
        send_as_json=False,
        timeout=10.0,
    ):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        for key, value in (logs or {}).items():
            payload[key] = _plain(value)
        text = json.dumps(payload)
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = text.encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: text}).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(
            self.root + self.path, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
