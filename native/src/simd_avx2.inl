// AVX2 + FMA + F16C kernel bodies, shared by kernels_avx2.cpp and kernels_avx512.cpp (which uses
// them for what it does not do in 512-bit registers). Included inside each TU's own namespace, after
// kernels_portable.inl, and compiled with that TU's flags.
//
// Ternary dot products use vpmaddubsw (u8 codes × s8 activations → s16 pairs) and vpmaddwd to
// widen. Saturation is impossible: a pair is at most 2·3·128 = 768 in magnitude (codes up to 3,
// activations down to −128), and at most 32 such pairs (3072·8 = 24576 < 32767) are summed in a
// 16-bit lane before widening. Float epilogues keep exactly the scalar operation order (vectorized
// across activation rows at most), so the results are bit-identical to the generic kernels.

// ---- small helpers ----------------------------------------------------------------------------

static inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
static inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

static inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

static inline float hsum_f32(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/** Four int32x8 vectors → their four horizontal sums (lane i = Σ v_i). */
static inline __m128i hsum4_i32(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/**
 * The TQ per-block lane epilogue — ggml_vec_dot_tq2_0_q8_K / ggml_vec_dot_tq1_0_q8_K (AVX2) exactly.
 * `lanes` are the block's 8 int32 lane sums that the integer core produces (the vpmaddwd of its 16-bit
 * sums, codes as stored): lane k = Σ q_e·a_e over the block's elements e with (e mod 32) >> 2 == k.
 * Subtract the 32-group sums (gsum8[k] = Σ a[32k .. 32k+31]), convert, FMA by d = da·dw into the 8 f32
 * lanes of acc. A row's value is hsum_f32(acc) (= ggml's hsum_float_8) after its last block.
 */
static inline __m256 tq_lane_epilogue(__m256 acc, __m256i lanes, const int32_t* gsum8, float dw, float da) {
  const __m256i l = _mm256_sub_epi32(lanes, _mm256_loadu_si256((const __m256i*)gsum8));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(l), _mm256_set1_ps(da * dw), acc);
}

// Software prefetch distance along the weight stream. Kernels walk one weight row at a time (a
// single sequential stream per thread: measured faster than interleaving several short rows), and
// prefetch this far ahead of the current position, across row ends.
constexpr size_t PF = 8192;

/**
 * Cache blocking for several activation rows (prefill chunks, batched decode): a panel of weight rows
 * (about 16 KB, which stays in L2) is swept once per group of up to 4 activation rows, and the group
 * (4·K bytes) stays in L1 while the panel's rows pass over it. Sweeping all M activation rows past
 * each weight row instead reads M·K bytes from L2 for every weight row. tile(n, m, RM) computes
 * weight row n against activation rows m .. m+RM−1 (RM a std::integral_constant: 4, 2 or 1).
 */
template <class Tile>
static inline void panel_tiles(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, Tile&& tile) {
  const int64_t np = std::max<int64_t>(4, (int64_t)(16384 / a.row_bytes));
  for (int64_t p = n0; p < n1; p += np) {
    const int64_t pe = std::min(n1, p + np);
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4)
      for (int64_t n = p; n < pe; ++n) tile(n, m, std::integral_constant<int, 4>{});
    for (; m + 2 <= a.M; m += 2)
      for (int64_t n = p; n < pe; ++n) tile(n, m, std::integral_constant<int, 2>{});
    for (; m < a.M; ++m)
      for (int64_t n = p; n < pe; ++n) tile(n, m, std::integral_constant<int, 1>{});
  }
}

// ---- I2_S × int8 -------------------------------------------------------------------------------------

/** RN consecutive weight rows from n × RM activation rows from m; all of K. */
template <int RN, int RM>
static inline void i2s_tile(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_I2S;
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w[RN];
  const int8_t* q[RM];
  for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256i acc32[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc32[r][i] = _mm256_setzero_si256();
  for (int64_t b0 = 0; b0 < nb; b0 += 8) {
    const int64_t b1 = b0 + 8 < nb ? b0 + 8 : nb;
    __m256i acc16[RN][RM];
    for (int r = 0; r < RN; ++r)
      for (int i = 0; i < RM; ++i) acc16[r][i] = _mm256_setzero_si256();
    for (int64_t b = b0; b < b1; ++b) {
      if ((b & 1) == 0)
        for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + b * 32 + PF), _MM_HINT_T0);
      for (int r = 0; r < RN; ++r) {
        const __m256i wv = load256(w[r] + b * 32);
        // value j of the block: code at shift 6 − 2·(j/32) of byte j % 32
        const __m256i f0 = _mm256_and_si256(_mm256_srli_epi16(wv, 6), m3);
        const __m256i f1 = _mm256_and_si256(_mm256_srli_epi16(wv, 4), m3);
        const __m256i f2 = _mm256_and_si256(_mm256_srli_epi16(wv, 2), m3);
        const __m256i f3 = _mm256_and_si256(wv, m3);
        for (int i = 0; i < RM; ++i) {
          const int8_t* qb = q[i] + b * QK_I2S;
          __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(f0, load256(qb)), _mm256_maddubs_epi16(f1, load256(qb + 32)));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(f2, load256(qb + 64)));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(f3, load256(qb + 96)));
          acc16[r][i] = _mm256_add_epi16(acc16[r][i], s);
        }
      }
    }
    for (int r = 0; r < RN; ++r)
      for (int i = 0; i < RM; ++i) acc32[r][i] = _mm256_add_epi32(acc32[r][i], _mm256_madd_epi16(acc16[r][i], ones));
  }
  for (int i = 0; i < RM; ++i) {
    const int64_t mi = m + i;
    for (int r = 0; r < RN; ++r) a.out[mi * a.N + n + r] = i2s_epilogue(hsum_i32(acc32[r][i]), a.sum[mi], a.scale[mi], a.wscale);
  }
}

