// Portable scalar kernels: the reference every SIMD path is tested against.
//
// Included by each kernels_<isa>.cpp inside its own namespace (so every TU gets private copies,
// compiled with that TU's flags; -ffp-contract=off keeps float results identical across ISAs), and
// exposed as-is by kernels_generic.cpp. Semantics: packages/bitnet-kernels/src/api/Kernels.ts.
//
// Expects common.h and kernels.h to be included, and to be inside namespace bitnet::<isa>.

// ---- activation quantization -----------------------------------------------------------------

/** bitnet.cpp's quantize_row_i8_s: s = fround(127 / max(1e-5, max|x|)) (max exact, division in
 *  double), q = clamp(nearest_int(fround(x·s)), −128, 127), sum = Σq. */
static void quantize_i8_row_ref(const float* x, int64_t K, int8_t* q, float* scale, int32_t* sum) {
  double mx = 0.00001;
  for (int64_t i = 0; i < K; ++i) {
    const double a = std::fabs((double)x[i]);
    if (a > mx) mx = a;
  }
  const float s = (float)(127.0 / mx);
  int32_t acc = 0;
  for (int64_t i = 0; i < K; ++i) {
    int v = nearest_int(x[i] * s);
    if (v > 127) v = 127;
    if (v < -128) v = -128;
    q[i] = (int8_t)v;
    acc += v;
  }
  *scale = s;
  *sum = acc;
}

/** llama.cpp's quantize_row_q8_K_ref, per 256-block; bsums zeroed for an all-zero block. */
static void quantize_q8k_row_ref(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const float* xb = x + b * QK_K;
    int8_t* qb = q + b * QK_K;
    float amax = 0, mx = 0;
    for (int j = 0; j < QK_K; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        mx = xb[j];
      }
    }
    if (amax == 0) {
      d[b] = 0;
      std::memset(qb, 0, QK_K);
      for (int j = 0; j < QK_K / 16; ++j) bsums[b * 16 + j] = 0;
      continue;
    }
    const float iscale = -127.f / mx;
    for (int j = 0; j < QK_K; ++j) {
      const int v = nearest_int(iscale * xb[j]);
      qb[j] = (int8_t)(v < 127 ? v : 127);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += qb[j * 16 + i];
      bsums[b * 16 + j] = (int16_t)s;
    }
    d[b] = 1 / iscale;
  }
}

/** llama.cpp's x86 quantize_row_q8_0, per 32-block: d = f16(amax / 127), id = 127 / amax (0 for a
 *  zero block), q = nearest_int(x·id) (in [−127, 127] for finite x). */
static void quantize_q8_0_row_ref(const float* x, int64_t K, int8_t* q, float* d) {
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const float* xb = x + b * QK8_0;
    float amax = 0;
    for (int j = 0; j < QK8_0; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) amax = ax;
    }
    d[b] = f16_round(amax / 127.f);
    const float id = amax > 0 ? 127.f / amax : 0.0f;
    for (int j = 0; j < QK8_0; ++j) q[b * QK8_0 + j] = (int8_t)nearest_int(xb[j] * id);
  }
}

// ---- ternary dot products (exact integers) ---------------------------------------------------------

/** Σ_k code[k]·q[k] over one I2_S row (codes 0..3 as stored). */
static int32_t vec_dot_i2s_i8_ref(int64_t K, const uint8_t* w, const int8_t* q) {
  int32_t acc = 0;
  for (int64_t b = 0; b < K / QK_I2S; ++b) {
    const uint8_t* wb = w + b * 32;
    const int8_t* qb = q + b * QK_I2S;
    for (int g = 0; g < 4; ++g) {
      const int shift = 6 - 2 * g;
      for (int j = 0; j < 32; ++j) acc += ((wb[j] >> shift) & 3) * qb[32 * g + j];
    }
  }
  return acc;
}

/** I2_S epilogue: fround(fround(fround(dot − sum) / s) · ws). */
static inline float i2s_epilogue(int32_t dot, int32_t sum, float s, float ws) {
  const float t = (float)(dot - sum);
  const float u = t / s;
  return u * ws;
}

// ---- ggml's f32 arithmetic (llama.cpp's x86 CPU backend, AVX2 + FMA build) ---------------------------
// std::fmaf is one rounding (an instruction under -mfma, libm otherwise); -ffp-contract=off keeps the
// compiler from fusing anything else, so every TU computes exactly these operations.

