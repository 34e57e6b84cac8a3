// The fast KL pass's per-cell work (simident.theory.divergence._fast_rows) as one XLA FFI
// kernel for the CPU: the same float32 operations on the same float32 products, each
// row's tokens visited in 64-token tiles that stay in cache, instead of XLA
// materialising a dozen c×V intermediates. Built on first use (simident.theory.native);
// the jitted XLA form stays the reference and the route on accelerators.
//
// Inputs per chunk of c rows and Vp tokens (the first `tokens` real): la = ℓ_a − m and
// D (the float32 products), fn, an (row norms of the bound), gn, bn (token norms), cacb
// = (C_ℓ/3 of ℓ_a's product, of D's). Outputs per row (float64): KL, the r_p numerator
// and denominator (zero unless `weighted`), the bound β (inf where the float32 form is
// not trusted) without the rows' own roundings, and (variance, Σ c2·D, Σ c1·ℓ_a); per
// cell c1 = p_a(r − 1 − x) and c2 = p_a − p_b (float32, 0 on the padding), written over
// ℓ_a and D (the caller aliases them), from which divergence._coherent finishes β.
// Three differences from the XLA form, all inside its error model:
//   - sums are float32 over 8 tokens (lane j of a tile sums tokens j, j + 8, …, j + 56)
//     and float64 across, where XLA sums 8 tokens V/8 apart: another order, the same
//     ≤ 7 partial sums per block that ELEM counts;
//   - e^(ℓ_a − max) by the float32 exponential below (as accurate as XLA's);
//   - the series' degree per row (`degree`), no larger a truncation than XLA's.
// Compiled without FMA contraction, so each operation rounds as the model counts.

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "xla/ffi/api/ffi.h"

#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace ffi = xla::ffi;

namespace {

constexpr int L = 8;   // lanes of a float32 partial sum
constexpr int T = 64;  // tokens per tile: L lanes × 8 tokens each
constexpr float SERIES_MAX = 0.5f;
constexpr double S_MAX = 1e30;
constexpr double LAMBDA = 3.0;
constexpr double RHO = 1e-6;
constexpr double AMP = 4.0;
constexpr float ELEM = static_cast<float>(36.0 + 56.0 / 3.0);  // as divergence.ELEM
constexpr float ELEM4 = static_cast<float>((36.0 + 56.0 / 3.0) / 4.0);

// 1/k! for k = 2..9 in float32, as the jitted series' weakly typed Python constants.
constexpr float C2 = 1.0 / 2.0, C3 = 1.0 / 6.0, C4 = 1.0 / 24.0, C5 = 1.0 / 120.0;
constexpr float C6 = 1.0 / 720.0, C7 = 1.0 / 5040.0, C8 = 1.0 / 40320.0, C9 = 1.0 / 362880.0;

// e^x − 1 − x to x^K (Horner), as divergence._series at K = 9; a row whose |x| are all
// small takes the least K whose truncation is no larger than K = 9's at |x| = 1/2
// (`degree`).
template <int K>
inline float series(float x) {
  constexpr float C[10] = {0.0f, 0.0f, C2, C3, C4, C5, C6, C7, C8, C9};
  float acc = C[K];
  for (int m = K - 1; m >= 2; --m) acc = C[m] + x * acc;
  return x * x * acc;
}

// The least degree K (2..9) whose truncation, 2 X^(K−1) e^X / (K + 1)! relative to
// e^x − 1 − x ≈ x²/2 for |x| ≤ X, is at most K = 9's at X = 1/2; 9 if X > 1/2 or NaN.
inline int degree(double X) {
  if (!(X <= 0.5)) return 9;
  const double worst = 2.0 * std::pow(0.5, 8) * std::exp(0.5) / 3628800.0;
  double fact = 6.0;  // (K + 1)! at K = 2
  for (int K = 2; K < 9; ++K, fact *= K + 1)
    if (2.0 * std::pow(X, K - 1) * std::exp(X) / fact <= worst) return K;
  return 9;
}

// e^x in float32 (Cody–Waite reduction x = n ln2 + r, Cephes' degree-6 polynomial, 2^n
// from the exponent bits); 0 where e^x is subnormal (flushed, as XLA's CPU runtime
// does), NaN stays NaN. Measured on 2^20 points of [−87.3, 0]: within 1.33u of e^x
// (XLA's float32 exponential: 1.38u), u = 2^−24; the bound's (|ℓ_a − max| + 4)² term
// covers either.
inline float exp32(float x) {
  x = x < -88.0f ? -88.0f : x;
  const float magic = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  const float big = x * 1.44269504088896341f + magic;
  const float n = big - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * (r * r) + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &big, sizeof bits);
  const int32_t k = bits - 0x4B400000;  // n as an integer, ≥ −127
  const int32_t sb = (k + 127) << 23;
  float scale;
  std::memcpy(&scale, &sb, sizeof scale);
  return k < -126 ? 0.0f : y * scale;
}

