package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import io.invmux.compress.Algorithm;
import io.invmux.compress.CompressionMiddleware;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The session-wide {@code middleware} chain and the per-entry choice of services and forwards. */
class MiddlewareConfigTest {
    private static final String PEER = "peers: [{name: pod-b, links: [{address: 'tcp://127.0.0.1:7700'}]}]\n";

    private static SidecarConfig load(String yaml) throws Exception {
        return new ConfigLoader().hostname("pod-a").yaml("config.yaml", yaml).load();
    }

    private static List<String> problems(String yaml) {
        try {
            load(yaml);
        } catch (ConfigException e) {
            return e.problems().stream().map(ConfigException.Problem::toString).toList();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("expected a ConfigException");
    }

    @Test
    void withoutMiddlewareTheChainIsEmpty() throws Exception {
        SidecarConfig c = load(PEER);
        assertThat(c.middleware()).isEmpty();
        assertThat(c.toCoreConfig().middleware()).isEmpty();
    }

    @Test
    void theChainBecomesTheSessionsMiddlewareAndEntriesChooseCompressionOrNot() throws Exception {
        SidecarConfig c = load(PEER + """
                middleware: ["zstd:6"]
                services:
                  - {name: replication, target: 127.0.0.1:5432, middleware: [zstd]}
                  - {name: video, target: 127.0.0.1:8554, middleware: []}
                  - {name: other, target: 127.0.0.1:9000}
                forwards:
                  - {listen: 127.0.0.1:15432, peer: pod-b, service: replication, middleware: [zstd]}
                  - {listen: 127.0.0.1:18554, peer: pod-b, service: video, middleware: []}
                """);
        Config core = c.toCoreConfig();
        assertThat(core.middleware()).singleElement().isInstanceOfSatisfying(CompressionMiddleware.class, m -> {
            assertThat(m.algorithm()).isEqualTo(Algorithm.ZSTD);
            assertThat(m.level()).isEqualTo(6);
            assertThat(m.adaptive()).isTrue();
        });
        assertThat(c.services()).extracting(s -> SidecarConfig.compresses(s.middleware()))
                .containsExactly(Optional.of(true), Optional.of(false), Optional.empty());
        assertThat(c.forwards()).extracting(f -> SidecarConfig.compresses(f.middleware()))
                .containsExactly(Optional.of(true), Optional.of(false));
        // and the YAML rendering loads back to the same configuration
        assertThat(load(c.toYaml())).isEqualTo(c);
    }

    @Test
    void environmentVariablesSetTheChainAndAnEntrysChoice() throws Exception {
        SidecarConfig c = new ConfigLoader().hostname("pod-a").yaml("config.yaml", PEER + """
                services: [{name: db, target: 127.0.0.1:5432}]
                """).environment(Map.of("INVMUX_MIDDLEWARE_0", "lz4", "INVMUX_SERVICES_0_MIDDLEWARE_0", "lz4")).load();
        assertThat(c.middleware()).containsExactly("lz4");
        assertThat(SidecarConfig.compresses(c.services().get(0).middleware())).contains(true);
    }

    @Test
    void aZstdDictionaryFileNamesTheMiddlewareByItsIdAndEntriesStillSayZstd(@org.junit.jupiter.api.io.TempDir
            java.nio.file.Path dir) throws Exception {
        java.nio.file.Path dict = dir.resolve("events.dict");
        byte[] content = new byte[4096];
        new java.util.SplittableRandom(3).nextBytes(content);
        java.nio.file.Files.write(dict, content);
        SidecarConfig c = load(PEER + "middleware: ['zstd:3@" + dict + "']\n"
                + "services: [{name: db, target: 127.0.0.1:5432, middleware: [zstd]}]\n");
        assertThat(c.toCoreConfig().middleware()).singleElement().extracting(io.invmux.Middleware::name)
                .asString().startsWith("zstd/dict-");
        assertThat(SidecarConfig.compresses(c.services().get(0).middleware())).contains(true);
        assertThat(problems(PEER + "middleware: ['zstd@" + dir.resolve("missing.dict") + "']\n"))
                .singleElement().asString().contains("cannot read the dictionary").contains("missing.dict");
        assertThat(problems(PEER + "middleware: ['lz4@" + dict + "']\n")).singleElement().asString()
                .contains("dictionary is supported by zstd only, not lz4");
    }

    @Test
    void badEntriesAreRefusedNamingKeyValueAndRule() {
        assertThat(problems(PEER + "middleware: [snappy]\n")).containsExactly("config.yaml: middleware[0] = snappy: "
                + "must be passthrough or zstd|lz4|deflate[:LEVEL][@DICTIONARY_FILE]: unknown compression 'snappy': expected zstd, lz4 or "
                + "deflate");
        assertThat(problems(PEER + "middleware: ['zstd:40']\n")).containsExactly("config.yaml: middleware[0] = "
                + "zstd:40: must be passthrough or zstd|lz4|deflate[:LEVEL][@DICTIONARY_FILE]: zstd level must be -7 to 22, got 40");
        assertThat(problems(PEER + "middleware: [zstd, 'zstd:3']\n")).singleElement().asString()
                .contains("middleware[1] = zstd:3: names the same middleware as middleware[0]");
        assertThat(problems(PEER + """
                middleware: [zstd]
                services: [{name: db, target: 127.0.0.1:5432, middleware: [lz4]}]
                """)).containsExactly("config.yaml: services[0].middleware[0] = lz4: is not in the session chain; "
                + "it has zstd");
        assertThat(problems(PEER + """
                forwards: [{listen: 127.0.0.1:0, peer: pod-b, service: db, middleware: [zstd]}]
                """)).containsExactly("config.yaml: forwards[0].middleware[0] = zstd: names no middleware: the "
                + "session chain (middleware) is empty");
    }
}