/** hsum_float_8 / tinyBLAS hsum(__m256): ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)). */
static inline float ggml_hsum8(const float* v) {
  const float a0 = v[0] + v[4], a1 = v[1] + v[5], a2 = v[2] + v[6], a3 = v[3] + v[7];
  return (a0 + a2) + (a1 + a3);
}

/** GGML_F32x8_REDUCE of ggml_vec_dot_f16's four 8-lane accumulators acc[8j + l]. */
static inline float ggml_reduce_f16_acc(const float* acc) {
  float s[8];
  for (int l = 0; l < 8; ++l) s[l] = (acc[l] + acc[16 + l]) + (acc[8 + l] + acc[24 + l]);
  const float t0 = s[0] + s[4], t1 = s[1] + s[5], t2 = s[2] + s[6], t3 = s[3] + s[7];
  return (t0 + t1) + (t2 + t3);
}

/** ggml_v_expf (vec.h, AVX2 branch) for one lane (lanes are independent). */
static inline float ggml_v_expf1(float x) {
  const float r = 0x1.8p23f;
  const float z = std::fmaf(x, 0x1.715476p+0f, r);
  const float n = z - r;
  const float b = std::fmaf(-n, 0x1.7f7d1cp-20f, std::fmaf(-n, 0x1.62e4p-1f, x));
  const uint32_t e = f32_bits(z) << 23;
  const float k = f32_from_bits(e + f32_bits(1.0f));
  const float u = b * b;
  const float j = std::fmaf(std::fmaf(std::fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, std::fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                            0x1.ffffecp-1f * b);
  if (!(std::fabs(n) > 126)) return std::fmaf(j, k, k);
  const uint32_t g = n <= 0 ? 0x82000000u : 0u;
  const float s1 = f32_from_bits(g + 0x7f000000u);
  const float s2 = f32_from_bits(e - g);
  if (std::fabs(n) > 192) return s1 * s1;
  return std::fmaf(s2, j, s2) * s1;
}

/** ggml_v_silu for one lane: x / (1 + v_expf(0 − x)). */
static inline float ggml_v_silu1(float x) { return x / (1.0f + ggml_v_expf1(0.0f - x)); }

/** ggml_vec_dot_f16's arithmetic on f32 inputs: 32 FMA lanes (i mod 32) over n & ~31, the reduction,
 *  the tail as f32 products summed in double. */
static inline float ggml_dot_f16(const float* a, const float* b, int64_t n) {
  float acc[32] = {0};
  const int64_t np = n & ~(int64_t)31;
  for (int64_t i = 0; i < np; ++i) acc[i & 31] = std::fmaf(a[i], b[i], acc[i & 31]);
  double sum = ggml_reduce_f16_acc(acc);
  for (int64_t i = np; i < n; ++i) sum += (double)(a[i] * b[i]);
  return (float)sum;
}

// ---- TQ2_0 / TQ1_0 × Q8_K: ggml_vec_dot_tq*_q8_K (AVX2) ------------------------------------------
// Per 256-block, 8 integer lanes: lane k = Σ q_e·a_e over the block's elements e with (e mod 32) >> 2
// == k (q the stored code, 0..3) minus Σ a over elements 32k .. 32k+31 (a.sum: the group sums). Each
// lane becomes f32 and is accumulated across blocks with fmaf(lane, d_b, acc_k), d_b = fround(da_b·dw_b);
// the row's value is ggml_hsum8(acc).

/** The lane epilogue of one block: acc_k = fmaf(float(lanes_k − gsum_k), da·dw, acc_k). */
static inline void tq_lane_epilogue(float* acc, const int32_t* lanes, const int32_t* gsum, float dw, float da) {
  const float d = da * dw;
  for (int k = 0; k < 8; ++k) acc[k] = std::fmaf((float)(lanes[k] - gsum[k]), d, acc[k]);
}

/** TQ2_0 row · Q8_K row. gsum: the row's group sums (8 per block). */
static float vec_dot_tq2_0_q8k_ref(int64_t K, const uint8_t* w, const int8_t* q, const float* da, const int32_t* gsum) {
  float acc[8] = {0};
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    const int8_t* qb = q + b * QK_K;
    int32_t lanes[8] = {0};
    for (int c = 0; c < 2; ++c)
      for (int n = 0; n < 4; ++n)
        for (int j = 0; j < 32; ++j) lanes[j >> 2] += ((wb[32 * c + j] >> (2 * n)) & 3) * qb[128 * c + 32 * n + j];
    tq_lane_epilogue(acc, lanes, gsum + 8 * b, f16_to_f32(load_u16(wb + 64)), da[b]);
  }
  return ggml_hsum8(acc);
}

