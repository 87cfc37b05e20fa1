package io.invmux.server.inject;

import java.util.List;

/**
 * A pod cannot be injected. Holds every problem found (each names the annotation or field, the value and the rule),
 * so a user fixes them all at once; nothing was changed.
 */
public final class InjectionException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why: a setting is invalid, or the pod already holds a name or port the sidecar needs. */
    public enum Kind {
        INVALID(400),
        CONFLICT(409);

        private final int httpStatus;

        Kind(int httpStatus) {
            this.httpStatus = httpStatus;
        }

        /** The HTTP status code a denial carries in an AdmissionReview response. */
        public int httpStatus() {
            return httpStatus;
        }
    }

    private final Kind kind;
    private final transient List<String> problems;

    public InjectionException(Kind kind, List<String> problems) {
        super(String.join("; ", problems));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("an InjectionException needs at least one problem");
        }
        this.kind = kind;
        this.problems = List.copyOf(problems);
    }

    public Kind kind() {
        return kind;
    }

    public List<String> problems() {
        return problems;
    }
}
