package io.invmux.server.grpc;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** Offset paging with opaque tokens, for list calls. */
final class Paging {
    static final int DEFAULT_PAGE = 100;
    static final int MAX_PAGE = 1000;

    private Paging() {
    }

    record Page<T>(List<T> items, String nextToken) {
    }

    static <T> Page<T> page(List<T> all, int pageSize, String token) {
        if (pageSize < 0 || pageSize > MAX_PAGE) {
            throw Statuses.invalid("page_size", pageSize, "must be between 0 (default " + DEFAULT_PAGE + ") and "
                    + MAX_PAGE);
        }
        int size = pageSize == 0 ? DEFAULT_PAGE : pageSize;
        int offset = 0;
        if (!token.isEmpty()) {
            try {
                String decoded = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
                if (!decoded.startsWith("o:")) {
                    throw new IllegalArgumentException();
                }
                offset = Integer.parseInt(decoded.substring(2));
                if (offset < 0) {
                    throw new IllegalArgumentException();
                }
            } catch (IllegalArgumentException e) {
                throw Statuses.invalid("page_token", token, "must be a next_page_token from a previous response");
            }
        }
        int from = Math.min(offset, all.size());
        int to = Math.min(from + size, all.size());
        String next = to < all.size() ? Base64.getUrlEncoder().withoutPadding()
                .encodeToString(("o:" + to).getBytes(StandardCharsets.UTF_8)) : "";
        return new Page<>(all.subList(from, to), next);
    }
}
