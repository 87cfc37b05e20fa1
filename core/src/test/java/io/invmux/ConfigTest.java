package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.invmux.balance.EarliestDeliveryLoadBalancer;
import io.invmux.balance.RoundRobinLoadBalancer;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Config}: documented defaults, per-knob range checks, cross-knob checks at build time, toBuilder. */
class ConfigTest {
    private static final int KIB = 1024;
    private static final int MIB = 1024 * 1024;
    private static final int GIB = 1024 * 1024 * 1024;

    // =============================================================================================================
    // defaults
    // =============================================================================================================

    @Test
    void defaultsHaveTheDocumentedValues() {
        Config c = Config.defaults();
        assertThat(c.windowSize()).isEqualTo(256 * KIB);
        assertThat(c.maxWindowSize()).isEqualTo(16 * MIB);
        assertThat(c.sessionWindowSize()).isEqualTo(64 * MIB);
        assertThat(c.maxChunkSize()).isEqualTo(32 * KIB);
        assertThat(c.keepAliveInterval()).isEqualTo(Duration.ofMillis(100));
        assertThat(c.keepAliveTimeout()).isEqualTo(Duration.ofMillis(800));
        assertThat(c.writeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.handshakeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.resumeGracePeriod()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.maxStreams()).isEqualTo(65_536);
        assertThat(c.acceptBacklog()).isEqualTo(256);
        assertThat(c.linkWriteBufferSize()).isEqualTo(256 * KIB);
        assertThat(c.maxReorderChunks()).isEqualTo(65_536);
        assertThat(c.maxHandshakes()).isEqualTo(256);
        assertThat(c.maxHandshakesPerAddress()).isEqualTo(32);
        assertThat(c.maxSessions()).isEqualTo(1024);
        assertThat(c.maxLinksPerSession()).isEqualTo(32);
        assertThat(c.maxPingRate()).isEqualTo(200);
        assertThat(c.pendingOpenTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.loadBalancer().get()).isInstanceOf(EarliestDeliveryLoadBalancer.class);
        assertThat(c.errorHandler()).isSameAs(ErrorHandler.defaults());
        assertThat(c.middleware()).isEmpty();
        assertThat(c.connectionRegistry()).isNotNull();
    }

    @Test
    void defaultsAreFreshInstancesSoTheirRegistriesAreNotShared() {
        assertThat(Config.defaults()).isNotSameAs(Config.defaults());
        assertThat(Config.defaults().connectionRegistry()).isNotSameAs(Config.defaults().connectionRegistry());
        assertSameSettings(Config.builder().build(), Config.defaults());
    }

    @Test
    void theLoadBalancerSupplierMakesAFreshBalancerEachTime() {
        Supplier<? extends LoadBalancer> factory = Config.defaults().loadBalancer();
        assertThat(factory.get()).isNotSameAs(factory.get());
    }

    @Test
    void defaultsSatisfyTheirOwnCrossChecks() {
        Config c = Config.defaults();
        assertThat(c.maxWindowSize()).isGreaterThanOrEqualTo(c.windowSize());
        assertThat(c.sessionWindowSize()).isGreaterThanOrEqualTo(c.windowSize());
        assertThat(c.keepAliveTimeout()).isGreaterThanOrEqualTo(c.keepAliveInterval().multipliedBy(2));
    }

    // =============================================================================================================
    // single-knob ranges
    // =============================================================================================================

    static Stream<Arguments> intKnobs() {
        return Stream.of(
                intKnob("windowSize", Config.Builder::windowSize, 16 * KIB, GIB),
                intKnob("maxWindowSize", Config.Builder::maxWindowSize, 16 * KIB, GIB),
                intKnob("sessionWindowSize", Config.Builder::sessionWindowSize, 64 * KIB, GIB),
                intKnob("maxChunkSize", Config.Builder::maxChunkSize, KIB, MIB),
                intKnob("maxStreams", Config.Builder::maxStreams, 1, 1 << 24),
                intKnob("acceptBacklog", Config.Builder::acceptBacklog, 1, 65_536),
                intKnob("linkWriteBufferSize", Config.Builder::linkWriteBufferSize, 16 * KIB, 64 * MIB),
                intKnob("maxReorderChunks", Config.Builder::maxReorderChunks, 16, 1 << 24),
                intKnob("maxHandshakes", Config.Builder::maxHandshakes, 1, 1 << 20),
                intKnob("maxHandshakesPerAddress", Config.Builder::maxHandshakesPerAddress, 1, 1 << 20),
                intKnob("maxSessions", Config.Builder::maxSessions, 1, 1 << 20),
                intKnob("maxLinksPerSession", Config.Builder::maxLinksPerSession, 1, 1024),
                intKnob("maxPingRate", Config.Builder::maxPingRate, 1, 1_000_000));
    }

