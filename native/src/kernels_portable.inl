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

/** TQ epilogue of one row: acc = fround(acc + fround(isum_b · fround(dw_b · da_b))) in block order. */
static inline float tq_block_accumulate(float acc, int32_t isum, float dw, float da) {
  const float dd = dw * da;
  const float p = (float)isum * dd;
  return acc + p;
}

/** TQ2_0 row · Q8_K row: Σ_b fround(isum_b · fround(dw·da)). bsum: exact Σq of each block. */
static float vec_dot_tq2_0_q8k_ref(int64_t K, const uint8_t* w, const int8_t* q, const float* da, const int32_t* bsum) {
  float acc = 0;
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    const int8_t* qb = q + b * QK_K;
    int32_t isum = 0;
    for (int c = 0; c < 2; ++c)
      for (int n = 0; n < 4; ++n)
        for (int j = 0; j < 32; ++j) isum += ((wb[32 * c + j] >> (2 * n)) & 3) * qb[128 * c + 32 * n + j];
    acc = tq_block_accumulate(acc, isum - bsum[b], f16_to_f32(load_u16(wb + 64)), da[b]);
  }
  return acc;
}

static float vec_dot_tq1_0_q8k_ref(int64_t K, const uint8_t* w, const int8_t* q, const float* da, const int32_t* bsum) {
  float acc = 0;
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    const int8_t* qb = q + b * QK_K;
    int32_t isum = 0;
    for (int m = 0; m < 32; ++m)
      for (int n = 0; n < 5; ++n) isum += tq1_trit(wb[m], n) * qb[32 * n + m];
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 5; ++n) isum += tq1_trit(wb[32 + m], n) * qb[160 + 16 * n + m];
    for (int j = 0; j < 4; ++j)
      for (int n = 0; n < 4; ++n) isum += tq1_trit(wb[48 + j], n) * qb[240 + 4 * n + j];
    acc = tq_block_accumulate(acc, isum - bsum[b], f16_to_f32(load_u16(wb + 52)), da[b]);
  }
  return acc;
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
      a.out[m * a.N + n] = vec_dot_tq2_0_q8k_ref(a.K, a.w + n * a.row_bytes, a.q + m * a.K, a.scale + m * nb, a.sum + m * nb);
}

static void matmul_tq1_0_q8k_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / QK_K;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < a.M; ++m)
      a.out[m * a.N + n] = vec_dot_tq1_0_q8k_ref(a.K, a.w + n * a.row_bytes, a.q + m * a.K, a.scale + m * nb, a.sum + m * nb);
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
  // θ as ggml computes it, in f32: θ_0 = p, θ_{i+1} = θ_i · s, s = f32(base^(−2/ropeDim)); cos/sin of
  // each f32 θ rounded to f32; each product rounded to f32, the sum rounded once — the same arithmetic
  // as the TypeScript kernels. (An exact θ differs by ~i·p·2^−24 rad, enough to flip K's f16 rounding.)
  const int64_t half = ropeDim / 2;
  const float scale = (float)std::pow((double)(float)freqBase, (double)(float)(-2.0 / (double)ropeDim));
  float theta = (float)pos;
  for (int64_t i = 0; i < half; ++i) {
    const float c = (float)std::cos((double)theta), s = (float)std::sin((double)theta);
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + h * headDim;
      const float x0 = v[i], x1 = v[i + half];
      v[i] = (float)((double)(x0 * c) - (double)(x1 * s));
      v[i + half] = (float)((double)(x0 * s) + (double)(x1 * c));
    }
    theta = theta * scale;
  }
}

static void softmax_row_ref(float* x, int64_t n) {
  if (n <= 0) return;
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > mx) mx = x[i];
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i] - mx);
    x[i] = e;
    sum += e;
  }
  const float inv = (float)(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

/** One (token, head): scores over visible positions, softmax in f32, f16-rounded weights × V. */
static void attention_head_ref(const AttentionArgs& a, int64_t t, int64_t h, float* scores) {
  const int64_t D = a.headDim;
  const int64_t kvh = h / (a.heads / a.kvHeads);
  const int64_t visible = a.startPos + t + 1;
  const float* q = a.q + (t * a.heads + h) * D;
  float* out = a.out + (t * a.heads + h) * D;
  float qh[1024];
  float* qr = D <= 1024 ? qh : new float[(size_t)D];
  for (int64_t d = 0; d < D; ++d) qr[d] = f16_round(q[d]);
  float mx = -INFINITY;
  for (int64_t p = 0; p < visible; ++p) {
    const uint16_t* k = a.k + (p * a.kvHeads + kvh) * D;
    float s = 0;
    for (int64_t d = 0; d < D; ++d) s += qr[d] * f16_to_f32(k[d]);
    s *= a.scale;
    scores[p] = s;
    if (s > mx) mx = s;
  }
  double sum = 0;  // ggml_vec_soft_max_f32 sums in double
  for (int64_t p = 0; p < visible; ++p) {
    const float e = std::exp(scores[p] - mx);
    scores[p] = e;
    sum += e;
  }
  const float inv = (float)(1.0 / sum);
  for (int64_t d = 0; d < D; ++d) out[d] = 0;
  for (int64_t p = 0; p < visible; ++p) {
    const float w = f16_round(scores[p] * inv);
    const uint16_t* v = a.v + (p * a.kvHeads + kvh) * D;
    for (int64_t d = 0; d < D; ++d) out[d] += w * f16_to_f32(v[d]);
  }
  if (qr != qh) delete[] qr;
}

static void relu_sqr_mul_ref(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i] > 0 ? gate[i] : 0.0f;
    out[i] = g * g * up[i];
  }
}

static void silu_mul_ref(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

static void add_ref(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
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
  t.matmul_float[W_F16] = matmul_float_ref<dequant_row_f16>;
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
  t.attention_head = attention_head_ref;
  t.relu_sqr_mul = relu_sqr_mul_ref;
  t.silu_mul = silu_mul_ref;
  t.add = add_ref;
  t.stream_read = stream_read_ref;
  return t;
}
