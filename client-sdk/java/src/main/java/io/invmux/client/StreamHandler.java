package io.invmux.client;

/**
 * Handles one accepted stream for {@link InvMuxClient#serve(String, StreamHandler, int)}: reads and writes it and
 * returns when done. The server then half-closes the stream (if the handler did not) and closes it; when the
 * handler throws, the stream is aborted (the peer sees a reset).
 */
@FunctionalInterface
public interface StreamHandler {
    void handle(InvMuxStream stream) throws Exception;
}
