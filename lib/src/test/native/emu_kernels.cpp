// tinyrt's real kernel sources compiled for the host and run by emu.h, behind one C entry point that the fake
// driver calls from cuLaunchKernel: emu_run(kernel name, grid, block, shared bytes, kernel params).
#include "emu.h"
#include "../../main/cuda/tinyrt.cu"

#include <map>
#include <string>
#include <type_traits>
#include <utility>

namespace {
using Thunk = std::function<void(void**)>;

template <typename... A, size_t... I>
void invoke(void (*f)(A...), void** params, std::index_sequence<I...>) {
    f(*reinterpret_cast<std::remove_cv_t<A>*>(params[I])...);
}

template <typename... A>
Thunk thunk(void (*f)(A...)) {
    return [f](void** params) { invoke(f, params, std::index_sequence_for<A...>{}); };
}

#define K(name) {#name, thunk(name)},
#define GEMV(NT) K(tinyrt_gemv_n##NT##_f16) K(tinyrt_gemv_n##NT##_f32) K(tinyrt_gemv_gate_up_n##NT)
#define ATTN_DP(P, D)                                                                                       \
    K(tinyrt_attn_decode_##P##d##D##_g1) K(tinyrt_attn_decode_##P##d##D##_g2) K(tinyrt_attn_decode_##P##d##D##_g4) \
    K(tinyrt_attn_decode_wide_##P##d##D##_g1)                                                                      \
    K(tinyrt_attn_prefill_##P##d##D##_g1) K(tinyrt_attn_prefill_##P##d##D##_g2)                               \
    K(tinyrt_attn_prefill_##P##d##D##_g4) K(tinyrt_attn_prefill_##P##d##D##_g8)
#define ATTN_D(D) ATTN_DP(, D) ATTN_DP(int8_, D) ATTN_DP(fp8_, D)
#define ATTN_BATCH_DP(P, D)                                                                                    \
    K(tinyrt_attn_decode_batch_##P##d##D##_g1) K(tinyrt_attn_decode_batch_##P##d##D##_g2)                      \
    K(tinyrt_attn_decode_batch_##P##d##D##_g4) K(tinyrt_attn_decode_batch_##P##d##D##_g6)                      \
    K(tinyrt_attn_decode_batch_##P##d##D##_g8)
#define ATTN_BATCH_D(D) ATTN_BATCH_DP(, D) ATTN_BATCH_DP(int8_, D) ATTN_BATCH_DP(fp8_, D)
#define QGEMV(F, NT) K(tinyrt_qgemv_##F##_n##NT##_f16) K(tinyrt_qgemv_##F##_n##NT##_f32) K(tinyrt_qgemv_##F##_gate_up_n##NT)
#define QGEMV_EMU(F) QGEMV(F, 1) QGEMV(F, 2) QGEMV(F, 3) QGEMV(F, 4) QGEMV(F, 5) QGEMV(F, 6) QGEMV(F, 7) QGEMV(F, 8) \
    K(tinyrt_dequant_##F)

const std::map<std::string, Thunk>& table() {
    static const std::map<std::string, Thunk> t = {
        K(tinyrt_embed_f16) K(tinyrt_embed_f32) K(tinyrt_add_f16) K(tinyrt_add_f32) K(tinyrt_swiglu)
        K(tinyrt_gather_rows) K(tinyrt_f32_to_f16) K(tinyrt_bf16_to_f16) K(tinyrt_argmax_f32) K(tinyrt_read_probe)
        K(tinyrt_spin) K(tinyrt_rms_norm_f16) K(tinyrt_rms_norm_f32) K(tinyrt_add_rms_norm_f16)
        K(tinyrt_add_rms_norm_f32) K(tinyrt_rms_norm_v8_f16) K(tinyrt_rms_norm_v8_f32) K(tinyrt_add_rms_norm_v8_f16)
        K(tinyrt_add_rms_norm_v8_f32) K(tinyrt_rope_store_kv) K(tinyrt_rope_store_kv_int8) K(tinyrt_rope_store_kv_fp8)
        K(tinyrt_sample_f32)
        GEMV(1) GEMV(2) GEMV(3) GEMV(4) GEMV(5) GEMV(6) GEMV(7) GEMV(8)
        QGEMV_EMU(w8) QGEMV_EMU(w4) QGEMV_EMU(f8) K(tinyrt_quant_e4m3) K(tinyrt_quant_int8_token)
        K(tinyrt_gemv_res_f16) K(tinyrt_gemv_norm_f16) K(tinyrt_gemv_gate_up_norm)
        K(tinyrt_qgemv_w8_res) K(tinyrt_qgemv_w8_norm) K(tinyrt_qgemv_w8_gate_up_norm)
        K(tinyrt_qgemv_w4_res) K(tinyrt_qgemv_w4_norm) K(tinyrt_qgemv_w4_gate_up_norm)
        K(tinyrt_qgemv_w8_pre_res) K(tinyrt_qgemv_w8_pre_norm) K(tinyrt_qgemv_w8_pre_gate_up_norm)
        K(tinyrt_qgemv_w4_pre_res) K(tinyrt_qgemv_w4_pre_norm) K(tinyrt_qgemv_w4_pre_gate_up_norm)
        K(tinyrt_gemv_staged_res_f16) K(tinyrt_gemv_staged_norm_f16) K(tinyrt_gemv_staged_gate_up_norm)
        K(tinyrt_qgemv_w8_staged_res) K(tinyrt_qgemv_w8_staged_norm) K(tinyrt_qgemv_w8_staged_gate_up_norm)
        K(tinyrt_qgemv_w4_staged_res) K(tinyrt_qgemv_w4_staged_norm) K(tinyrt_qgemv_w4_staged_gate_up_norm)
        ATTN_D(16) ATTN_D(32) ATTN_D(64) ATTN_D(128) ATTN_BATCH_D(64) ATTN_BATCH_D(128)
        K(tinyrt_attn_decode_batch_occ6_d64_g8) K(tinyrt_attn_decode_batch_occ8_d64_g8)
        K(tinyrt_layer_f16_d64) K(tinyrt_layer_w8_d64) K(tinyrt_layer_w4_d64)
    };
    return t;
}
}  // namespace

extern "C" int emu_run(const char* name, const unsigned* grid, unsigned block, unsigned shared, void** params) {
    auto it = table().find(name);
    if (it == table().end()) return 0;
    const Thunk& k = it->second;
    if (std::string(name).rfind("tinyrt_layer_", 0) == 0) {  // the decode-layer kernels meet at grid barriers
        emu::launch_cooperative(grid, block, shared, [&k, params] { k(params); });
    } else {
        emu::launch(grid, block, shared, [&k, params] { k(params); });
    }
    return 1;
}

extern "C" int emu_kernel_count() { return static_cast<int>(table().size()); }
