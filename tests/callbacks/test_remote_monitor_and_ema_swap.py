"""RemoteMonitor posts each epoch's logs to a local HTTP server (form field and JSON body, with
headers) and only warns when the server is down; SwapEMAWeights evaluates with the optimizer's
moving averages and puts the trained weights back."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks, layers, optimizers


class _Recorder(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length).decode("utf-8")
        type(self).received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    _Recorder.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.received
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_remote_monitor_posts_logs_as_a_form_field(server):
    root, received = server
    monitor = callbacks.RemoteMonitor(root=root, path="/epoch", field="payload")
    monitor.on_epoch_end(2, {"loss": np.float32(0.25), "per_class": np.array([0.5, 1.0])})
    [(path, headers, body)] = received
    assert path == "/epoch"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = urllib.parse.parse_qs(body)
    assert json.loads(fields["payload"][0]) == {"epoch": 2, "loss": 0.25, "per_class": [0.5, 1.0]}


def test_remote_monitor_posts_json_during_fit(server):
    root, received = server
    monitor = callbacks.RemoteMonitor(
        root=root, path="/json", headers={"X-Run": "seven"}, send_as_json=True
    )
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[monitor])
    assert [r[0] for r in received] == ["/json", "/json"]
    assert received[0][1]["Content-Type"] == "application/json"
    assert received[0][1]["X-Run"] == "seven"
    sent = [json.loads(r[2]) for r in received]
    assert [s["epoch"] for s in sent] == [0, 1]
    assert [s["loss"] for s in sent] == pytest.approx(history.history["loss"])
    assert [s["mae"] for s in sent] == pytest.approx(history.history["mae"])


def test_remote_monitor_warns_when_the_server_is_down():
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    port = httpd.server_address[1]
    httpd.server_close()  # nothing listens on this port now
    monitor = callbacks.RemoteMonitor(root=f"http://127.0.0.1:{port}", timeout=2.0)
    with pytest.warns(UserWarning, match=r"Could not reach RemoteMonitor root server at http"):
        monitor.on_epoch_end(0, {"loss": 1.0})


def _ema_model():
    model = lamina.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    return model


def test_swap_ema_weights_evaluates_with_the_averages():
    model = _ema_model()
    x = np.random.default_rng(0).standard_normal((16, 2)).astype("float32")
    y = x.sum(-1, keepdims=True)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    optimizer = model.optimizer
    with torch.no_grad():  # make the averages differ from the weights, as mid-training
        for average in optimizer.moving_averages:
            average.add_(0.5)
    trained = [p.detach().clone() for p in optimizer.parameters]
    averages = [a.detach().clone() for a in optimizer.moving_averages]
    seen = []

    class Spy(callbacks.Callback):
        def on_test_batch_begin(self, batch, logs=None):
            seen.append([p.detach().clone() for p in optimizer.parameters])

    swap = callbacks.SwapEMAWeights()
    plain = model.evaluate(x, y, verbose=0)
    averaged = model.evaluate(x, y, verbose=0, callbacks=[swap, Spy()])
    assert averaged != pytest.approx(plain)
    for during, average in zip(seen[0], averages, strict=True):
        torch.testing.assert_close(during, average)
    for after, before in zip(optimizer.parameters, trained, strict=True):
        torch.testing.assert_close(after.detach(), before)
    for after, before in zip(optimizer.moving_averages, averages, strict=True):
        torch.testing.assert_close(after, before)


def test_swap_ema_weights_needs_use_ema():
    model = lamina.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    with pytest.raises(ValueError, match=r"SwapEMAWeights must be used when `use_ema=True`"):
        model.fit(
            x,
            y,
            epochs=1,
            verbose=0,
            callbacks=[callbacks.SwapEMAWeights()],
            validation_data=(x, y),
        )
