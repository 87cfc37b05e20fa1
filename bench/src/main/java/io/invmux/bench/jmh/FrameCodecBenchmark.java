package io.invmux.bench.jmh;

import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.FrameDecoder;
import io.invmux.internal.frame.FrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of the DATA frame codec, through the real handlers in {@link EmbeddedChannel}s (so the figures include a
 * pipeline pass per call, as on a link):
 * <ul>
 *   <li>{@code encode}: a {@link DataFrame} through {@link FrameEncoder} (zero-copy: a 18-byte header buffer plus
 *       the payload, which is not copied);</li>
 *   <li>{@code decode}: one whole encoded frame into {@link FrameDecoder}, which yields a retained slice;</li>
 *   <li>{@code roundTrip}: encode, then feed the header and the payload buffers to the decoder as two reads (the
 *       decoder cumulates them, copying the payload once, as when a frame spans two socket reads).</li>
 * </ul>
 * Run: {@code bench/run.sh --jmh} (or see docs/BENCHMARKS.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dio.netty.leakDetection.level=disabled"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FrameCodecBenchmark {
    private static final int MAX_CHUNK = 32 * 1024;

    @Param({"64", "32768"})
    public int payloadSize;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private ByteBuf payload;
    private ByteBuf encoded;
    private EmbeddedChannel encoder;
    private EmbeddedChannel decoder;
    private long offset;

    @Setup(Level.Trial)
    public void setUp() {
        byte[] bytes = new byte[payloadSize];
        new Random(1).nextBytes(bytes);
        payload = alloc.directBuffer(payloadSize).writeBytes(bytes);
        encoded = FrameEncoder.encode(alloc, new DataFrame(1, 0, 0, payload.retainedDuplicate()));
        encoder = new EmbeddedChannel(FrameEncoder.INSTANCE);
        decoder = new EmbeddedChannel(new FrameDecoder(MAX_CHUNK));
        decoder.writeInbound(FrameEncoder.encodePreface(alloc));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        encoder.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
        encoded.release();
        payload.release();
    }

    @Benchmark
    public long encode() {
        encoder.writeOutbound(new DataFrame(1, 0, offset, payload.retainedDuplicate()));
        offset += payloadSize;
        ByteBuf header = encoder.readOutbound();
        ByteBuf body = encoder.readOutbound();
        long r = header.getLong(header.readerIndex() + 10) + body.readableBytes();
        header.release();
        body.release();
        return r;
    }

    @Benchmark
    public long decode() {
        decoder.writeInbound(encoded.retainedDuplicate());
        DataFrame frame = decoder.readInbound();
        long r = frame.offset + frame.payload.readableBytes();
        frame.release();
        return r;
    }

    @Benchmark
    public long roundTrip() {
        encoder.writeOutbound(new DataFrame(1, 0, offset, payload.retainedDuplicate()));
        offset += payloadSize;
        ByteBuf header = encoder.readOutbound();
        ByteBuf body = encoder.readOutbound();
        decoder.writeInbound(header, body);
        DataFrame frame = decoder.readInbound();
        long r = frame.offset + frame.payload.getByte(frame.payload.readerIndex());
        frame.release();
        return r;
    }
}
