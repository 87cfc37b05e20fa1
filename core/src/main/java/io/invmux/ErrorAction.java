package io.invmux;

/** What to do after an error, as decided by the {@link ErrorHandler}. */
public enum ErrorAction {
    /** Keep going as if nothing happened (for a stream error: let the stream fail, the session carries on). */
    RETRY,
    /** Re-send the lost link's chunks on the others and redial the link's address (dialing side). */
    RECONNECT,
    /** Re-send the lost link's chunks on the other links; do not redial. */
    FAILOVER,
    /** Close the whole session. */
    CLOSE
}
