package io.invmux.server.inject;

import java.util.List;

/**
 * The pod annotations the injector reads. Every setting can also be given to {@code invmux inject} and
 * {@code invmux webhook} as a flag: the flag is the default, a pod's annotation wins.
 *
 * <p>Value syntax (whitespace around separators is ignored):
 * <ul>
 *   <li>{@link #PEERS}: {@code name=uri[,uri...][;name=uri...]}, e.g.
 *       {@code backend=tcp://backend-peer.db.svc:7700}; each URI is one link of that peer's session;</li>
 *   <li>{@link #FORWARDS}: {@code listen=peer/service[;...]}, e.g. {@code 127.0.0.1:5432=backend/postgres};</li>
 *   <li>{@link #SERVICES}: {@code name=host:port[;...]}, e.g. {@code demo-http=127.0.0.1:8080};</li>
 *   <li>{@link #LISTENERS}: {@code uri[,uri...]}, or {@code none} (the sidecar only dials); default
 *       {@code tcp://0.0.0.0:7700};</li>
 *   <li>{@link #CONFIG}: the name of a ConfigMap whose key {@code invmux.yaml} is the sidecar's config; excludes
 *       peers, forwards, services and listeners (they belong in that file then);</li>
 *   <li>{@link #JOIN_KEY_SECRET}: the Secret whose key {@code psk} is the join key (default
 *       {@code invmux-join-key});</li>
 *   <li>{@link #CPU}, {@link #MEMORY}, {@link #CPU_LIMIT}: Kubernetes quantities for the sidecar's requests and
 *       limits (memory request = limit);</li>
 *   <li>{@link #LOG_LEVEL}: {@code trace}, {@code debug}, {@code info}, {@code warn} or {@code error}.</li>
 * </ul>
 * Any other annotation under {@code invmux.io/} is refused, so a misspelt one is noticed.
 */
public final class Annotations {
    public static final String PREFIX = "invmux.io/";
    /** {@code "true"}: the webhook injects this pod; {@code "false"}: neither the webhook nor inject does. */
    public static final String INJECT = PREFIX + "inject";
    /** Written by the injector: the pod holds an injected sidecar (injecting again replaces it). */
    public static final String INJECTED = PREFIX + "injected";
    /** The label an injected pod gets ({@code invmux.io/sidecar: injected}): what Prometheus selects it by. */
    public static final String SIDECAR_LABEL = PREFIX + "sidecar";
    public static final String CONFIG = PREFIX + "config";
    public static final String PEERS = PREFIX + "peers";
    public static final String FORWARDS = PREFIX + "forwards";
    public static final String SERVICES = PREFIX + "services";
    public static final String LISTENERS = PREFIX + "listeners";
    public static final String JOIN_KEY_SECRET = PREFIX + "join-key-secret";
    public static final String CPU = PREFIX + "cpu";
    public static final String CPU_LIMIT = PREFIX + "cpu-limit";
    public static final String MEMORY = PREFIX + "memory";
    public static final String LOG_LEVEL = PREFIX + "log-level";

    /** Every annotation read, in the order problems are reported. */
    public static final List<String> KNOWN = List.of(INJECT, INJECTED, CONFIG, PEERS, FORWARDS, SERVICES, LISTENERS,
            JOIN_KEY_SECRET, CPU, CPU_LIMIT, MEMORY, LOG_LEVEL);

    private Annotations() {
    }
}
