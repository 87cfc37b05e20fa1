package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The config loader on mutated input (a seeded byte-mutation driver over the documented example and the override
 * syntax): whatever it is given, it either loads a configuration that renders back to YAML loading to an equal one,
 * or throws a {@link ConfigException} whose every problem is one short line; never another exception, and never a
 * secret in a message. {@code -Dfuzz.iterations=N} and {@code -Dfuzz.seed=S} run it longer or elsewhere.
 * {@link #anyFileLoadsAndRoundTripsOrFailsWithAConfigException} is the same check as a Jazzer target: the normal
 * suite replays its stored inputs (one seed per section of the example), {@code JAZZER_FUZZ=1} fuzzes it,
 * coverage-guided (docs/SECURITY.md has the figures of a long run).
 */
class ConfigFuzzTest {
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 500);
    private static final long SEED = Long.getLong("fuzz.seed", 20_261_204L);
    private static final String SECRET = "fuzz-secret-0123456789abcdef";
    /** Pieces of YAML and of our syntax that reach the parser's and binder's corners. */
    private static final List<String> TOKENS = List.of(":", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!binary ",
            "!!str ", "? ", "|", ">", "#", "'", "\"", "\\", "\t", "\n", "\n  ", "~", "null", "0x", "1e999", "-1",
            "99999999999", "%TAG ! x\n", "---\n", "...\n", "\u0000", "\uFEFF", "\u202E", "unix:///", "tcp://",
            "[::1]:", "169.254.169.254", "0.0.0.0/0", "/33", "KiB", "GiB", "ms", "h", "=", ".", "[0]", "[99]");

    @Test
    void mutatedFilesEitherLoadAndRoundTripOrFailWithAConfigException() throws Exception {
        String example = ConfigExampleTest.example();
        assertThat(example).contains("  token: \"\"\n");
        byte[] seed = example.replace("  token: \"\"\n", "  token: " + SECRET + "\n")
                .getBytes(StandardCharsets.UTF_8);
        Random random = new Random(SEED);
        int loaded = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            String text = new String(mutate(seed, random), StandardCharsets.UTF_8);
            loaded += check(i, new ConfigLoader().hostname("pod-a").yaml("config.yaml", text), true) ? 1 : 0;
        }
        // The driver must not only produce garbage: some inputs load, and go round the render check.
        assertThat(loaded).isPositive();
    }

    @FuzzTest(maxDuration = "60s")
    void anyFileLoadsAndRoundTripsOrFailsWithAConfigException(byte[] input) {
        check(0, new ConfigLoader().hostname("pod-a").yaml("config.yaml", new String(input, StandardCharsets.UTF_8)),
                false);
    }

    @Test
    void mutatedOverridesEitherLoadAndRoundTripOrFailWithAConfigException() throws Exception {
        List<String> seeds = List.of("api.address=127.0.0.1:0", "peers[0].links[1].weight=2", "listeners=[]",
                "services=[{name: db, target: '127.0.0.1:5432'}]", "security.serviceTargets[0]=10.0.0.0/8",
                "limits.serviceIdleTimeout=0s", "api.socketGroup=1000", "api.token=" + SECRET); // the token last
        Random random = new Random(SEED + 1);
        for (int i = 0; i < ITERATIONS; i++) {
            String a = new String(mutate(seeds.get(random.nextInt(seeds.size())).getBytes(StandardCharsets.UTF_8),
                    random), StandardCharsets.UTF_8);
            String b = seeds.get(random.nextInt(seeds.size() - 1)); // not the token: the secret only ever in a
            // The secret is a secret only as api.token's value; mutated into another key's value or into a bare
            // word, it is shown like any other text.
            boolean secret = a.toLowerCase(java.util.Locale.ROOT).startsWith("api.token");
            check(i, new ConfigLoader().hostname("pod-a").overrides(List.of(a, b)), secret);
        }
    }

    /** Found by the override driver: a key with a newline was echoed raw, splitting the problem over two lines. */
    @Test
    void aKeyWithControlCharactersIsReportedOnOneLine() {
        try {
            new ConfigLoader().hostname("pod-a").overrides(List.of("lis---\nteners=1", "api.\u0007x=1")).load();
            fail("the overrides should have been refused");
        } catch (ConfigException e) {
            assertThat(e.problems()).extracting(ConfigException.Problem::toString).allSatisfy(line ->
                    assertThat(line).doesNotContain("\n").doesNotContain("\u0007"))
                    .anySatisfy(line -> assertThat(line).startsWith("command line: lis---\\nteners: unknown key"));
        }
    }

    /** Found by the override driver: an override without '=' was echoed whole, secret and all. */
    @Test
    void anOverrideWithoutEqualsSignShowsNoSecret() {
        try {
            new ConfigLoader().hostname("pod-a").overrides(List.of("api.token:" + SECRET)).load();
            fail("the override should have been refused");
        } catch (ConfigException e) {
            assertThat(e.getMessage()).isEqualTo("command line: override api.token... (the rest hidden, "
                    + (SECRET.length() + 1) + " characters) must be key=value, e.g. api.address=127.0.0.1:7701");
        }
    }

    /** True when it loaded; {@code secret}: no problem may show {@link #SECRET}. */
    private static boolean check(int iteration, ConfigLoader loader, boolean secret) {
        SidecarConfig c;
        try {
            c = loader.load();
        } catch (ConfigException e) {
            for (ConfigException.Problem p : e.problems()) {
                String line = p.toString();
                assertThat(line).as("iteration %d", iteration).doesNotContain("\n");
                if (secret) {
                    assertThat(line).as("iteration %d", iteration).doesNotContain(SECRET);
                }
                assertThat(line.length()).as("iteration %d: %s", iteration, line).isLessThan(2_000);
            }
            return false;
        } catch (RuntimeException e) {
            fail("iteration " + iteration + " (seed " + SEED + "): " + e, e);
            return false;
        }
        try {
            assertThat(new ConfigLoader().hostname("pod-a").yaml("rendered", c.toYaml()).load())
                    .as("iteration %d renders back to an equal config", iteration).isEqualTo(c);
        } catch (ConfigException e) {
            fail("iteration " + iteration + ": the rendered config does not load: " + e.getMessage());
        }
        return true;
    }

    /** One to four mutations: flip a byte, insert a token, delete or repeat a run. */
    static byte[] mutate(byte[] in, Random r) {
        byte[] b = in;
        for (int n = 1 + r.nextInt(4); n > 0; n--) {
            int at = b.length == 0 ? 0 : r.nextInt(b.length);
            switch (r.nextInt(4)) {
                case 0 -> {
                    if (b.length > 0) {
                        b = b.clone();
                        b[at] = (byte) r.nextInt(256);
                    }
                }
                case 1 -> b = splice(b, at, 0, TOKENS.get(r.nextInt(TOKENS.size())).getBytes(StandardCharsets.UTF_8));
                case 2 -> b = splice(b, at, Math.min(b.length - at, 1 + r.nextInt(16)), new byte[0]);
                default -> {
                    int len = Math.min(b.length - at, 1 + r.nextInt(32));
                    byte[] run = new byte[len];
                    System.arraycopy(b, at, run, 0, len);
                    b = splice(b, at, 0, run);
                }
            }
        }
        return b;
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }
}