// Subnormal float32 results flushed to zero (and subnormal inputs read as zero) while
// a worker runs, as XLA's CPU runtime computes; restored after.
struct FlushDenormals {
#if defined(__x86_64__) || defined(__SSE__)
  unsigned saved = _mm_getcsr();
  FlushDenormals() { _mm_setcsr(saved | 0x8040); }
  ~FlushDenormals() { _mm_setcsr(saved); }
#endif
};

// N row sums at once: float32 within a tile's lanes, float64 across tiles.
template <int N>
struct Sums {
  double d[N][L] = {};
  inline void add(int k, const float* v) {
    float p[L] = {};
    for (int i = 0; i < T / L; ++i)
      for (int j = 0; j < L; ++j) p[j] += v[i * L + j];
    for (int j = 0; j < L; ++j) d[k][j] += static_cast<double>(p[j]);
  }
  inline void fold(int k, const float* p) {  // a tile's partial sums, as `add` makes them
    for (int j = 0; j < L; ++j) d[k][j] += static_cast<double>(p[j]);
  }
  inline double total(int k) const {
    double s = 0.0;
    for (int j = 0; j < L; ++j) s += d[k][j];
    return s;
  }
};

struct Chunk {
  const float *la, *D, *fn, *an, *gn2, *bn2;  // gn2, bn2: the token norms squared
  float ca, cb;
  int64_t Vp, tokens;
  bool weighted;
  double *kl, *num, *den, *beta;
  float *c1, *c2;  // per cell, for the rows' roundings
  double* aux;     // per row: the bound's variance, Σ c2·D, Σ c1·ℓ_a
};

// One worker's row buffers (e, x, p_a, t, q) and the tail tile's zero-padded inputs.
struct Scratch {
  std::vector<float> e, x, pa, t, q;
  float la[T], D[T], gn2[T], bn2[T];
  explicit Scratch(int64_t Vp) {
    const int64_t n = (Vp + T - 1) / T * T;
    e.resize(n), x.resize(n), pa.resize(n), t.resize(n), q.resize(n);
  }
};

// A tile of one row: T inputs each (the first `live` real), and the row buffers at it.
struct Tile {
  const float *la, *D, *gn2, *bn2;
  float *e, *x, *pa, *t, *q;
  int live;
};

inline Tile tile_at(const Chunk& c, Scratch& s, const float* la, const float* D, int64_t b) {
  const int live = static_cast<int>(std::min<int64_t>(T, c.tokens - b));
  Tile v{la + b,          D + b,           c.gn2 + b,       c.bn2 + b,      s.e.data() + b,
         s.x.data() + b,  s.pa.data() + b, s.t.data() + b,  s.q.data() + b, live};
  if (live < T) {  // the tail: copied and zero-padded (the padding's terms are masked)
    for (int i = 0; i < T; ++i) {
      const bool in = i < live;
      s.la[i] = in ? la[b + i] : 0.0f;
      s.D[i] = in ? D[b + i] : 0.0f;
      s.gn2[i] = in ? c.gn2[b + i] : 0.0f;
      s.bn2[i] = in ? c.bn2[b + i] : 0.0f;
    }
    v.la = s.la, v.D = s.D, v.gn2 = s.gn2, v.bn2 = s.bn2;
  }
  return v;
}

