package dev.tinyrt.backend.cuda;

import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The fatbin of tinyrt's kernels, compiled by nvcc during the Maven build (lib/src/main/cuda/build.sh) and shipped
 * as a class-path resource beside this class, with a properties file describing the build.
 */
final class KernelImage {
    static final String RESOURCE = "kernels.fatbin";
    static final String INFO = "kernels.properties";

    private KernelImage() {
    }

    static boolean present() {
        return KernelImage.class.getResource(RESOURCE) != null;
    }

    static byte[] load() {
        try (InputStream in = KernelImage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new TinyrtException("the CUDA kernels were not built: this tinyrt jar was compiled on a machine"
                        + " without nvcc (CUDA 12.8+), so it has no " + RESOURCE + "; rebuild lib/ where nvcc is on the"
                        + " PATH");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new TinyrtException("cannot read the CUDA kernels: " + e.getMessage(), e);
        }
    }

    /** nvcc version, targets and source hash recorded by the build, or an empty set. */
    static Properties info() {
        Properties p = new Properties();
        try (InputStream in = KernelImage.class.getResourceAsStream(INFO)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // informational only
        }
        return p;
    }
}
