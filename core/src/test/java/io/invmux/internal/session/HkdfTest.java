package io.invmux.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** HKDF-SHA256 against RFC 5869's test vectors. */
class HkdfTest {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    @Test
    void rfc5869TestCase1() {
        byte[] okm = Hkdf.derive(hex("000102030405060708090a0b0c"), hex("0b".repeat(22)),
                hex("f0f1f2f3f4f5f6f7f8f9"), 42);
        assertThat(HexFormat.of().formatHex(okm)).isEqualTo("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56"
                + "ecc4c5bf34007208d5b887185865");
    }

    @Test
    void rfc5869TestCase3WithEmptySaltAndInfo() {
        byte[] okm = Hkdf.derive(new byte[0], hex("0b".repeat(22)), new byte[0], 42);
        assertThat(HexFormat.of().formatHex(okm)).isEqualTo("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f"
                + "3c738d2d9d201395faa4b61a96c8");
    }
}