static float vec_dot_tq1_0_q8k_ref(int64_t K, const uint8_t* w, const int8_t* q, const float* da, const int32_t* gsum) {
  float acc[8] = {0};
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    const int8_t* qb = q + b * QK_K;
    int32_t lanes[8] = {0};
    for (int m = 0; m < 32; ++m)
      for (int n = 0; n < 5; ++n) lanes[m >> 2] += tq1_trit(wb[m], n) * qb[32 * n + m];
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 5; ++n) lanes[((16 * n + m) & 31) >> 2] += tq1_trit(wb[32 + m], n) * qb[160 + 16 * n + m];
    for (int j = 0; j < 4; ++j)
      for (int n = 0; n < 4; ++n) lanes[4 + n] += tq1_trit(wb[48 + j], n) * qb[240 + 4 * n + j];
    tq_lane_epilogue(acc, lanes, gsum + 8 * b, f16_to_f32(load_u16(wb + 52)), da[b]);
  }
  return ggml_hsum8(acc);
}

static void matmul_i2s_i8_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* w = a.w + n * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) {
      const int32_t dot = vec_dot_i2s_i8_ref(a.K, w, a.q + m * a.K);
      a.out[m * a.N + n] = i2s_epilogue(dot, a.sum[m], a.scale[m], a.wscale);
    }
  }
}

static void matmul_tq2_0_q8k_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / QK_K;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < a.M; ++m)
      a.out[m * a.N + n] = vec_dot_tq2_0_q8k_ref(a.K, a.w + n * a.row_bytes, a.q + m * a.K, a.scale + m * nb, a.sum + m * nb * 8);
}

static void matmul_tq1_0_q8k_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / QK_K;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < a.M; ++m)
      a.out[m * a.N + n] = vec_dot_tq1_0_q8k_ref(a.K, a.w + n * a.row_bytes, a.q + m * a.K, a.scale + m * nb, a.sum + m * nb * 8);
}

// ---- Q8_0 × Q8_0: ggml_vec_dot_q8_0_q8_0 (AVX2) ------------------------------------------------------
// Per 32-block, 8 exact integer lanes: lane k = Σ qw·qa over elements 4k .. 4k+3. Each lane becomes f32
// and is accumulated across blocks with fmaf(lane, d_b, acc_k), d_b = fround(dw_b·da_b); then ggml_hsum8.

static float vec_dot_q8_0_q8_0_ref(int64_t K, const uint8_t* w, const int8_t* q, const float* da) {
  float acc[8] = {0};
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const uint8_t* wb = w + b * Q8_0_BYTES;
    const int8_t* qb = q + b * QK8_0;
    const float d = f16_to_f32(load_u16(wb)) * da[b];
    for (int k = 0; k < 8; ++k) {
      int32_t lane = 0;
      for (int j = 4 * k; j < 4 * k + 4; ++j) lane += (int32_t)(int8_t)wb[2 + j] * qb[j];
      acc[k] = std::fmaf((float)lane, d, acc[k]);
    }
  }
  return ggml_hsum8(acc);
}

static void matmul_q8_0_q8_0_ref(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / QK8_0;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < a.M; ++m)
      a.out[m * a.N + n] = vec_dot_q8_0_q8_0_ref(a.K, a.w + n * a.row_bytes, a.q + m * a.K, a.d + m * nb);
}

// ---- dequantization of one row (bit-identical to the TS codecs of @bitnet/models) -------------------

static void dequant_row_f32(const uint8_t* src, float* out, int64_t K, float) { std::memcpy(out, src, (size_t)K * 4); }

static void dequant_row_f16(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t i = 0; i < K; ++i) out[i] = f16_to_f32(load_u16(src + 2 * i));
}

static void dequant_row_bf16(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t i = 0; i < K; ++i) out[i] = bf16_to_f32(load_u16(src + 2 * i));
}

static void dequant_row_q8_0(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const uint8_t* p = src + b * Q8_0_BYTES;
    const float d = f16_to_f32(load_u16(p));
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = (float)(int8_t)p[2 + j] * d;
  }
}