template <bool Weighted>
void row(const Chunk& c, Scratch& s, int64_t r) {
  const float* la = c.la + r * c.Vp;
  const float* D = c.D + r * c.Vp;
  const float fn = c.fn[r], an = c.an[r];
  const int64_t V = c.tokens;
  float v0[T], v1[T], v2[T];

  // 0. hi = max_y ℓ_a (a NaN ℓ_a gives a NaN e below: the row's sums are NaN, β = inf)
  float m[L];
  for (int j = 0; j < L; ++j) m[j] = -std::numeric_limits<float>::infinity();
  int64_t y = 0;
  for (; y + L <= V; y += L)
    for (int j = 0; j < L; ++j) m[j] = la[y + j] > m[j] ? la[y + j] : m[j];
  for (; y < V; ++y) m[0] = la[y] > m[0] ? la[y] : m[0];
  float hi = m[0];
  for (int j = 1; j < L; ++j) hi = m[j] > hi ? m[j] : hi;

  // 1. e = exp(ℓ_a − hi); Σ e, Σ e·D, Σ e·(ℓ_a − hi)
  Sums<3> s1;
  float dlo[T], dhi[T];  // the range of D (per position of a tile), for the series' degree
  for (int i = 0; i < T; ++i) dlo[i] = D[0], dhi[i] = D[0];
  for (int64_t b = 0; b < V; b += T) {
    Tile w = tile_at(c, s, la, D, b);
    const float* __restrict__ las = w.la;
    const float* __restrict__ ds = w.D;
    float* __restrict__ es = w.e;
    const int live = w.live;
#pragma GCC ivdep
    for (int i = 0; i < T; ++i) {
      const float sa = las[i] - hi, di = ds[i];
      const float ei = exp32(sa);
      const bool in = i < live;
      const float em = in ? ei : 0.0f;  // 0 on the padding: every later term there is 0
      es[i] = em;
      v0[i] = em;
      v1[i] = em * di;
      v2[i] = em * sa;
      dlo[i] = in && !(di >= dlo[i]) ? di : dlo[i];  // a NaN D is kept: X is NaN
      dhi[i] = in && !(di <= dhi[i]) ? di : dhi[i];
    }
    s1.add(0, v0), s1.add(1, v1), s1.add(2, v2);
  }
  const double z = s1.total(0), mu = s1.total(1) / z, ms = s1.total(2) / z;
  double X = 0.0;  // ≥ max |x| over the row (x = E_pa D − D, rounded)
  for (int i = 0; i < T; ++i) {
    const double lo_i = std::fabs(mu - dlo[i]), hi_i = std::fabs(dhi[i] - mu);
    X = !(lo_i <= X) ? lo_i : X;
    X = !(hi_i <= X) ? hi_i : X;
  }
  const int K = degree(X * (1.0 + 1e-5) + 1e-30);
  const float mu32 = static_cast<float>(mu);
  const float lo = static_cast<float>(mu - static_cast<double>(mu32));
  const float rz = static_cast<float>(1.0 / z);
  const double corr = (1.0 / z) / static_cast<double>(rz);
  const float logz = static_cast<float>(std::log(z));
  const float tiny = std::numeric_limits<float>::min() * 1e6f;

  // 2. x = E_pa D − D, p_a, t = p_a(e^x − 1 − x), q = p_a(e^x − 1); Σ t
  Sums<1> s2;
  auto pass2 = [&](auto k) {
  constexpr int Kc = decltype(k)::value;
  for (int64_t b = 0; b < V; b += T) {
    Tile w = tile_at(c, s, la, D, b);
    const float* __restrict__ ds = w.D;
    const float* __restrict__ es = w.e;
    float* __restrict__ xs = w.x;
    float* __restrict__ ps = w.pa;
    float* __restrict__ ts = w.t;
    float* __restrict__ qs = w.q;
    const int live = w.live;
    int far = 0;
#pragma GCC ivdep
    for (int i = 0; i < T; ++i) {
      const float x = (mu32 - ds[i]) + lo;
      const float pa = es[i] * rz;
      const float sr = series<Kc>(x);
      const bool in = i < live;
      far += (in && !(std::fabs(x) <= SERIES_MAX)) ? 1 : 0;
      xs[i] = x, ps[i] = pa;  // p_a = 0 on the padding, so t = q = 0 there
      ts[i] = pa * sr;
      qs[i] = pa * (x + sr);
    }
    if (far > 0) {  // some |x| > 1/2 (or NaN): the exponential form there
      for (int i = 0; i < live; ++i) {
        const float x = xs[i], pa = ps[i];
        if (std::fabs(x) <= SERIES_MAX) continue;
        const float sa = w.la[i] - hi;
        const float ex = pa > tiny ? pa * std::exp(x) : std::exp((sa - logz) + x);
        ts[i] = ex - pa * (1.0f + x);
        qs[i] = ex - pa;
      }
    }
    s2.add(0, ts);
  }
  };
  switch (K) {
    case 2: pass2(std::integral_constant<int, 2>{}); break;
    case 3: pass2(std::integral_constant<int, 3>{}); break;
    case 4: pass2(std::integral_constant<int, 4>{}); break;
    case 5: pass2(std::integral_constant<int, 5>{}); break;
    case 6: pass2(std::integral_constant<int, 6>{}); break;
    case 7: pass2(std::integral_constant<int, 7>{}); break;
    case 8: pass2(std::integral_constant<int, 8>{}); break;
    default: pass2(std::integral_constant<int, 9>{}); break;
  }
  const double S = s2.total(0) * corr;
  const double kl = std::log1p(S);
  const bool ok = std::isfinite(S) && S < S_MAX;

  // 3. the bound's variance and (weighted) the r_p sums and their variances
  const double w64 = 1.0 / (1.0 + S);
  const float w = static_cast<float>(w64), Sc = static_cast<float>(S);
  const float ms32 = static_cast<float>(ms);
  const float ca = c.ca, cb = c.cb;
  const float fn2 = fn * fn, an2 = an * an;
  Sums<12> s3;
  for (int64_t b = 0; b < V; b += T) {
    Tile y = tile_at(c, s, la, D, b);
    const float* __restrict__ las = y.la;
    const float* __restrict__ ds = y.D;
    const float* __restrict__ gns = y.gn2;
    const float* __restrict__ bns = y.bn2;
    const float* __restrict__ xs = y.x;
    const float* __restrict__ ps = y.pa;
    float* __restrict__ ts = y.t;  // read, then overwritten with c1·w, c2·w (the outputs)
    float* __restrict__ qs = y.q;
    float p[12][L] = {};  // the tile's float32 partial sums, kept in registers
    for (int k = 0; k < T / L; ++k) {
#pragma GCC ivdep
      for (int j = 0; j < L; ++j) {
        const int i = k * L + j;
        const float x = xs[i], pa = ps[i], t = ts[i], q = qs[i], d = ds[i];
        const float lai = las[i], sa = lai - hi;
        // the bound's terms (`_bound`), with w² and 36 KL² taken out of the sums
        const float spa = Sc * pa;
        const float c1 = t - spa * (1.0f + x);
        const float c2 = spa - pa * x - t;
        const float sh = std::fabs(sa) + 4.0f;
        const float a2 = ca * lai * lai + fn2 * gns[i] + sh * sh;
        const float b2 = cb * d * d + 2.0f * x * x + an2 * bns[i];
        const float pd = pa * d;  // (on the padding p_a = t = q = 0: every term is 0)
        p[0][j] += c1 * c1 * a2 + c2 * c2 * b2 + ELEM * t * t;
        p[9][j] += pd * pd;
        p[10][j] += c2 * d, p[11][j] += c1 * lai;  // a·g of the rows' roundings
        ts[i] = c1 * w, qs[i] = c2 * w;
        if (Weighted) {
          const float qw = q * w;
          const float zc = (sa - ms32) + 0.5f * x;
          const float pax = pa * x, paz = pa * zc;
          p[1][j] += pax * x, p[2][j] += qw * x * x, p[3][j] += qw * x;
          p[4][j] += paz * zc, p[5][j] += qw * zc * zc, p[6][j] += qw * zc;
          const float pbar = 0.5f * (pa * (1.0f + w) + qw);
          const float px = pbar * x, pz = pbar * zc;
          const float ex = px * x, ez = pz * zc;
          p[7][j] += px * px * b2 + ELEM4 * ex * ex;
          p[8][j] += pz * pz * 2.0f * (a2 + b2) + ELEM4 * ez * ez;
        }
      }
    }
    s3.fold(0, p[0]), s3.fold(9, p[9]), s3.fold(10, p[10]), s3.fold(11, p[11]);
    if (Weighted)
      for (int k = 1; k < 9; ++k) s3.fold(k, p[k]);
  }
  // Σ c1²a2 + c2²b2 + c3² + ELEM (t w)², c1, c2 with their factor w, c3 = 6 p_a |D| KL
  const double var = w64 * w64 * s3.total(0) + 36.0 * kl * kl * s3.total(9);
  // c1, c2 for the rows' roundings (finished in XLA: divergence._coherent), 0 on padding
  float* c1o = c.c1 + r * c.Vp;
  float* c2o = c.c2 + r * c.Vp;
  std::memcpy(c1o, s.t.data(), V * sizeof(float));
  std::memcpy(c2o, s.q.data(), V * sizeof(float));
  std::memset(c1o + V, 0, (c.Vp - V) * sizeof(float));
  std::memset(c2o + V, 0, (c.Vp - V) * sizeof(float));
  c.aux[3 * r] = var, c.aux[3 * r + 1] = w64 * s3.total(10), c.aux[3 * r + 2] = w64 * s3.total(11);
  const double u = std::numeric_limits<float>::epsilon() / 2.0;
  const double inf = std::numeric_limits<double>::infinity();
  double beta = LAMBDA * u * std::sqrt(var) + u * std::fabs(mu) * kl;
  if (!ok) beta = inf;
  c.kl[r] = kl;
  if (!Weighted) {
    c.num[r] = 0.0, c.den[r] = 0.0, c.beta[r] = beta;
    return;
  }
  const double ax2 = s3.total(1) * corr, qx2 = s3.total(2) * corr, qx = s3.total(3) * corr;
  const double az2 = s3.total(4) * corr, qz2 = s3.total(5) * corr, qz = s3.total(6) * corr;
  const double ex2 = 0.5 * (ax2 * (1.0 + w64) + qx2), ex = 0.5 * qx;
  const double ez2 = 0.5 * (az2 * (1.0 + w64) + qz2), ez = 0.5 * qz;
  const double nu = ex2 - ex * ex, de = ez2 - ez * ez;
  bool tame = (nu * AMP >= ex2) && (de * AMP >= ez2);
  const bool ok_num = 2 * LAMBDA * u * std::sqrt(s3.total(7)) * ex2 <= RHO * nu * nu;
  const bool ok_den = 2 * LAMBDA * u * std::sqrt(s3.total(8)) * ez2 <= RHO * de * de;
  tame = tame && (nu == 0.0 || ok_num) && (de == 0.0 || ok_den);
  c.num[r] = std::fmax(nu, 0.0), c.den[r] = std::fmax(de, 0.0);
  c.beta[r] = tame ? beta : inf;
}

