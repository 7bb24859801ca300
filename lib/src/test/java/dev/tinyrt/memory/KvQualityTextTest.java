package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Section 5 names the quality_eval results it found for an int8/fp8 KV cache. */
class KvQualityTextTest {
    @Test
    void foundResultsAreListedAndNoneGiveNothing() throws Exception {
        JsonNode q = new ObjectMapper().readTree("{\"results\": [{\"file\": \"q.json\", \"label\": \"KV-int8\", "
                + "\"ppl_ratio\": 1.0005, \"kld_mean\": 0.00096, \"same_top1_pct\": 97.96}]}");
        String text = MemoryReport.kvQuality(q);
        assertTrue(text.contains("KV-int8: perplexity ×1.0005, mean KLD 9.60e-04, same top-1 98.0 % (q.json)"), text);
        assertEquals("", MemoryReport.kvQuality(new ObjectMapper().readTree("{\"note\": \"none\"}")));
    }
}
