package io.invmux.internal.session;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ReorderBuffer} puts a stream's chunks back in order: bytes in order are passed on at once, later ones wait,
 * repeats are dropped, and every buffer it is given is either passed on or released.
 *
 * <p>Every buffer a test creates is remembered; after the test, delivered buffers are released by the test (as the
 * stream would), the reorder buffer is released, and then every buffer must have refCnt 0.
 */
class ReorderBufferTest {
    /** The stream's bytes: offset i holds the letter at i (mod 26). */
    private static final byte[] STREAM = alphabet(200_000);

    private final ReorderBuffer reorder = new ReorderBuffer();
    private final List<ByteBuf> created = new ArrayList<>();
    private final List<ByteBuf> delivered = new ArrayList<>();
    private final ByteArrayOutputStream deliveredBytes = new ByteArrayOutputStream();

    @AfterEach
    void everyBufferIsReleased() {
        delivered.forEach(ByteBuf::release);
        reorder.release();
        assertThat(created).allSatisfy(b -> assertThat(b.refCnt()).as("refCnt of %s", b).isZero());
    }

    // ---------------------------------------------------------------------------------------------------------
    // in order / out of order
    // ---------------------------------------------------------------------------------------------------------

    @Test
    void inOrderChunksArePassedOnAtOnce() {
        assertThat(add(0, 3)).isTrue();
        assertThat(delivered()).isEqualTo("abc");
        assertThat(add(3, 4)).isTrue();
        assertThat(delivered()).isEqualTo("abcdefg");

        assertThat(reorder.nextOffset()).isEqualTo(7);
        assertThat(reorder.highestOffset()).isEqualTo(7);
        assertThat(reorder.waitingBytes()).isZero();
    }

    @Test
    void inOrderChunksAreHandedOnAsTheSameBuffers() {
        ByteBuf chunk = chunk(0, 5);
        reorder.add(0, chunk, this::deliver);
        assertThat(delivered).containsExactly(chunk);
        assertThat(chunk.refCnt()).as("ownership moved to the consumer").isEqualTo(1);
    }

    @Test
    void outOfOrderChunksWaitUntilTheGapIsFilledThenDrainInOrder() {
        assertThat(add(6, 3)).isTrue(); // ghi
        assertThat(add(3, 3)).isTrue(); // def
        assertThat(delivered()).isEmpty();
        assertThat(reorder.nextOffset()).isZero();
        assertThat(reorder.waitingBytes()).isEqualTo(6);
        assertThat(reorder.highestOffset()).isEqualTo(9);

        assertThat(add(0, 3)).isTrue(); // abc fills the gap

        assertThat(delivered()).isEqualTo("abcdefghi");
        assertThat(delivered).hasSize(3);
        assertThat(reorder.nextOffset()).isEqualTo(9);
        assertThat(reorder.waitingBytes()).isZero();
    }

    @Test
    void overlappingChunksAreTrimmedSoHeldBytesNeverExceedTheirSpan() {
        for (int offset = 1; offset <= 500; offset++) {
            add(offset, 1000); // each overlaps the one before by 999 bytes
        }
        assertThat(reorder.waitingBytes()).as("held bytes are the span 1..1500").isEqualTo(1499);
        assertThat(add(1, 1499)).as("all of it held already").isFalse();
        add(0, 1);
        assertThat(delivered()).isEqualTo(new String(STREAM, 0, 1500, US_ASCII));
        assertThat(reorder.waitingBytes()).isZero();
    }

    @Test
    void aChunkSpanningSeveralHeldChunksKeepsOnlyTheGapsBetweenThem() {
        add(10, 5); // 10..15
        add(20, 5); // 20..25
        add(30, 5); // 30..35
        assertThat(add(12, 20)).isTrue(); // 12..32: trimmed to 15..30, the chunk at 20 it covers replaced
        assertThat(reorder.waitingBytes()).isEqualTo(25);
        assertThat(reorder.waitingChunks()).isEqualTo(3);
        add(0, 10);
        assertThat(delivered()).isEqualTo(new String(STREAM, 0, 35, US_ASCII));
    }

