package io.invmux;

import java.io.InterruptedIOException;

/**
 * A blocking write could not hand all its bytes to the stream before the write timeout. {@link #bytesTransferred}
 * says exactly how many bytes of that call were accepted (and will be delivered), so a retry never duplicates data.
 */
public class WriteTimeoutException extends InterruptedIOException {
    private static final long serialVersionUID = 1L;

    public WriteTimeoutException(String message, int accepted) {
        super(message);
        this.bytesTransferred = accepted;
    }
}
