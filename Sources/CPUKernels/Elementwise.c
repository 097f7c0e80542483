// Row-wise and element-wise operations of a forward pass. They compute what the Swift
// reference (TensorCore's computeReference) computes — sums of squares in double, the
// same RoPE angles and cos/sin — with float exp/tanh for the activations, so that
// they stay within the backend agreement tolerance of 1e-10 NMSE.

#include <math.h>

#include "CPUKernels.h"

void ck_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps, int64_t row_begin, int64_t row_end) {
    for (int64_t r = row_begin; r < row_end; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t i = 0;
        for (; i + 4 <= n; i += 4) {
            s0 += (double)xr[i] * xr[i];
            s1 += (double)xr[i + 1] * xr[i + 1];
            s2 += (double)xr[i + 2] * xr[i + 2];
            s3 += (double)xr[i + 3] * xr[i + 3];
        }
        for (; i < n; i++) s0 += (double)xr[i] * xr[i];
        const float scale = (float)(1.0 / sqrt((s0 + s1 + s2 + s3) / (double)n + (double)eps));
        for (i = 0; i < n; i++) yr[i] = xr[i] * scale * w[i];
    }
}

void ck_rope(const float *x, float *y, const int64_t *positions, int64_t heads, int64_t head_dim, int64_t dims,
             const float *frequencies, float position_scale, int layout, int64_t token_begin, int64_t token_end) {
    const int64_t pairs = dims / 2;
    float cosines[1024], sines[1024];
    for (int64_t t = token_begin; t < token_end; t++) {
        const float position = (float)positions[t] / position_scale;
        for (int64_t i = 0; i < pairs && i < 1024; i++) {
            const double angle = (double)(position * frequencies[i]);
            cosines[i] = (float)cos(angle);
            sines[i] = (float)sin(angle);
        }
        for (int64_t h = 0; h < heads; h++) {
            const float *xh = x + (t * heads + h) * head_dim;
            float *yh = y + (t * heads + h) * head_dim;
            if (xh != yh) for (int64_t d = 0; d < head_dim; d++) yh[d] = xh[d];
            for (int64_t i = 0; i < pairs; i++) {
                const int64_t a = layout == 0 ? 2 * i : i, b = layout == 0 ? 2 * i + 1 : i + pairs;
                const float x0 = yh[a], x1 = yh[b], c = cosines[i], s = sines[i];
                yh[a] = x0 * c - x1 * s;
                yh[b] = x0 * s + x1 * c;
            }
        }
    }
}

void ck_gated_activation(const float *gate, const float *up, float *y, int function, int64_t begin, int64_t end) {
    // Float exp/tanh are within an ulp or two of the reference's double results.
    if (function == 0) {
        for (int64_t i = begin; i < end; i++) {
            const float g = gate[i];
            y[i] = g / (1.0f + expf(-g)) * up[i];
        }
    } else {
        const float c = 0.7978845608028654f;  // sqrt(2/pi)
        for (int64_t i = begin; i < end; i++) {
            const float g = gate[i];
            y[i] = 0.5f * g * (1.0f + tanhf(c * (g + 0.044715f * g * g * g))) * up[i];
        }
    }
}
