package dev.tinyrt.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaDecodeSectionTest {
    private static void check(Path dir, String name, String date, String command, double us) throws IOException {
        Files.writeString(dir.resolve(name), """
                {"date": "%s", "commit": "0123456789abcdef", "command": "%s", "gpu": "NVIDIA H200, 580, 1 MiB",
                 "speed": {"decode_gpu_us_per_step": %s, "decode_tok_s_graphs": {"median": 1000},
                           "decode_tok_s_graphs_overlap": {"median": 1010}, "ttft_ms_graphs": {"median": 1.5},
                           "bandwidth": {"copy_gb_s": 4000},
                           "bytes_per_decode_step": {"total": 2.0e9, "achieved_gb_s": 2000}},
                 "quant": {"int8": {"decode_gpu_us_per_step": 700, "decode_tok_s_graphs": {"median": 1400},
                                    "ttft_ms_graphs": {"median": 2.5},
                                    "bytes_per_decode_step": {"total": 1.0e9, "achieved_gb_s": 1000}},
                           "fp8": {"decode_gpu_us_per_step": null}}}
                """.formatted(date, command, us));
    }

    @Test
    void onlyTheNewestDefaultSettingsRunOfEachGpuIsTabled(@TempDir Path dir) throws IOException {
        check(dir, "cuda_check_h200_2026-11-28_aaaaaaa.json", "2026-11-28T10:00:00+00:00", "bash cuda_check.sh", 900);
        check(dir, "cuda_check_h200_2026-11-28_bbbbbbb.json", "2026-11-28T12:00:00+00:00", "bash cuda_check.sh", 955);
        // experiments: a suffix after the commit, or JVM options
        check(dir, "cuda_check_h200_2026-11-28_ccccccc_sweep.json", "2026-11-28T13:00:00+00:00", "bash cuda_check.sh", 111);
        check(dir, "cuda_check_h200_2026-11-29_ddddddd.json", "2026-11-29T13:00:00+00:00",
                "CUDA_CHECK_JAVA_OPTS='-Dx=1' bash cuda_check.sh", 222);
        String table = CudaDecodeSection.section(dir);
        String[] rows = table.strip().split("\n");
        assertEquals(4, rows.length, table);  // header, rule, fp16, int8 (fp8 has no timing)
        assertTrue(rows[2].startsWith("| NVIDIA H200 | fp16 | 955 | 1,000 | 1,010 | 1,100 | 2.00 GB | 2,000 | 50 % | 1.50 |"),
                rows[2]);
        assertTrue(rows[3].startsWith("| NVIDIA H200 | int8 | 700 | 1,400 | – | 1,900 | 1.00 GB | 1,000 | 25 % | 2.50 |"),
                rows[3]);
        assertFalse(table.contains("| 111 |") || table.contains("| 222 |") || table.contains("| 900 |"), table);
    }

    @Test
    void noChecksMakeAnEmptyTable(@TempDir Path dir) {
        assertEquals(2, CudaDecodeSection.section(dir).strip().split("\n").length);
    }
}