/**
 * RN I2_S weight rows × one activation row (decode). The rows share each load of the activations,
 * and the four 2-bit fields are masked in place in two scale classes instead of being shifted down
 * one by one: with h = w >> 4 (16-bit shift), `h & 0x0C` = 4·code of q[0..32), `h & 0x03` = code
 * of q[32..64), `w & 0x0C` = 4·code of q[64..96), `w & 0x03` = code of q[96..128): one shift and
 * four ANDs per 128 values instead of three shifts and four ANDs. The ×4 class is summed apart
 * and divided by 4 (exact: every 16-bit lane of it is a multiple of 4) when widened. 16-bit sums:
 * a ×4-class pair is at most 2·12·128 = 3072 (stray code 3 included), two per block, so four
 * blocks (24576) fit before widening, and the ×1 class plus a quarter of the ×4 class fits too.
 */
/**
 * One I2_S weight row × one activation row (decode), its 8 int32 lanes (their sum is the row's dot).
 * The four 2-bit fields are masked in place in two scale classes instead of being shifted down one
 * by one: with h = w >> 4 (16-bit shift), `h & 0x0C` = 4·code of q[0..32), `h & 0x03` = code of
 * q[32..64), `w & 0x0C` = 4·code of q[64..96), `w & 0x03` = code of q[96..128): one shift and four
 * ANDs per 128 values instead of three shifts and four ANDs. The ×4 class is summed apart and divided
 * by 4 (exact: every 16-bit lane of it is a multiple of 4) when widened. 16-bit sums: a ×4-class pair
 * is at most 2·12·128 = 3072 (stray code 3 included), two per block, so four blocks (24576) fit
 * before widening, and the ×1 class plus a quarter of the ×4 class fits too.
 */
static inline __m256i i2s_row_lanes(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_I2S;
  const __m256i m03 = _mm256_set1_epi8(0x03), m0c = _mm256_set1_epi8(0x0c);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  __m256i acc = _mm256_setzero_si256();
  for (int64_t b0 = 0; b0 < nb; b0 += 4) {
    const int64_t b1 = b0 + 4 < nb ? b0 + 4 : nb;
    __m256i s1 = _mm256_setzero_si256(), s4 = s1;
    for (int64_t b = b0; b < b1; ++b) {
      _mm_prefetch((const char*)(w + b * 32 + PF), _MM_HINT_T0);
      const int8_t* qb = q + b * QK_I2S;
      const __m256i v = load256(w + b * 32), h = _mm256_srli_epi16(v, 4);
      s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(h, m0c), load256(qb)));
      s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(h, m03), load256(qb + 32)));
      s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(v, m0c), load256(qb + 64)));
      s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(v, m03), load256(qb + 96)));
    }
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_add_epi16(s1, _mm256_srai_epi16(s4, 2)), ones));
  }
  return acc;
}

/** Prefetches the first PF bytes of a range about to be streamed (the loop prefetches PF ahead). */
static inline void prefetch_head(const uint8_t* p, size_t bytes) {
  const size_t n = bytes < PF ? bytes : PF;
  for (size_t off = 0; off < n; off += 64) _mm_prefetch((const char*)(p + off), _MM_HINT_T0);
}

static void matmul_i2s_i8(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    prefetch_head(a.w + n0 * a.row_bytes, (size_t)(n1 - n0) * a.row_bytes);
    // One row at a time (pairing rows shares activation loads, faster from cache, but makes two
    // streams per thread, which measured slower from memory). The float epilogue of 8 rows runs at
    // once, vectorized with the same operations in the same order: per row it is a latency chain
    // (horizontal sum, convert, divide, multiply) that would otherwise stall the next row's loop.
    const __m256 s = _mm256_set1_ps(a.scale[0]), ws = _mm256_set1_ps(a.wscale);
    const __m256i sum = _mm256_set1_epi32(a.sum[0]);
    int64_t n = n0;
    for (; n + 8 <= n1; n += 8) {
      __m256i l[8];
      for (int r = 0; r < 8; ++r) l[r] = i2s_row_lanes(a, n + r, 0);
      // dots of rows n..n+7 in order: pairwise hadds, then the two 128-bit halves
      const __m256i h01 = _mm256_hadd_epi32(l[0], l[1]), h23 = _mm256_hadd_epi32(l[2], l[3]);
      const __m256i h45 = _mm256_hadd_epi32(l[4], l[5]), h67 = _mm256_hadd_epi32(l[6], l[7]);
      const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
      const __m256i dots = _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20), _mm256_permute2x128_si256(h0123, h4567, 0x31));
      const __m256 t = _mm256_cvtepi32_ps(_mm256_sub_epi32(dots, sum));
      _mm256_storeu_ps(a.out + n, _mm256_mul_ps(_mm256_div_ps(t, s), ws));
    }
    for (; n < n1; ++n) a.out[n] = i2s_epilogue(hsum_i32(i2s_row_lanes(a, n, 0)), a.sum[0], a.scale[0], a.wscale);
    return;
  }
  panel_tiles(a, n0, n1, [&](int64_t n, int64_t m, auto rm) { i2s_tile<1, decltype(rm)::value>(a, n, m); });
}

// ---- TQ2_0 × Q8_K --------------------------------------------------------------------------------------

/**
 * One TQ2_0 weight row n × RM activation rows from m; per block, tq_lane_epilogue. The weight fields
 * are masked in place in two scale classes (see tq2_block_dot) once per block and shared by the RM
 * rows; each row keeps its ×1 and ×4 16-bit sums apart until the block's lanes are widened.
 */