static void dequant_row_q4_k(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* p = src + b * Q4_K_BYTES;
    const float d = f16_to_f32(load_u16(p));
    const float dmin = f16_to_f32(load_u16(p + 2));
    const uint8_t* sc = p + 4;
    const uint8_t* qs = p + 16;
    float* y = out + b * QK_K;
    for (int c = 0; c < 4; ++c) {
      uint8_t s1, m1, s2, m2;
      q4k_scale_min(2 * c, sc, &s1, &m1);
      q4k_scale_min(2 * c + 1, sc, &s2, &m2);
      const float d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2;
      // As the TS codec: d1·q is exact in double, one rounding to f32 at the end.
      for (int l = 0; l < 32; ++l) y[64 * c + l] = (float)((double)d1 * (qs[32 * c + l] & 15) - (double)mm1);
      for (int l = 0; l < 32; ++l) y[64 * c + 32 + l] = (float)((double)d2 * (qs[32 * c + l] >> 4) - (double)mm2);
    }
  }
}

static void dequant_row_q6_k(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* p = src + b * Q6_K_BYTES;
    const float d = f16_to_f32(load_u16(p + 208));
    float* y = out + b * QK_K;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = p + 64 * h;
      const uint8_t* qh = p + 128 + 32 * h;
      const int8_t* sc = (const int8_t*)(p + 192 + 8 * h);
      for (int l = 0; l < 32; ++l) {
        const int is = l >> 4;
        const int q1 = (int)((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = (int)((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        // d·sc·q is exact in double; one rounding, as the TS codec and ggml's (d·sc)·q.
        y[128 * h + l] = (float)((double)d * sc[is] * q1);
        y[128 * h + l + 32] = (float)((double)d * sc[is + 2] * q2);
        y[128 * h + l + 64] = (float)((double)d * sc[is + 4] * q3);
        y[128 * h + l + 96] = (float)((double)d * sc[is + 6] * q4);
      }
    }
  }
}

static void dequant_row_tq2_0(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* p = src + b * TQ2_0_BYTES;
    const float d = f16_to_f32(load_u16(p + 64));
    for (int c = 0; c < 2; ++c)
      for (int n = 0; n < 4; ++n)
        for (int j = 0; j < 32; ++j) out[b * QK_K + 128 * c + 32 * n + j] = (float)(((p[32 * c + j] >> (2 * n)) & 3) - 1) * d;
  }
}

static void dequant_row_tq1_0(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* p = src + b * TQ1_0_BYTES;
    const float d = f16_to_f32(load_u16(p + 52));
    float* y = out + b * QK_K;
    for (int m = 0; m < 32; ++m)
      for (int n = 0; n < 5; ++n) y[32 * n + m] = (float)(tq1_trit(p[m], n) - 1) * d;
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 5; ++n) y[160 + 16 * n + m] = (float)(tq1_trit(p[32 + m], n) - 1) * d;
    for (int j = 0; j < 4; ++j)
      for (int n = 0; n < 4; ++n) y[240 + 4 * n + j] = (float)(tq1_trit(p[48 + j], n) - 1) * d;
  }
}

static void dequant_row_i2s(const uint8_t* src, float* out, int64_t K, float scale) {
  const float wv[4] = {-scale, 0.0f * scale, scale, 2 * scale};
  for (int64_t b = 0; b < K / QK_I2S; ++b)
    for (int g = 0; g < 4; ++g)
      for (int j = 0; j < 32; ++j) out[b * QK_I2S + 32 * g + j] = wv[(src[b * 32 + j] >> (6 - 2 * g)) & 3];
}

// ---- float matmuls: dequantize a weight row, f32 dot with each activation row -----------------------

