#!/usr/bin/env python3
"""A loopback HTTPS "API server" that answers every request the same wrong way.

usage: hostile_apiserver.py MODE CERT KEY
  blackhole   accepts TCP and never completes TLS (nor reads a byte)
  html        200, text/html: a proxy's login page
  truncated   200, application/json, a body cut off in the middle
  status200   200, application/json, a Status of failure
Prints "listening on PORT" once it accepts connections; runs until killed.
"""
import http.server
import socket
import ssl
import sys

ANSWERS = {
    "html": ("text/html; charset=utf-8", b"<html><body><h1>Please log in</h1></body></html>"),
    "truncated": ("application/json", b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[{"metadata":'),
    "status200": ("application/json",
                  b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcdserver: request timed out",'
                  b'"reason":"InternalError","code":500}'),
}


def blackhole(listener):
    held = []
    while True:
        conn, _ = listener.accept()
        held.append(conn)  # never read, never answer, never close


class Garbage(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        content_type, body = ANSWERS[self.server.mode]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, *args):
        pass


def main():
    mode, cert, key = sys.argv[1:4]
    if mode == "blackhole":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        print("listening on", listener.getsockname()[1], flush=True)
        blackhole(listener)
        return
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    server.mode = mode
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening on", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
