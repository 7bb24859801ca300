// tinyrt's CUDA kernels, one translation unit compiled by build.sh into kernels.fatbin (loaded with
// cuModuleLoadData). Every kernel is extern "C" so the Java side finds it by its plain name.
#include "elementwise.cuh"
#include "norm.cuh"
#include "gemv.cuh"
#include "qgemv.cuh"
#include "staged.cuh"
#include "rope.cuh"
#include "attention.cuh"
#include "sampling.cuh"
#include "attention_batch.cuh"
#include "layer.cuh"
