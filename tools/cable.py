"""A network cable the browser tests and the crew app's benchmark can unplug: a TCP relay from
a free local port to a server's, which counts the bytes the server sent through it (what
went over the "network", whoever in the browser asked: page or service worker).
Unplugged, it cuts every connection and closes each new one at once until plugged again."""

import contextlib
import socket
import threading


class Cable:
    """A TCP relay from a free local port to ``port``; ``unplug()`` cuts every connection
    and refuses the next ones (accepted and closed at once) until ``plug()``."""

    def __init__(self, port: int):
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.plugged = True
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.upstreams: set[socket.socket] = set()
        self.received = 0  # bytes from the server to the browser
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.plugged:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, upstream))
                self.upstreams.add(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
                if source in self.upstreams:
                    self.received += len(chunk)
        except OSError:
            pass
        finally:
            for one in (source, sink):
                with contextlib.suppress(OSError):
                    one.shutdown(socket.SHUT_RDWR)
                one.close()
            with self.lock:
                self.sockets.difference_update((source, sink))
                self.upstreams.difference_update((source, sink))

    def unplug(self):
        self.plugged = False
        with self.lock:
            live = list(self.sockets)
        for one in live:
            with contextlib.suppress(OSError):
                one.shutdown(socket.SHUT_RDWR)

    def plug(self):
        self.plugged = True

    def close(self):
        self.unplug()
        self.listener.close()
