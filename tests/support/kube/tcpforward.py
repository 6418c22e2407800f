"""A TCP forwarder: listens on one address and pipes each connection to another.

The test apiserver listens on 127.0.0.1 only; the node lives in its own network namespace, where
the host's loopback is out of reach. This forwarder listens on the host end of the node's veth pair
(an address the tests created) on the apiserver's own port, so the kubelet, kube-proxy and pods
(through the `kubernetes` Service) reach the apiserver there.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading

log = logging.getLogger(__name__)


class TcpForwarder:
    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.listen, self.target = listen, target
        self._server = socket.create_server(listen, reuse_port=False)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name=f"forward-{listen[1]}", daemon=True)

    def start(self) -> TcpForwarder:
        self._accept.start()
        log.info("forwarding %s:%d -> %s:%d", *self.listen, *self.target)
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._accept.join(timeout=5)

    def _serve(self) -> None:
        self._server.settimeout(0.5)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._pipe, args=(client,), daemon=True)
            t.start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError as e:
            log.warning("forwarder: cannot reach %s:%d: %s", *self.target, e)
            client.close()
            return
        upstream.settimeout(None)
        client.settimeout(None)
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.5):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            pass
        finally:
            sel.close()
            client.close()
            upstream.close()
