package dev.tinyrt.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads an uncompressed fatbin (nvcc --no-compress): the kernels (global function symbols) of each embedded cubin,
 * keyed by its SM version, and the entry points of the embedded PTX.
 */
final class FatbinSymbols {
    static final int FATBIN_MAGIC = 0xBA55ED50;
    private static final byte[] ELF_MAGIC = {0x7f, 'E', 'L', 'F'};
    private static final int SHT_SYMTAB = 2;
    private static final int STT_FUNC = 2;

    private FatbinSymbols() {
    }

    static int magic(byte[] fatbin) {
        return ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    }

    /** SM version (e.g. 90) -> names of the function symbols of that cubin. */
    static Map<Integer, Set<String>> cubinKernels(byte[] fatbin) {
        ByteBuffer b = ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN);
        Map<Integer, Set<String>> out = new TreeMap<>();
        for (int at = indexOf(fatbin, ELF_MAGIC, 0); at >= 0; at = indexOf(fatbin, ELF_MAGIC, at + 4)) {
            if (fatbin[at + 4] != 2) {
                continue;  // not ELF64
            }
            int abiVersion = fatbin[at + 8];
            int flags = b.getInt(at + 0x30);
            int sm = abiVersion >= 8 ? (flags >> 8) & 0xff : flags & 0xff;
            long shoff = b.getLong(at + 0x28);
            int shentsize = Short.toUnsignedInt(b.getShort(at + 0x3A));
            int shnum = Short.toUnsignedInt(b.getShort(at + 0x3C));
            Set<String> names = new TreeSet<>();
            for (int s = 0; s < shnum; s++) {
                int sh = (int) (at + shoff + (long) s * shentsize);
                if (b.getInt(sh + 4) != SHT_SYMTAB) {
                    continue;
                }
                long symOff = b.getLong(sh + 24);
                long symSize = b.getLong(sh + 32);
                int link = b.getInt(sh + 40);
                long strOff = b.getLong((int) (at + shoff + (long) link * shentsize) + 24);
                for (long k = 0; k < symSize / 24; k++) {
                    int sym = (int) (at + symOff + k * 24);
                    int info = fatbin[sym + 4] & 0xff;
                    if ((info & 0xf) != STT_FUNC) {
                        continue;
                    }
                    names.add(cString(fatbin, (int) (at + strOff + Integer.toUnsignedLong(b.getInt(sym)))));
                }
            }
            out.computeIfAbsent(sm, k -> new TreeSet<>()).addAll(names);
        }
        return out;
    }

    /** Names of the {@code .entry} points in the fatbin's PTX text. */
    static Set<String> ptxEntries(byte[] fatbin) {
        Matcher m = Pattern.compile("\\.entry (\\w+)\\(").matcher(new String(fatbin, StandardCharsets.ISO_8859_1));
        Set<String> names = new TreeSet<>();
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private static String cString(byte[] data, int from) {
        int end = from;
        while (data[end] != 0) {
            end++;
        }
        return new String(data, from, end - from, StandardCharsets.US_ASCII);
    }

    private static int indexOf(byte[] data, byte[] pattern, int from) {
        outer:
        for (int i = from; i <= data.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