template <int RM>
static inline void tq2_row(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_K;
  const __m256i m03 = _mm256_set1_epi8(0x03), m0c = _mm256_set1_epi8(0x0c);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
    __m256i s1[RM], s4[RM];
    for (int i = 0; i < RM; ++i) s1[i] = s4[i] = _mm256_setzero_si256();
    for (int c = 0; c < 2; ++c) {
      const __m256i wv = load256(wb + 32 * c), h = _mm256_srli_epi16(wv, 4);
      const __m256i fa = _mm256_and_si256(wv, m03), fb = _mm256_and_si256(wv, m0c);
      const __m256i fc = _mm256_and_si256(h, m03), fd = _mm256_and_si256(h, m0c);
      for (int i = 0; i < RM; ++i) {
        const int8_t* qb = q[i] + b * QK_K + 128 * c;
        s1[i] = _mm256_add_epi16(s1[i], _mm256_add_epi16(_mm256_maddubs_epi16(fa, load256(qb)), _mm256_maddubs_epi16(fc, load256(qb + 64))));
        s4[i] = _mm256_add_epi16(s4[i], _mm256_add_epi16(_mm256_maddubs_epi16(fb, load256(qb + 32)), _mm256_maddubs_epi16(fd, load256(qb + 96))));
      }
    }
    const float dw = _cvtsh_ss(load_u16(wb + 64));
    for (int i = 0; i < RM; ++i) {
      const int64_t blk = (m + i) * nb + b;
      const __m256i lanes = _mm256_madd_epi16(_mm256_add_epi16(s1[i], _mm256_srai_epi16(s4[i], 2)), ones);
      acc[i] = tq_lane_epilogue(acc[i], lanes, a.sum + blk * 8, dw, a.scale[blk]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

/**
 * One TQ2_0 block × one activation row: its 8 int32 lanes (lane k: Σ q·a over elements with
 * (e mod 32) >> 2 == k). Fields are masked in place in two scale classes (as in i2s_rows_x1): with
 * h = w >> 4, `w & 3` → q[0..32), `w & 0x0C` = 4·code → q[32..64), `h & 3` → q[64..96), `h & 0x0C`
 * → q[96..128) of each 128-half; the ×4 class (at most 4·2·12·128 = 12288 per 16-bit lane) is
 * divided by 4 exactly before widening. Every 16-bit lane holds the same integer as the plain
 * shift-and-mask decode, so the lanes are those of the contract.
 */
static inline __m256i tq2_block_dot(const uint8_t* wb, const int8_t* qb) {
  const __m256i m03 = _mm256_set1_epi8(0x03), m0c = _mm256_set1_epi8(0x0c);
  __m256i s1 = _mm256_setzero_si256(), s4 = _mm256_setzero_si256();
  for (int c = 0; c < 2; ++c) {
    const __m256i wv = load256(wb + 32 * c), h = _mm256_srli_epi16(wv, 4);
    const int8_t* q = qb + 128 * c;
    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(wv, m03), load256(q)));
    s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(wv, m0c), load256(q + 32)));
    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(h, m03), load256(q + 64)));
    s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(h, m0c), load256(q + 96)));
  }
  return _mm256_madd_epi16(_mm256_add_epi16(s1, _mm256_srai_epi16(s4, 2)), _mm256_set1_epi16(1));
}

/** One row × one activation row (decode). */
static inline void tq2_row1(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_K;
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
    const int64_t blk = m * nb + b;
    acc = tq_lane_epilogue(acc, tq2_block_dot(wb, q + b * QK_K), a.sum + blk * 8, _cvtsh_ss(load_u16(wb + 64)), a.scale[blk]);
  }
  a.out[m * a.N + n] = hsum_f32(acc);
}

static void matmul_tq2_0_q8k(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) tq2_row1(a, n, 0);
    return;
  }
  panel_tiles(a, n0, n1, [&](int64_t n, int64_t m, auto rm) { tq2_row<decltype(rm)::value>(a, n, m); });
}

// ---- TQ1_0 × Q8_K --------------------------------------------------------------------------------------

// Trits of 4 qh bytes: kQhTrits[b] holds trit n of byte b in byte n (n = 0..3).
struct QhTable {
  uint32_t v[256];
  QhTable() {
    for (int b = 0; b < 256; ++b) {
      uint32_t x = 0;
      for (int n = 0; n < 4; ++n) x |= (uint32_t)tq1_trit((uint8_t)b, n) << (8 * n);
      v[b] = x;
    }
  }
};

/** Trits of 32 (ymm) / 16 (xmm) TQ1_0 bytes, biased: s = b ^ 0x80. Trit n of b is (t ≥ 86) +
 *  (t ≥ 171) with t = b·3^n mod 256; the biased t of the next trit is 3·s mod 256 (two byte adds). */
static inline __m256i trit256(__m256i s) {
  const __m256i t1 = _mm256_cmpgt_epi8(s, _mm256_set1_epi8(-43)), t2 = _mm256_cmpgt_epi8(s, _mm256_set1_epi8(42));
  return _mm256_sub_epi8(_mm256_sub_epi8(_mm256_setzero_si256(), t1), t2);
}
static inline __m128i trit128(__m128i s) {
  const __m128i t1 = _mm_cmpgt_epi8(s, _mm_set1_epi8(-43)), t2 = _mm_cmpgt_epi8(s, _mm_set1_epi8(42));
  return _mm_sub_epi8(_mm_sub_epi8(_mm_setzero_si128(), t1), t2);
}

/** One TQ1_0 block as 8 vectors of 32 codes (0..2) in element order. */
static inline void tq1_unpack(const uint8_t* blk, __m256i* c, const QhTable& qh) {
  __m256i s = _mm256_xor_si256(load256(blk), _mm256_set1_epi8((char)0x80));
  for (int n = 0; n < 5; ++n) {  // qs[0..31]: element 32n + m
    c[n] = trit256(s);
    s = _mm256_add_epi8(s, _mm256_add_epi8(s, s));
  }
  __m128i s1 = _mm_xor_si128(load128(blk + 32), _mm_set1_epi8((char)0x80));
  __m128i t[5];
  for (int n = 0; n < 5; ++n) {  // qs[32..47]: element 160 + 16n + m
    t[n] = trit128(s1);
    s1 = _mm_add_epi8(s1, _mm_add_epi8(s1, s1));
  }
  // qh: element 240 + 4n + j is trit n of qh[j]; the table gives byte 4j + n: transpose 4×4.
  const __m128i v = _mm_setr_epi32((int)qh.v[blk[48]], (int)qh.v[blk[49]], (int)qh.v[blk[50]], (int)qh.v[blk[51]]);
  const __m128i h = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  c[5] = _mm256_set_m128i(t[1], t[0]);
  c[6] = _mm256_set_m128i(t[3], t[2]);
  c[7] = _mm256_set_m128i(h, t[4]);
}

