#include "VectorKernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define VK_X86 1
#include <immintrin.h>
#endif

// MARK: Portable

static inline float float_from_bits(uint32_t bits) {
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

float vk_float_from_half(uint16_t half) {
    uint32_t sign = (uint32_t)(half & 0x8000) << 16;
    uint32_t exponent = (half >> 10) & 0x1f;
    uint32_t mantissa = half & 0x3ff;
    if (exponent == 0) {
        // Zero or subnormal: mantissa × 2^-24, exact in single precision.
        float magnitude = (float)mantissa * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31) return float_from_bits(sign | 0x7f800000 | (mantissa << 13));
    return float_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

static inline uint16_t half_from_float(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t magnitude = bits & 0x7fffffff;
    if (magnitude > 0x7f800000) return sign | 0x7e00 | (uint16_t)((magnitude >> 13) & 0x3ff); // NaN, quieted
    // 65520 and up round to infinity (65504 is the largest half).
    if (magnitude >= 0x477ff000) return sign | 0x7c00;
    if (magnitude < 0x38800000) {
        // Below the smallest normal half (2^-14): a multiple of 2^-24, rounded to nearest even by
        // the default rounding mode. Scaling by a power of two is exact.
        return sign | (uint16_t)nearbyintf(float_from_bits(magnitude) * 0x1p24f);
    }
    uint32_t half = (((magnitude >> 23) - 112) << 10) | ((magnitude >> 13) & 0x3ff);
    uint32_t dropped = magnitude & 0x1fff;
    // A carry out of the mantissa steps the exponent, which is what rounding up must do.
    if (dropped > 0x1000 || (dropped == 0x1000 && (half & 1))) half += 1;
    return sign | (uint16_t)half;
}

void vk_half_from_float_portable(const float *source, uint16_t *destination, size_t count) {
    for (size_t index = 0; index < count; index++) destination[index] = half_from_float(source[index]);
}

void vk_dot_half_rows_portable(const uint16_t *rows, size_t rowCount, size_t dimensions, const float *query,
                               float *scores) {
    for (size_t row = 0; row < rowCount; row++) {
        const uint16_t *vector = rows + row * dimensions;
        float sum = 0;
        for (size_t column = 0; column < dimensions; column++) sum += vk_float_from_half(vector[column]) * query[column];
        scores[row] = sum;
    }
}

// MARK: AVX2 + F16C + FMA

#if defined(VK_X86)
__attribute__((target("avx2,f16c,fma")))
static void half_from_float_avx2(const float *source, uint16_t *destination, size_t count) {
    size_t index = 0;
    for (; index + 8 <= count; index += 8) {
        __m128i halves = _mm256_cvtps_ph(_mm256_loadu_ps(source + index), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(destination + index), halves);
    }
    for (; index < count; index++) destination[index] = half_from_float(source[index]);
}

__attribute__((target("avx2,f16c,fma")))
static void dot_half_rows_avx2(const uint16_t *rows, size_t rowCount, size_t dimensions, const float *query,
                               float *scores) {
    for (size_t row = 0; row < rowCount; row++) {
        const uint16_t *vector = rows + row * dimensions;
        // Two accumulators, so consecutive multiply-adds do not wait on each other.
        __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
        size_t column = 0;
        for (; column + 16 <= dimensions; column += 16) {
            __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vector + column)));
            __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vector + column + 8)));
            even = _mm256_fmadd_ps(a, _mm256_loadu_ps(query + column), even);
            odd = _mm256_fmadd_ps(b, _mm256_loadu_ps(query + column + 8), odd);
        }
        for (; column + 8 <= dimensions; column += 8) {
            __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vector + column)));
            even = _mm256_fmadd_ps(a, _mm256_loadu_ps(query + column), even);
        }
        __m256 lanes = _mm256_add_ps(even, odd);
        __m128 quad = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
        quad = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
        quad = _mm_add_ss(quad, _mm_shuffle_ps(quad, quad, 1));
        float sum = _mm_cvtss_f32(quad);
        for (; column < dimensions; column++) sum += vk_float_from_half(vector[column]) * query[column];
        scores[row] = sum;
    }
}
#endif

// MARK: Dispatch

bool vk_is_accelerated(void) {
#if defined(VK_X86)
    // Reads flags the runtime's start-up code filled in (including whether the OS saves AVX state).
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

void vk_half_from_float(const float *source, uint16_t *destination, size_t count) {
#if defined(VK_X86)
    if (vk_is_accelerated()) {
        half_from_float_avx2(source, destination, count);
        return;
    }
#endif
    vk_half_from_float_portable(source, destination, count);
}

void vk_dot_half_rows(const uint16_t *rows, size_t rowCount, size_t dimensions, const float *query, float *scores) {
#if defined(VK_X86)
    if (vk_is_accelerated()) {
        dot_half_rows_avx2(rows, rowCount, dimensions, query, scores);
        return;
    }
#endif
    vk_dot_half_rows_portable(rows, rowCount, dimensions, query, scores);
}
