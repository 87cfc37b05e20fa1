package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code api.tokenFile} and {@code api.socketGroup}: where the API token comes from, who may use the socket. */
class ApiAccessConfigTest {
    private static final String TOKEN = "file-token-0123456789abcdef";

    @TempDir
    Path dir;

    private static ConfigLoader loader(String... overrides) {
        return new ConfigLoader().hostname("pod-a").overrides(List.of(overrides));
    }

    private static List<String> problems(ConfigLoader loader) {
        try {
            loader.load();
            throw new AssertionError("the config should have been refused");
        } catch (ConfigException e) {
            return e.problems().stream().map(ConfigException.Problem::toString).toList();
        }
    }

    private Path tokenFile(String content, String mode) throws Exception {
        Path f = dir.resolve("token");
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }

    @Test
    void theTokenIsReadFromAnOwnerOnlyFileWithoutItsNewline() throws Exception {
        Path f = tokenFile(TOKEN + "\n", "rw-------");
        SidecarConfig c = loader("api.tokenFile=" + f).load();
        assertThat(c.api().tokenIfSet()).contains(TOKEN);
        assertThat(c.api().tokenFile()).contains(f);
        assertThat(c.api().toString()).doesNotContain(TOKEN);
        // Rendered back, the file is named and the token is not written out: it loads to an equal config.
        String yaml = c.toYaml();
        assertThat(yaml).doesNotContain(TOKEN).contains("tokenFile: " + f);
        assertThat(new ConfigLoader().hostname("pod-a").yaml("rendered", yaml).load()).isEqualTo(c);
    }

    @Test
    void aGroupReadableFileIsAccepted() throws Exception {
        Path f = tokenFile(TOKEN, "r--r-----");
        assertThat(loader("api.tokenFile=" + f).load().api().tokenIfSet()).contains(TOKEN);
    }

    @Test
    void aFileOthersMayReadIsRefusedNamingKeyValueAndMode() throws Exception {
        Path f = tokenFile(TOKEN, "rw-r--r--");
        assertThat(problems(loader("api.tokenFile=" + f))).containsExactly("command line: api.tokenFile = " + f
                + ": the token file must not be readable or writable by other users, nor writable by its group (its "
                + "mode is 0644); run chmod 600 " + f + " (or 640)");
    }

    @Test
    void aFileItsGroupMayWriteIsRefused() throws Exception {
        Path f = tokenFile(TOKEN, "rw-rw----");
        assertThat(problems(loader("api.tokenFile=" + f))).singleElement().asString().contains("(its mode is 0660)");
    }

    @Test
    void anEmptyOrBlankFileIsRefused() throws Exception {
        Path f = tokenFile(" \n", "rw-------");
        assertThat(problems(loader("api.tokenFile=" + f))).containsExactly("command line: api.tokenFile = " + f
                + ": the token file is empty; it must hold the token (16 to 1024 printable ASCII characters without "
                + "spaces)");
    }

    @Test
    void aFileWithAnInvalidTokenIsRefusedWithoutShowingIt() throws Exception {
        Path f = tokenFile("short secret", "rw-------");
        List<String> p = problems(loader("api.tokenFile=" + f));
        assertThat(p).containsExactly("command line: api.tokenFile = " + f + ": the token file's content must be 16 "
                + "to 1024 printable ASCII characters without spaces");
        assertThat(p.get(0)).doesNotContain("short secret");
    }

    @Test
    void aMissingFileIsRefused() {
        Path f = dir.resolve("nope");
        assertThat(problems(loader("api.tokenFile=" + f))).containsExactly("command line: api.tokenFile = " + f
                + ": cannot read the token file: no such file");
    }

    @Test
    void tokenAndTokenFileTogetherAreRefusedBlamingTheLaterSource() throws Exception {
        Path f = tokenFile(TOKEN, "rw-------");
        assertThat(problems(new ConfigLoader().hostname("pod-a").yaml("config.yaml", "api: {tokenFile: " + f + "}\n")
                .overrides(List.of("api.token=" + TOKEN)))).containsExactly("command line: api.token = (hidden, "
                + TOKEN.length() + " characters): must not be set together with api.tokenFile (set in config.yaml); "
                + "give only one of them");
    }

    @Test
    void aSocketGroupNeedsAUnixSocketAndAValidName() throws Exception {
        assertThat(problems(loader("api.socketGroup=invmux"))).containsExactly("command line: api.socketGroup = "
                + "invmux: applies only to an API on a Unix socket; api.address is 127.0.0.1:7701 (the default)");
        assertThat(problems(loader("api.address=unix:///run/invmux.sock", "api.socketGroup=no way")))
                .containsExactly("command line: api.socketGroup = no way: must be empty (the process's group) or "
                        + "a group name or number");
        assertThat(loader("api.address=unix:///run/invmux.sock", "api.socketGroup=1000").load().api()
                .socketGroup()).isEqualTo("1000");
    }

    @Test
    void anApiOtherHostsMayReachNeedsAToken() throws Exception {
        assertThat(problems(loader("api.address=0.0.0.0:7701"))).containsExactly("command line: api.address = "
                + "0.0.0.0:7701: the API would listen on an address other hosts may reach, with no token: set "
                + "api.tokenFile (or api.token), or listen on loopback (127.0.0.1:7701) or a Unix socket "
                + "(unix:///path)");
        assertThat(loader("api.address=0.0.0.0:7701", "api.token=" + TOKEN).load().api().tokenIfSet())
                .contains(TOKEN);
        Path f = tokenFile(TOKEN, "rw-------");
        assertThat(loader("api.address=0.0.0.0:7701", "api.tokenFile=" + f).load().api().tokenIfSet())
                .contains(TOKEN);
        for (String local : List.of("127.0.0.1:7701", "127.3.4.5:0", "[::1]:7701", "localhost:7701",
                "unix:///run/invmux.sock")) {
            assertThat(loader("api.address=" + local).load().api().tokenIfSet()).as(local).isEmpty();
        }
    }

    @Test
    void nonLoopbackForwardsThroughTheApiAreOffByDefaultAndAKnobTurnsThemOn() throws Exception {
        assertThat(loader().load().exposure().allowNonLoopbackForwards()).isFalse();
        assertThat(loader("security.allowNonLoopbackForwards=true").load().exposure().allowNonLoopbackForwards())
                .isTrue();
        assertThat(problems(loader("security.allowNonLoopbackForwards=yes"))).containsExactly("command line: "
                + "security.allowNonLoopbackForwards = yes: must be true or false");
    }
}
