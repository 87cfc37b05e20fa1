package io.invmux.server.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * Reads an API token from a file ({@code api.tokenFile}, the CLI's {@code --token-file}). Unlike a token given
 * inline (a flag or an environment variable, which any process of the same user can read in
 * {@code /proc/<pid>/cmdline} or {@code /proc/<pid>/environ}), a file can be kept from other users: one that other
 * users may read or write, or its group may write, is refused, as ssh refuses a private key others can read. Group
 * read stays allowed for Kubernetes secret volumes with {@code fsGroup} ({@code defaultMode: 0440}).
 */
public final class TokenFile {
    private static final long MAX_SIZE = 64 * 1024;
    private static final Set<PosixFilePermission> FORBIDDEN = EnumSet.of(PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private TokenFile() {
    }

    /**
     * The token the file holds, without surrounding white space.
     *
     * @throws IllegalArgumentException naming the rule the file breaks (missing, unreadable, a directory, too large,
     *                                  open to other users, empty, or not a valid token)
     */
    public static String read(Path path) {
        String text;
        try {
            if (Files.isDirectory(path)) {
                throw new IllegalArgumentException("cannot read the token file: it is a directory");
            }
            PosixFileAttributeView posix = Files.getFileAttributeView(path, PosixFileAttributeView.class);
            if (posix != null) {
                Set<PosixFilePermission> perms = posix.readAttributes().permissions();
                if (perms.stream().anyMatch(FORBIDDEN::contains)) {
                    throw new IllegalArgumentException("the token file must not be readable or writable by other "
                            + "users, nor writable by its group (its mode is " + mode(perms) + "); run chmod 600 "
                            + path + " (or 640)");
                }
            }
            if (Files.size(path) > MAX_SIZE) {
                throw new IllegalArgumentException("cannot read the token file: it is larger than 64KiB");
            }
            text = Files.readString(path, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("cannot read the token file: no such file");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("cannot read the token file: permission denied");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the token file: " + e);
        }
        if (text.isEmpty()) {
            throw new IllegalArgumentException("the token file is empty; it must hold the token (16 to 1024 "
                    + "printable ASCII characters without spaces)");
        }
        try {
            return ConfigBinder.token(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the token file's content " + e.getMessage().replaceFirst(
                    "^must be empty \\(no token\\) or ", "must be "));
        }
    }

    /** {@code 0644}. */
    static String mode(Set<PosixFilePermission> perms) {
        String rwx = PosixFilePermissions.toString(perms);
        int mode = 0;
        for (int i = 0; i < 9; i++) {
            mode = mode << 1 | (rwx.charAt(i) == '-' ? 0 : 1);
        }
        return String.format("0%03o", mode);
    }
}