static inline float dot_f32_ref(const float* a, const float* b, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

template <DequantRowFn DEQ>
static void matmul_float_ref(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  float* row = new float[(size_t)a.K];
  for (int64_t n = n0; n < n1; ++n) {
    DEQ(a.w + n * a.row_bytes, row, a.K, 0.0f);
    for (int64_t m = 0; m < a.M; ++m) a.out[m * a.N + n] = dot_f32_ref(row, a.x + m * a.K, a.K);
  }
  delete[] row;
}

/** F16 weights: ggml_vec_dot_f16's arithmetic (ggml_dot_f16) on the dequantized row and x as given. */
static void matmul_f16_ref(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  float* row = new float[(size_t)a.K];
  for (int64_t n = n0; n < n1; ++n) {
    dequant_row_f16(a.w + n * a.row_bytes, row, a.K, 0.0f);
    for (int64_t m = 0; m < a.M; ++m) a.out[m * a.N + n] = ggml_dot_f16(row, a.x + m * a.K, a.K);
  }
  delete[] row;
}

// ---- elementwise / normalization / attention ----------------------------------------------------------

static void rms_norm_row_ref(const float* x, int64_t n, const float* w, float eps, float* out) {
  // As ggml_compute_forward_rms_norm_f32: f32 squares summed in double, then f32 math.
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += (double)(x[i] * x[i]);
  const float mean = (float)(ss / (double)n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

static void rope_neox_token_ref(float* x, int64_t heads, int64_t headDim, int64_t ropeDim, int32_t pos, double freqBase) {
  // ggml_compute_forward_rope_flt (NEOX) as compiled for x86: θ_0 = p, θ_{i+1} = θ_i · s in f32 with
  // s = powf(base, −2/ropeDim); cos/sin from libm's sincosf (what ggml calls); each rotated value is one
  // FMA of GCC's contraction: x0·c − x1·s = fmaf(x0, c, −(x1·s)), x0·s + x1·c = fmaf(x0, s, x1·c).
  const int64_t half = ropeDim / 2;
  const float scale = powf((float)freqBase, -2.0f / (float)ropeDim);
  float theta = (float)pos;
  for (int64_t i = 0; i < half; ++i) {
    float s, c;
    sincosf(theta, &s, &c);
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + h * headDim;
      const float x0 = v[i], x1 = v[i + half];
      v[i] = std::fmaf(x0, c, -(x1 * s));
      v[i + half] = std::fmaf(x0, s, x1 * c);
    }
    theta = theta * scale;
  }
}

/** ggml_vec_soft_max_f32 (AVX2) + the normalisation of ggml_compute_forward_soft_max_f32, in place:
 *  e_i = v_expf(x_i − max); Σ in double of ggml_hsum8 of each group of 8 (missing lanes are 0, as
 *  −∞-masked or padded positions are in llama.cpp); x_i = e_i · fround(1 / Σ). */
static void softmax_row_ref(float* x, int64_t n) {
  if (n <= 0) return;
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    if (x[i] > mx) mx = x[i];
  double sum = 0;
  for (int64_t c = 0; c < n; c += 8) {
    float e[8];
    for (int l = 0; l < 8; ++l) {
      if (c + l < n) {
        e[l] = ggml_v_expf1(x[c + l] - mx);
        x[c + l] = e[l];
      } else {
        e[l] = 0.0f;
      }
    }
    sum += (double)ggml_hsum8(e);
  }
  const float inv = (float)(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

/** tinyBLAS's dot (llamafile sgemm, AVX2 F16): 8 FMA lanes (i mod 8), then ggml_hsum8. */
static inline float tiny_dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0};
  for (int64_t i = 0; i < n; ++i) acc[i & 7] = std::fmaf(a[i], b[i], acc[i & 7]);
  return ggml_hsum8(acc);
}

/**
 * One (token, head) of llama.cpp's non-flash attention: KQ = mul_mat(K, f16(q)), soft_max_ext(scale,
 * causal mask), KQV = mul_mat(Vᵀ, f16(P)). A call with ≥ 2 tokens is a batch: llama.cpp runs both
 * matmuls through llamafile's tinyBLAS (KQ when headDim % 8 == 0, KQV when headDim % 4 == 0); one
 * token runs ggml_vec_dot_f16. KQV sums over positions as if padded with zero weights to n_kv (a
 * multiple of 256 in llama.cpp: no scalar tail), lane = position mod 32 (vec_dot) or mod 8 (tinyBLAS).
 */
static void attention_head_ref(const AttentionArgs& a, int64_t t, int64_t h, float* scores) {
  const int64_t D = a.headDim;
  const int64_t kvh = h / (a.heads / a.kvHeads);
  const int64_t visible = a.startPos + t + 1;
  const int64_t stride = a.kvHeads * D;
  const bool qk_tiny = a.tokens >= 2 && D % 8 == 0;
  const bool pv_tiny = a.tokens >= 2 && D % 4 == 0;
  const float* q = a.q + (t * a.heads + h) * D;
  float* out = a.out + (t * a.heads + h) * D;
  std::vector<float> qr((size_t)D), kr((size_t)D);
  for (int64_t d = 0; d < D; ++d) qr[(size_t)d] = f16_round(q[d]);
  for (int64_t p = 0; p < visible; ++p) {
    const uint16_t* k = a.k + p * stride + kvh * D;
    for (int64_t d = 0; d < D; ++d) kr[(size_t)d] = f16_to_f32(k[d]);
    const float s = qk_tiny ? tiny_dot(qr.data(), kr.data(), D) : ggml_dot_f16(qr.data(), kr.data(), D);
    scores[p] = s * a.scale;
  }
  softmax_row_ref(scores, visible);
  for (int64_t p = 0; p < visible; ++p) scores[p] = f16_round(scores[p]);
  for (int64_t d = 0; d < D; ++d) {
    const uint16_t* v = a.v + kvh * D + d;
    float acc[32] = {0};
    if (pv_tiny) {
      for (int64_t p = 0; p < visible; ++p) acc[p & 7] = std::fmaf(scores[p], f16_to_f32(v[p * stride]), acc[p & 7]);
      out[d] = ggml_hsum8(acc);
    } else {
      for (int64_t p = 0; p < visible; ++p) acc[p & 31] = std::fmaf(scores[p], f16_to_f32(v[p * stride]), acc[p & 31]);
      out[d] = ggml_reduce_f16_acc(acc);
    }
  }
}

/** Tokens [t0, t1) × the query heads of kv head kvh, one attention_head_ref at a time. */
static void attention_group_ref(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch) {
  const int64_t G = a.heads / a.kvHeads;
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t g = 0; g < G; ++g) attention_head_ref(a, t, kvh * G + g, scratch);
}

static void relu_sqr_mul_ref(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i] > 0 ? gate[i] : 0.0f;
    out[i] = g * g * up[i];
  }
}

