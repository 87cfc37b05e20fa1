package io.invmux.server.runtime;

import io.invmux.Stream;
import java.util.Map;

/**
 * A stream a peer opened, with what its header says.
 *
 * @param stream the stream
 * @param sessionId the session carrying it
 * @param peer the opening sidecar's identity
 * @param service the service it is for
 * @param metadata the opener's metadata
 */
public record Incoming(Stream stream, String sessionId, String peer, String service, Map<String, String> metadata) {
}
