package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Sizes, durations and addresses as written in the configuration. */
class ConfigUnitsTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0",
            "1|1",
            "1B|1",
            "65536|65536",
            "1KiB|1024",
            "1 KiB|1024",
            "256KiB|262144",
            "16MiB|16777216",
            "1GiB|1073741824",
            "8GiB|8589934592",
            "0KiB|0",
            "007KiB|7168"})
    void parsesSizes(String text, long bytes) {
        assertThat(Units.parseSize(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "-1", "+1", "1.5MiB", "1kb", "1KB", "1kib", "1 kib", "1K", "1M", "1G", "KiB",
            "1KiB ", " 1KiB", "1  KiB", "1e3", "0x10", "1TiB", "1_000", "1,000"})
    void rejectsMalformedSizes(String text) {
        assertThatThrownBy(() -> Units.parseSize(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("must be a size: a whole number of bytes, optionally followed by B, KiB, MiB or GiB "
                        + "(e.g. 256KiB)");
    }

    @Test
    void rejectsSizesOverflowingALong() {
        assertThatThrownBy(() -> Units.parseSize("9999999999GiB"))
                .hasMessageEndingWith("; this one is too large");
        assertThatThrownBy(() -> Units.parseSize("9999999999999999999"))
                .hasMessageEndingWith("; this one is too large");
        assertThat(Units.parseSize("8589934591GiB")).isEqualTo(8589934591L * Units.GIB);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0",
            "1|1",
            "1000|1000",
            "1023|1023",
            "1024|1KiB",
            "1536|1536",
            "262144|256KiB",
            "4194304|4MiB",
            "16777216|16MiB",
            "1073741824|1GiB",
            "3221225472|3GiB",
            "1049600|1025KiB"})
    void formatsSizesInTheLargestExactUnit(long bytes, String text) {
        assertThat(Units.formatSize(bytes)).isEqualTo(text);
        assertThat(Units.parseSize(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0",
            "0s|0",
            "0ms|0",
            "1ms|1",
            "250ms|250",
            "1 s|1000",
            "30s|30000",
            "10m|600000",
            "1h|3600000",
            "90000ms|90000",
            "36h|129600000"})
    void parsesDurations(String text, long millis) {
        assertThat(Units.parseDuration(text)).isEqualTo(Duration.ofMillis(millis));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "10", "1.5s", "1d", "-1s", "1sec", "1S", "1MS", "1H", "ms", "s", "1h30m", "PT1S",
            " 1s", "1s ", "1  s", "1us", "1ns"})
    void rejectsMalformedDurations(String text) {
        assertThatThrownBy(() -> Units.parseDuration(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("must be a duration: a whole number followed by ms, s, m or h (e.g. 250ms, 30s)");
    }

    @Test
    void rejectsDurationsTooLargeForADuration() {
        assertThatThrownBy(() -> Units.parseDuration("9999999999999999999h"))
                .hasMessageEndingWith("; this one is too large");
        assertThatThrownBy(() -> Units.parseDuration("999999999999999999h"))
                .hasMessageEndingWith("; this one is too large");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0s",
            "1|1ms",
            "100|100ms",
            "1000|1s",
            "1500|1500ms",
            "60000|1m",
            "90000|90s",
            "3600000|1h",
            "5400000|90m",
            "86400000|24h"})
    void formatsDurationsInTheLargestExactUnit(long millis, String text) {
        assertThat(Units.formatDuration(Duration.ofMillis(millis))).isEqualTo(text);
        assertThat(Units.parseDuration(text)).isEqualTo(Duration.ofMillis(millis));
    }

    @Test
    void formattingRejectsNegativeAndSubMillisecondDurations() {
        assertThatThrownBy(() -> Units.formatDuration(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Units.formatDuration(Duration.ofNanos(1500)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Units.formatSize(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "127.0.0.1:7701|127.0.0.1|7701|127.0.0.1:7701",
            "0.0.0.0:0|0.0.0.0|0|0.0.0.0:0",
            "localhost:65535|localhost|65535|localhost:65535",
            "echo-svc.default.svc.cluster.local:80|echo-svc.default.svc.cluster.local|80|"
                    + "echo-svc.default.svc.cluster.local:80",
            "my_host:1|my_host|1|my_host:1",
            "[::1]:7701|::1|7701|[::1]:7701",
            "[::]:0|::|0|[::]:0",
            "[fe80::1%eth0]:9|fe80::1%eth0|9|[fe80::1%eth0]:9"})
    void parsesTcpAddresses(String text, String host, int port, String formatted) {
        TcpAddress a = TcpAddress.parse(text, true);
        assertThat(a).isEqualTo(new TcpAddress(host, port));
        assertThat(a.toString()).isEqualTo(formatted);
        assertThat(TcpAddress.parse(a.toString(), true)).isEqualTo(a);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''|must be host:port (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "localhost|must be host:port (e.g. 127.0.0.1:7701 or [::1]:7701)",
            ":7701|must be host:port with a host (use 0.0.0.0 for every address) (e.g. 127.0.0.1:7701 or "
                    + "[::1]:7701)",
            "::1:7701|must be host:port; write IPv6 addresses in brackets, e.g. [::1]:7701",
            "[::1:7701|must be host:port with a valid IPv6 address in brackets (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "[zz]:1|must be host:port with a valid IPv6 address in brackets (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "256.0.0.1:1|must be host:port with a valid hostname or IP address (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "1.2.3:1|must be host:port with a valid hostname or IP address (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "bad host:1|must be host:port with a valid hostname or IP address (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "-x:1|must be host:port with a valid hostname or IP address (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "h:65536|must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "h:-1|must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "h:http|must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "h:|must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:7701 or [::1]:7701)"})
    void rejectsBadTcpAddresses(String text, String rule) {
        assertThatThrownBy(() -> TcpAddress.parse(text, true)).hasMessage(rule);
    }

    @Test
    void portZeroOnlyWhereAllowed() {
        assertThat(TcpAddress.parse("h:0", true).port()).isZero();
        assertThatThrownBy(() -> TcpAddress.parse("h:0", false))
                .hasMessage("must be host:port with a port from 1 to 65535 (e.g. 127.0.0.1:7701 or [::1]:7701)");
    }

    @Test
    void parsesUnixAddresses() {
        assertThat(Address.parse("unix:///run/invmux/api.sock", false))
                .isEqualTo(new UnixAddress(Path.of("/run/invmux/api.sock")));
        assertThat(Address.parse("unix:/run/api.sock", false)).isEqualTo(new UnixAddress(Path.of("/run/api.sock")));
        assertThat(new UnixAddress(Path.of("/run/api.sock")).toString()).isEqualTo("unix:///run/api.sock");
        assertThat(Address.parse("127.0.0.1:7701", false)).isEqualTo(new TcpAddress("127.0.0.1", 7701));
    }

    @ParameterizedTest
    @ValueSource(strings = {"unix:relative.sock", "unix://host/run/api.sock", "unix:///", "unix://", "unix:///run/",
            "unix:///run/api.sock?x=1", "unix:///a b"})
    void rejectsBadUnixAddresses(String text) {
        assertThatThrownBy(() -> Address.parse(text, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("must be unix:///absolute/path");
    }
}
