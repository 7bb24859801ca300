package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernels.fatbin that the build compiled from lib/src/main/cuda holds, for every target GPU, exactly the
 * kernels the Java side launches. Where nvcc exists the fatbin must exist (a kernel that stops compiling fails the
 * build before this test; a build step that silently skipped would fail here).
 */
class KernelFatbinTest {
    private static boolean nvccAvailable() {
        if (System.getenv("NVCC") != null) {
            return true;
        }
        Stream<String> path = Stream.of(System.getenv().getOrDefault("PATH", "").split(":"));
        return path.anyMatch(d -> Files.isExecutable(Path.of(d, "nvcc")))
                || Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"));
    }

    private static byte[] fatbin() throws Exception {
        try (var in = KernelImage.class.getResourceAsStream(KernelImage.RESOURCE)) {
            return in == null ? null : in.readAllBytes();
        }
    }

    @Test
    void theBuildProducesTheFatbinWhereNvccExists() throws Exception {
        assumeTrue(nvccAvailable(), "no nvcc on this machine: the build skips the kernels");
        assertTrue(KernelImage.present(), "nvcc exists but the build produced no kernels.fatbin");
        assertTrue(KernelImage.info().getProperty("nvcc", "").contains("cuda"), KernelImage.info().toString());
    }

    @Test
    void everyTargetCubinHoldsExactlyTheKernelsJavaLaunches() throws Exception {
        byte[] fatbin = fatbin();
        assumeTrue(fatbin != null, "kernels not built (no nvcc)");
        assertEquals(FatbinSymbols.FATBIN_MAGIC, FatbinSymbols.magic(fatbin), "not a fatbin");
        Set<String> expected = new TreeSet<>(KernelNames.all());
        assertEquals(KernelNames.all().size(), expected.size(), "duplicate kernel names");
        Map<Integer, Set<String>> cubins = FatbinSymbols.cubinKernels(fatbin);
        assertEquals(Set.of(80, 86, 89, 90), cubins.keySet(), "SASS targets");
        for (Map.Entry<Integer, Set<String>> e : cubins.entrySet()) {
            Set<String> ours = new TreeSet<>(e.getValue());
            ours.removeIf(n -> !n.startsWith("tinyrt_"));
            assertEquals(expected, ours, "kernels of the sm_" + e.getKey() + " cubin");
        }
        Set<String> ptx = FatbinSymbols.ptxEntries(fatbin);
        assertEquals(expected, ptx, "PTX entry points (compute_90, JIT-compiled on newer GPUs)");
    }
}
