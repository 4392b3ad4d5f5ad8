"""The gRPC health question asked with Python's grpcio client, one process per check
(as a health check runs): bench/run.py times it beside the static `GRPC PORT`.

    python grpc_client.py PORT [SERVICE]

grpc.health.v1.Health/Check on 127.0.0.1:PORT over a cleartext channel, with a
timeout. Exit 0 when the answer is SERVING; 1 for any other status, any gRPC error
(nothing listening: UNAVAILABLE) and the timeout, with one line saying which.
"""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_S = 5


def main(argv):
    if len(argv) not in (1, 2) or not argv[0].isdigit():
        print("usage: grpc_client.py PORT [SERVICE]", file=sys.stderr)
        return 1
    service = argv[1] if len(argv) == 2 else ""
    with grpc.insecure_channel("127.0.0.1:%s" % argv[0]) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT_S)
        except grpc.RpcError as e:
            print("grpc_client: %s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        print("grpc_client: %s" % health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
