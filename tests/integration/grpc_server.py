"""A real grpcio server with the standard health service, for
tests/integration/test_grpc.py; run INSIDE a test's network namespace:

    grpc_server.py ADDR PORT [SERVICE=STATUS]... [--no-health] [--token TOKEN]
                   [--cert FILE --key FILE [--client-ca FILE]] [--ready FILE]

ADDR PORT: where it listens (grpcio's "ADDR:PORT"; [::] takes IPv4 too
unless the namespace says otherwise). SERVICE=STATUS: the health status of
a service ("" for the server as a whole: =SERVING), as grpc.health.v1 names
them. --no-health: a server with no health service (the call gets
UNIMPLEMENTED). --token: every call must carry `authorization: Bearer
TOKEN`, else UNAUTHENTICATED (an interceptor). --cert, --key: a TLS port
(grpcio's secure port: ALPN h2 required) with this certificate and key, PEM;
--client-ca: and a client certificate signed by FILE required. --ready: a
file written once the server listens. It serves until killed.
"""

import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


class TokenCheck(grpc.ServerInterceptor):
    def __init__(self, token):
        self.token = token

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "no valid bearer token")

        self.deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, details):
        if ("authorization", "Bearer " + self.token) in (details.invocation_metadata or ()):
            return continuation(details)
        return self.deny


def main(argv):
    addr, port = argv[0], argv[1]
    statuses, options = {}, {}
    rest = iter(argv[2:])
    for arg in rest:
        if arg.startswith("--"):
            options[arg] = True if arg == "--no-health" else next(rest)
        else:
            name, _, status = arg.partition("=")
            statuses[name] = status
    interceptors = [TokenCheck(options["--token"])] if "--token" in options else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=interceptors)
    if "--no-health" not in options:
        servicer = health.HealthServicer()
        for name, status in statuses.items():
            servicer.set(name, health_pb2.HealthCheckResponse.ServingStatus.Value(status))
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    where = "[%s]:%s" % (addr, port) if ":" in addr else "%s:%s" % (addr, port)
    if "--cert" in options:
        with open(options["--key"], "rb") as k, open(options["--cert"], "rb") as c:
            pair = (k.read(), c.read())
        ca = None
        if "--client-ca" in options:
            with open(options["--client-ca"], "rb") as f:
                ca = f.read()
        creds = grpc.ssl_server_credentials([pair], root_certificates=ca, require_client_auth=ca is not None)
        port_ok = server.add_secure_port(where, creds)
    else:
        port_ok = server.add_insecure_port(where)
    if not port_ok:
        sys.exit("grpc_server.py: cannot listen on " + where)
    server.start()
    if "--ready" in options:
        with open(options["--ready"], "w") as f:
            f.write("ready\n")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(sys.argv[1:])
