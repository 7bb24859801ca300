package dev.tinyrt.quant;

import dev.tinyrt.model.ActivationObserver;

/** Identifies the input of one linear layer: decoder layer index and which linear (q|k|v share one input). */
public record LinearInput(int layer, ActivationObserver.Linear linear) {
}
