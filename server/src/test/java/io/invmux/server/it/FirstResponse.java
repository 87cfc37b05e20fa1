package io.invmux.server.it;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;

/**
 * Observes a streaming call for its first response: {@link #first} completes with it, or fails with the call's
 * error (or because the call ended without one). {@link #cancel()} ends the call from the client's side.
 */
final class FirstResponse<Q, R> implements ClientResponseObserver<Q, R> {
    final CompletableFuture<R> first = new CompletableFuture<>();
    private volatile ClientCallStreamObserver<Q> call;

    @Override
    public void beforeStart(ClientCallStreamObserver<Q> requestStream) {
        call = requestStream;
    }

    @Override
    public void onNext(R value) {
        first.complete(value);
    }

    @Override
    public void onError(Throwable t) {
        first.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
        first.completeExceptionally(new IllegalStateException("the call ended without a response"));
    }

    void cancel() {
        call.cancel("the test is done with this call", null);
    }
}