    @Test
    void drainingStopsAtTheNextGap() {
        add(3, 3); // def
        add(10, 2); // kl: after a gap at 6..10
        add(0, 3);
        assertThat(delivered()).isEqualTo("abcdef");
        assertThat(reorder.nextOffset()).isEqualTo(6);
        assertThat(reorder.waitingBytes()).isEqualTo(2);

        add(6, 4);
        assertThat(delivered()).isEqualTo("abcdefghijkl");
        assertThat(reorder.waitingBytes()).isZero();
    }

    @Test
    void chunksInAnyOrderWithRepeatsAndOverlapsDeliverTheStreamExactlyOnce() {
        for (int seed = 0; seed < 50; seed++) {
            ReorderBuffer buffer = new ReorderBuffer();
            List<ByteBuf> out = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(seed);
            int length = 1 + random.nextInt(20_000);

            // Cut the stream into chunks; add re-sends cut differently (overlapping the originals) and exact repeats.
            List<long[]> chunks = new ArrayList<>();
            for (int pass = 0; pass < 2; pass++) {
                for (int pos = 0; pos < length; ) {
                    int n = Math.min(length - pos, 1 + random.nextInt(1500));
                    chunks.add(new long[] {pos, n});
                    if (random.nextInt(5) == 0) {
                        chunks.add(new long[] {pos, n});
                    }
                    pos += n;
                }
                if (random.nextBoolean()) {
                    break; // sometimes no second pass
                }
            }
            Collections.shuffle(chunks, new Random(seed));

            ByteArrayOutputStream got = new ByteArrayOutputStream();
            for (long[] c : chunks) {
                buffer.add(c[0], chunk(c[0], (int) c[1]), b -> {
                    out.add(b);
                    got.writeBytes(ByteBufUtil.getBytes(b));
                });
                assertThat(buffer.nextOffset()).isLessThanOrEqualTo(buffer.highestOffset());
            }

            assertThat(got.toByteArray()).as("seed %d", seed).isEqualTo(java.util.Arrays.copyOf(STREAM, length));
            assertThat(buffer.nextOffset()).isEqualTo(length);
            assertThat(buffer.highestOffset()).isEqualTo(length);
            assertThat(buffer.waitingBytes()).isZero();
            out.forEach(ByteBuf::release);
            buffer.release();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // duplicates and overlaps
    // ---------------------------------------------------------------------------------------------------------

    @Test
    void exactDuplicateOfADeliveredChunkIsDroppedAndReleased() {
        add(0, 3);
        ByteBuf duplicate = chunk(0, 3);

        assertThat(reorder.add(0, duplicate, this::deliver)).isFalse();

        assertThat(duplicate.refCnt()).isZero();
        assertThat(delivered()).isEqualTo("abc");
        assertThat(reorder.nextOffset()).isEqualTo(3);
    }

    @Test
    void exactDuplicateOfAWaitingChunkIsDroppedAndReleased() {
        ByteBuf original = chunk(3, 3);
        reorder.add(3, original, this::deliver);
        ByteBuf duplicate = chunk(3, 3);

        assertThat(reorder.add(3, duplicate, this::deliver)).isFalse();

        assertThat(duplicate.refCnt()).isZero();
        assertThat(original.refCnt()).as("the waiting copy is kept").isEqualTo(1);
        assertThat(reorder.waitingBytes()).isEqualTo(3);
        add(0, 3);
        assertThat(delivered()).isEqualTo("abcdef");
    }

    @Test
    void chunkFullyInsideDeliveredBytesIsDroppedAndReleased() {
        add(0, 10);
        ByteBuf inside = chunk(2, 5);

        assertThat(reorder.add(2, inside, this::deliver)).isFalse();

        assertThat(inside.refCnt()).isZero();
        assertThat(delivered()).isEqualTo("abcdefghij");
    }

    @Test
    void shorterChunkAtTheOffsetOfALongerWaitingOneIsDroppedAndReleased() {
        add(4, 4); // efgh
        ByteBuf shorter = chunk(4, 2);

        assertThat(reorder.add(4, shorter, this::deliver)).isFalse();

        assertThat(shorter.refCnt()).isZero();
        assertThat(reorder.waitingBytes()).isEqualTo(4);
    }

    @Test
    void longerChunkAtTheOffsetOfAShorterWaitingOneReplacesIt() {
        ByteBuf shorter = chunk(4, 2);
        reorder.add(4, shorter, this::deliver);

        assertThat(add(4, 4)).isTrue();

        assertThat(shorter.refCnt()).as("the replaced chunk is released").isZero();
        assertThat(reorder.waitingBytes()).isEqualTo(4);
        add(0, 4);
        assertThat(delivered()).isEqualTo("abcdefgh");
    }

    @Test
    void chunkFullyInsideAWaitingChunkAtAnotherOffsetIsDroppedAsADuplicate() {
        add(4, 6); // efghij waits
        ByteBuf inside = chunk(6, 2); // gh: nothing new

        assertThat(reorder.add(6, inside, this::deliver)).isFalse();
        assertThat(inside.refCnt()).isZero();
        assertThat(reorder.waitingBytes()).isEqualTo(6);
    }

    @Test
    void chunkStartingInsideDeliveredBytesIsTrimmedToItsNewPart() {
        add(0, 4); // abcd
        ByteBuf overlapping = chunk(2, 4); // cdef

        assertThat(reorder.add(2, overlapping, this::deliver)).isTrue();

        assertThat(delivered()).isEqualTo("abcdef");
        assertThat(delivered.get(1)).isSameAs(overlapping);
        assertThat(overlapping.readableBytes()).as("only the new bytes are passed on").isEqualTo(2);
        assertThat(reorder.nextOffset()).isEqualTo(6);
    }

    @Test
    void waitingChunksThatOverlapEachOtherAreTrimmedWhenDrained() {
        add(4, 4); // efgh
        add(6, 4); // ghij: overlaps efgh by two bytes
        add(5, 1); // f: inside efgh, at its own key

        add(0, 4);

        assertThat(delivered()).isEqualTo("abcdefghij");
        assertThat(reorder.nextOffset()).isEqualTo(10);
        assertThat(reorder.waitingBytes()).isZero();
    }

    @Test
    void waitingChunkCoveredByALaterInOrderChunkIsReleasedWhenDrained() {
        ByteBuf waiting = chunk(4, 2); // ef waits
        reorder.add(4, waiting, this::deliver);

        add(0, 8); // abcdefgh covers it

        assertThat(waiting.refCnt()).isZero();
        assertThat(delivered()).isEqualTo("abcdefgh");
        assertThat(reorder.waitingBytes()).isZero();
    }

    @Test
    void emptyChunkIsReleasedAndNothingIsDeliveredButItIsNotADuplicate() {
        ByteBuf empty = Unpooled.buffer(0);
        created.add(empty);

        // An empty chunk carries a FIN; it is news, not a duplicate.
        assertThat(reorder.add(0, empty, this::deliver)).isTrue();

        assertThat(empty.refCnt()).isZero();
        assertThat(delivered).isEmpty();
    }

    @Test
    void emptyChunkAheadOfTheReadPointIsReleasedButRaisesTheHighestOffset() {
        ByteBuf empty = Unpooled.buffer(0);
        created.add(empty);

        reorder.add(10, empty, this::deliver);

        assertThat(empty.refCnt()).isZero();
        assertThat(reorder.highestOffset()).isEqualTo(10);
        assertThat(reorder.waitingBytes()).isZero();
        assertThat(delivered).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------------------
    // offsets and completion
    // ---------------------------------------------------------------------------------------------------------

    @Test
    void highestOffsetIsTheHighestEndSeenEvenForDuplicatesAndWaitingChunks() {
        assertThat(reorder.highestOffset()).isZero();
        add(10, 5);
        assertThat(reorder.highestOffset()).isEqualTo(15);
        add(2, 3);
        assertThat(reorder.highestOffset()).as("a lower chunk does not lower it").isEqualTo(15);
        add(0, 20);
        assertThat(reorder.highestOffset()).isEqualTo(20);
        add(0, 20);
        assertThat(reorder.highestOffset()).isEqualTo(20);
    }

    @Test
    void isNotCompleteWhileTheFinalOffsetIsUnknown() {
        add(0, 10);
        assertThat(reorder.finalOffset()).isEqualTo(-1);
        assertThat(reorder.complete()).isFalse();
    }

    @Test
    void isCompleteOnceEveryByteBeforeTheFinalOffsetWasPassedOn() {
        add(5, 5);
        assertThat(reorder.setFinalOffset(10)).isNull();
        assertThat(reorder.finalOffset()).isEqualTo(10);
        assertThat(reorder.complete()).as("bytes 0..5 missing").isFalse();

        add(0, 5);

        assertThat(reorder.complete()).isTrue();
    }

    @Test
    void emptyStreamIsCompleteWithFinalOffsetZero() {
        assertThat(reorder.setFinalOffset(0)).isNull();
        assertThat(reorder.complete()).isTrue();
    }

    @Test
    void settingTheSameFinalOffsetAgainIsAccepted() {
        add(0, 4);
        assertThat(reorder.setFinalOffset(4)).isNull();
        assertThat(reorder.setFinalOffset(4)).isNull();
        assertThat(reorder.finalOffset()).isEqualTo(4);
    }

    @Test
    void changingTheFinalOffsetIsAnError() {
        assertThat(reorder.setFinalOffset(6)).isNull();

        String error = reorder.setFinalOffset(8);

        assertThat(error).contains("final offset").contains("6").contains("8");
        assertThat(reorder.finalOffset()).as("unchanged").isEqualTo(6);
    }

    @Test
    void finalOffsetBelowBytesAlreadyReceivedIsAnError() {
        add(5, 4); // up to 9, waiting

        String error = reorder.setFinalOffset(7);

        assertThat(error).contains("7").contains("9").contains("below");
        assertThat(reorder.finalOffset()).as("not recorded").isEqualTo(-1);
    }

    // ---------------------------------------------------------------------------------------------------------
    // release
    // ---------------------------------------------------------------------------------------------------------

    @Test
    void releaseFreesEveryWaitingBuffer() {
        ByteBuf first = chunk(3, 3);
        ByteBuf second = chunk(10, 3);
        reorder.add(3, first, this::deliver);
        reorder.add(10, second, this::deliver);

        reorder.release();

        assertThat(first.refCnt()).isZero();
        assertThat(second.refCnt()).isZero();
        assertThat(reorder.waitingBytes()).isZero();
        assertThat(delivered).isEmpty();
    }

    @Test
    void releaseTwiceIsHarmless() {
        add(3, 3);
        reorder.release();
        reorder.release();
        assertThat(reorder.waitingBytes()).isZero();
    }

    @Test
    void worksWithPooledBuffers() {
        io.netty.buffer.PooledByteBufAllocator pooled = new io.netty.buffer.PooledByteBufAllocator(false);
        List<ByteBuf> mine = new ArrayList<>();
        for (int off : new int[] {8, 4, 12, 4, 0}) {
            ByteBuf b = pooled.heapBuffer(4).writeBytes(STREAM, off, 4);
            mine.add(b);
            reorder.add(off, b, this::deliver);
        }
        assertThat(delivered()).isEqualTo("abcdefghijklmnop");
        // The duplicate at offset 4 was released at once; the rest were delivered and are released now.
        delivered.forEach(ByteBuf::release);
        delivered.clear();
        for (ByteBuf b : mine) {
            assertThat(b.refCnt()).isZero();
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Adds the stream's bytes [offset, offset + length) as a new buffer; returns what add returned. */
    private boolean add(long offset, int length) {
        return reorder.add(offset, chunk(offset, length), this::deliver);
    }

    private ByteBuf chunk(long offset, int length) {
        ByteBuf b = Unpooled.buffer(length).writeBytes(STREAM, (int) offset, length);
        created.add(b);
        return b;
    }

    private void deliver(ByteBuf buf) {
        delivered.add(buf);
        deliveredBytes.writeBytes(ByteBufUtil.getBytes(buf));
    }

    private String delivered() {
        return deliveredBytes.toString(US_ASCII);
    }

    private static byte[] alphabet(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }
}