    private static Arguments intKnob(String name, BiConsumer<Config.Builder, Integer> setter, int min, int max) {
        return Arguments.of(name, setter, min, max);
    }

    @ParameterizedTest(name = "{0} between {2} and {3}")
    @MethodSource("intKnobs")
    void intKnobAcceptsItsBounds(String name, BiConsumer<Config.Builder, Integer> setter, int min, int max) {
        assertThatCode(() -> setter.accept(Config.builder(), min)).doesNotThrowAnyException();
        assertThatCode(() -> setter.accept(Config.builder(), max)).doesNotThrowAnyException();
    }

    @ParameterizedTest(name = "{0} between {2} and {3}")
    @MethodSource("intKnobs")
    void intKnobRejectsValuesOutsideItsRangeNamingKnobValueAndRange(String name,
            BiConsumer<Config.Builder, Integer> setter, int min, int max) {
        for (int bad : new int[] {min - 1, max + 1, 0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            if (bad >= min && bad <= max) {
                continue;
            }
            assertThatThrownBy(() -> setter.accept(Config.builder(), bad))
                    .as("%s(%d)", name, bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(name)
                    .hasMessageContaining(String.valueOf(bad))
                    .hasMessageContaining(String.valueOf(min))
                    .hasMessageContaining(String.valueOf(max));
        }
    }

    @ParameterizedTest(name = "{0} between {2} and {3}")
    @MethodSource("intKnobs")
    void intKnobValueSetIsTheValueBuilt(String name, BiConsumer<Config.Builder, Integer> setter, int min, int max) {
        for (int value : new int[] {min, max}) {
            Config.Builder b = Config.builder()
                    // windows wide enough for the cross checks, whatever value the knob under test gets
                    .windowSize(16 * KIB).maxWindowSize(GIB).sessionWindowSize(GIB);
            setter.accept(b, value);
            assertThat(intValue(b.build(), name)).as("%s(%d)", name, value).isEqualTo(value);
        }
    }

    static Stream<Arguments> durationKnobs() {
        return Stream.of(
                durationKnob("keepAliveInterval", Config.Builder::keepAliveInterval, Duration.ofMillis(10),
                        Duration.ofHours(1)),
                durationKnob("keepAliveTimeout", Config.Builder::keepAliveTimeout, Duration.ofMillis(20),
                        Duration.ofHours(1)),
                durationKnob("writeTimeout", Config.Builder::writeTimeout, Duration.ofMillis(10),
                        Duration.ofHours(1)),
                durationKnob("handshakeTimeout", Config.Builder::handshakeTimeout, Duration.ofMillis(10),
                        Duration.ofMinutes(10)),
                durationKnob("resumeGracePeriod", Config.Builder::resumeGracePeriod, Duration.ZERO,
                        Duration.ofHours(24)),
                durationKnob("pendingOpenTimeout", Config.Builder::pendingOpenTimeout, Duration.ofMillis(10),
                        Duration.ofMinutes(10)));
    }

    private static Arguments durationKnob(String name, BiConsumer<Config.Builder, Duration> setter, Duration min,
            Duration max) {
        return Arguments.of(name, setter, min, max);
    }

    @ParameterizedTest(name = "{0} between {2} and {3}")
    @MethodSource("durationKnobs")
    void durationKnobAcceptsItsBounds(String name, BiConsumer<Config.Builder, Duration> setter, Duration min,
            Duration max) {
        assertThatCode(() -> setter.accept(Config.builder(), min)).doesNotThrowAnyException();
        assertThatCode(() -> setter.accept(Config.builder(), max)).doesNotThrowAnyException();
    }

    @ParameterizedTest(name = "{0} between {2} and {3}")
    @MethodSource("durationKnobs")
    void durationKnobRejectsValuesOutsideItsRangeNamingKnobValueAndRange(String name,
            BiConsumer<Config.Builder, Duration> setter, Duration min, Duration max) {
        for (Duration bad : List.of(min.minusNanos(1), max.plusNanos(1), Duration.ofSeconds(-1),
                Duration.ofDays(365))) {
            assertThatThrownBy(() -> setter.accept(Config.builder(), bad))
                    .as("%s(%s)", name, bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(name)
                    .hasMessageContaining(bad.toString())
                    .hasMessageContaining(min.toString())
                    .hasMessageContaining(max.toString());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("durationKnobs")
    void durationKnobRejectsNullNamingTheKnob(String name, BiConsumer<Config.Builder, Duration> setter) {
        assertThatThrownBy(() -> setter.accept(Config.builder(), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(name)
                .hasMessageContaining("null");
    }

    @Test
    void rejectedValueLeavesTheBuilderUnchanged() {
        Config.Builder b = Config.builder().maxChunkSize(64 * KIB);
        assertThatThrownBy(() -> b.maxChunkSize(0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(b.build().maxChunkSize()).isEqualTo(64 * KIB);
    }

    @Test
    void resumeGracePeriodOfZeroIsAllowed() {
        assertThat(Config.builder().resumeGracePeriod(Duration.ZERO).build().resumeGracePeriod()).isZero();
    }

    @Test
    void objectKnobsRejectNullNamingTheKnob() {
        assertThatThrownBy(() -> Config.builder().loadBalancer(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("loadBalancer");
        assertThatThrownBy(() -> Config.builder().errorHandler(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("errorHandler");
        assertThatThrownBy(() -> Config.builder().connectionRegistry(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("connectionRegistry");
        assertThatThrownBy(() -> Config.builder().middleware(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("middleware");
    }

    // =============================================================================================================
    // cross-knob checks
    // =============================================================================================================

    @Test
    void maxWindowSizeBelowWindowSizeIsRejectedAtBuildNamingBoth() {
        Config.Builder b = Config.builder().windowSize(2 * MIB).maxWindowSize(MIB);
        assertThatThrownBy(b::build)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxWindowSize")
                .hasMessageContaining("windowSize (" + 2 * MIB)
                .hasMessageContaining(String.valueOf(MIB));
    }

    @Test
    void maxWindowSizeEqualToWindowSizeIsAccepted() {
        Config c = Config.builder().windowSize(MIB).maxWindowSize(MIB).build();
        assertThat(c.maxWindowSize()).isEqualTo(c.windowSize());
    }

    @Test
    void raisingWindowSizeAboveTheDefaultMaxWindowSizeIsRejectedAtBuild() {
        assertThatThrownBy(() -> Config.builder().windowSize(32 * MIB).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxWindowSize")
                .hasMessageContaining("windowSize")
                .hasMessageContaining(String.valueOf(16 * MIB))
                .hasMessageContaining(String.valueOf(32 * MIB));
    }

    @Test
    void sessionWindowSizeBelowWindowSizeIsRejectedAtBuildNamingBoth() {
        Config.Builder b = Config.builder().windowSize(MIB).sessionWindowSize(512 * KIB);
        assertThatThrownBy(b::build)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sessionWindowSize (" + 512 * KIB)
                .hasMessageContaining("windowSize (" + MIB);
    }

    @Test
    void sessionWindowSizeEqualToWindowSizeIsAccepted() {
        Config c = Config.builder().windowSize(MIB).sessionWindowSize(MIB).build();
        assertThat(c.sessionWindowSize()).isEqualTo(MIB);
    }

    @Test
    void keepAliveTimeoutBelowTwiceTheIntervalIsRejectedAtBuildNamingBoth() {
        Config.Builder b = Config.builder().keepAliveInterval(Duration.ofMillis(500));
        assertThatThrownBy(b::build)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keepAliveTimeout (800 ms)")
                .hasMessageContaining("keepAliveInterval (500 ms)");
    }

    @Test
    void keepAliveTimeoutOfExactlyTwiceTheIntervalIsAccepted() {
        Config c = Config.builder().keepAliveInterval(Duration.ofMillis(400)).build();
        assertThat(c.keepAliveTimeout()).isEqualTo(c.keepAliveInterval().multipliedBy(2));
    }

    @Test
    void crossChecksWaitForBuildSoKnobsCanBeSetInAnyOrder() {
        Config c = Config.builder()
                .keepAliveTimeout(Duration.ofSeconds(4)).keepAliveInterval(Duration.ofSeconds(2))
                .windowSize(64 * MIB).maxWindowSize(128 * MIB).sessionWindowSize(256 * MIB)
                .build();
        assertThat(c.windowSize()).isEqualTo(64 * MIB);
        assertThat(c.keepAliveInterval()).isEqualTo(Duration.ofSeconds(2));
    }

    // =============================================================================================================
    // middleware
    // =============================================================================================================

    @Test
    void middlewareChainIsKeptInOrder() {
        Middleware a = named("a");
        Middleware b = named("b");
        Config c = Config.builder().middleware(List.of(a, b, Middleware.passthrough())).build();
        assertThat(c.middleware()).containsExactly(a, b, Middleware.passthrough());
    }

    @Test
    void duplicateMiddlewareNamesAreRejectedNamingTheName() {
        assertThatThrownBy(() -> Config.builder().middleware(List.of(named("zip"), named("crypt"), named("zip"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unique")
                .hasMessageContaining("'zip'");
    }

    @Test
    void emptyMiddlewareNameIsRejected() {
        assertThatThrownBy(() -> Config.builder().middleware(List.of(named(""))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("middleware name")
                .hasMessageContaining("1 to 255 bytes");
    }

    @Test
    void nullMiddlewareNameIsRejected() {
        assertThatThrownBy(() -> Config.builder().middleware(List.of(named(null))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("middleware name");
    }

    @Test
    void middlewareNameLengthIsCountedInUtf8Bytes() {
        assertThatCode(() -> Config.builder().middleware(List.of(named("a".repeat(255)))))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> Config.builder().middleware(List.of(named("a".repeat(256)))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("255 bytes");
        // 128 characters but 256 bytes of UTF-8
        assertThatThrownBy(() -> Config.builder().middleware(List.of(named("é".repeat(128)))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("255 bytes");
    }

    @Test
    void nullMiddlewareEntryIsRejected() {
        List<Middleware> chain = new ArrayList<>();
        chain.add(null);
        assertThatThrownBy(() -> Config.builder().middleware(chain)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void moreThan255MiddlewareEntriesAreRejected() {
        List<Middleware> chain = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            chain.add(named("m" + i));
        }
        assertThatThrownBy(() -> Config.builder().middleware(chain))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("255").hasMessageContaining("256");
        assertThatCode(() -> Config.builder().middleware(chain.subList(0, 255))).doesNotThrowAnyException();
    }

    @Test
    void middlewareListIsCopiedAndUnmodifiable() {
        List<Middleware> chain = new ArrayList<>(List.of(named("a")));
        Config.Builder b = Config.builder().middleware(chain);
        chain.add(named("b"));
        Config c = b.build();
        assertThat(c.middleware()).extracting(Middleware::name).containsExactly("a");
        assertThatThrownBy(() -> c.middleware().add(named("c"))).isInstanceOf(UnsupportedOperationException.class);
    }

    // =============================================================================================================
    // toBuilder
    // =============================================================================================================

    @Test
    void toBuilderRoundTripKeepsEveryKnob() {
        Supplier<LoadBalancer> balancer = RoundRobinLoadBalancer::new;
        ErrorHandler handler = new ErrorHandler() {
            @Override
            public ErrorAction handleConnectionError(Connection connection, Throwable cause) {
                return ErrorAction.FAILOVER;
            }

            @Override
            public ErrorAction handleStreamError(io.invmux.Stream stream, Throwable cause) {
                return ErrorAction.FAILOVER;
            }

            @Override
            public ErrorAction handleSessionError(Session session, Throwable cause) {
                return ErrorAction.FAILOVER;
            }
        };
        ConnectionRegistry registry = new ConnectionRegistry();
        Config original = Config.builder()
                .windowSize(512 * KIB).maxWindowSize(32 * MIB).sessionWindowSize(128 * MIB)
                .maxChunkSize(16 * KIB)
                .keepAliveInterval(Duration.ofMillis(250)).keepAliveTimeout(Duration.ofSeconds(2))
                .writeTimeout(Duration.ofSeconds(3)).handshakeTimeout(Duration.ofSeconds(4))
                .resumeGracePeriod(Duration.ofMinutes(5))
                .maxStreams(1000).acceptBacklog(10).linkWriteBufferSize(MIB)
                .loadBalancer(balancer).errorHandler(handler).connectionRegistry(registry)
                .middleware(List.of(named("x"), named("y")))
                .build();

        Config copy = original.toBuilder().build();

        assertSameSettings(copy, original);
        assertThat(copy.loadBalancer()).isSameAs(balancer);
        assertThat(copy.errorHandler()).isSameAs(handler);
        assertThat(copy.connectionRegistry()).isSameAs(registry);
    }

    @Test
    void changingACopyLeavesTheOriginalAlone() {
        Config original = Config.builder().maxChunkSize(8 * KIB).middleware(List.of(named("x"))).build();

        Config changed = original.toBuilder().maxChunkSize(64 * KIB).middleware(List.of()).build();

        assertThat(original.maxChunkSize()).isEqualTo(8 * KIB);
        assertThat(original.middleware()).extracting(Middleware::name).containsExactly("x");
        assertThat(changed.maxChunkSize()).isEqualTo(64 * KIB);
        assertThat(changed.middleware()).isEmpty();
    }

    @Test
    void toBuilderOfDefaultsDoesNotChangeTheDefaults() {
        Config.defaults().toBuilder().maxChunkSize(MIB).windowSize(MIB).build();
        assertThat(Config.defaults().maxChunkSize()).isEqualTo(32 * KIB);
        assertThat(Config.defaults().windowSize()).isEqualTo(256 * KIB);
    }

    // =============================================================================================================

    private static void assertSameSettings(Config actual, Config expected) {
        assertThat(actual.windowSize()).isEqualTo(expected.windowSize());
        assertThat(actual.maxWindowSize()).isEqualTo(expected.maxWindowSize());
        assertThat(actual.sessionWindowSize()).isEqualTo(expected.sessionWindowSize());
        assertThat(actual.maxChunkSize()).isEqualTo(expected.maxChunkSize());
        assertThat(actual.keepAliveInterval()).isEqualTo(expected.keepAliveInterval());
        assertThat(actual.keepAliveTimeout()).isEqualTo(expected.keepAliveTimeout());
        assertThat(actual.writeTimeout()).isEqualTo(expected.writeTimeout());
        assertThat(actual.handshakeTimeout()).isEqualTo(expected.handshakeTimeout());
        assertThat(actual.resumeGracePeriod()).isEqualTo(expected.resumeGracePeriod());
        assertThat(actual.maxStreams()).isEqualTo(expected.maxStreams());
        assertThat(actual.acceptBacklog()).isEqualTo(expected.acceptBacklog());
        assertThat(actual.linkWriteBufferSize()).isEqualTo(expected.linkWriteBufferSize());
        assertThat(actual.maxReorderChunks()).isEqualTo(expected.maxReorderChunks());
        assertThat(actual.pendingOpenTimeout()).isEqualTo(expected.pendingOpenTimeout());
        assertThat(actual.maxHandshakes()).isEqualTo(expected.maxHandshakes());
        assertThat(actual.maxHandshakesPerAddress()).isEqualTo(expected.maxHandshakesPerAddress());
        assertThat(actual.maxSessions()).isEqualTo(expected.maxSessions());
        assertThat(actual.maxLinksPerSession()).isEqualTo(expected.maxLinksPerSession());
        assertThat(actual.maxPingRate()).isEqualTo(expected.maxPingRate());
        assertThat(actual.errorHandler()).isSameAs(expected.errorHandler());
        assertThat(actual.middleware()).isEqualTo(expected.middleware());
    }

    private static int intValue(Config c, String knob) {
        switch (knob) {
            case "windowSize": return c.windowSize();
            case "maxWindowSize": return c.maxWindowSize();
            case "sessionWindowSize": return c.sessionWindowSize();
            case "maxChunkSize": return c.maxChunkSize();
            case "maxStreams": return c.maxStreams();
            case "acceptBacklog": return c.acceptBacklog();
            case "linkWriteBufferSize": return c.linkWriteBufferSize();
            case "maxReorderChunks": return c.maxReorderChunks();
            case "maxHandshakes": return c.maxHandshakes();
            case "maxHandshakesPerAddress": return c.maxHandshakesPerAddress();
            case "maxSessions": return c.maxSessions();
            case "maxLinksPerSession": return c.maxLinksPerSession();
            case "maxPingRate": return c.maxPingRate();
            default: throw new IllegalArgumentException(knob);
        }
    }

    private static Middleware named(String name) {
        return new Middleware() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public ByteBuf processOutbound(int streamId, ByteBuf chunk) {
                return chunk;
            }

            @Override
            public ByteBuf processInbound(int streamId, ByteBuf chunk) {
                return chunk;
            }

            @Override
            public String toString() {
                return "Middleware(" + name + ")";
            }
        };
    }
}