template <int RM>
static inline void tq1_row(const TernaryMatmulArgs& a, int64_t n, int64_t m, const QhTable& qh) {
  const int64_t nb = a.K / QK_K;
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    __m256i c[8];
    tq1_unpack(wb, c, qh);
    const float dw = _cvtsh_ss(load_u16(wb + 52));
    for (int i = 0; i < RM; ++i) {
      const int8_t* qb = q[i] + b * QK_K;
      __m256i s = _mm256_setzero_si256();
      for (int k = 0; k < 8; ++k) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c[k], load256(qb + 32 * k)));
      const int64_t blk = (m + i) * nb + b;
      acc[i] = tq_lane_epilogue(acc[i], _mm256_madd_epi16(s, ones), a.sum + blk * 8, dw, a.scale[blk]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

/** Decode: one row × one activation row. */
static inline void tq1_row1(const TernaryMatmulArgs& a, int64_t n, int64_t m, const QhTable& qh) {
  const int64_t nb = a.K / QK_K;
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  auto block = [&](int64_t b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    __m256i c[8];
    tq1_unpack(wb, c, qh);
    const int8_t* qb = q + b * QK_K;
    __m256i s = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c[k], load256(qb + 32 * k)));
    return _mm256_madd_epi16(s, ones);
  };
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t blk = m * nb + b;
    acc = tq_lane_epilogue(acc, block(b), a.sum + blk * 8, _cvtsh_ss(load_u16(w + b * TQ1_0_BYTES + 52)), a.scale[blk]);
  }
  a.out[m * a.N + n] = hsum_f32(acc);
}

static void matmul_tq1_0_q8k(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  static const QhTable qh;
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) tq1_row1(a, n, 0, qh);
    return;
  }
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) tq1_row<4>(a, n, m, qh);
    for (; m < a.M; ++m) tq1_row<1>(a, n, m, qh);
  }
}

// ---- float weights × f32 activations -------------------------------------------------------------------

struct LoadF32 {
  static inline __m256 load8(const uint8_t* row, int64_t k) { return _mm256_loadu_ps((const float*)row + k); }
  static inline float load1(const uint8_t* row, int64_t k) { return ((const float*)row)[k]; }
  static constexpr int kBytes = 4;
};
struct LoadF16 {
  static inline __m256 load8(const uint8_t* row, int64_t k) { return _mm256_cvtph_ps(load128(row + 2 * k)); }
  static inline float load1(const uint8_t* row, int64_t k) { return f16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};
struct LoadBF16 {
  static inline __m256 load8(const uint8_t* row, int64_t k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(row + 2 * k)), 16));
  }
  static inline float load1(const uint8_t* row, int64_t k) { return bf16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};

/** RN weight rows (pointers) × RM activation rows: out[i][r] = Σ_k w[r][k]·x[i][k]. */
template <class L, int RN, int RM>
static inline void float_tile(const uint8_t* const* w, const float* const* x, int64_t K, float (*res)[RN]) {
  __m256 acc[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc[r][i] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    if ((k & 31) == 0)
      for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + k * L::kBytes + 1536), _MM_HINT_T0);
    __m256 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm256_loadu_ps(x[i] + k);
    for (int r = 0; r < RN; ++r) {
      const __m256 wv = L::load8(w[r], k);
      for (int i = 0; i < RM; ++i) acc[r][i] = _mm256_fmadd_ps(wv, xv[i], acc[r][i]);
    }
  }
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) {
      float s = hsum_f32(acc[r][i]);
      for (int64_t kk = k; kk < K; ++kk) s += L::load1(w[r], kk) * x[i][kk];
      res[i][r] = s;
    }
}

template <class L, int RN, int RM>
static void float_rows(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  int64_t n = n0;
  const uint8_t* w[RN];
  const float* x[RM];
  float res[RM][RN];
  for (; n + RN <= n1; n += RN) {
    for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
    int64_t m = 0;
    for (; m + RM <= a.M; m += RM) {
      for (int i = 0; i < RM; ++i) x[i] = a.x + (m + i) * a.K;
      float_tile<L, RN, RM>(w, x, a.K, res);
      for (int i = 0; i < RM; ++i)
        for (int r = 0; r < RN; ++r) a.out[(m + i) * a.N + n + r] = res[i][r];
    }
    for (; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      float one[1][RN];
      float_tile<L, RN, 1>(w, x, a.K, one);
      for (int r = 0; r < RN; ++r) a.out[m * a.N + n + r] = one[0][r];
    }
  }
  for (; n < n1; ++n) {
    w[0] = a.w + n * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      float one[1][1];
      float_tile<L, 1, 1>(w, x, a.K, one);
      a.out[m * a.N + n] = one[0][0];
    }
  }
}

template <class L>
static void matmul_float_simd(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) float_rows<L, 4, 1>(a, n0, n1);
  else if (a.M < 4) float_rows<L, 4, 2>(a, n0, n1);
  else float_rows<L, 2, 4>(a, n0, n1);
}

/** k-quant / Q8_0 rows: dequantize 4 rows at a time into f32, then the f32 tile. */
template <DequantRowFn DEQ>
static void matmul_quant_simd(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const int RN = 4;
  float* buf = static_cast<float*>(std::aligned_alloc(64, ((size_t)a.K * 4 * RN + 63) / 64 * 64));
  const uint8_t* w[RN];
  const float* x[4];
  float res[4][RN];
  for (int64_t n = n0; n < n1; n += RN) {
    const int rn = n + RN <= n1 ? RN : (int)(n1 - n);
    for (int r = 0; r < rn; ++r) {
      DEQ(a.w + (n + r) * a.row_bytes, buf + r * a.K, a.K, 0.0f);
      w[r] = (const uint8_t*)(buf + r * a.K);
    }
    for (int64_t m = 0; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      if (rn == RN) {
        float_tile<LoadF32, RN, 1>(w, x, a.K, res);
      } else {
        for (int r = 0; r < rn; ++r) {
          float one[1][1];
          float_tile<LoadF32, 1, 1>(&w[r], x, a.K, one);
          res[0][r] = one[0][0];
        }
      }
      for (int r = 0; r < rn; ++r) a.out[m * a.N + n + r] = res[0][r];
    }
  }
  std::free(buf);
}

