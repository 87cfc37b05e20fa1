package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.ListSessionsRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may use a sidecar's API, on sidecar processes: the token read from a file (by the sidecar and by the CLI),
 * files other users could read refused at start; the Unix socket's mode and group whatever the umask.
 */
@Timeout(120)
class ApiAccessIT {
    private static final String TOKEN = "file-token-0123456789abcdef";

    @TempDir
    Path dir;

    private Path tokenFile(String name, String mode) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, TOKEN + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }

    @Test
    void aTokenFromAFileGuardsTheApiAndTheCliReadsItFromAFileToo() throws Exception {
        Path file = tokenFile("token", "rw-------");
        try (SidecarProcess sidecar = SidecarProcess.start("pod-token", List.of("admin.address=", "listeners=[]",
                "api.tokenFile=" + file), List.of()); ApiChannels channels = new ApiChannels()) {
            ManagedChannel ch = channels.to(sidecar);
            var stub = ConnectionServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
            assertThatThrownBy(() -> stub.listSessions(ListSessionsRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
            assertThat(stub.withCallCredentials(ApiChannels.token(TOKEN))
                    .listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList()).isEmpty();
            assertThat(sidecar.output()).noneMatch(l -> l.contains(TOKEN));

            SidecarProcess.Result cli = SidecarProcess.run(List.of("sessions", "--api", sidecar.target(),
                    "--token-file", file.toString()));
            assertThat(cli.exitCode()).as(cli.output()).isZero();
            SidecarProcess.Result noToken = SidecarProcess.run(List.of("sessions", "--api", sidecar.target()));
            assertThat(noToken.exitCode()).isEqualTo(3);
            assertThat(noToken.output()).contains("UNAUTHENTICATED");
        }
    }

    @Test
    void aTokenFileOthersMayReadStopsTheSidecarAndTheCliNamingKeyValueAndRule() throws Exception {
        Path file = tokenFile("open-token", "rw-r--r--");
        SidecarProcess.Result r = SidecarProcess.run(List.of("sidecar", "--set", "identity=pod-open", "--set",
                "api.tokenFile=" + file, "--set", "api.address=127.0.0.1:0", "--set", "admin.address=", "--set",
                "listeners=[]"));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.output()).contains("api.tokenFile = " + file).contains("(its mode is 0644)")
                .doesNotContain(TOKEN);

        SidecarProcess.Result cli = SidecarProcess.run(List.of("sessions", "--api", "127.0.0.1:1", "--token-file",
                file.toString()));
        assertThat(cli.exitCode()).isEqualTo(2);
        assertThat(cli.output()).contains("--token-file " + file).contains("(its mode is 0644)")
                .doesNotContain(TOKEN);
    }

    @Test
    void theUnixSocketIsOwnerOnlyEvenUnderAnOpenUmaskAndGoesAwayAtStop() throws Exception {
        Path socket = dir.resolve("api.sock");
        SidecarProcess sidecar = SidecarProcess.startOnUnixSocket("pod-sock", socket, List.of("admin.address=",
                "listeners=[]"), "000");
        try (sidecar) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
            assertThat(Files.list(dir).map(p -> p.getFileName().toString())).containsExactly("api.sock");
            SidecarProcess.Result cli = SidecarProcess.run(List.of("sessions", "--api", "unix://" + socket));
            assertThat(cli.exitCode()).as(cli.output()).isZero();
        }
        assertThat(socket).doesNotExist();
    }

    @Test
    void withASocketGroupTheSocketIsGroupReadableAndWritableAndThatGroupsOwn() throws Exception {
        Path probe = Files.createFile(dir.resolve("probe"));
        String group = Files.readAttributes(probe, PosixFileAttributes.class).group().getName();
        Path socket = dir.resolve("group.sock");
        try (SidecarProcess sidecar = SidecarProcess.startOnUnixSocket("pod-group", socket, List.of(
                "admin.address=", "listeners=[]", "api.socketGroup=" + group), "000")) {
            PosixFileAttributes attrs = Files.readAttributes(socket, PosixFileAttributes.class);
            assertThat(PosixFilePermissions.toString(attrs.permissions())).isEqualTo("rw-rw----");
            assertThat(attrs.group().getName()).isEqualTo(group);
        }
    }

    @Test
    void anUnknownSocketGroupStopsTheSidecarNamingIt() throws Exception {
        Path socket = dir.resolve("nogroup.sock");
        SidecarProcess.Result r = SidecarProcess.run(List.of("sidecar", "--set", "identity=pod-nogroup", "--set",
                "api.address=unix://" + socket, "--set", "api.socketGroup=no-such-group-xyz", "--set",
                "admin.address=", "--set", "listeners=[]"));
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.output()).contains("api.socketGroup = no-such-group-xyz: no such group");
        assertThat(socket).doesNotExist();
    }
}
