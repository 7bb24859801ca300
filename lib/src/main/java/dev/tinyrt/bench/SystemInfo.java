package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One system that served the workload: tinyrt at a precision on a backend, or the HuggingFace transformers
 * baseline. {@code details} holds what identifies its software (threads; torch and transformers versions,
 * attention implementation, the command that ran it).
 */
public record SystemInfo(String name, String backend, String precision, String device, Long weightsBytes,
                         JsonNode details) {
}
