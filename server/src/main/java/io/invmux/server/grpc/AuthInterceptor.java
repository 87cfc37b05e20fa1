package io.invmux.server.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import io.invmux.proto.v1.ErrorReason;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Checks the API token on every call but health checks: {@code authorization: Bearer <token>} (or
 * {@code x-invmux-token: <token>}), compared in constant time. Off when no token is configured.
 */
public final class AuthInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TOKEN = Metadata.Key.of("x-invmux-token", Metadata.ASCII_STRING_MARSHALLER);

    private final byte[] token;

    public AuthInterceptor(String token) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        if (HealthGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        String presented = headers.get(TOKEN);
        String auth = headers.get(AUTHORIZATION);
        if (presented == null && auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            presented = auth.substring(7).trim();
        }
        if (presented == null) {
            ApiError e = ApiError.of(Status.Code.UNAUTHENTICATED, ErrorReason.ERROR_REASON_TOKEN_MISSING, "missing API "
                    + "token: send 'authorization: Bearer <token>' (the sidecar's api.token)");
            call.close(e.status(), e.trailers());
            return new ServerCall.Listener<>() {
            };
        }
        if (!MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8))) {
            ApiError e = ApiError.of(Status.Code.UNAUTHENTICATED, ErrorReason.ERROR_REASON_TOKEN_INVALID,
                    "wrong API token");
            call.close(e.status(), e.trailers());
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }
}