/** GGML_F32x8_REDUCE of ggml_vec_dot_f16's four accumulators (= ggml_reduce_f16_acc). */
static inline float f16_reduce_ggml(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  a0 = _mm256_add_ps(a0, a2);
  a1 = _mm256_add_ps(a1, a3);
  a0 = _mm256_add_ps(a0, a1);
  const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
  const __m128 t1 = _mm_hadd_ps(t0, t0);
  return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

/** F16 weights × f32 x: ggml_vec_dot_f16 (AVX2) exactly, as matmul_f16_ref (4 × 8 FMA lanes over
 *  K & ~31, the reduction, the tail in double). */
static void matmul_f16_ggml(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t K = a.K, np = K & ~(int64_t)31;
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* w = a.w + n * a.row_bytes;
    _mm_prefetch((const char*)(w + a.row_bytes), _MM_HINT_T0);
    for (int64_t m = 0; m < a.M; ++m) {
      const float* x = a.x + m * K;
      __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t k = 0; k < np; k += 32) {
        _mm_prefetch((const char*)(w + 2 * k + 1024), _MM_HINT_T0);
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k)), _mm256_loadu_ps(x + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 16)), _mm256_loadu_ps(x + k + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 32)), _mm256_loadu_ps(x + k + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 48)), _mm256_loadu_ps(x + k + 24), s3);
      }
      double sum = f16_reduce_ggml(s0, s1, s2, s3);
      for (int64_t k = np; k < K; ++k) sum += (double)(f16_to_f32(load_u16(w + 2 * k)) * x[k]);
      a.out[m * a.N + n] = (float)sum;
    }
  }
}

// ---- activation quantization -------------------------------------------------------------------------

/** ggml's nearest_int on 8 lanes, bit-identical to the scalar trick (also for NaN/huge inputs). */
static inline __m256i nearest_int8(__m256 v) {
  const __m256 t = _mm256_add_ps(v, _mm256_set1_ps(12582912.f));
  return _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(t), _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x00400000));
}

/** Packs 4×8 int32 (already in int8 range) to 32 int8 in order. */
static inline __m256i pack32_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  const __m256i p = _mm256_packs_epi16(ab, cd);
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void quantize_i8_row(const float* x, int64_t K, int8_t* q, float* scale, int32_t* sum) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 mx = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + k), absmask), mx);  // NaN lanes keep mx
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  float fmax = _mm_cvtss_f32(m4);
  for (int64_t i = k; i < K; ++i) fmax = std::fabs(x[i]) > fmax ? std::fabs(x[i]) : fmax;
  // NaN inputs: the scalar reference ignores them in the max; so does max_ps (it returns the second operand).
  const double dmax = (double)fmax > 0.00001 ? (double)fmax : 0.00001;
  const float s = (float)(127.0 / dmax);
  const __m256 vs = _mm256_set1_ps(s);
  const __m256i lo = _mm256_set1_epi32(-128), hi = _mm256_set1_epi32(127);
  __m256i vsum = _mm256_setzero_si256();
  k = 0;
  for (; k + 32 <= K; k += 32) {
    __m256i v[4];
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_min_epi32(_mm256_max_epi32(nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), vs)), lo), hi);
      vsum = _mm256_add_epi32(vsum, v[j]);
    }
    _mm256_storeu_si256((__m256i*)(q + k), pack32_i8(v[0], v[1], v[2], v[3]));
  }
  int32_t acc = hsum_i32(vsum);
  for (; k < K; ++k) {
    int v = nearest_int(x[k] * s);
    v = v > 127 ? 127 : v < -128 ? -128 : v;
    q[k] = (int8_t)v;
    acc += v;
  }
  *scale = s;
  *sum = acc;
}

static void quantize_q8k_row(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const float* xb = x + b * QK_K;
    int8_t* qb = q + b * QK_K;
    __m256 mx = _mm256_setzero_ps();
    for (int j = 0; j < QK_K; j += 8) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xb + j), absmask), mx);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (!(amax > 0)) {  // zero block (or only NaN): defer to the reference for identical results
      quantize_q8k_row_ref(xb, QK_K, qb, d + b, bsums + b * 16);
      continue;
    }
    float mxv = 0;
    for (int j = 0; j < QK_K; ++j)
      if (std::fabs(xb[j]) == amax) {
        mxv = xb[j];
        break;
      }
    const float iscale = -127.f / mxv;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i hi = _mm256_set1_epi32(127);
    for (int j = 0; j < QK_K; j += 32) {
      __m256i v[4];
      for (int t = 0; t < 4; ++t) v[t] = _mm256_min_epi32(nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(xb + j + 8 * t), vs)), hi);
      _mm256_storeu_si256((__m256i*)(qb + j), pack32_i8(v[0], v[1], v[2], v[3]));
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const __m128i v = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(qb + 16 * j)));
      const __m128i w = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(qb + 16 * j + 8)));
      __m128i s = _mm_madd_epi16(_mm_add_epi16(v, w), _mm_set1_epi16(1));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
      bsums[b * 16 + j] = (int16_t)_mm_cvtsi128_si32(s);
    }
    d[b] = 1 / iscale;
  }
}

// ---- element-wise: ggml's AVX2 arithmetic, 8 lanes at a time -------------------------------------------

/** ggml_v_expf on 8 lanes. A vector with any lane outside the fast range (|n| > 126) goes through the
 *  one-lane function, which gives every lane the same value the vector code does (lanes are independent). */
static inline __m256 v_expf8(__m256 x) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(126.0f), _CMP_GT_OQ);
  if (_mm256_movemask_ps(big)) {
    alignas(32) float v[8];
    _mm256_store_ps(v, x);
    for (int l = 0; l < 8; ++l) v[l] = ggml_v_expf1(v[l]);
    return _mm256_load_ps(v);
  }
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                      _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
  return _mm256_fmadd_ps(j, k, k);
}

/** silu_mul_ref 8 lanes at a time: x / (1 + v_expf(0 − x)) · up. */
static void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(gate + i);
    const __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, v_expf8(_mm256_sub_ps(zero, x))));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
  }
  silu_mul_ref(gate + i, up + i, out + i, n - i);
}

/** relu_sqr_mul_ref without its branch: max(g, +0) (a NaN or −0 gate gives +0, as `g > 0 ? g : 0`), squared, times up. */
static void relu_sqr_mul(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_max_ps(_mm256_loadu_ps(gate + i), zero);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(g, g), _mm256_loadu_ps(up + i)));
  }
  relu_sqr_mul_ref(gate + i, up + i, out + i, n - i);
}

