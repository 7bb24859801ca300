package dev.tinyrt.notebook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.quality.Estimate;
import dev.tinyrt.quality.Percentiles;
import dev.tinyrt.quality.QualityReport;
import dev.tinyrt.quality.QualityResult;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QualityTableTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static QualityResult result(String label, double ppl, double kld, double p99, double top1) {
        Percentiles kldDist = new Percentiles(0, 0, 0, 0, 0, 0, kld / 2, kld, kld, kld, p99, p99, p99);
        Percentiles none = Percentiles.of(new double[]{0});
        return new QualityResult(label, "tinyrt-12m fp32", 256, 4, 508, new Estimate(40.0, 0.5),
                new Estimate(ppl, 0.6), Double.NaN, new Estimate(Math.log(ppl / 40), 0.01),
                new Estimate(ppl / 40, 0.01), new Estimate(ppl - 40, 0.2), new Estimate(kld, kld / 10), kldDist,
                new Estimate(0, 0), new Estimate(0, 0), none, new Estimate(top1, 0.003));
    }

    private static JsonNode document(QualityResult... results) {
        ObjectNode doc = JSON.createObjectNode();
        var rows = doc.putArray("results");
        for (QualityResult r : results) {
            rows.add(QualityReport.toJson(r));
        }
        return doc;
    }

    @Test
    void oneRowPerResultWithTheWrittenValues() {
        Table t = QualityTable.of("quality", List.of(document(result("int8", 40.25, 0.0012, 0.01, 0.985)),
                document(result("int4", 44.5, 0.081, 0.6, 0.82), result("fp8", 40.9, 0.006, 0.05, 0.96))));

        assertEquals(List.of("int8", "int4", "fp8"), t.stringColumn("model").asList());
        assertEquals(3, t.rowCount());
        assertEquals("tinyrt-12m fp32", t.stringColumn("reference").get(1));
        assertEquals(256, t.intColumn("context").get(0));
        assertEquals(508, t.intColumn("tokens scored").get(2));
        assertEquals(44.5, t.doubleColumn("perplexity").get(1), 1e-12);
        assertEquals(0.6, t.doubleColumn("PPL ±").get(1), 1e-12);
        assertEquals(4.5, t.doubleColumn("ΔPPL").get(1), 1e-12);
        assertEquals(0.0012, t.doubleColumn("mean KLD").get(0), 1e-15);
        assertEquals(0.00012, t.doubleColumn("KLD ±").get(0), 1e-15);
        assertEquals(0.6, t.doubleColumn("p99 KLD").get(1), 1e-12);
        // written in percent
        assertEquals(98.5, t.doubleColumn("same top-1 %").get(0), 1e-9);
        assertEquals(0.3, t.doubleColumn("top-1 ±").get(0), 1e-9);
    }

    @Test
    void readsTheFileFormatAsWritten() throws Exception {
        JsonNode written = JSON.readTree(JSON.writeValueAsString(document(result("bf16", 40.01, 2e-5, 1e-4, 0.999))));
        Table t = QualityTable.of("quality", List.of(written));
        assertEquals(2e-5, t.doubleColumn("mean KLD").get(0), 1e-18);
        assertEquals(99.9, t.doubleColumn("same top-1 %").get(0), 1e-9);
    }

    @Test
    void aDocumentWithoutResultsIsAnError() {
        ObjectNode other = JSON.createObjectNode();
        other.put("command", "jbang jbang-scripts/benchmark.java");
        TinyrtException e = assertThrows(TinyrtException.class, () -> QualityTable.of("q", List.of(other)));
        assertTrue(e.getMessage().contains("no \"results\" array"), e.getMessage());
        assertTrue(e.getMessage().contains("benchmark.java"), e.getMessage());
    }
}
