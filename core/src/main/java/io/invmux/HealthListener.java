package io.invmux;

/** Hears about link state changes of a session. Called on the session's event loop; must not block. */
@FunctionalInterface
public interface HealthListener {
    void onStateChange(Connection connection, HealthState from, HealthState to, Quality quality);
}