static void silu_mul_ref(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    out[i] = ggml_v_silu1(gate[i]) * up[i];  // ggml_vec_swiglu_f32 (AVX2)
  }
}

static void add_ref(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

static void scale_ref(const float* x, float s, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s;
}

static void to_f16_ref(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(x[i]);
}

static uint64_t stream_read_ref(const uint8_t* p, size_t n) {
  uint64_t acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < n; i += 64) {
    uint64_t v[8];
    std::memcpy(v, p + i, 64);
    for (int j = 0; j < 8; ++j) acc[j] ^= v[j];
  }
  return acc[0] ^ acc[1] ^ acc[2] ^ acc[3] ^ acc[4] ^ acc[5] ^ acc[6] ^ acc[7];
}

/** A table filled with the portable kernels; SIMD TUs override entries after calling this. */
static KernelTable portable_table(const char* isa) {
  KernelTable t{};
  t.isa = isa;
  t.quantize_i8_row = quantize_i8_row_ref;
  t.quantize_q8k_row = quantize_q8k_row_ref;
  t.matmul_i2s_i8 = matmul_i2s_i8_ref;
  t.matmul_tq2_0_q8k = matmul_tq2_0_q8k_ref;
  t.matmul_tq1_0_q8k = matmul_tq1_0_q8k_ref;
  t.matmul_float[W_F32] = matmul_float_ref<dequant_row_f32>;
  t.matmul_float[W_F16] = matmul_f16_ref;
  t.matmul_float[W_BF16] = matmul_float_ref<dequant_row_bf16>;
  t.matmul_float[W_Q8_0] = matmul_float_ref<dequant_row_q8_0>;
  t.matmul_float[W_Q4_K] = matmul_float_ref<dequant_row_q4_k>;
  t.matmul_float[W_Q6_K] = matmul_float_ref<dequant_row_q6_k>;
  t.dequant_row[W_F32] = dequant_row_f32;
  t.dequant_row[W_F16] = dequant_row_f16;
  t.dequant_row[W_BF16] = dequant_row_bf16;
  t.dequant_row[W_Q8_0] = dequant_row_q8_0;
  t.dequant_row[W_Q4_K] = dequant_row_q4_k;
  t.dequant_row[W_Q6_K] = dequant_row_q6_k;
  t.dequant_row[W_TQ1_0] = dequant_row_tq1_0;
  t.dequant_row[W_TQ2_0] = dequant_row_tq2_0;
  t.dequant_row[W_I2_S] = dequant_row_i2s;
  t.rms_norm_row = rms_norm_row_ref;
  t.rope_neox_token = rope_neox_token_ref;
  t.softmax_row = softmax_row_ref;
  t.attention_group = attention_group_ref;
  t.relu_sqr_mul = relu_sqr_mul_ref;
  t.silu_mul = silu_mul_ref;
  t.add = add_ref;
  t.scale = scale_ref;
  t.to_f16 = to_f16_ref;
  t.stream_read = stream_read_ref;
  t.quantize_q8_0_row = quantize_q8_0_row_ref;
  t.matmul_q8_0_q8_0 = matmul_q8_0_q8_0_ref;
  return t;
}