static void scale(const float* x, float s, float* out, int64_t n) {
  const __m256 f = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), f));
  scale_ref(x + i, s, out + i, n - i);
}

/** F16C's round-to-nearest-even conversion, the same as f32_to_f16 for every non-NaN input. */
static void to_f16(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i*)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  to_f16_ref(x + i, out + i, n - i);
}

/** softmax_row_ref vectorized: the same max (NaNs skipped), the same 8-lane groups summed in a double. */
static void softmax_row(float* x, int64_t n) {
  if (n <= 0) return;
  const int64_t n8 = n & ~(int64_t)7;
  __m256 vmx = _mm256_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n8; i += 8) vmx = _mm256_max_ps(_mm256_loadu_ps(x + i), vmx);  // a NaN x keeps vmx
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmx);
  float mx = -INFINITY;
  for (int l = 0; l < 8; ++l)
    if (lanes[l] > mx) mx = lanes[l];
  for (int64_t i = n8; i < n; ++i)
    if (x[i] > mx) mx = x[i];
  const __m256 vm = _mm256_set1_ps(mx);
  double sum = 0;
  for (int64_t c = 0; c < n8; c += 8) {
    const __m256 e = v_expf8(_mm256_sub_ps(_mm256_loadu_ps(x + c), vm));
    _mm256_storeu_ps(x + c, e);
    sum += (double)hsum_f32(e);
  }
  if (n8 < n) {
    float e[8] = {0};
    for (int64_t i = n8; i < n; ++i) x[i] = e[i - n8] = ggml_v_expf1(x[i] - mx);
    sum += (double)ggml_hsum8(e);
  }
  const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
  for (int64_t i = 0; i < n8; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
  const float inv1 = (float)(1.0 / sum);
  for (int64_t i = n8; i < n; ++i) x[i] *= inv1;
}

// ---- attention: attention_head_ref's arithmetic (llama.cpp's non-flash path), vectorized --------------

