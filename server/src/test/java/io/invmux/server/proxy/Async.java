package io.invmux.server.proxy;

import java.util.concurrent.CompletableFuture;

/** Runs blocking test code on its own daemon thread and hands back its result as a future. Test helper. */
final class Async {
    interface Body<T> {
        T run() throws Exception;
    }

    private Async() {
    }

    static <T> CompletableFuture<T> run(String name, Body<T> body) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(body.run());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return result;
    }
}
