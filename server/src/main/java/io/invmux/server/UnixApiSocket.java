package io.invmux.server;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The API's Unix socket file, created with mode 0600 (0660 with {@code api.socketGroup}) whatever the process's
 * umask. A socket file gets its mode from the umask when it is bound, and whoever may write it may connect: with
 * umask 000 anyone could, if only between bind and chmod. So the socket is bound inside a fresh directory only the
 * owner may enter, given its mode and group there, and only then renamed to its configured path (a bound socket
 * keeps working under its new name). Not thread-safe: one instance per API listener, used by its starter.
 */
final class UnixApiSocket {
    private final Path path;
    private final String group;
    private final Path privateDir;

    /**
     * Makes the private directory next to {@code path} and removes a stale socket file left at {@code path}.
     *
     * @param group group name or number to own the socket, empty for the process's group
     */
    UnixApiSocket(Path path, String group) throws IOException {
        this.path = path;
        this.group = group;
        Path parent = path.toAbsolutePath().getParent();
        Files.deleteIfExists(path);
        // createTempDirectory makes it 0700 on POSIX file systems.
        this.privateDir = Files.createTempDirectory(parent, ".invmux-api-");
    }

    /** Where to bind the socket: inside the private directory. */
    Path bindPath() {
        return privateDir.resolve("api.sock");
    }

    /** Sets the bound socket's mode and group and moves it to its configured path; removes the directory. */
    void publish() throws IOException {
        Path bound = bindPath();
        PosixFileAttributeView view = Files.getFileAttributeView(bound, PosixFileAttributeView.class);
        if (!group.isEmpty()) {
            GroupPrincipal g;
            try {
                g = bound.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
            } catch (IOException e) {
                throw new IOException("api.socketGroup = " + group + ": no such group", e);
            }
            try {
                view.setGroup(g);
            } catch (IOException e) {
                throw new IOException("api.socketGroup = " + group + ": cannot give the API socket to this group ("
                        + e.getMessage() + "); the sidecar's user must be a member of it", e);
            }
        }
        view.setPermissions(PosixFilePermissions.fromString(group.isEmpty() ? "rw-------" : "rw-rw----"));
        try {
            Files.move(bound, path, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("api.address = unix://" + path + ": cannot move the socket there from "
                    + privateDir + " (" + e.getMessage() + ")", e);
        }
        removePrivateDir();
    }

    /** Removes the socket file and what is left of the private directory. */
    void delete() {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort at shutdown
        }
        removePrivateDir();
    }

    private void removePrivateDir() {
        if (!Files.exists(privateDir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(privateDir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // best effort: a leftover empty directory is harmless
        }
    }
}