/** 8 rows of 8 floats → their transpose (y_j[r] = x_r[j]). */
static inline void transpose8(__m256* x) {
  const __m256 t0 = _mm256_unpacklo_ps(x[0], x[1]), t1 = _mm256_unpackhi_ps(x[0], x[1]);
  const __m256 t2 = _mm256_unpacklo_ps(x[2], x[3]), t3 = _mm256_unpackhi_ps(x[2], x[3]);
  const __m256 t4 = _mm256_unpacklo_ps(x[4], x[5]), t5 = _mm256_unpackhi_ps(x[4], x[5]);
  const __m256 t6 = _mm256_unpacklo_ps(x[6], x[7]), t7 = _mm256_unpackhi_ps(x[6], x[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  x[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  x[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  x[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  x[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  x[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  x[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  x[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  x[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/** Lanes [0, n) of p, the rest 0 (n in 0..8). */
static inline __m256 load_first(const float* p, int64_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
  return _mm256_maskload_ps(p, mask);
}

/**
 * Block attention: tokens [t0, t1) × the heads/kvHeads query heads that read kv head `kvh`, with
 * attention_head_ref's arithmetic for every (token, head). The group's keys and values up to the
 * last token's position are converted from f16 once for all its rows: keys as f32 rows, values
 * transposed (one row of positions per dimension), so that the p·V sums run along positions with
 * contiguous loads and one independent FMA chain per output dimension. Score dot products run for
 * several positions at once (independent chains; one chain per dot is FMA-latency bound).
 * Scratch: attention_scratch_floats(a, t1 − t0) floats, 32-byte aligned.
 */
static void attention_group(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch) {
  const int64_t D = a.headDim;
  const int64_t G = a.heads / a.kvHeads;
  if (D % 32 != 0 || D > 256) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t g = 0; g < G; ++g) attention_head_ref(a, t, kvh * G + g, scratch);
    return;
  }
  const int64_t stride = a.kvHeads * D;
  const int64_t vis = a.startPos + t1;    // positions the block's last token sees
  const int64_t vp = (vis + 31) & ~31;    // padded to whole 32-position chunks
  const bool batch = a.tokens >= 2;       // tinyBLAS (8 lanes) for both matmuls, else ggml_vec_dot_f16 (32 lanes)
  float* kf = scratch;                    // [vis][D]
  float* vt = kf + vis * D;               // [D][vp], zero past vis
  float* sc = vt + D * vp;                // [vp]
  alignas(32) float qr[256];
  const uint16_t* kbase = a.k + kvh * D;
  const uint16_t* vbase = a.v + kvh * D;
  for (int64_t p = 0; p < vis; ++p)
    for (int64_t d = 0; d < D; d += 8) _mm256_store_ps(kf + p * D + d, _mm256_cvtph_ps(load128(kbase + p * stride + d)));
  for (int64_t p = 0; p < vp; p += 8) {
    for (int64_t d = 0; d < D; d += 8) {
      __m256 x[8];
      for (int r = 0; r < 8; ++r) x[r] = p + r < vis ? _mm256_cvtph_ps(load128(vbase + (p + r) * stride + d)) : _mm256_setzero_ps();
      transpose8(x);
      for (int j = 0; j < 8; ++j) _mm256_store_ps(vt + (d + j) * vp + p, x[j]);
    }
  }
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t visible = a.startPos + t + 1;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kvh * G + g;
      const float* q = a.q + (t * a.heads + h) * D;
      float* out = a.out + (t * a.heads + h) * D;
      for (int64_t d = 0; d < D; d += 8)
        _mm256_store_ps(qr + d, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(q + d), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
      // KQ
      int64_t p = 0;
      if (batch) {
        for (; p + 4 <= visible; p += 4) {
          const float* k0 = kf + p * D;
          __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
          for (int64_t d = 0; d < D; d += 8) {
            const __m256 qv = _mm256_load_ps(qr + d);
            c0 = _mm256_fmadd_ps(qv, _mm256_load_ps(k0 + d), c0);
            c1 = _mm256_fmadd_ps(qv, _mm256_load_ps(k0 + D + d), c1);
            c2 = _mm256_fmadd_ps(qv, _mm256_load_ps(k0 + 2 * D + d), c2);
            c3 = _mm256_fmadd_ps(qv, _mm256_load_ps(k0 + 3 * D + d), c3);
          }
          sc[p] = hsum_f32(c0) * a.scale;
          sc[p + 1] = hsum_f32(c1) * a.scale;
          sc[p + 2] = hsum_f32(c2) * a.scale;
          sc[p + 3] = hsum_f32(c3) * a.scale;
        }
        for (; p < visible; ++p) {
          __m256 c = _mm256_setzero_ps();
          for (int64_t d = 0; d < D; d += 8) c = _mm256_fmadd_ps(_mm256_load_ps(qr + d), _mm256_load_ps(kf + p * D + d), c);
          sc[p] = hsum_f32(c) * a.scale;
        }
      } else {
        for (; p + 2 <= visible; p += 2) {
          const float* k0 = kf + p * D;
          const float* k1 = k0 + D;
          __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, u0 = s0, u1 = s0, u2 = s0, u3 = s0;
          for (int64_t d = 0; d < D; d += 32) {
            const __m256 q0 = _mm256_load_ps(qr + d), q1 = _mm256_load_ps(qr + d + 8), q2 = _mm256_load_ps(qr + d + 16), q3 = _mm256_load_ps(qr + d + 24);
            s0 = _mm256_fmadd_ps(q0, _mm256_load_ps(k0 + d), s0);
            s1 = _mm256_fmadd_ps(q1, _mm256_load_ps(k0 + d + 8), s1);
            s2 = _mm256_fmadd_ps(q2, _mm256_load_ps(k0 + d + 16), s2);
            s3 = _mm256_fmadd_ps(q3, _mm256_load_ps(k0 + d + 24), s3);
            u0 = _mm256_fmadd_ps(q0, _mm256_load_ps(k1 + d), u0);
            u1 = _mm256_fmadd_ps(q1, _mm256_load_ps(k1 + d + 8), u1);
            u2 = _mm256_fmadd_ps(q2, _mm256_load_ps(k1 + d + 16), u2);
            u3 = _mm256_fmadd_ps(q3, _mm256_load_ps(k1 + d + 24), u3);
          }
          sc[p] = f16_reduce_ggml(s0, s1, s2, s3) * a.scale;
          sc[p + 1] = f16_reduce_ggml(u0, u1, u2, u3) * a.scale;
        }
        for (; p < visible; ++p) {
          const float* k0 = kf + p * D;
          __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
          for (int64_t d = 0; d < D; d += 32) {
            s0 = _mm256_fmadd_ps(_mm256_load_ps(qr + d), _mm256_load_ps(k0 + d), s0);
            s1 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 8), _mm256_load_ps(k0 + d + 8), s1);
            s2 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 16), _mm256_load_ps(k0 + d + 16), s2);
            s3 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 24), _mm256_load_ps(k0 + d + 24), s3);
          }
          sc[p] = f16_reduce_ggml(s0, s1, s2, s3) * a.scale;
        }
      }
      softmax_row(sc, visible);
      // p·V weights are f16-rounded probabilities; positions past `visible` weigh 0 (and their lanes
      // of vt are masked to 0 below, so a non-finite value there cannot leak in).
      for (p = 0; p + 8 <= visible; p += 8)
        _mm256_store_ps(sc + p, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_load_ps(sc + p), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
      for (; p < visible; ++p) sc[p] = f16_round(sc[p]);
      for (; p < vp; ++p) sc[p] = 0.0f;
      const int64_t full8 = visible & ~(int64_t)7;  // whole 8-position chunks
      const int64_t rest = visible - full8;
      if (batch) {
        // lane = position mod 8: one accumulator per dimension, 8 dimensions at a time
        for (int64_t d = 0; d < D; d += 8) {
          __m256 acc[8];
          for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
          for (p = 0; p < full8; p += 8) {
            const __m256 w = _mm256_load_ps(sc + p);
            for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(w, _mm256_load_ps(vt + (d + j) * vp + p), acc[j]);
          }
          if (rest) {
            const __m256 w = _mm256_load_ps(sc + full8);
            for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(w, load_first(vt + (d + j) * vp + full8, rest), acc[j]);
          }
          for (int j = 0; j < 8; ++j) out[d + j] = hsum_f32(acc[j]);
        }
      } else {
        // lane = position mod 32: four accumulators per dimension, 2 dimensions at a time
        const int64_t full32 = visible & ~(int64_t)31;
        for (int64_t d = 0; d < D; d += 2) {
          const float* v0 = vt + d * vp;
          const float* v1 = v0 + vp;
          __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
          for (p = 0; p < full32; p += 32) {
            const __m256 w0 = _mm256_load_ps(sc + p), w1 = _mm256_load_ps(sc + p + 8), w2 = _mm256_load_ps(sc + p + 16), w3 = _mm256_load_ps(sc + p + 24);
            a0 = _mm256_fmadd_ps(w0, _mm256_load_ps(v0 + p), a0);
            a1 = _mm256_fmadd_ps(w1, _mm256_load_ps(v0 + p + 8), a1);
            a2 = _mm256_fmadd_ps(w2, _mm256_load_ps(v0 + p + 16), a2);
            a3 = _mm256_fmadd_ps(w3, _mm256_load_ps(v0 + p + 24), a3);
            b0 = _mm256_fmadd_ps(w0, _mm256_load_ps(v1 + p), b0);
            b1 = _mm256_fmadd_ps(w1, _mm256_load_ps(v1 + p + 8), b1);
            b2 = _mm256_fmadd_ps(w2, _mm256_load_ps(v1 + p + 16), b2);
            b3 = _mm256_fmadd_ps(w3, _mm256_load_ps(v1 + p + 24), b3);
          }
          if (full32 < visible) {
            // the last partial chunk of 32: lanes past `visible` are masked to 0 (weight 0 · value 0)
            __m256 va[4], vb[4];
            for (int j = 0; j < 4; ++j) {
              const int64_t n = std::min<int64_t>(8, std::max<int64_t>(0, visible - (full32 + 8 * j)));
              va[j] = load_first(v0 + full32 + 8 * j, n);
              vb[j] = load_first(v1 + full32 + 8 * j, n);
            }
            a0 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32), va[0], a0);
            a1 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 8), va[1], a1);
            a2 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 16), va[2], a2);
            a3 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 24), va[3], a3);
            b0 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32), vb[0], b0);
            b1 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 8), vb[1], b1);
            b2 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 16), vb[2], b2);
            b3 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 24), vb[3], b3);
          }
          out[d] = f16_reduce_ggml(a0, a1, a2, a3);
          out[d + 1] = f16_reduce_ggml(b0, b1, b2, b3);
        }
      }
    }
  }
}

