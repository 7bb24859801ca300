package dev.tinyrt.backend.cuda;

import dev.tinyrt.TinyrtException;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds the NVIDIA libraries at run time (no JNI, no native code of our own): the driver (libcuda.so.1, installed with
 * the driver) and cuBLAS (libcublas/libcublasLt from the CUDA toolkit, often outside the loader's search path).
 */
@SuppressWarnings("restricted")  // loading native libraries is the point of this class
final class NativeLibraries {
    private static final String[] CUBLAS_VERSIONS = {"13", "12"};

    private NativeLibraries() {
    }

    static SymbolLookup driver() {
        List<String> candidates = List.of("libcuda.so.1", "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
                "/usr/lib64/libcuda.so.1", "/usr/lib/libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1");
        return first(candidates, "libcuda.so.1 (the NVIDIA driver) was not found: this machine has no NVIDIA GPU"
                + " driver");
    }

    /** cuBLAS, after its companion libcublasLt from the same directory (libcublas needs it loaded). */
    static SymbolLookup cublas() {
        List<String> tried = new ArrayList<>();
        for (String version : CUBLAS_VERSIONS) {
            for (String dir : cudaLibraryDirectories()) {
                Path blas = Path.of(dir, "libcublas.so." + version);
                Path lt = Path.of(dir, "libcublasLt.so." + version);
                if (Files.isRegularFile(blas) || Files.isSymbolicLink(blas)) {
                    tried.add(blas.toString());
                    try {
                        if (Files.exists(lt)) {
                            SymbolLookup.libraryLookup(lt, Arena.global());
                        }
                        return SymbolLookup.libraryLookup(blas, Arena.global());
                    } catch (IllegalArgumentException e) {
                        tried.add("(" + e.getMessage() + ")");
                    }
                }
            }
            try {  // the loader's own search path (LD_LIBRARY_PATH, ld.so.cache)
                SymbolLookup.libraryLookup("libcublasLt.so." + version, Arena.global());
                return SymbolLookup.libraryLookup("libcublas.so." + version, Arena.global());
            } catch (IllegalArgumentException e) {
                tried.add("libcublas.so." + version);
            }
        }
        throw new TinyrtException("cuBLAS (libcublas.so.13 or .12) was not found; tried " + String.join(", ", tried)
                + ". Install the CUDA toolkit libraries or set CUDA_HOME");
    }

    static Set<String> cudaLibraryDirectories() {
        Set<String> dirs = new LinkedHashSet<>();
        for (String env : new String[]{"CUDA_HOME", "CUDA_PATH"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                dirs.add(v + "/lib64");
                dirs.add(v + "/lib");
            }
        }
        dirs.add("/usr/local/cuda/lib64");
        try (var stream = Files.list(Path.of("/usr/local"))) {
            stream.filter(p -> p.getFileName().toString().startsWith("cuda-")).sorted().forEach(
                    p -> dirs.add(p.resolve("lib64").toString()));
        } catch (Exception e) {
            // no /usr/local: nothing more to try there
        }
        dirs.add("/usr/lib/x86_64-linux-gnu");
        dirs.add("/usr/lib64");
        return dirs;
    }

    private static SymbolLookup first(List<String> candidates, String notFound) {
        for (String c : candidates) {
            try {
                return c.startsWith("/") ? SymbolLookup.libraryLookup(Path.of(c), Arena.global())
                        : SymbolLookup.libraryLookup(c, Arena.global());
            } catch (IllegalArgumentException e) {
                // try the next location
            }
        }
        throw new TinyrtException(notFound);
    }
}
