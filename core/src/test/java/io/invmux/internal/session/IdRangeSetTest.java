package io.invmux.internal.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link IdRangeSet} holds the closed peer stream ids of one parity (the peer's ids grow by 2) as merged ranges.
 * Note: ids are stored halved, so one set must only ever see ids of a single parity; ids 2k and 2k+1 are the same
 * entry. These tests always use one parity per set.
 */
class IdRangeSetTest {

    @Test
    void emptySetContainsNothing() {
        IdRangeSet set = new IdRangeSet();
        assertThat(set.contains(1)).isFalse();
        assertThat(set.contains(2)).isFalse();
        assertThat(set.contains(Integer.MAX_VALUE)).isFalse();
        assertThat(set.rangeCount()).isZero();
    }

    @Test
    void oddIdsAddedAreContainedAndTheirOddNeighboursAreNot() {
        IdRangeSet set = new IdRangeSet();
        set.add(1);
        set.add(5);
        set.add(9);

        assertThat(set.contains(1)).isTrue();
        assertThat(set.contains(5)).isTrue();
        assertThat(set.contains(9)).isTrue();
        assertThat(set.contains(3)).isFalse();
        assertThat(set.contains(7)).isFalse();
        assertThat(set.contains(11)).isFalse();
        assertThat(set.rangeCount()).isEqualTo(3);
    }

    @Test
    void evenIdsAddedAreContainedAndTheirEvenNeighboursAreNot() {
        IdRangeSet set = new IdRangeSet();
        set.add(2);
        set.add(6);
        set.add(10);

        assertThat(set.contains(2)).isTrue();
        assertThat(set.contains(6)).isTrue();
        assertThat(set.contains(10)).isTrue();
        assertThat(set.contains(4)).isFalse();
        assertThat(set.contains(8)).isFalse();
        assertThat(set.contains(12)).isFalse();
        assertThat(set.rangeCount()).isEqualTo(3);
    }

    @Test
    void fillingTheGapBetweenTwoRangesMergesThemIntoOne() {
        IdRangeSet set = new IdRangeSet();
        set.add(1);
        set.add(5);
        assertThat(set.rangeCount()).isEqualTo(2);

        set.add(3);

        assertThat(set.rangeCount()).isEqualTo(1);
        assertThat(set.contains(1)).isTrue();
        assertThat(set.contains(3)).isTrue();
        assertThat(set.contains(5)).isTrue();
        assertThat(set.contains(7)).isFalse();
    }

    @Test
    void anIdNextToARangeExtendsItOnEitherSide() {
        IdRangeSet set = new IdRangeSet();
        set.add(11);
        set.add(13); // above
        set.add(9); // below
        assertThat(set.rangeCount()).isEqualTo(1);
        assertThat(set.contains(7)).isFalse();
        assertThat(set.contains(15)).isFalse();
    }

    @Test
    void addingAnIdTwiceChangesNothing() {
        IdRangeSet set = new IdRangeSet();
        set.add(3);
        set.add(5);
        set.add(9);
        set.add(3);
        set.add(5);
        set.add(9);
        assertThat(set.rangeCount()).isEqualTo(2);
        assertThat(set.contains(7)).isFalse();
    }

    @Test
    void hundredThousandIdsClosedInOrderAreOneRange() {
        for (int parity = 0; parity <= 1; parity++) {
            IdRangeSet set = new IdRangeSet();
            int first = 2 + parity;
            int n = 100_000;
            for (int i = 0; i < n; i++) {
                set.add(first + 2 * i);
                if (set.rangeCount() != 1) {
                    fail("%d ranges after closing %d ids in order", set.rangeCount(), i + 1);
                }
            }
            for (int i = 0; i < n; i++) {
                if (!set.contains(first + 2 * i)) {
                    fail("id %d missing", first + 2 * i);
                }
            }
            assertThat(set.contains(first - 2)).isFalse();
            assertThat(set.contains(first + 2 * n)).isFalse();
        }
    }

    @Test
    void idsClosedInRandomOrderEndAsOneRangeAndAlwaysMatchAPlainSet() {
        int n = 100_000;
        for (int parity = 0; parity <= 1; parity++) {
            int first = 2 - parity; // 1 for odd, 2 for even
            List<Integer> ids = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                ids.add(first + 2 * i);
            }
            Collections.shuffle(ids, new Random(42 + parity));

            IdRangeSet set = new IdRangeSet();
            BitSet reference = new BitSet(n); // index i stands for id first + 2i
            int runs = 0;
            for (int k = 0; k < n; k++) {
                int id = ids.get(k);
                int i = (id - first) / 2;
                set.add(id);
                if (!reference.get(i)) {
                    boolean left = i > 0 && reference.get(i - 1);
                    boolean right = reference.get(i + 1);
                    runs += 1 - (left ? 1 : 0) - (right ? 1 : 0);
                    reference.set(i);
                }
                if (set.rangeCount() != runs) {
                    fail("after %d ids: %d ranges, expected %d", k + 1, set.rangeCount(), runs);
                }
                if (k % 997 == 0) {
                    for (int probe = 0; probe < n; probe += 101) {
                        if (set.contains(first + 2 * probe) != reference.get(probe)) {
                            fail("after %d ids: contains(%d) is %s", k + 1, first + 2 * probe,
                                    set.contains(first + 2 * probe));
                        }
                    }
                }
            }
            assertThat(set.rangeCount()).isEqualTo(1);
            assertThat(set.contains(first + 2 * n)).isFalse();
        }
    }

    @Test
    void idsAboveIntMaxValueAreTreatedAsUnsigned() {
        IdRangeSet set = new IdRangeSet();
        int top = 0xFFFF_FFFF; // the highest odd id
        int belowTop = 0xFFFF_FFFD;
        int justAboveSignedMax = 0x8000_0001;

        set.add(top);
        set.add(justAboveSignedMax);
        assertThat(set.contains(top)).isTrue();
        assertThat(set.contains(justAboveSignedMax)).isTrue();
        assertThat(set.contains(belowTop)).isFalse();
        assertThat(set.contains(Integer.MAX_VALUE)).as("0x7FFFFFFF is a different id").isFalse();
        assertThat(set.rangeCount()).isEqualTo(2);

        set.add(belowTop);
        assertThat(set.rangeCount()).isEqualTo(2);
        set.add(Integer.MAX_VALUE); // 0x7FFFFFFF sits right below 0x80000001
        assertThat(set.rangeCount()).isEqualTo(2);
        assertThat(set.contains(Integer.MAX_VALUE)).isTrue();
    }

    @Test
    void smallestIdsWork() {
        IdRangeSet odd = new IdRangeSet();
        odd.add(1);
        assertThat(odd.contains(1)).isTrue();
        assertThat(odd.contains(3)).isFalse();

        IdRangeSet even = new IdRangeSet();
        even.add(2);
        assertThat(even.contains(2)).isTrue();
        assertThat(even.contains(4)).isFalse();
    }
}
