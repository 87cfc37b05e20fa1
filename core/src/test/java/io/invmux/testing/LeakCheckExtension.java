package io.invmux.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reported a leaked buffer while it ran. Leaks are only found when a leaked buffer
 * is collected and the detector runs again, so this forces a few collections and allocations first. Registered
 * for every test class through the service loader.
 */
public final class LeakCheckExtension implements AfterAllCallback {
    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            ByteBuf probe = PooledByteBufAllocator.DEFAULT.directBuffer(16);
            probe.release();
            probe = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
            probe.release();
        }
        int before = LeakRecorder.LEAKS.size();
        String report = String.join("\n----\n", LeakRecorder.LEAKS);
        LeakRecorder.LEAKS.clear();
        assertThat(before).as("buffers leaked while %s ran:\n%s", context.getDisplayName(), report).isZero();
    }
}