ffi::Error KlCellsImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> la, ffi::Buffer<ffi::F32> D,
                       ffi::Buffer<ffi::F32> fn, ffi::Buffer<ffi::F32> an,
                       ffi::Buffer<ffi::F32> gn, ffi::Buffer<ffi::F32> bn,
                       ffi::Buffer<ffi::F32> cacb, ffi::Buffer<ffi::S32> live_tokens,
                       bool weighted, ffi::ResultBuffer<ffi::F64> kl,
                       ffi::ResultBuffer<ffi::F64> num, ffi::ResultBuffer<ffi::F64> den,
                       ffi::ResultBuffer<ffi::F64> beta, ffi::ResultBuffer<ffi::F32> c1,
                       ffi::ResultBuffer<ffi::F32> c2, ffi::ResultBuffer<ffi::F64> aux) {
  auto dims = la.dimensions();
  if (dims.size() != 2) return ffi::Error::InvalidArgument("kl_cells: la must be c×Vp");
  const int64_t rows = dims[0], Vp = dims[1];
  const int64_t tokens = live_tokens.typed_data()[0];
  if (tokens < 1 || tokens > Vp) return ffi::Error::InvalidArgument("kl_cells: tokens");
  auto squares = std::make_shared<std::vector<float>>(2 * Vp);  // gn², bn² per token
  for (int64_t y = 0; y < Vp; ++y) {
    (*squares)[y] = gn.typed_data()[y] * gn.typed_data()[y];
    (*squares)[Vp + y] = bn.typed_data()[y] * bn.typed_data()[y];
  }
  auto state = std::make_shared<Chunk>(Chunk{
      la.typed_data(), D.typed_data(), fn.typed_data(), an.typed_data(), squares->data(),
      squares->data() + Vp, cacb.typed_data()[0], cacb.typed_data()[1], Vp, tokens, weighted,
      kl->typed_data(), num->typed_data(), den->typed_data(), beta->typed_data(),
      c1->typed_data(), c2->typed_data(), aux->typed_data()});
  // Rows are claimed one at a time, by this thread and by helpers on XLA's intra-op
  // pool; this thread waits only for rows a running helper has claimed, so a busy (or
  // absent) pool delays nothing: the unclaimed rows are done here.
  struct Work {
    std::atomic<int64_t> next{0}, done{0};
  };
  auto work = std::make_shared<Work>();
  auto run = [state, squares, work, rows]() {
    if (work->next.load() >= rows) return;
    FlushDenormals flush;
    Scratch s(state->Vp);
    for (int64_t r; (r = work->next.fetch_add(1)) < rows;) {
      if (state->weighted)
        row<true>(*state, s, r);
      else
        row<false>(*state, s, r);
      work->done.fetch_add(1, std::memory_order_release);
    }
  };
  const int64_t helpers = std::min<int64_t>(pool.num_threads(), rows) - 1;
  for (int64_t h = 0; h < helpers; ++h) {
    auto task = run;
    pool.Schedule(std::move(task));
  }
  run();
  while (work->done.load(std::memory_order_acquire) < rows) std::this_thread::yield();
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SimidentKlCells, KlCellsImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // la
                                  .Arg<ffi::Buffer<ffi::F32>>()  // D
                                  .Arg<ffi::Buffer<ffi::F32>>()  // fn
                                  .Arg<ffi::Buffer<ffi::F32>>()  // an
                                  .Arg<ffi::Buffer<ffi::F32>>()  // gn
                                  .Arg<ffi::Buffer<ffi::F32>>()  // bn
                                  .Arg<ffi::Buffer<ffi::F32>>()  // cacb
                                  .Arg<ffi::Buffer<ffi::S32>>()  // tokens
                                  .Attr<bool>("weighted")
                                  .Ret<ffi::Buffer<ffi::F64>>()  // kl
                                  .Ret<ffi::Buffer<ffi::F64>>()  // num
                                  .Ret<ffi::Buffer<ffi::F64>>()  // den
                                  .Ret<ffi::Buffer<ffi::F64>>()  // beta
                                  .Ret<ffi::Buffer<ffi::F32>>()  // c1 (c×Vp)
                                  .Ret<ffi::Buffer<ffi::F32>>()  // c2 (c×Vp)
                                  .Ret<ffi::Buffer<ffi::F64>>());  // aux (c×3)