// ---- bandwidth probe -----------------------------------------------------------------------------------

static uint64_t stream_read(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256((const __m256i*)(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256((const __m256i*)(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256((const __m256i*)(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256((const __m256i*)(p + i + 96)));
  }
  const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return (uint64_t)_mm256_extract_epi64(x, 0) ^ (uint64_t)_mm256_extract_epi64(x, 1) ^ (uint64_t)_mm256_extract_epi64(x, 2) ^
         (uint64_t)_mm256_extract_epi64(x, 3);
}


// ---- Q8_0 × Q8_0 (ggml_vec_dot_q8_0_q8_0, AVX2) ----------------------------------------------------------
// A self-contained section: the quantizer of the activations and the matmul for Q8_0 weights (the
// optional Q8_0 output matrix). The integer core is ggml's mul_sum_i8_pairs: vpsignb moves the sign of
// the weight onto the activation, vpmaddubsw multiplies |qw| (u8, up to 128) by sign(qw)·qa (s8, in
// [−127, 127] from the quantizer) into 16-bit pairs of at most 2·128·127 = 32512 (no saturation), and
// vpmaddwd widens them: int32 lane k = Σ qw·qa over elements 4k .. 4k+3 of the block, exactly the
// contract's L_{b,k}. The float epilogue is the reference's: fmaf(float(L), fround(dw·da), acc_k) per
// block, hsum_f32 (= ggml_hsum8) at the end, so results are bit-identical to the generic kernel.

/** Lanes L_k of one block: qw (weights) and qa (activations) as 32 int8 each. */
static inline __m256i q8_0_lanes(__m256i qw, __m256i qa) {
  const __m256i dot16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qa, qw));
  return _mm256_madd_epi16(dot16, _mm256_set1_epi16(1));
}

static void quantize_q8_0_row(const float* x, int64_t K, int8_t* q, float* d) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const float* xb = x + b * QK8_0;
    __m256 v[4];
    for (int t = 0; t < 4; ++t) v[t] = _mm256_loadu_ps(xb + 8 * t);
    __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], absmask), _mm256_and_ps(v[1], absmask)),
                              _mm256_max_ps(_mm256_and_ps(v[2], absmask), _mm256_and_ps(v[3], absmask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    d[b] = f16_round(amax / 127.f);
    const __m256 id = _mm256_set1_ps(amax > 0 ? 127.f / amax : 0.0f);
    __m256i r[4];
    for (int t = 0; t < 4; ++t) r[t] = nearest_int8(_mm256_mul_ps(v[t], id));
    _mm256_storeu_si256((__m256i*)(q + b * QK8_0), pack32_i8(r[0], r[1], r[2], r[3]));
  }
}

/** One Q8_0 weight row n × RM activation rows from m; the weight block is loaded once for all of them. */
template <int RM>
static inline void q8_0_row(const Q8_0MatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK8_0;
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  const float* da[RM];
  for (int i = 0; i < RM; ++i) {
    q[i] = a.q + (m + i) * a.K;
    da[i] = a.d + (m + i) * nb;
  }
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * Q8_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    const __m256i qw = load256(wb + 2);
    const float dw = _cvtsh_ss(load_u16(wb));
    for (int i = 0; i < RM; ++i) {
      const __m256 lanes = _mm256_cvtepi32_ps(q8_0_lanes(qw, load256(q[i] + b * QK8_0)));
      acc[i] = _mm256_fmadd_ps(lanes, _mm256_set1_ps(dw * da[i][b]), acc[i]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

static void matmul_q8_0_q8_0(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1) {
  // One weight row at a time: a single sequential stream per thread, prefetched PF bytes ahead
  // (across row ends), as the ternary decode kernels.
  prefetch_head(a.w + n0 * a.row_bytes, (size_t)(n1 - n0) * a.row_bytes);
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) q8_0_row<1>(a, n, 0);
    return;
  }
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) q8_0_row<4>(a, n, m);
    for (; m + 2 <= a.M; m += 2) q8_0_row<2>(a, n, m);
    for (; m < a.M; ++m) q8_0_row<1>(a, n, m);
  }
}

// ---- the table of these bodies --------------------------------------------------------------------------

/** The portable table with every entry that has an AVX2 body here; the AVX-512 TU starts from it and
 *  replaces the entries it widens to 512 bits. */
static KernelTable avx2_table(const char* isa) {
  KernelTable t = portable_table(isa);
  t.quantize_i8_row = quantize_i8_row;
  t.quantize_q8k_row = quantize_q8k_row;
  t.quantize_q8_0_row = quantize_q8_0_row;
  t.matmul_i2s_i8 = matmul_i2s_i8;
  t.matmul_tq2_0_q8k = matmul_tq2_0_q8k;
  t.matmul_tq1_0_q8k = matmul_tq1_0_q8k;
  t.matmul_q8_0_q8_0 = matmul_q8_0_q8_0;
  t.matmul_float[W_F32] = matmul_float_simd<LoadF32>;
  t.matmul_float[W_F16] = matmul_f16_ggml;  // ggml_vec_dot_f16 (AVX2) exactly
  t.matmul_float[W_BF16] = matmul_float_simd<LoadBF16>;
  t.matmul_float[W_Q8_0] = matmul_quant_simd<dequant_row_q8_0>;
  t.matmul_float[W_Q4_K] = matmul_quant_simd<dequant_row_q4_k>;
  t.matmul_float[W_Q6_K] = matmul_quant_simd<dequant_row_q6_k>;
  t.attention_group = attention_group;
  t.softmax_row = softmax_row;
  t.silu_mul = silu_mul;
  t.relu_sqr_mul = relu_sqr_mul;
  t.scale = scale;
  t.to_f16 = to_f16;
  t.stream_read = stream_read;
  return t;
}
