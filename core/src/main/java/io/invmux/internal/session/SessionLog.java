package io.invmux.internal.session;

import io.invmux.LogKeys;
import org.slf4j.Logger;
import org.slf4j.event.Level;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * A session's log events carry its id, and their link's, as key-value pairs ({@link LogKeys}) beside the message
 * that names them, so that JSON logs have them as fields. Not for the per-chunk path: nothing there logs.
 */
final class SessionLog {
    private SessionLog() {
    }

    /** An event at {@code level} with the session's id and, unless {@code link} is null, the link's. */
    static LoggingEventBuilder at(Logger log, Level level, String sessionId, Link link) {
        LoggingEventBuilder e = log.atLevel(level).addKeyValue(LogKeys.SESSION_ID, sessionId);
        return link == null ? e : e.addKeyValue(LogKeys.LINK_ID, link.id());
    }
}
