package io.invmux.server.cli;

import io.invmux.server.inject.Annotations;
import io.invmux.server.inject.PodInjector;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The sidecar settings {@code invmux inject} and {@code invmux webhook} share: each flag is the default of the pod
 * annotation named in its description, which wins where a pod sets it.
 */
public final class InjectionOptions {
    @Option(names = "--image", required = true, description = "Sidecar image, e.g. registry.example.com/invmux:0.2.0.")
    String image;

    @Option(names = "--config-map", description = "ConfigMap whose key invmux.yaml is the config (" + Annotations.CONFIG + ").")
    String configMap;

    @Option(names = "--peers", description = "Peers: name=uri[,uri][;name=uri] (" + Annotations.PEERS + ").")
    String peers;

    @Option(names = "--forwards", description = "Forwards: listen=peer/service[;...] (" + Annotations.FORWARDS + ").")
    String forwards;

    @Option(names = "--services", description = "Services: name=host:port[;...] (" + Annotations.SERVICES + ").")
    String services;

    @Option(names = "--listeners", description = "Listeners: uri[,uri] or none (" + Annotations.LISTENERS + ").")
    String listeners;

    @Option(names = "--join-key-secret", description = "Secret with the join key under psk (" + Annotations.JOIN_KEY_SECRET
            + "; default invmux-join-key).")
    String joinKeySecret;

    @Option(names = "--cpu", description = "CPU request (" + Annotations.CPU + "; default 250m).")
    String cpu;

    @Option(names = "--cpu-limit", description = "CPU limit (" + Annotations.CPU_LIMIT + "; default 2).")
    String cpuLimit;

    @Option(names = "--memory", description = "Memory request and limit (" + Annotations.MEMORY + "; default 768Mi).")
    String memory;

    @Option(names = "--log-level", description = "Sidecar log level (" + Annotations.LOG_LEVEL + ").")
    String logLevel;

    /** The injector these flags describe. */
    PodInjector injector() {
        Map<String, String> d = new LinkedHashMap<>();
        put(d, Annotations.CONFIG, configMap);
        put(d, Annotations.PEERS, peers);
        put(d, Annotations.FORWARDS, forwards);
        put(d, Annotations.SERVICES, services);
        put(d, Annotations.LISTENERS, listeners);
        put(d, Annotations.JOIN_KEY_SECRET, joinKeySecret);
        put(d, Annotations.CPU, cpu);
        put(d, Annotations.CPU_LIMIT, cpuLimit);
        put(d, Annotations.MEMORY, memory);
        put(d, Annotations.LOG_LEVEL, logLevel);
        return new PodInjector(image, d, VersionProvider.version());
    }

    private static void put(Map<String, String> d, String key, String value) {
        if (value != null) {
            d.put(key, value);
        }
    }
}
